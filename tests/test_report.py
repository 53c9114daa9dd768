"""wsnb.report: DeletionReport read from a ledger; HTML, CSV and JSON outputs."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pandas as pd
import pytest

from wsnb.deletion import delete_tasks
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger
from wsnb.params import cleanup_params
from wsnb.report import REPORT_COLUMNS, DeletionReport, summary_text


@pytest.fixture
def book() -> Iterator[Ledger]:
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
    assert 'wsnb-bad">needs attention</span>' in page
    assert "<style>" in page and ".wsnb-report" in page  # styled, scoped to the report
    assert page.count('class="wsnb-chip wsnb-failed"') == 1  # failures: one row per code
    assert page.count('class="wsnb-chip wsnb-skipped"') == 1
    assert '<table class="wsnb-outcomes">' not in page  # the per-task table: file only
    assert "data:image" not in page and "<img" not in page  # the chart is inline SVG
    assert page.count("<svg") == 1 and report.chart_svg() in page


_SVG = "{http://www.w3.org/2000/svg}"


def _bars(svg: str) -> dict[str, tuple[int, int, str]]:
    """outcome -> (count shown, bar width, label shown), read back from the chart's markup."""
    root = ET.fromstring(svg)
    bars: dict[str, tuple[int, int, str]] = {}
    for group in root.iter(f"{_SVG}g"):
        label, count = (t.text or "" for t in group.iter(f"{_SVG}text"))
        rect = group.find(f"{_SVG}rect")
        assert rect is not None
        assert int(group.attrib["data-count"]) == int(count.replace(",", ""))
        bars[group.attrib["data-outcome"]] = (
            int(count.replace(",", "")),
            int(rect.attrib["width"]),
            label,
        )
    return bars


def test_chart_is_accessible_inline_svg_with_one_bar_per_outcome(book: Ledger) -> None:
    report = DeletionReport.from_ledger(book, _made_run(book))
    svg = report.chart_svg()
    root = ET.fromstring(svg)  # well-formed XML, so it also survives e-mail and XHTML
    assert root.tag == f"{_SVG}svg" and root.attrib["role"] == "img"
    title = root.find(f"{_SVG}title")
    assert title is not None and title is root[0]
    spoken = "deleted 2, already_absent 1, invalid 1, skipped 1, failed 2"
    assert title.text == root.attrib["aria-label"] == f"Run {report.run_id} outcomes: {spoken}"
    bars = _bars(svg)
    assert {name: (count, label) for name, (count, _, label) in bars.items()} == {
        "deleted": (2, "deleted"),
        "already_absent": (1, "already_absent"),
        "invalid": (1, "invalid"),
        "skipped": (1, "skipped"),
        "failed": (2, "failed"),
    }
    # widths follow the counts: the largest count gets the full bar, half the count half of it
    assert bars["deleted"][1] == bars["failed"][1] == 2 * bars["skipped"][1]
    assert "data:" not in svg and "<script" not in svg and "href" not in svg


def test_chart_of_a_large_and_an_empty_run() -> None:
    from wsnb.report import _bar_chart

    bars = _bars(_bar_chart("Run 9 outcomes", {"deleted": 12_000, "failed": 1}))
    assert bars["deleted"][0] == 12_000 and bars["failed"][0] == 1
    assert bars["failed"][1] >= 3  # a tiny count stays visible next to a huge one
    assert bars["deleted"][1] > 50 * bars["failed"][1]
    empty = ET.fromstring(_bar_chart("Run <&> outcomes", {}))
    assert not list(empty.iter(f"{_SVG}rect"))
    assert empty.attrib["aria-label"] == "Run <&> outcomes: no ids"  # escaped, read back intact
    assert "no ids" in [t.text for t in empty.iter(f"{_SVG}text")]


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


def test_write_report_files_and_summary(emulator: Emulator, tmp_path: Path) -> None:
    emulator.control.seed(20, seed=3)
    client = emulator.client(rate_limit=None)
    ids = emulator.control.task_ids()[:4]
    report = delete_tasks(client, ids, ledger=tmp_path / "l.sqlite", progress=False)
    params = cleanup_params(all_tasks=True, dry_run=False)
    paths = report.write(tmp_path / "out", parameters=params.as_dict())
    assert sorted(p.name for p in paths.values()) == ["report.csv", "report.html", "report.json"]
    payload = json.loads(paths["json"].read_text())
    assert payload["summary"]["deleted"] == 4
    assert payload["parameters"]["dry_run"] is False
    text = summary_text(payload["summary"], paths)
    assert text.startswith(f"wsnb deletion run {report.run_id}: OK")
    assert "4 deleted" in text and str(paths["html"]) in text
    assert report.summary_text(paths) == text  # the report and its JSON read the same


def test_write_one_file_and_the_summary_lines(book: Ledger, tmp_path: Path) -> None:
    report = DeletionReport.from_ledger(book, _made_run(book))
    assert report.write(tmp_path / "r.CSV") == {"csv": tmp_path / "r.CSV"}
    assert list(tmp_path.iterdir()) == [tmp_path / "r.CSV"]
    assert "parameters" not in json.loads(report.write(tmp_path / "r.json")["json"].read_text())
    head, counts, calls = report.summary_text().splitlines()
    assert head == f"wsnb deletion run {report.run_id}: NEEDS ATTENTION (done)"
    assert (
        counts
        == "  selected 7 task(s): 2 deleted, 1 already absent, 1 invalid, 1 skipped, 2 failed"
    )
    assert re.fullmatch(r"  9 API calls in \d+\.\d s", calls)
    assert report.summary_text(brief=True) == f"{head}; {counts.strip()}"


def test_report_of_a_real_run(emulator: Emulator, book: Ledger, tmp_path: Path) -> None:
    ids = emulator.control.seed(5, seed=31)
    with emulator.client(rate_limit=None) as client:
        report = delete_tasks(client, ids, ledger=book, progress=False)
    again = DeletionReport.from_ledger(book, report.run_id)
    assert report.ok and again.ok
    assert again.summary["deleted"] == 5
    assert again.summary["write_calls"] == 1
    assert again.summary["calls"] >= 6  # snapshots, one delete, verification
    assert report.summary["ids_per_s"] > 0
    page = report._repr_html_()
    assert "Deletion run" in page and 'wsnb-ok">ok</span>' in page
    # each id shows the status and request id of the call that deleted it
    [answer] = [r for r in emulator.control.requests() if r["operation"] == "batch_delete"]
    assert (again.frame["http_status"] == 200).all()
    assert set(again.frame["request_id"]) == {answer["request_id"]}
    assert answer["request_id"] in again.to_html(tmp_path / "r.html").read_text()


def test_page_is_standalone_escaped_and_shares_the_notebook_view(
    book: Ledger, tmp_path: Path
) -> None:
    run_id = book.create_run(
        endpoint="http://e/<i>",
        project_id="p",
        params={},
        dry_run=False,
        plan=[
            ("t<1>", "<script>alert(1)</script>", "STOP", "pending", None),
            ("t2", "ok & fine", "STOP", "pending", None),
        ],
    )
    book.set_outcomes(run_id, ["t2"], "deleted", http_status=200, request_id="rid-2")
    book.set_outcomes(
        run_id, ["t<1>"], "failed", http_status=400, error_code="X<y>", error_msg="<b>no</b>"
    )
    book.finish_run(run_id, "done", {})
    report = DeletionReport.from_ledger(book, run_id)
    page = report.to_html(tmp_path / "r.html").read_text()
    assert "<script" not in page.lower()  # nothing executable, user text included
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;no&lt;/b&gt;" in page and "<b>" not in page
    assert "X&lt;y&gt;" in page and "t&lt;1&gt;" in page and "ok &amp; fine" in page
    assert "http://e/&lt;i&gt;" in page
    # the notebook view is the page's body, minus the per-task table
    view = report._repr_html_()
    assert view.removesuffix("</div>") + "<h3>Per task (2)</h3>" in page
    assert page.count('<table class="wsnb-outcomes">') == 1
    # per-task rows: outcome chips, status and request id; times to the second
    rows = re.findall(r"<tr>(.*?)</tr>", page.split('class="wsnb-outcomes"')[1])
    assert len(rows) == 3  # header + two ids
    deleted = next(r for r in rows if "rid-2" in r)
    assert 'wsnb-chip wsnb-deleted">deleted' in deleted and ">200<" in deleted
    finished = cast("pd.Timestamp", report.frame.set_index("task_id").at["t2", "finished"])
    assert f">{finished.strftime('%Y-%m-%d %H:%M:%S')}<" in deleted
    assert not re.search(r"\d\d:\d\d:\d\d\.\d", page)  # no microseconds anywhere
    assert page.startswith("<!doctype html>") and "<title>wsnb deletion run" in page
