"""The grid's delete panel, kernel side: dry-run preview and real run through ``delete_tasks``.

The panel never deletes anything itself: it hands the selected ids to
:func:`wsnb.deletion.delete_tasks` (cap, ledger, verification and all; the Confirm after a
preview hands it the preview's plan, so nothing is snapshotted twice) and turns the returned
:class:`~wsnb.report.DeletionReport` into a one-line summary, its HTML, and the ids that are no
longer on the server (``deleted`` or ``already_absent``), which then leave the grid.

A fleet grid hands the deleter its fleet and the selected rows of the fleet frame (a DataFrame
indexed by ``("project_id", "task_id")``), and reads the gone tasks back as row keys
(``project_id/task_id``) when the report names each task's project.

Also here: whether the client can still send (:func:`client_is_closed`), whether the deleter
takes a ``cancel`` token (:func:`deleter_accepts_cancel`), and the ``wsnb tasks delete`` command
line that does the same deletion from a shell (:func:`command_line`).
"""

from __future__ import annotations

import inspect
import shlex
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from wsnb.grid._engine import row_key

if TYPE_CHECKING:
    from wsnb.report import DeletionReport

#: Outcomes after which a task is gone from the server.
GONE_OUTCOMES: Final = frozenset({"deleted", "already_absent"})
#: The file name the panel's export and its command line use.
IDS_FILE: Final = "wsnb-selected-ids.csv"
#: The file name of a fleet grid's export (``project_id,region,task_id`` with a header).
FLEET_IDS_FILE: Final = "wsnb-selected-tasks.csv"


def fleet_csv(rows: pd.DataFrame) -> str:
    """The selected rows of a fleet frame as CSV: ``project_id,region,task_id``, a header line,
    one task per line (a task id alone is ambiguous across projects)."""
    out = pd.DataFrame(
        {
            "project_id": rows.index.get_level_values("project_id").astype(str),
            "region": rows["region"].astype("string").fillna("").to_numpy()
            if "region" in rows.columns
            else "",
            "task_id": rows.index.get_level_values("task_id").astype(str),
        }
    )
    return str(out.to_csv(index=False, lineterminator="\n"))


def client_is_closed(client: Any) -> bool:
    """True when ``client`` can no longer send: its ``is_closed`` flag, else its httpx pool's."""
    flag = getattr(client, "is_closed", None)
    if isinstance(flag, bool):
        return flag
    pool = getattr(client, "_http", None)
    return bool(getattr(pool, "is_closed", False))


def deleter_accepts_cancel() -> bool:
    """Whether :func:`wsnb.deletion.delete_tasks` takes a ``cancel=`` token (a
    :class:`threading.Event` the panel's Stop button sets)."""
    from wsnb.deletion import delete_tasks

    return "cancel" in inspect.signature(delete_tasks).parameters


def command_line(client: Any, count: int, options: Mapping[str, Any]) -> str:
    """The shell command that does this deletion from :data:`IDS_FILE` (a dry run; the panel
    says to drop ``--dry-run``). Names the endpoint and project, never a credential."""
    parts = ["wsnb", "tasks", "delete", "--ids-file", IDS_FILE, "--max", str(count)]
    endpoint = getattr(client, "endpoint", None)
    project = getattr(client, "project_id", None)
    if isinstance(endpoint, str) and endpoint:
        parts += ["--endpoint", endpoint]
    if isinstance(project, str) and project:
        parts += ["--project-id", project]
    for name in ("chunk_size", "concurrency"):
        if options.get(name) is not None:
            parts += [f"--{name.replace('_', '-')}", str(options[name])]
    for name in ("snapshot", "precheck", "verify"):
        if options.get(name) is False:
            parts.append(f"--no-{name}")
    parts.append("--dry-run")
    return shlex.join(parts)


@dataclass(frozen=True)
class PanelResult:
    """What the panel shows after a dry run or a real run."""

    report: DeletionReport
    summary: str
    html: str
    gone: tuple[str, ...]


def _result(report: DeletionReport) -> PanelResult:
    frame = report.frame
    rows = frame[frame["outcome"].astype(str).isin(GONE_OUTCOMES)]
    if "project_id" in rows.columns:  # a fleet report: the key names the project too
        pairs = zip(rows["project_id"], rows["task_id"], strict=True)
        gone = tuple(row_key(str(p), str(t)) for p, t in pairs)
    else:
        gone = tuple(str(t) for t in rows["task_id"])
    return PanelResult(
        report=report,
        summary=report.summary_text(brief=True),
        html=report._repr_html_(),
        gone=gone,
    )


def _call(
    client: Any,
    ids: Sequence[str] | pd.DataFrame,
    *,
    dry_run: bool,
    ledger: Any,
    max_deletions: int | None,
    options: Mapping[str, Any],
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> DeletionReport:
    from wsnb.deletion import delete_tasks

    kwargs: dict[str, Any] = dict(options)
    if max_deletions is not None:  # None here means "the deleter's default cap", not "no cap"
        kwargs["max_deletions"] = max_deletions
    if cancel is not None and deleter_accepts_cancel():
        kwargs["cancel"] = cancel
    return delete_tasks(
        client,
        ids if isinstance(ids, pd.DataFrame) else list(ids),
        dry_run=dry_run,
        ledger=ledger,
        progress=progress if progress is not None else False,
        **kwargs,
    )


#: The last dry run of each client (``id(client)``): the ids, the ledger argument and the run
#: id, so the Confirm that follows executes that plan (its snapshots) instead of a new run.
_PREVIEWS: dict[int, tuple[tuple[str, ...], Any, int]] = {}
_PREVIEWS_LOCK = threading.Lock()


def _previewed_plan(client: Any, ids: Sequence[str], ledger: Any) -> Any:
    """The plan of this client's last dry run when it was of exactly ``ids`` with this ledger,
    else ``None``."""
    from wsnb.deletion import Plan, PlanError

    with _PREVIEWS_LOCK:
        seen = _PREVIEWS.pop(id(client), None)
    if seen is None or seen[0] != tuple(ids) or seen[1] is not ledger:
        return None
    try:
        return Plan.load(ledger, seen[2])
    except (KeyError, PlanError):
        return None


def dry_run(
    client: Any,
    ids: Sequence[str] | pd.DataFrame,
    *,
    ledger: Any,
    max_deletions: int | None,
    options: Mapping[str, Any],
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> PanelResult:
    """Plan the deletion of ``ids`` without deleting (``delete_tasks(dry_run=True)``); ``ids``
    is the list of task ids, or for a fleet the selected rows of the fleet frame. For one
    project the Confirm that follows executes this plan (:func:`run_delete`)."""
    report = _call(
        client,
        ids,
        dry_run=True,
        ledger=ledger,
        max_deletions=max_deletions,
        options=options,
        progress=progress,
        cancel=cancel,
    )
    if report.summary.get("status") == "done" and not isinstance(ids, pd.DataFrame):
        with _PREVIEWS_LOCK:  # a fleet's preview is not kept: its Confirm runs afresh
            _PREVIEWS[id(client)] = (tuple(ids), ledger, int(report.summary["run_id"]))
    return _result(report)


def run_delete(
    client: Any,
    ids: Sequence[str] | pd.DataFrame,
    *,
    ledger: Any,
    max_deletions: int | None,
    options: Mapping[str, Any],
    progress: Callable[[int, int], None],
    cancel: threading.Event | None = None,
) -> PanelResult:
    """Delete ``ids``; ``progress(done, total)`` is the deleter's progress callable (called at
    the start and as ids settle). After a dry run of exactly these ids it executes that plan
    (``delete_tasks(client, plan)``: the preview's snapshots are reused, and tasks changed since
    the preview are refused with ``PlanChangedError``); a plan too old is made again."""
    from wsnb.deletion import PlanStaleError, delete_tasks

    plan = None if isinstance(ids, pd.DataFrame) else _previewed_plan(client, ids, ledger)
    if plan is not None:
        kwargs: dict[str, Any] = {"verify": options.get("verify", True)}
        if max_deletions is not None:
            kwargs["max_deletions"] = max_deletions
        if cancel is not None:
            kwargs["cancel"] = cancel
        try:
            return _result(delete_tasks(client, plan, progress=progress, **kwargs))
        except PlanStaleError:
            pass  # the preview is too old to execute: a fresh run, with its own snapshots
    report = _call(
        client,
        ids,
        dry_run=False,
        ledger=ledger,
        max_deletions=max_deletions,
        options=options,
        progress=progress,
        cancel=cancel,
    )
    return _result(report)
