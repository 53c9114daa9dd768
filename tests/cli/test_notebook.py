"""``wsnb run`` and ``wsnb demo`` (wsnb.cli.notebook): parameter checks, the demo, its report."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from wsnb import params, runner
from wsnb.cli import cli
from wsnb.cli.notebook import notebook_defaults

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")


def test_notebook_defaults() -> None:
    path = runner.notebook_path("cleanup")
    defaults = notebook_defaults(path)
    assert list(defaults) == list(params.CLEANUP_PARAMETERS)
    assert defaults["dry_run"] is True
    assert params.cleanup_params(**defaults).dry_run is True  # the notebook's defaults are valid


# --- the CLI refuses before any kernel starts -------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "sk", "abc123"], r"refusing secret-looking parameter\(s\) \['sk'\]"),
        (["-p", "colour", "red"], r"has no parameter\(s\) \['colour'\]"),
        (["-p", "chunk_size", "0"], "chunk_size must be between 1 and 5000"),
        (["-p", "expired_only", "False"], "no filter set"),
    ],
)
def test_run_refuses_bad_parameters(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["run", "cleanup", *args, "-o", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert re.search(message, result.output)
    assert "abc123" not in result.output
    assert not (tmp_path / "o").exists()


# --- wsnb demo, and its report in Chromium ----------------------------------------------------


@pytest.mark.slow
def test_demo_dry_run_then_capped_real_run(demo_run: tuple[Path, str, dict[str, str]]) -> None:
    out, output, _ = demo_run
    last = output.strip().splitlines()[-1]
    assert last == f"Report: {out / 'run' / 'report.html'}"
    dry = json.loads((out / "dry-run" / "report.json").read_text())
    real = json.loads((out / "run" / "report.json").read_text())
    assert dry["summary"]["dry_run"] is True and dry["summary"]["deleted"] == 0
    assert dry["summary"]["planned"] > 0
    assert real["summary"]["deleted"] == dry["summary"]["planned"]
    assert real["parameters"]["max_deletions"] == 100
    assert {o["task_id"] for o in real["outcomes"]} == {o["task_id"] for o in dry["outcomes"]}
    remaining = 300 - real["summary"]["deleted"]
    assert f"{remaining} of 300 tasks remain" in output
    for label in ("dry-run", "run"):
        page = (out / label / "scheduled_cleanup.html").read_text()
        assert "wsnb.params.cleanup_params" not in page  # exported without input
        assert "wsnb " in page


@pytest.mark.slow
@pytest.mark.browser
def test_demo_report_renders_in_chromium(demo_run: tuple[Path, str, dict[str, str]]) -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {CHROMIUM} is missing", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    out, _, _ = demo_run
    report = out / "run" / "report.html"
    deleted = json.loads((out / "run" / "report.json").read_text())["summary"]["deleted"]
    shots = REPO / "test-output"
    shots.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(report.as_uri())
            assert page.title().startswith("wsnb deletion run")
            rows = page.locator("table.wsnb-outcomes tbody tr")
            assert rows.count() == deleted
            assert page.locator("table.wsnb-outcomes").inner_text().count("deleted") >= deleted
            chart = page.locator("svg.wsnb-chart[role=img]")
            assert chart.locator("rect").first.evaluate("r => r.getBBox().width > 0")
            assert f"deleted {deleted:,}" in (chart.get_attribute("aria-label") or "")
            page.screenshot(path=str(shots / "demo-report.png"), full_page=True)

            page.goto((out / "run" / "scheduled_cleanup.html").as_uri())
            text = page.locator("body").inner_text()
            assert f"{deleted} deleted" in text and "OK" in text
            assert "cleanup_params" not in text  # the code is not in the export
            page.screenshot(path=str(shots / "demo-notebook.png"), full_page=True)
        finally:
            browser.close()
    assert (shots / "demo-report.png").stat().st_size > 10_000
