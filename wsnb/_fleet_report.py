"""The report of a fleet run: one :class:`~wsnb.report.DeletionReport` per project, and a
per-project summary.

Contract: :meth:`FleetReport.from_ledger` reads a fleet run (``fleet_runs`` + its child runs)
as the ledger holds it now. ``summary`` is one row per project (index ``project_id``: region,
endpoint, run id, status, OK, outcome counts, and the error that stopped that project's run);
``ok`` is True exactly when every child run is OK and no project failed; ``frame`` is every
id's outcome, indexed by (``project_id``, ``task_id``). ``summary_text`` words it for
terminals in the words of :func:`wsnb.report.summary_text` (one line per project).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pandas as pd

from wsnb.ledger import OUTCOMES, Ledger
from wsnb.report import DeletionReport, _esc, summary_ok

__all__ = ["FLEET_SUMMARY_COLUMNS", "FleetReport"]

#: Columns of :attr:`FleetReport.summary` (index ``project_id``).
FLEET_SUMMARY_COLUMNS: Final = (
    "region",
    "endpoint",
    "run_id",
    "status",
    "ok",
    "ids",
    *OUTCOMES,
    "calls",
    "error",
)


@dataclass
class FleetReport(DeletionReport):
    """A fleet run's outcome. As a :class:`~wsnb.report.DeletionReport`: ``frame`` is every
    id's outcome with a ``project_id`` column first, ``summary`` the fleet's totals
    (``run_id`` is the fleet run id; ``fleet``: True). Per project: ``reports`` (project id ->
    its run's report), ``projects`` (one row per project), ``errors`` (project id -> what
    stopped its run)."""

    reports: dict[str, DeletionReport] = field(default_factory=dict)
    regions: dict[str, str | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_ledger(
        cls, ledger: Ledger, run_id: int, *, anonymous: bool | None = None
    ) -> FleetReport:
        """The report of fleet run ``run_id`` as the ledger holds it now."""
        info = ledger.fleet_run(run_id)
        members = ledger.fleet_members(run_id)
        reports: dict[str, DeletionReport] = {}
        regions: dict[str, str | None] = {}
        errors: dict[str, str] = {}
        for pid, child, region, error in zip(
            members["project_id"].tolist(),
            members["run_id"].tolist(),
            members["region"].tolist(),
            members["error"].tolist(),
            strict=True,
        ):
            reports[str(pid)] = DeletionReport.from_ledger(ledger, int(child), anonymous=anonymous)
            regions[str(pid)] = region if isinstance(region, str) else None
            if isinstance(error, str) and error:
                errors[str(pid)] = error
        parts = []
        for pid, report in reports.items():
            part = report.frame.copy()
            part.insert(0, "project_id", pid)
            parts.append(part)
        frame = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(columns=["project_id", "task_id", "outcome"])
        )
        summary: dict[str, Any] = {
            "run_id": run_id,
            "fleet": True,
            "status": info["status"],
            "dry_run": info["dry_run"],
            "projects": len(reports),
            "ids": 0,
            **dict.fromkeys(OUTCOMES, 0),
            "calls": 0,
            "created": info["created"],
            "finished": info["finished"],
            "endpoint": None,
            "project_id": ", ".join(reports),  # titles and headlines name every project
            "region": None,
            "snapshot": bool(info["params"].get("snapshot", True)),
            "ledger": next(iter(reports.values())).summary["ledger"] if reports else None,
        }
        for report in reports.values():
            for name in ("ids", *OUTCOMES, "calls"):
                summary[name] += int(report.summary.get(name) or 0)
        return cls(
            frame=frame,
            summary=summary,
            events=[],
            reports=reports,
            regions=regions,
            errors=errors,
        )

    @property
    def fleet_run_id(self) -> int:
        return self.run_id

    @property
    def status(self) -> str:
        return str(self.summary["status"])

    @property
    def dry_run(self) -> bool:
        return bool(self.summary["dry_run"])

    @property
    def projects(self) -> pd.DataFrame:
        """One row per project (see :data:`FLEET_SUMMARY_COLUMNS`), index ``project_id``."""
        rows = []
        for pid, report in self.reports.items():
            s = report.summary
            rows.append(
                {
                    "project_id": pid,
                    "region": self.regions.get(pid),
                    "endpoint": s["endpoint"],
                    "run_id": s["run_id"],
                    "status": s["status"],
                    "ok": report.ok and pid not in self.errors,
                    "ids": s["ids"],
                    **{name: s[name] for name in OUTCOMES},
                    "calls": s["calls"],
                    "error": self.errors.get(pid),
                }
            )
        frame = pd.DataFrame(rows, columns=["project_id", *FLEET_SUMMARY_COLUMNS])
        return frame.set_index("project_id")

    @property
    def ok(self) -> bool:
        """Every project's run is OK (see :attr:`DeletionReport.ok`) and none failed."""
        return not self.errors and all(r.ok for r in self.reports.values())

    @property
    def failed_projects(self) -> list[str]:
        """Projects whose run is not OK (stopped by an error, or with ids not at their goal)."""
        return [pid for pid, r in self.reports.items() if pid in self.errors or not r.ok]

    def totals(self) -> dict[str, int]:
        """Outcome counts over the whole fleet (``ids`` and each outcome)."""
        return {name: int(self.summary[name]) for name in ("ids", *OUTCOMES)}

    def headline(self) -> str:
        """One sentence: what the fleet run did, and which projects need attention."""
        totals = self.totals()
        n = len(self.reports)
        if self.dry_run:
            text = (
                f"Would delete {totals['planned']:,} of {totals['ids']:,} selected scheduled "
                f"tasks in {n} project(s); dry run, nothing was deleted."
            )
        else:
            text = (
                f"Deleted {totals['deleted']:,} of {totals['ids']:,} selected scheduled tasks "
                f"in {n} project(s)."
            )
        bad = self.failed_projects
        if bad:
            text += " Needs attention: " + ", ".join(self._where(pid) for pid in bad) + "."
        return text

    def _where(self, pid: str) -> str:
        region = self.regions.get(pid)
        return f"{pid} ({region})" if region else pid

    def summary_text(self, paths: Mapping[str, Any] | None = None, *, brief: bool = False) -> str:
        """The fleet run for a terminal: a head line, then one line per project."""
        kind = "dry run" if self.dry_run else "deletion run"
        head = (
            f"wsnb fleet {kind} {self.fleet_run_id}: {'OK' if self.ok else 'NEEDS ATTENTION'} "
            f"({self.status}); {len(self.reports)} project(s)"
        )
        if brief:
            return head
        lines = [head]
        for pid, report in self.reports.items():
            s = report.summary
            counts = ", ".join(
                f"{s[k]} {k.replace('_', ' ')}" for k in OUTCOMES if k != "pending" and s.get(k)
            )
            if s.get("pending"):
                counts = ", ".join(filter(None, [counts, f"{s['pending']} pending"]))
            state = "OK" if summary_ok(s) and pid not in self.errors else "NEEDS ATTENTION"
            line = (
                f"  {self._where(pid)}: run {s['run_id']} {state} ({s['status']}); "
                f"selected {s['ids']}: {counts or 'nothing to do'}"
            )
            if pid in self.errors:
                line += f"; error: {self.errors[pid]}"
            lines.append(line)
        for name, path in (paths or {}).items():
            lines.append(f"  {name:>5}: {path}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<FleetReport {self.fleet_run_id}: {self.summary_text(brief=True)}>"

    def undo_command(self) -> str | None:
        """``wsnb runs restore`` of a fleet run needs the fleet file: see :meth:`summary_text`."""
        return None

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td style='padding:2px 8px'>{_esc(v)}</td>"
                for v in (
                    pid,
                    self.regions.get(pid) or "",
                    r.summary["run_id"],
                    r.summary["status"],
                    r.summary["deleted"] if not self.dry_run else r.summary["planned"],
                    r.summary["failed"] + r.summary["forbidden"],
                    r.summary["pending"],
                    self.errors.get(pid, ""),
                )
            )
            + "</tr>"
            for pid, r in self.reports.items()
        )
        head = "".join(
            f"<th style='padding:2px 8px;text-align:left'>{h}</th>"
            for h in (
                "project",
                "region",
                "run",
                "status",
                "planned" if self.dry_run else "deleted",
                "failed",
                "pending",
                "error",
            )
        )
        return (
            f"<div style='max-width:700px'><p><b>{_esc(self.headline())}</b></p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
        )

    def write(
        self, target: str | os.PathLike[str], *, parameters: Mapping[str, Any] | None = None
    ) -> dict[str, Path]:
        """Write into folder ``target``: ``fleet.csv`` (one row per project), ``fleet.md``
        (the summary text), ``report.json`` (``summary``: the fleet's totals, as
        :func:`wsnb.report.summary_text` reads them; ``projects``; ``parameters``) and each
        project's report files in ``<project_id>/``; returns the written paths by name."""
        base = Path(target)
        base.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {
            "fleet": base / "fleet.csv",
            "text": base / "fleet.md",
            "json": base / "report.json",
        }
        self.projects.to_csv(paths["fleet"])
        payload: dict[str, Any] = {
            "summary": self.summary,
            "projects": self.projects.reset_index().to_dict(orient="records"),
        }
        if parameters is not None:
            payload["parameters"] = dict(parameters)
        paths["json"].write_text(
            json.dumps(payload, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
        )
        paths["text"].write_text(
            f"{self.headline()}\n\n```\n{self.summary_text()}\n```\n", encoding="utf-8"
        )
        for pid, report in self.reports.items():
            for name, path in report.write(base / pid, parameters=parameters).items():
                paths[f"{pid}/{name}"] = path
        return paths
