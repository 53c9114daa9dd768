"""The plain-Python work of ``wsnb_fleet_cleanup.py``'s tasks: the plan and the fleet report.

:func:`plan_runs` turns the DAG's parameters into one ``PapermillOperator`` keyword set per
``"region:project_id"`` target (refusing bad, duplicate or unknown targets and secret-looking
parameters before any notebook runs). Each mapped notebook run then writes its report files
(``report.json``, ``report.html``, ``report.csv``, ``report.md``; :data:`wsnb.report.REPORT_FILES`)
into its own folder, ``ROOT/<region>/<project_id>/``. :func:`read_project` reads one project's
``report.json``; :func:`write_fleet_report` writes ``fleet.json``, ``fleet.csv`` and an
e-mail-sized ``fleet.html`` into ``ROOT``. A project is OK exactly when its own report is
(:func:`wsnb.report.summary_ok`); a project whose notebook wrote no readable ``report.json`` (it
failed before the deletion: bad credentials, a refused parameter, more tasks selected than
``max_deletions``) is not OK either. The fleet is OK when every project is.

No Airflow import: the DAG imports it from the DAGs folder (copy it there beside the DAG), and
the tests run it without Airflow.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from wsnb.client import REGIONS
from wsnb.params import check_no_secrets
from wsnb.report import REPORT_FILES, headline, summary_ok, undo_command

#: Notebook parameters the plan sets itself (``notebook_parameters`` may not override them).
PLAN_SETS: Final = frozenset(
    {"region", "endpoint", "project_id", "dry_run", "max_deletions", "output_dir"}
)
#: The output notebook's name in each project's folder.
OUTPUT_NOTEBOOK: Final = "scheduled_cleanup.ipynb"

#: The outcome counts carried per project, in the order the table shows them.
COUNTS: Final = (
    "ids",
    "planned",
    "deleted",
    "already_absent",
    "invalid",
    "skipped",
    "failed",
    "forbidden",
    "pending",
)
#: The files :func:`write_fleet_report` writes.
FLEET_FILES: Final = {"json": "fleet.json", "csv": "fleet.csv", "html": "fleet.html"}


@dataclass(frozen=True)
class ProjectResult:
    """One project's run, as its ``report.json`` tells it (``problem`` when there is none)."""

    region: str
    project_id: str
    folder: str
    ok: bool
    status: str
    dry_run: bool | None
    run_id: int | None
    headline: str
    undo: str | None
    counts: dict[str, int]
    problem: str | None = None

    @property
    def target(self) -> str:
        return f"{self.region}:{self.project_id}"


def parse_target(text: str) -> tuple[str, str]:
    """``"region:project_id"`` → ``(region, project_id)``; both non-empty and path-safe."""
    region, sep, project_id = str(text).strip().partition(":")
    for label, value in (("region", region), ("project id", project_id)):
        if not sep or not value or not value.replace("-", "").replace("_", "").isalnum():
            raise ValueError(
                f"target {text!r}: want 'region:project_id' (letters, digits, - and _ only); "
                f"bad {label}"
            )
    return region, project_id


def run_folder_name(run_id: str) -> str:
    """A run id (``manual__2026-11-30T03:00:00+00:00``) as one safe folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_") or "run"


def plan_runs(params: Mapping[str, Any], root: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """``PapermillOperator`` keywords (``output_nb``, ``parameters``, ``kernel_name``) per target.

    ``params`` are the DAG's parameters (``targets``, ``endpoints``, ``dry_run``,
    ``max_deletions``, ``expired_only``, ``notebook_parameters``, ``ledger_path``,
    ``kernel_name``). Makes each project's folder ``root/<region>/<project_id>/`` (papermill
    writes the output notebook there first). Raises ``ValueError`` for no, bad, duplicate or
    unknown targets (a region neither known to wsnb nor mapped in ``endpoints``) and for
    ``notebook_parameters`` that set what the plan sets; :class:`wsnb.params.SecretParameterError`
    for secret-looking parameter names (never showing a value).
    """
    extra = dict(params.get("notebook_parameters") or {})
    check_no_secrets(extra)
    if clash := sorted(PLAN_SETS & set(extra)):
        raise ValueError(f"notebook_parameters may not set {clash}: the DAG sets them")
    targets = [parse_target(t) for t in params.get("targets") or []]
    if not targets:
        raise ValueError("no targets: set the targets parameter ('region:project_id' strings)")
    if len(set(targets)) != len(targets):
        raise ValueError(f"duplicate targets in {list(params['targets'])}")
    endpoints = {str(k): str(v) for k, v in (params.get("endpoints") or {}).items()}
    if unknown := sorted({r for r, _ in targets if r not in REGIONS and r not in endpoints}):
        raise ValueError(f"unknown regions {unknown}: map them to URLs in endpoints")
    runs = []
    for region, project_id in targets:
        folder = Path(root) / region / project_id
        folder.mkdir(parents=True, exist_ok=True)
        parameters = {
            "expired_only": params.get("expired_only", True),
            "ledger_path": params.get("ledger_path", ""),
            **extra,
            # the notebook takes one of the two: the mapped endpoint, else the region
            "region": "" if region in endpoints else region,
            "endpoint": endpoints.get(region, ""),
            "project_id": project_id,
            "dry_run": params.get("dry_run", True),
            "max_deletions": params["max_deletions"],
            "output_dir": str(folder),
        }
        runs.append(
            {
                "output_nb": str(folder / OUTPUT_NOTEBOOK),
                "parameters": parameters,
                "kernel_name": params.get("kernel_name", "python3"),
            }
        )
    return runs


def read_runs(runs: Sequence[Mapping[str, Any]]) -> list[ProjectResult]:
    """The results of :func:`plan_runs`' runs, from their folders."""
    folders = [Path(run["parameters"]["output_dir"]) for run in runs]  # ROOT/region/project
    return [read_project(f.parent.name, f.name, f) for f in folders]


def read_project(region: str, project_id: str, folder: str | os.PathLike[str]) -> ProjectResult:
    """The result of one project's run from ``folder/report.json``."""
    path = Path(folder) / REPORT_FILES["json"]
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))["summary"]
        if not isinstance(summary, dict):
            raise TypeError("summary is not an object")
    except FileNotFoundError:
        why = _notebook_error(Path(folder) / OUTPUT_NOTEBOOK) or "see the task log"
        return _missing(region, project_id, folder, f"The notebook stopped early: {why}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return _missing(region, project_id, folder, f"unreadable {path.name}: {exc}")
    reported = str(summary.get("project_id") or "")
    ok = summary_ok(summary)
    problem = None
    if reported != project_id:  # a stale or misplaced report never passes for this project
        ok, problem = False, f"{path.name} is about project {reported!r}, not {project_id!r}"
    return ProjectResult(
        region=region,
        project_id=project_id,
        folder=str(folder),
        ok=ok,
        status=str(summary.get("status") or "unknown"),
        dry_run=bool(summary.get("dry_run")),
        run_id=summary.get("run_id"),
        headline=headline({**summary, "region": summary.get("region") or region}),
        undo=undo_command(summary),
        counts={name: int(summary.get(name) or 0) for name in COUNTS},
        problem=problem,
    )


def _notebook_error(path: Path) -> str | None:
    """The error an executed notebook stopped on (``RuntimeError: …``), or None."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for cell in cells:
        for out in cell.get("outputs", []) if isinstance(cell, dict) else []:
            if isinstance(out, dict) and out.get("output_type") == "error":
                return f"{out.get('ename')}: {out.get('evalue')}"[:500]
    return None


def _missing(region: str, project_id: str, folder: Any, problem: str) -> ProjectResult:
    return ProjectResult(
        region=region,
        project_id=project_id,
        folder=str(folder),
        ok=False,
        status="no report",
        dry_run=None,
        run_id=None,
        headline=f"No report from project {project_id} ({region}).",
        undo=None,
        counts=dict.fromkeys(COUNTS, 0),
        problem=problem,
    )


def fleet_summary(results: Sequence[ProjectResult]) -> dict[str, Any]:
    """``{"ok", "projects", "not_ok", "totals", "results": [...]}`` for the whole fleet."""
    return {
        "ok": bool(results) and all(r.ok for r in results),
        "projects": len(results),
        "not_ok": [r.target for r in results if not r.ok],
        "totals": {name: sum(r.counts[name] for r in results) for name in COUNTS},
        "results": [{"target": r.target, **asdict(r)} for r in results],
    }


def fleet_headline(summary: Mapping[str, Any]) -> str:
    """One sentence: how many projects are OK and what was deleted (or would be)."""
    n, bad, totals = summary["projects"], summary["not_ok"], summary["totals"]
    done = ", ".join(
        f"{totals[k]} {word}"
        for k, word in (("deleted", "deleted"), ("planned", "planned (dry run)"))
        if totals[k]
    )
    done = done or "nothing deleted"
    if not bad:
        return f"All {n} projects OK: {done}."
    return f"{len(bad)} of {n} projects need attention ({', '.join(bad)}); {done}."


def write_fleet_report(
    results: Sequence[ProjectResult], folder: str | os.PathLike[str]
) -> dict[str, Path]:
    """Write :data:`FLEET_FILES` into ``folder``; returns ``{kind: path}``."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    summary = fleet_summary(results)
    paths = {kind: target / name for kind, name in FLEET_FILES.items()}
    paths["json"].write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    columns = ["region", "project_id", "ok", "status", "dry_run", "run_id", *COUNTS, "problem"]
    with paths["csv"].open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for r in results:
            row = {**asdict(r), **r.counts}
            writer.writerow(["" if row[c] is None else row[c] for c in columns])
    paths["html"].write_text(_html(summary, results, target), encoding="utf-8")
    return paths


_CELL: Final = "padding:4px 8px;border-bottom:1px solid #ddd;text-align:left"


def _html(summary: Mapping[str, Any], results: Sequence[ProjectResult], root: Path) -> str:
    """A small page with inline styles only (like the per-project reports): a chip, the fleet
    headline and one row per project linking its own ``report.html``."""
    ok = summary["ok"]
    chip = (
        f'<span style="background:{"#2e7d32" if ok else "#c62828"};color:#fff;padding:2px 8px;'
        f'border-radius:10px">{"OK" if ok else "NEEDS ATTENTION"}</span>'
    )
    head = "".join(f'<th style="{_CELL}">{h}</th>' for h in ("Project", "Result", "Report"))
    rows = []
    for r in results:
        found = [
            (path, label)
            for path, label in (
                (Path(r.folder) / REPORT_FILES["html"], "report"),
                (Path(r.folder) / OUTPUT_NOTEBOOK, "notebook"),  # why it stopped, when no report
            )
            if path.is_file()
        ]
        link = "".join(
            f'<a href="{html.escape(os.path.relpath(path, root))}">{label}</a>'
            for path, label in found[:1]
        )
        text = html.escape(r.headline + (f" {r.problem}" if r.problem else ""))
        mark = "OK" if r.ok else "NEEDS ATTENTION"
        rows.append(
            f'<tr><td style="{_CELL}">{html.escape(r.target)}</td>'
            f'<td style="{_CELL}"><b>{mark}</b> {text}</td><td style="{_CELL}">{link}</td></tr>'
        )
    body = (
        f'<div style="max-width:700px;font-family:sans-serif">'
        f"<h2>wsnb fleet cleanup {chip}</h2><p>{html.escape(fleet_headline(summary))}</p>"
        f'<table style="border-collapse:collapse;width:100%"><tr>{head}</tr>{"".join(rows)}'
        "</table></div>"
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>wsnb fleet cleanup</title>'
        f'</head><body style="margin:16px">{body}</body></html>\n'
    )
