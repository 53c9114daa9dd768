"""``DeletionReport.ok`` (and the OK / NEEDS ATTENTION of ``summary_text``): OK means the run
finished and every selected id reached its goal, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsnb.ledger import Ledger
from wsnb.report import DeletionReport


def _report(
    tmp_path: Path, outcomes: list[str], *, status: str = "done", dry_run: bool = False
) -> DeletionReport:
    with Ledger(tmp_path / "ok.sqlite") as book:
        run_id = book.create_run(
            endpoint="http://emulator",
            project_id="p" * 32,
            params={},
            dry_run=dry_run,
            plan=[(f"t-{n}", None, None, outcome, None) for n, outcome in enumerate(outcomes)],  # type: ignore[misc]
        )
        book.finish_run(run_id, status)  # type: ignore[arg-type]
        return DeletionReport.from_ledger(book, run_id)


@pytest.mark.parametrize(
    ("outcomes", "status", "dry_run"),
    [
        (["deleted", "deleted"], "done", False),
        (["deleted", "already_absent"], "done", False),
        (["already_absent"], "done", False),
        ([], "done", False),
        (["planned", "already_absent"], "done", True),
    ],
)
def test_ok_when_every_id_reached_its_goal(
    tmp_path: Path, outcomes: list[str], status: str, dry_run: bool
) -> None:
    report = _report(tmp_path, outcomes, status=status, dry_run=dry_run)
    assert report.ok
    assert report.summary_text().split("\n")[0].endswith(": OK (done)")


@pytest.mark.parametrize(
    ("outcomes", "status", "dry_run"),
    [
        (["skipped", "skipped"], "done", False),  # the issue: nothing deleted, said OK
        (["deleted", "skipped"], "done", False),
        (["deleted", "failed"], "done", False),
        (["deleted", "pending"], "done", False),
        (["deleted", "forbidden"], "done", False),
        (["deleted", "invalid"], "done", False),
        (["planned", "skipped"], "done", True),
        (["deleted"], "interrupted", False),
        (["deleted"], "cancelled", False),
        (["deleted"], "running", False),
        (["planned"], "done", False),  # a real run whose ids are only planned did nothing
    ],
)
def test_not_ok_otherwise(tmp_path: Path, outcomes: list[str], status: str, dry_run: bool) -> None:
    report = _report(tmp_path, outcomes, status=status, dry_run=dry_run)
    assert not report.ok
    assert "NEEDS ATTENTION" in report.summary_text().split("\n")[0]
