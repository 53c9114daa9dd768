"""wsnb.report: DeletionReport read from a ledger; HTML, CSV and JSON outputs."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from wsnb.deletion import delete_tasks
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger
from wsnb.report import REPORT_COLUMNS, DeletionReport


@pytest.fixture
def book() -> Ledger:
    with Ledger(":memory:") as ledger:
        yield ledger


def _made_run(book: Ledger) -> int:
    """A finished run with every kind of outcome, written straight into the ledger."""
    ids = ["d1", "d2", "gone", "bad1", "bad2", "skip"]
    run_id = book.create_run(
        endpoint="http://e",
        project_id="p",
        params={},
        dry_run=False,
        plan=[(i, f"n-{i}", "STOP", "pending", None) for i in ids]
        + [("", None, None, "invalid", "empty")],
    )
    book.set_outcomes(run_id, ["d1", "d2"], "deleted")
    book.set_outcomes(run_id, ["gone"], "already_absent")
    book.set_outcomes(
        run_id,
        ["bad1", "bad2"],
        "failed",
        http_status=500,
        error_code="WKS.0202",
        error_msg="Internal error.",
        request_id="r-1",
    )
    book.set_outcomes(run_id, ["skip"], "skipped", error_msg="not sent")
    book.finish_run(
        run_id,
        "done",
        {"calls": 9, "retries": 2, "throttled": 1, "by_operation": {"batch_delete": 3}},
    )
    return run_id


def test_frame_and_summary(book: Ledger) -> None:
    report = DeletionReport.from_ledger(book, _made_run(book))
    assert tuple(report.frame.columns) == REPORT_COLUMNS
    s = report.summary
    assert (s["deleted"], s["already_absent"], s["failed"], s["skipped"], s["invalid"]) == (
        2,
        1,
        2,
        1,
        1,
    )
    assert s["planned"] == 0 and s["pending"] == 0
    assert (s["calls"], s["retries"], s["throttled_calls"], s["write_calls"]) == (9, 2, 1, 3)
    assert s["dry_run"] is False
    assert s["duration_s"] is not None and s["duration_s"] >= 0
    assert not report.ok  # two failed
    assert "failed=2" in repr(report)
    failures = report.failures()
    assert failures.loc[("failed", "WKS.0202"), "count"] == 2
    assert failures.loc[("failed", "WKS.0202"), "task_ids"] == "bad1, bad2"


def test_html_has_summary_failures_and_chart(book: Ledger) -> None:
    report = DeletionReport.from_ledger(book, _made_run(book))
    page = report._repr_html_()
    assert "WKS.0202" in page and "Failures by error code" in page
    assert "needs attention" in page
    png = re.search(r'data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert png is not None
    assert base64.b64decode(png.group(1)).startswith(b"\x89PNG")


def test_files_round_trip(book: Ledger, tmp_path: Path) -> None:
    report = DeletionReport.from_ledger(book, _made_run(book))
    html = report.to_html(tmp_path / "r.html").read_text()
    assert "<table" in html and "bad2" in html
    csv = pd.read_csv(report.to_csv(tmp_path / "r.csv"))
    assert list(csv.columns) == list(REPORT_COLUMNS)
    assert len(csv) == 7
    data = json.loads(report.to_json(tmp_path / "r.json").read_text())
    assert data["summary"]["failed"] == 2
    assert {r["task_id"] for r in data["outcomes"]} >= {"d1", "bad1"}


def test_report_of_a_real_run(emulator: Emulator, book: Ledger) -> None:
    ids = emulator.control.seed(5, seed=31)
    with emulator.client(rate_limit=None) as client:
        report = delete_tasks(client, ids, ledger=book, progress=False)
    again = DeletionReport.from_ledger(book, report.run_id)
    assert report.ok and again.ok
    assert again.summary["deleted"] == 5
    assert again.summary["write_calls"] == 1
    assert again.summary["calls"] >= 6  # snapshots, one delete, verification
    assert report.summary["ids_per_s"] > 0
    assert "Deletion run" in report._repr_html_() and ": ok" in report._repr_html_()
