"""wsnb.runner and wsnb._cli_run: parameter validation, secrets, kernels, export, CLI, demo."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner
from jupyter_client.kernelspec import KernelSpecManager

from wsnb import frames, runner
from wsnb._cli_run import notebook_defaults
from wsnb.cli import cli
from wsnb.emulator import Emulator

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")


# --- cleanup_params ---------------------------------------------------------------------------


def test_defaults_need_a_filter() -> None:
    with pytest.raises(runner.ParameterError, match=r"no filter set.*all_tasks=True"):
        runner.cleanup_params()
    assert runner.cleanup_params(all_tasks=True).all_tasks is True


def test_values_are_normalised() -> None:
    p = runner.cleanup_params(
        task_types="stop, REBOOT,STOP",
        last_statuses=["fail"],
        next_run_after="2026-01-01",
        next_run_before="2026-01-02T08:00:00+08:00",
        max_deletions="5",
        dry_run="false",
        output_dir="reports",
    )
    assert p.task_types == ("STOP", "REBOOT")
    assert p.last_statuses == ("FAIL",)
    assert p.next_run_after == pd.Timestamp("2026-01-01", tz="UTC")
    assert p.next_run_before == pd.Timestamp("2026-01-02 00:00", tz="UTC")
    assert (p.max_deletions, p.dry_run, p.output_dir) == (5, False, Path("reports"))
    assert p.filters() == {
        "task_types": ("STOP", "REBOOT"),
        "last_statuses": ("FAIL",),
        "next_run_before": "2026-01-02T00:00:00+00:00",
        "next_run_after": "2026-01-01T00:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"chunk_size": 0}, "chunk_size must be between 1 and 5000, got 0"),
        ({"chunk_size": 5001}, "chunk_size must be between 1 and 5000, got 5001"),
        ({"max_deletions": -1}, "max_deletions must be >= 0, got -1"),
        ({"max_deletions": 2.5}, "max_deletions must be an integer"),
        ({"max_deletions": None}, r"max_deletions must be a number >= 0, not None.*explicit"),
        ({"max_deletions": ""}, r"max_deletions must be a number >= 0, not None"),
        ({"dry_run": "maybe"}, "dry_run must be True or False"),
        ({"task_types": ["STOPP"]}, r"task_types: unknown value\(s\) \['STOPP'\]"),
        ({"last_statuses": "OK"}, r"last_statuses: unknown value\(s\) \['OK'\]"),
        ({"expire_before": "yesterday-ish"}, "expire_before must be a date/time"),
        (
            {"next_run_after": "2026-02-01", "next_run_before": "2026-01-01"},
            "next_run_after .* must be earlier than next_run_before",
        ),
        ({"reads_per_minute": 0}, "reads_per_minute must be > 0 or None"),
        ({"endpoint": "http://x", "region": "cn-north-4"}, "endpoint or region, not both"),
        ({"colour": "red"}, r"unknown parameter\(s\) \['colour'\]"),
        ({"name_pattern": 5}, "name_pattern must be a string"),
    ],
)
def test_bad_values_name_the_parameter(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(runner.ParameterError, match=message):
        runner.cleanup_params(expired_only=True, **kw)


def test_empty_paths_fall_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSNB_OUTPUT_DIR", "/tmp/wsnb-out")
    monkeypatch.setenv("WSNB_LEDGER", "/tmp/wsnb-ledger.sqlite")
    p = runner.cleanup_params(expired_only=True, output_dir="", ledger_path="")
    assert (p.output_dir, p.ledger_path) == (
        Path("/tmp/wsnb-out"),
        Path("/tmp/wsnb-ledger.sqlite"),
    )
    monkeypatch.delenv("WSNB_OUTPUT_DIR")
    monkeypatch.delenv("WSNB_LEDGER")
    p = runner.cleanup_params(expired_only=True)
    assert (p.output_dir, p.ledger_path) == (Path("wsnb-report"), None)


# --- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["ak", "sk", "SK", "token", "security_token", "auth_token", "HUAWEICLOUD_SDK_AK", "my_sk"],
)
def test_secret_names_are_refused_without_the_value(name: str) -> None:
    value = "s3cr3t-VALUE-42"
    with pytest.raises(runner.SecretParameterError) as info:
        runner.cleanup_params(expired_only=True, **{name: value})
    assert name in str(info.value)
    assert value not in str(info.value)


def test_plain_names_are_not_secret() -> None:
    runner.check_no_secrets([*runner.CLEANUP_PARAMETERS, "In", "Out", "_ih", "get_ipython"])


def test_credentials_configured(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    assert runner.credentials_configured(home) is False
    assert runner.credentials_configured({**home, "WSNB_AUTH_TOKEN": "t"}) is True
    (tmp_path / ".huaweicloud").mkdir()
    (tmp_path / ".huaweicloud" / "credentials").write_text("[basic]\nak = a\nsk = b\n")
    assert runner.credentials_configured(home) is True


# --- selection against the emulator -----------------------------------------------------------


def test_select_tasks_matches_pandas(emulator: Emulator) -> None:
    emulator.control.seed(300, seed=11)
    client = emulator.client(rate_limit=None)
    frame = frames.tasks_frame(client)
    now = pd.Timestamp.now(tz="UTC")
    p = runner.cleanup_params(task_types="STOP,REBOOT,HIBERNATE", disabled_only=True)
    got = runner.select_tasks(client, p)
    want = frame[frame["task_type"].isin(["STOP", "REBOOT", "HIBERNATE"]) & (~frame["enable"])]
    assert sorted(got.index) == sorted(want.index)
    assert len(want) > 0

    p = runner.cleanup_params(expire_after=now.isoformat(), name_pattern="0")
    got = runner.select_tasks(client, p, frame=frame)
    exp = frame["expire_time"]
    want = frame[(exp >= now).fillna(False) & frame["task_name"].str.contains("0", regex=False)]
    assert sorted(got.index) == sorted(want.index)
    assert len(want) > 0


def test_write_report_and_summary(emulator: Emulator, tmp_path: Path) -> None:
    import wsnb

    emulator.control.seed(20, seed=3)
    client = emulator.client(rate_limit=None)
    ids = emulator.control.task_ids()[:4]
    report = wsnb.delete_tasks(client, ids, ledger=tmp_path / "l.sqlite", progress=False)
    params = runner.cleanup_params(all_tasks=True, dry_run=False)
    paths = runner.write_report(report, tmp_path / "out", params)
    assert sorted(p.name for p in paths.values()) == ["report.csv", "report.html", "report.json"]
    payload = json.loads(paths["json"].read_text())
    assert payload["summary"]["deleted"] == 4
    assert payload["parameters"]["dry_run"] is False
    text = runner.format_summary(payload["summary"], paths)
    assert text.startswith(f"wsnb deletion run {report.run_id}: OK")
    assert "4 deleted" in text and str(paths["html"]) in text


# --- notebooks, kernels, export ---------------------------------------------------------------


def test_notebook_path_and_defaults() -> None:
    path = runner.notebook_path("cleanup")
    assert path == REPO / "notebooks" / "scheduled_cleanup.ipynb"
    assert runner.notebook_path(path) == path
    with pytest.raises(FileNotFoundError, match="cleanup"):
        runner.notebook_path("nope")
    defaults = notebook_defaults(path)
    assert list(defaults) == list(runner.CLEANUP_PARAMETERS)
    assert defaults["dry_run"] is True
    runner.cleanup_params(**defaults)  # the notebook's own defaults are valid


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("True", True),
        ("false", False),
        ("None", None),
        ("12", 12),
        ("1.5", 1.5),
        ('["STOP", "REBOOT"]', ["STOP", "REBOOT"]),
        ("STOP,REBOOT", "STOP,REBOOT"),
    ],
)
def test_parse_parameter(text: str, value: Any) -> None:
    assert runner.parse_parameter(text) == value


def test_kernel_is_used_when_it_runs_this_python() -> None:
    with runner.kernel_for_current_env() as name:
        spec = KernelSpecManager().get_kernel_spec(name)
        assert runner._kernel_python(spec.argv) == Path(os.path.abspath(sys.executable))


def test_kernel_falls_back_when_python3_is_foreign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    foreign = tmp_path / "kernels" / "python3"
    foreign.mkdir(parents=True)
    (foreign / "kernel.json").write_text(
        json.dumps({"argv": ["/usr/bin/false", "-f", "{connection_file}"], "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == "/usr/bin/false"
    with runner.kernel_for_current_env() as name:
        assert name != "python3"
        spec = KernelSpecManager().get_kernel_spec(name)
        assert spec.argv[0] == os.path.abspath(sys.executable)
        added = os.environ["JUPYTER_PATH"].split(os.pathsep)[0]
    assert os.environ["JUPYTER_PATH"] == str(tmp_path)
    assert not Path(added).exists()


def test_patched_environ_restores() -> None:
    os.environ["WSNB_TEST_KEEP"] = "1"
    try:
        with runner.patched_environ({"WSNB_TEST_KEEP": None, "WSNB_TEST_NEW": "x"}):
            assert "WSNB_TEST_KEEP" not in os.environ
            assert os.environ["WSNB_TEST_NEW"] == "x"
        assert os.environ["WSNB_TEST_KEEP"] == "1"
        assert "WSNB_TEST_NEW" not in os.environ
    finally:
        os.environ.pop("WSNB_TEST_KEEP", None)


@pytest.mark.slow
def test_export_html_hides_input(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    cell = nbformat.v4.new_code_cell("secret_looking_source_code = 1")  # type: ignore[no-untyped-call]
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="visible output\n")]  # type: ignore[no-untyped-call]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "n.ipynb")  # type: ignore[no-untyped-call]
    page = runner.export_html(tmp_path / "n.ipynb", tmp_path / "n.html").read_text()
    assert "visible output" in page
    assert "secret_looking_source_code" not in page
    full = runner.export_html(tmp_path / "n.ipynb", tmp_path / "f.html", no_input=False)
    assert "secret_looking_source_code" in full.read_text()


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
        assert "runner.cleanup_params" not in page  # exported without input
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
