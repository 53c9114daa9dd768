"""wsnb.report: DeletionReport read from a ledger; HTML, CSV and JSON outputs."""

from __future__ import annotations

import getpass
import html as html_lib
import json
import re
import socket
import time
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pandas as pd
import pytest

from wsnb.deletion import delete_tasks
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger, Outcome, RunStatus
from wsnb.params import cleanup_params
from wsnb.report import REPORT_COLUMNS, DeletionReport, headline, summary_text


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
    assert ">NEEDS ATTENTION</span></h2>" in page
    assert "<style" not in page and 'class="wsnb-report" style="' in page  # inline styles
    failures = page.split('class="wsnb-failures"')[1]
    assert failures.count(">failed</span>") == 1  # failures: one row per code
    assert failures.count(">not sent</span>") == 1  # skipped, in plain words
    assert "wsnb-outcomes" not in page  # the per-task tables: file only
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
    spoken = "deleted 2, already absent 1, invalid 1, not sent 1, failed 2"  # plain words
    assert title.text == root.attrib["aria-label"] == f"Run {report.run_id} outcomes: {spoken}"
    bars = _bars(svg)
    assert {name: (count, label) for name, (count, _, label) in bars.items()} == {
        "deleted": (2, "deleted"),
        "already_absent": (1, "already absent"),
        "invalid": (1, "invalid"),
        "skipped": (1, "not sent"),
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
    assert sorted(p.name for p in paths.values()) == [
        "report.csv",
        "report.html",
        "report.json",
        "report.md",
    ]
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
    assert "Deletion run" in page and ">OK</span></h2>" in page
    # each id shows the status and request id of the call that deleted it
    [answer] = [r for r in emulator.control.requests() if r["operation"] == "batch_delete"]
    assert (again.frame["http_status"] == 200).all()
    assert set(again.frame["request_id"]) == {answer["request_id"]}
    assert answer["request_id"] in again.to_csv(tmp_path / "r.csv").read_text()


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
    # the notebook view is the page's body, minus the per-task tables
    view = report._repr_html_()
    assert view.removesuffix("</div>") + '<h3 style="' in page
    assert page.count('class="wsnb-outcomes') == 2  # the failed task, then the deleted one
    # per-task rows: outcome chips, status, error and request id; times to the second
    rows = re.findall(r'<tr valign="top">(.*?)</tr>', page.split('class="wsnb-outcomes')[1])
    [failed] = rows
    assert ">failed</span>" in failed and ">400<" in failed and "X&lt;y&gt;" in failed
    [deleted] = re.findall(r'<tr valign="top">(.*?)</tr>', page.split("wsnb-sample")[1])
    assert ">deleted</span>" in deleted and "rid-2" not in deleted  # no error columns there
    finished = cast("pd.Timestamp", report.frame.set_index("task_id").at["t2", "finished"])
    assert f">{finished.strftime('%H:%M:%S')}<" in deleted
    assert not re.search(r"\d\d:\d\d:\d\d\.\d", page)  # no microseconds anywhere
    assert page.startswith("<!doctype html>") and "<title>wsnb deletion run" in page
    assert "<title>wsnb deletion run 1: needs attention</title>" in page


# --- reports a manager can read ---------------------------------------------------------------

CN4 = "https://workspace.cn-north-4.myhuaweicloud.com"
PROJECT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def _run_of(
    book: Ledger,
    outcomes: dict[str, int],
    *,
    dry_run: bool = False,
    status: str = "done",
    endpoint: str = CN4,
    params: dict[str, object] | None = None,
) -> int:
    """A run with ``outcomes[name]`` ids of each outcome, written straight into the ledger."""
    ids = {name: [f"{name}-{n:04d}" for n in range(count)] for name, count in outcomes.items()}
    plan: list[tuple[str, str | None, str | None, Outcome, str | None]] = [
        (tid, f"nightly restart {tid}", "REBOOT", "pending", None)
        for name, group in ids.items()
        if name != "invalid"
        for tid in group
    ]
    plan += [(tid, None, None, "invalid", "not a task id") for tid in ids.get("invalid", [])]
    run_id = book.create_run(
        endpoint=endpoint,
        project_id=PROJECT,
        params={"snapshot": True, "operator": "alice@ops-laptop", **(params or {})},
        dry_run=dry_run,
        plan=plan,
    )
    for name, group in ids.items():
        if name == "failed":
            book.set_outcomes(
                run_id, group, "failed", http_status=500, error_code="WKS.0202",
                error_msg="Internal error.", request_id="req-fail",
            )  # fmt: skip
        elif name == "skipped":
            book.set_outcomes(run_id, group, "skipped", error_msg="not sent: the run stopped")
        elif name not in ("invalid", "pending"):
            outcome = cast("Outcome", name)
            book.set_outcomes(run_id, group, outcome, http_status=200, request_id="req-ok")
    if status != "running":
        book.finish_run(run_id, cast("RunStatus", status), {"calls": 12})
    return run_id


def test_headline_says_what_happened_in_one_sentence(book: Ledger) -> None:
    report = DeletionReport.from_ledger(book, _run_of(book, {"deleted": 54}))
    created = pd.Timestamp(report.summary["created"])
    when = f"{created.day} {created:%b %Y %H:%M}"
    assert report.headline() == (
        f"Deleted 54 of 54 selected scheduled tasks in project {PROJECT} (cn-north-4)"
        f" on {when} UTC; nothing failed."
    )
    assert headline(report.summary) == report.headline()  # from report.json's summary too
    dry = DeletionReport.from_ledger(book, _run_of(book, {"planned": 1}, dry_run=True))
    assert dry.headline().startswith(
        f"Would delete 1 of 1 selected scheduled task in project {PROJECT} (cn-north-4) on "
    )
    assert dry.headline().endswith("UTC; dry run, nothing was deleted.")
    mixed = _run_of(book, {"deleted": 3, "already_absent": 1, "failed": 2, "skipped": 1})
    assert (
        DeletionReport.from_ledger(book, mixed)
        .headline()
        .endswith("UTC; 2 failed, 1 not sent, 1 was already gone.")
    )
    stopped = _run_of(book, {"deleted": 2, "pending": 3}, status="interrupted")
    assert (
        DeletionReport.from_ledger(book, stopped)
        .headline()
        .endswith(
            f"UTC; the run was interrupted with 3 still pending (wsnb runs resume {stopped})."
        )
    )
    local = _run_of(book, {"deleted": 1}, endpoint="http://127.0.0.1:8080")
    assert f"project {PROJECT} at http://127.0.0.1:8080 on" in (
        DeletionReport.from_ledger(book, local).headline()
    )


def test_report_names_who_where_when_and_how_to_undo(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as book:
        report = DeletionReport.from_ledger(book, _run_of(book, {"deleted": 2}))
    s = report.summary
    assert (s["region"], s["operator"], s["ledger"]) == (
        "cn-north-4",
        "alice@ops-laptop",
        str(tmp_path / "l.sqlite"),
    )
    undo = (
        f"wsnb runs restore {report.run_id} --ledger {tmp_path / 'l.sqlite'}"
        f" --region cn-north-4 --project-id {PROJECT}"
    )
    assert report.undo_command() == undo
    page = report.to_html(tmp_path / "r.html").read_text()
    text = _visible(page)
    assert report.headline() in text and undo in text and "alice@ops-laptop" in text
    assert "cn-north-4" in text and PROJECT in text and "UTC" in text
    # a dry run deleted nothing, an in-memory ledger is gone after the session
    with Ledger(tmp_path / "l.sqlite") as book:
        dry = DeletionReport.from_ledger(book, _run_of(book, {"planned": 2}, dry_run=True))
    assert dry.undo_command() is None and "nothing to undo" in _visible(dry._repr_html_())
    with Ledger(":memory:") as mem:
        gone = DeletionReport.from_ledger(mem, _run_of(mem, {"deleted": 1}))
    assert gone.undo_command() is None
    with Ledger(tmp_path / "l.sqlite") as book:
        bare = _run_of(book, {"deleted": 1}, params={"snapshot": False})
        assert DeletionReport.from_ledger(book, bare).undo_command() is None


def test_the_operator_is_recorded_unless_anonymous(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = emulator.control.seed(4, seed=5)
    with emulator.client(rate_limit=None) as client, Ledger(tmp_path / "l.sqlite") as book:
        named = delete_tasks(client, ids[:2], ledger=book, progress=False)
        monkeypatch.setenv("WSNB_REPORT_ANONYMOUS", "1")
        hidden = delete_tasks(client, ids[2:], ledger=book, progress=False)
        monkeypatch.delenv("WSNB_REPORT_ANONYMOUS")
        later = DeletionReport.from_ledger(book, named.run_id, anonymous=True)
        assert book.run(hidden.run_id)["params"].get("operator") is None  # never recorded
    expected = f"{getpass.getuser()}@{socket.gethostname()}"
    assert named.summary["operator"] == expected
    assert expected in _visible(named._repr_html_()) and expected in named.to_markdown()
    for report in (hidden, later):
        assert report.summary["operator"] is None
        assert expected not in report._repr_html_() and expected not in report.to_markdown()


_RAW = re.compile(r"\bNaN\b|\bnan\b|\bNaT\b|<NA>|\bNone\b|\bTrue\b|\bFalse\b|\+00:00")


def _visible(page: str) -> str:
    """The text a reader sees: tags dropped, entities decoded, whitespace flattened."""
    text = re.sub(r"<(style|title)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def test_html_shows_no_raw_values_and_hides_empty_columns(book: Ledger, tmp_path: Path) -> None:
    run_id = _run_of(book, {"deleted": 3, "failed": 1, "invalid": 1, "pending": 1})
    book.finish_run(run_id, "interrupted", {})
    report = DeletionReport.from_ledger(book, run_id)
    page = report.to_html(tmp_path / "r.html").read_text()
    assert not _RAW.search(page), _RAW.findall(page)
    assert not _RAW.search(report.to_markdown())
    # the sample of deleted tasks has no error column: every one of its cells would be empty
    sample = page.split('class="wsnb-outcomes wsnb-sample"')[1].split("</table>")[0]
    assert "error" not in sample.split("</thead>")[0] and "HTTP" not in sample.split("</thead>")[0]
    problems = page.split('class="wsnb-outcomes wsnb-problems"')[1].split("</table>")[0]
    assert "error" in problems.split("</thead>")[0]


def test_html_is_one_mail_safe_file_that_fits_an_email(book: Ledger, tmp_path: Path) -> None:
    report = DeletionReport.from_ledger(book, _run_of(book, {"deleted": 5, "failed": 2}))
    page = report.to_html(tmp_path / "r.html").read_text()
    lowered = page.lower()
    for banned in ("<style", "<script", "<link", "<img", "<iframe", "@import", "url(", "data:"):
        assert banned not in lowered, banned
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", lowered)  # nothing fetched
    assert "max-width:700px" in page  # the body is e-mail width
    assert report._repr_html_().count("<style") == 0  # the notebook view is inline too
    assert page.count("<svg") == 1  # the chart stays inline SVG


def test_markdown_for_chat_and_tickets(book: Ledger, tmp_path: Path) -> None:
    report = DeletionReport.from_ledger(book, _run_of(book, {"deleted": 3, "failed": 2}))
    text = report.to_markdown()
    lines = text.splitlines()
    assert lines[0] == f"**{report.headline()}**"
    assert "| WKS.0202 | 2 | Internal error. |" in text
    assert text.count("| failed-") == 2  # every failed task listed
    assert "deleted-0000" not in text  # the successes are counts, not rows
    assert report.write(tmp_path / "r.md") == {"md": tmp_path / "r.md"}
    assert (tmp_path / "r.md").read_text(encoding="utf-8") == text
    pipes = DeletionReport.from_ledger(book, _run_of(book, {"failed": 1}))
    pipes.frame.loc[0, "error_msg"] = "a | b\nc"
    assert "a \\| b c" in pipes.to_markdown()  # a message cannot break the table


@pytest.mark.slow
def test_json_is_written_streaming(book: Ledger, tmp_path: Path) -> None:
    report = DeletionReport.from_ledger(book, _run_of(book, {"deleted": 30_000, "failed": 5}))
    tracemalloc.start()
    try:
        report.to_json(tmp_path / "r.json", parameters={"dry_run": False})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = (tmp_path / "r.json").stat().st_size
    assert peak < size / 2, (peak, size)  # never the whole document in memory at once
    data = json.loads((tmp_path / "r.json").read_text())
    assert list(data) == ["summary", "outcomes", "events", "parameters"]
    assert len(data["outcomes"]) == 30_005 and data["summary"]["failed"] == 5
    first = data["outcomes"][0]
    assert first["task_id"] == "deleted-0000" and first["http_status"] == 200
    assert first["error_code"] is None and first["finished"].endswith("Z")


# --- 100,000 ids ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[DeletionReport, Path]:
    """A finished run of 100,000 ids (200 failed), built straight into a ledger file."""
    folder = tmp_path_factory.mktemp("big")
    with Ledger(folder / "l.sqlite") as book:
        run_id = _run_of(book, {"deleted": 99_800, "failed": 200})
        return DeletionReport.from_ledger(book, run_id), folder


@pytest.mark.slow
def test_a_100k_report_stays_email_sized(big: tuple[DeletionReport, Path]) -> None:
    report, folder = big
    started = time.perf_counter()
    paths = report.write(folder / "out")
    elapsed = time.perf_counter() - started
    assert set(paths) == {"html", "csv", "json", "md"}
    page = paths["html"].read_text()
    assert len(page.encode()) <= 1_000_000
    text = _visible(page)
    assert "showing 200 of 99,800 deleted tasks; the complete table is in report.csv" in text
    failed = report.frame.loc[report.frame["outcome"] == "failed", "task_id"]
    assert all(tid in page for tid in failed)  # every failure, by id
    assert page.count("<tr") < 500
    assert len(pd.read_csv(paths["csv"], dtype=str)) == 100_000  # the complete table
    data = json.loads(paths["json"].read_text())
    assert len(data["outcomes"]) == 100_000 and data["summary"]["ids"] == 100_000
    assert len(paths["md"].read_bytes()) < 100_000
    assert elapsed < 20, elapsed  # was 15 s for the HTML and JSON alone


@pytest.mark.slow
def test_one_html_file_brings_its_complete_csv(big: tuple[DeletionReport, Path]) -> None:
    report, folder = big
    paths = report.write(folder / "mail.html")
    assert paths == {"html": folder / "mail.html", "csv": folder / "mail.csv"}
    assert "the complete table is in mail.csv" in _visible(paths["html"].read_text())
    small = DeletionReport(frame=report.frame.head(10), summary=report.summary)
    assert small.write(folder / "small.html") == {"html": folder / "small.html"}


def test_every_outcome_has_a_colour_and_a_word() -> None:
    """A new ledger outcome must be named in every report (a missing one was a KeyError)."""
    from wsnb.ledger import OUTCOMES
    from wsnb.report import _COLOURS, _WORDS

    assert set(_COLOURS) == set(_WORDS) == set(OUTCOMES)


def test_the_html_and_markdown_verdict_is_report_ok(tmp_path: Path) -> None:
    """A run with forbidden ids is not OK: the HTML badge, the Markdown and the headline say so
    (the HTML used an older rule that only looked at failed and pending ids)."""
    with Ledger(tmp_path / "l.sqlite") as book:
        report = DeletionReport.from_ledger(
            book, _run_of(book, {"deleted": 3, "forbidden": 2}, status="done")
        )
    assert not report.ok
    html = report.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "NEEDS ATTENTION" in html and ">OK<" not in html
    assert "NEEDS ATTENTION" in report.to_markdown()
    assert "2 refused by IAM (forbidden)" in report.headline()
    assert "nothing failed" not in report.headline()
