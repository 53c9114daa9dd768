"""The grid's delete panel, kernel side: dry-run preview and real run through ``delete_tasks``.

The panel never deletes anything itself: it hands the selected ids to
:func:`wsnb.deletion.delete_tasks` (cap, ledger, verification and all) and turns the returned
:class:`~wsnb.report.DeletionReport` into a one-line summary, its HTML, and the ids that are no
longer on the server (``deleted`` or ``already_absent``), which then leave the grid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from wsnb.report import DeletionReport

#: Outcomes after which a task is gone from the server.
GONE_OUTCOMES: Final = frozenset({"deleted", "already_absent"})


@dataclass(frozen=True)
class PanelResult:
    """What the panel shows after a dry run or a real run."""

    report: DeletionReport
    summary: str
    html: str
    gone: tuple[str, ...]


def _result(report: DeletionReport) -> PanelResult:
    frame = report.frame
    gone = frame.loc[frame["outcome"].astype(str).isin(GONE_OUTCOMES), "task_id"]
    return PanelResult(
        report=report,
        summary=report.summary_text(brief=True),
        html=report._repr_html_(),
        gone=tuple(str(t) for t in gone),
    )


def _call(
    client: Any,
    ids: Sequence[str],
    *,
    dry_run: bool,
    ledger: Any,
    max_deletions: int | None,
    options: Mapping[str, Any],
    progress: Callable[[int, int], None] | None = None,
) -> DeletionReport:
    from wsnb.deletion import delete_tasks

    kwargs: dict[str, Any] = dict(options)
    if max_deletions is not None:  # None here means "the deleter's default cap", not "no cap"
        kwargs["max_deletions"] = max_deletions
    return delete_tasks(
        client,
        list(ids),
        dry_run=dry_run,
        ledger=ledger,
        progress=progress if progress is not None else False,
        **kwargs,
    )


def dry_run(
    client: Any,
    ids: Sequence[str],
    *,
    ledger: Any,
    max_deletions: int | None,
    options: Mapping[str, Any],
) -> PanelResult:
    """Plan the deletion of ``ids`` without deleting (``delete_tasks(dry_run=True)``)."""
    report = _call(
        client, ids, dry_run=True, ledger=ledger, max_deletions=max_deletions, options=options
    )
    return _result(report)


def run_delete(
    client: Any,
    ids: Sequence[str],
    *,
    ledger: Any,
    max_deletions: int | None,
    options: Mapping[str, Any],
    progress: Callable[[int, int], None],
) -> PanelResult:
    """Delete ``ids``; ``progress(done, total)`` is called at the start, as ids settle (the
    deleter's progress callable) and once more at the end with ``done == total``."""
    progress(0, len(ids))
    report = _call(
        client,
        ids,
        dry_run=False,
        ledger=ledger,
        max_deletions=max_deletions,
        options=options,
        progress=progress,
    )
    progress(len(ids), len(ids))
    return _result(report)
