"""The HTML report as a reader sees it: Chromium at e-mail width (700 px), screenshots kept.

Each report is opened in Debian's Chromium (Playwright) with a 700 px wide viewport, checked for
horizontal overflow (nothing may need sideways scrolling in a mail pane) and photographed into
``test-output/report-*.png`` so a person can look at what a manager gets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_report import _run_of
from wsnb.deletion import delete_tasks
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger
from wsnb.report import DeletionReport

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "test-output"
WIDTH = 700


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {CHROMIUM} is missing", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _look(browser: Any, page_file: Path, name: str, *, full: bool = True) -> dict[str, Any]:
    """Open the page at e-mail width, screenshot it, return what the reader sees."""
    SHOTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
    try:
        page.goto(page_file.as_uri())
        seen: dict[str, Any] = page.evaluate(
            """() => ({
                scroll: document.documentElement.scrollWidth,
                text: document.body.innerText,
                title: document.title,
                height: document.documentElement.scrollHeight,
            })"""
        )
        shot = SHOTS / f"report-{name}.png"
        page.screenshot(path=str(shot), full_page=full)
    finally:
        page.close()
    assert shot.stat().st_size > 10_000
    return seen


def test_reports_fit_an_email_pane(browser: Any, emulator: Emulator, tmp_path: Path) -> None:
    ids = emulator.control.seed(24, seed=7)  # demo names: French, Chinese, Russian…
    emulator.control.deny(ids[:6])  # IAM refuses six of them
    with emulator.client(rate_limit=None) as client, Ledger(tmp_path / "l.sqlite") as book:
        mixed = delete_tasks(client, ids, ledger=book, chunk_size=6, progress=False)
        dry = delete_tasks(client, ids[6:12], ledger=book, dry_run=True, progress=False)
        synthetic = DeletionReport.from_ledger(
            book, _run_of(book, {"deleted": 3, "skipped": 2, "invalid": 1, "pending": 2})
        )
    assert mixed.summary["forbidden"] == 6 and mixed.summary["deleted"] == 18
    for name, report in (("mixed", mixed), ("dry-run", dry), ("attention", synthetic)):
        page = report.to_html(tmp_path / f"{name}.html")
        seen = _look(browser, page, name)
        assert seen["scroll"] <= WIDTH, (name, seen["scroll"])  # no sideways scrolling
        assert report.headline() in " ".join(seen["text"].split())
        assert seen["title"].startswith(("wsnb deletion run", "wsnb dry run"))
    assert "wsnb runs restore" in _look(browser, tmp_path / "mixed.html", "mixed")["text"]


@pytest.mark.slow
def test_a_100k_report_reads_like_a_small_one(browser: Any, tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as book:
        report = DeletionReport.from_ledger(book, _run_of(book, {"deleted": 99_800, "failed": 200}))
    paths = report.write(tmp_path / "big.html")
    seen = _look(browser, paths["html"], "100k", full=False)
    assert seen["scroll"] <= WIDTH
    assert "showing 200 of 99,800 deleted tasks; the complete table is in big.csv" in seen["text"]
    assert seen["height"] < 60_000  # about 400 rows, not 100,000
