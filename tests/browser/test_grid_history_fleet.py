"""TaskGrid's history column and filter, and fleet frames, in real JupyterLab and Notebook 7.

The test process runs an emulator with 30 tasks and a known execution history (``tick``); the
kernel lists them, enriches them with ``wsnb.enrich`` (credentials from its environment only)
and shows two grids: the enriched frame, and a fleet frame built by hand from two "projects"
(the emulator's and a copy of ten of its tasks under another project id and region, so the same
task ids live in both). The browser checks the history marks (text alternatives, contrast in
the Light and Dark themes), the History filter and its counts, the region/project filters with
counts, rows with the same task id in two projects, and Delete disabled for a fleet without
``fleet=``. Screenshots go to ``test-output/grid-history-*.png`` and ``grid-fleet-*.png``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.browser.test_grid_browser import CONTRAST_JS, _menu, _set_theme, _wait_for_output
from tests.conftest import task_body
from wsnb.auth import CREDENTIAL_ENV_VARS
from wsnb.emulator import Emulator

pytestmark = pytest.mark.browser

NOTEBOOK = "history_fleet.ipynb"
GRID = ".wsnb-grid"
MIN_CONTRAST = 4.5
P2 = "b2" * 16  # the second "project" of the hand-built fleet
REGION_1, REGION_2 = "cn-north-4", "ap-southeast-1"
RUNS = {  # outcomes ticked, oldest first; the rest of the 30 tasks never ran
    "broken": ["FAIL", "FAIL", "FAIL"],
    "flaky": ["SUCCESS", "FAIL", "FAIL"],
    "healthy": ["FAIL", "SUCCESS"],
    "skipping": ["SKIP"],
}
GROUPS = {"broken": 2, "flaky": 3, "healthy": 4, "skipping": 1}

SETUP_CELL = """\
import pandas as pd
from wsnb import Client, TaskGrid, enrich, tasks_frame

client = Client.from_env(rate_limit=None)  # the emulator's endpoint and keys: environment only
frame = enrich(tasks_frame(client), client, records=5, cache=False, progress=False)
print(f"ENRICHED {len(frame)} tasks")"""

HISTORY_CELL = """\
history_grid = TaskGrid(frame)
history_grid"""

FLEET_CELL = f"""\
plain = tasks_frame(client)
other = plain.sort_index().iloc[:10]  # the same task ids, as if in a second project
def in_region(part, region):
    return part.assign(region=pd.array([region] * len(part), dtype="string"))

fleet_frame = pd.concat(
    {{client.project_id: in_region(plain, "{REGION_1}"), "{P2}": in_region(other, "{REGION_2}")}},
    names=["project_id", "task_id"],
)
fleet_grid = TaskGrid(fleet_frame)
print(f"FLEET {{len(fleet_frame)}} rows")
fleet_grid"""


@pytest.fixture(scope="module")
def emulator_runs(chromium_path: Path) -> Iterator[tuple[Emulator, dict[str, list[str]]]]:
    """30 new tasks (no record yet); a few with known runs (``RUNS``), by group name -> ids."""
    with Emulator() as emu:
        with emu.client(rate_limit=None) as client:
            for number in range(30):
                client.create_task(task_body(task_name=f"task-{number:02d}"))
        ids = sorted(emu.control.task_ids())
        groups: dict[str, list[str]] = {}
        at = 0
        for name, size in GROUPS.items():
            groups[name] = ids[at : at + size]
            at += size
        groups["never"] = ids[at:]
        for name, outcomes in RUNS.items():
            for status in outcomes:
                emu.control.tick(task_ids=groups[name], status=status)
        yield emu, groups


@pytest.fixture(scope="module")
def server(
    emulator_runs: tuple[Emulator, dict[str, list[str]]],
    jupyter_env: dict[str, str],
    jupyter_launcher: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    emulator = emulator_runs[0]
    env = dict(jupyter_env)
    for name in ("WSNB_REGION", *CREDENTIAL_ENV_VARS):
        env.pop(name, None)
    env.update(
        WSNB_ENDPOINT=emulator.endpoint,
        HUAWEICLOUD_SDK_AK=emulator.ak,
        HUAWEICLOUD_SDK_SK=emulator.sk,
        HUAWEICLOUD_SDK_PROJECT_ID=emulator.project_id,
    )
    root = tmp_path_factory.mktemp("history-fleet-root")
    notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.cells = [
        nbformat.v4.new_code_cell(c)  # type: ignore[no-untyped-call]
        for c in (SETUP_CELL, HISTORY_CELL, FLEET_CELL)
    ]
    nbformat.write(notebook, root / NOTEBOOK)  # type: ignore[no-untyped-call]
    with jupyter_launcher(env, root) as running:
        yield running


@pytest.fixture(scope="module")
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture(autouse=True)
def _screenshot_on_failure(
    request: pytest.FixtureRequest, context: Any, output_dir: Path
) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for number, open_page in enumerate(context.pages):
            name = f"grid-history-fleet-failure-{request.node.name}-{number}.png"
            open_page.screenshot(path=str(output_dir / name))


def _wait_idle(server: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sessions = [s for s in server.api("/api/sessions") if s["path"] == NOTEBOOK]
        if sessions and sessions[0]["kernel"]["execution_state"] == "idle":
            return
        time.sleep(0.2)
    pytest.fail(f"the kernel for {NOTEBOOK} did not become idle")


@pytest.fixture(scope="module")
def lab(server: Any, context: Any) -> Any:
    page = context.new_page()
    page.goto(server.page_url(f"/lab/tree/{NOTEBOOK}"))
    page.wait_for_selector(".jp-Notebook")
    _wait_idle(server)
    _menu(page, "Run", "Run All Cells")
    _wait_for_output(page, "ENRICHED", 120_000)
    _wait_for_output(page, "FLEET", 60_000)
    page.wait_for_function(
        "document.querySelectorAll('.wsnb-grid tbody tr[data-id]').length > 0 "
        "&& document.querySelectorAll('.wsnb-grid').length === 2",
        timeout=30_000,
    )
    return page


@pytest.fixture(scope="module")
def nb7(lab: Any, server: Any, context: Any) -> Any:
    """Notebook 7 on the notebook Lab saved; both grids restored from the live kernel."""
    from playwright.sync_api import expect

    lab.keyboard.press("Control+s")
    expect(lab.locator(".jp-mod-dirty")).to_have_count(0, timeout=10_000)
    page = context.new_page()
    page.goto(server.page_url(f"/notebooks/{NOTEBOOK}"))
    page.wait_for_function(
        "document.querySelectorAll('.wsnb-grid').length === 2 && "
        "[...document.querySelectorAll('.wsnb-grid')].every("
        "(g) => g.querySelector('tbody tr[data-id]'))",
        timeout=60_000,
    )
    return page


def _theme(page: Any, theme: str, output_dir: Path) -> None:
    """``_set_theme``, with a screenshot of what the menu did when the theme did not change."""
    try:
        _set_theme(page, theme)
    except AssertionError:
        page.screenshot(path=str(output_dir / "grid-history-fleet-theme-debug.png"))
        page.keyboard.press("Escape")
        _set_theme(page, theme)


def _grid(page: Any, which: int) -> Any:
    return page.locator(GRID).nth(which)


def _rows(grid: Any) -> Any:
    return grid.locator("tbody tr[data-id]")


def _ids(grid: Any) -> list[str]:
    return list(grid.locator("tbody tr[data-id]").evaluate_all("r => r.map(x => x.dataset.id)"))


def _runs_label(grid: Any, task_id: str) -> str:
    label = grid.locator(f"tbody tr[data-id='{task_id}'] .wsnb-runs").get_attribute("aria-label")
    return str(label)


# --- history ------------------------------------------------------------------------------------


def _history_marks_and_filter(page: Any, groups: dict[str, list[str]]) -> None:
    from playwright.sync_api import expect

    grid = _grid(page, 0)
    grid.scroll_into_view_if_needed()
    expect(grid.locator("th[data-column='recent_outcomes']")).to_have_text("History")
    flaky = groups["flaky"][0]
    label = _runs_label(grid, flaky)
    assert label.startswith("Last 3 runs, newest first: failed, failed, succeeded"), label
    glyphs = grid.locator(f"tbody tr[data-id='{flaky}'] .wsnb-run")
    expect(glyphs).to_have_text(["✕", "✕", "✓"])
    assert _runs_label(grid, groups["never"][0]) == "No run recorded"
    assert "skipped" in _runs_label(grid, groups["skipping"][0])

    button = grid.locator("button.wsnb-filter[data-column='history']")
    button.click()
    menu = grid.locator(".wsnb-menu[data-menu='history']")
    counts = menu.locator("label:has(input[type=radio]) .wsnb-count").all_inner_texts()
    failing = len(groups["broken"]) + len(groups["flaky"])
    assert counts == [str(failing), str(failing), str(len(groups["broken"])), "0", "0"], counts
    idle = menu.locator("label:has([data-idle]) .wsnb-count")
    expect(idle).to_have_text(str(len(groups["never"])))
    menu.locator("input[data-failed-last='2']").check()
    expect(button).to_contain_text("History: failed last 2")
    expect(_rows(grid)).to_have_count(failing)
    assert set(_ids(grid)) == set(groups["broken"] + groups["flaky"])
    menu.locator("input[data-failed-last='3']").check()
    expect(_rows(grid)).to_have_count(len(groups["broken"]))
    assert set(_ids(grid)) == set(groups["broken"])
    menu.locator("input[data-failed-last='0']").check()  # any history
    menu.locator("[data-idle]").check()
    expect(button).to_contain_text("History: idle 30 d")
    expect(_rows(grid)).to_have_count(len(groups["never"]))
    assert set(_ids(grid)) == set(groups["never"])
    menu.locator("[data-idle]").uncheck()
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(button).to_have_text("History ▾")


def _history_contrast(page: Any, groups: dict[str, list[str]], output_dir: Path, ui: str) -> None:
    """The fail and success glyphs on a plain and on a selected row, in both themes."""
    from playwright.sync_api import expect

    grid = _grid(page, 0)
    grid.locator("th[data-column='recent_outcomes']").click()  # sort: streaks first
    expect(grid.locator("th[data-column='recent_outcomes']")).to_have_attribute(
        "aria-sort", "ascending"
    )
    grid.locator("th[data-column='recent_outcomes']").click()
    expect(grid.locator("th[data-column='recent_outcomes']")).to_have_attribute(
        "aria-sort", "descending"
    )
    expect(_rows(grid).first).to_have_attribute("data-id", re.compile("|".join(groups["broken"])))
    first = _ids(grid)[0]
    assert first in groups["broken"], (first, groups)  # the longest failure streak first
    second = groups["flaky"][0]
    grid.locator(f"tbody tr[data-id='{second}']").click()
    expect(grid.locator(f"tbody tr[data-id='{second}']")).to_have_attribute("aria-selected", "true")
    page.mouse.move(0, 0)
    sel = f"{GRID} tbody tr[data-id='{{}}'] .wsnb-run-{{}}"
    results: dict[str, dict[str, float]] = {}
    try:
        for theme in ("JupyterLab Light", "JupyterLab Dark"):
            _theme(page, theme, output_dir)
            grid.scroll_into_view_if_needed()
            page.mouse.move(0, 0)
            results[theme] = {
                "fail": page.evaluate(CONTRAST_JS, sel.format(first, "fail")),
                "fail, selected row": page.evaluate(CONTRAST_JS, sel.format(second, "fail")),
                "success, selected row": page.evaluate(CONTRAST_JS, sel.format(second, "success")),
                "success": page.evaluate(CONTRAST_JS, sel.format(groups["healthy"][0], "success")),
            }
            shade = "dark" if "Dark" in theme else "light"
            grid.screenshot(path=str(output_dir / f"grid-history-{ui}-{shade}.png"))
    finally:
        _set_theme(page, "JupyterLab Light")
        grid.locator("button[data-action='clear']").click()
        grid.locator("th[data-column='recent_outcomes']").click()  # third click: unsorted
    low = {
        f"{theme}: {name}": ratio
        for theme, values in results.items()
        for name, ratio in values.items()
        if ratio is None or ratio < MIN_CONTRAST
    }
    assert not low, f"history marks below {MIN_CONTRAST}:1 — {low}; all: {results}"


# --- fleet --------------------------------------------------------------------------------------


def _fleet(page: Any, emulator: Emulator, output_dir: Path, ui: str) -> None:
    from playwright.sync_api import expect

    grid = _grid(page, 1)
    grid.scroll_into_view_if_needed()
    total = len(emulator.control.task_ids())
    status = grid.locator("[data-testid='status']")
    expect(status).to_contain_text(f"({total + 10:,} tasks)")
    expect(grid.locator("th[data-column='region']")).to_have_text("Region")
    expect(grid.locator("th[data-column='project_id']")).to_have_text("Project")

    region = grid.locator("button.wsnb-filter[data-column='region']")
    region.click()
    menu = grid.locator(".wsnb-menu[data-menu='region']")
    expect(menu.locator("label", has_text=REGION_2).locator(".wsnb-count")).to_have_text("10")
    expect(menu.locator("label", has_text=REGION_1).locator(".wsnb-count")).to_have_text(
        f"{total:,}"
    )
    menu.locator(f"input[data-value='\"{REGION_2}\"']").check()
    expect(region).to_contain_text("(1)")
    expect(_rows(grid)).to_have_count(10)
    assert all(k.startswith(f"{P2}/") for k in _ids(grid))
    page.keyboard.press("Escape")
    grid.locator("button:has-text('Reset filters')").click()
    expect(status).to_contain_text(f"of {total + 10:,} matching")

    shared = sorted(emulator.control.task_ids())[0]
    grid.locator("input.wsnb-search").fill(shared)
    expect(_rows(grid)).to_have_count(2)
    keys = _ids(grid)
    assert sorted(keys) == sorted([f"{emulator.project_id}/{shared}", f"{P2}/{shared}"])
    task_cells = grid.locator("tbody tr[data-id] td:nth-child(2)").all_inner_texts()
    assert task_cells == [shared, shared]  # the id column shows the task id
    grid.locator(f"tbody tr[data-id='{P2}/{shared}']").click()
    expect(grid.locator("[data-testid='selected-count']")).to_have_text("1 selected")
    expect(grid.locator("tbody tr.wsnb-selected")).to_have_attribute("data-id", f"{P2}/{shared}")

    delete = grid.locator("button[data-action='delete_preview']")
    expect(delete).to_be_disabled()
    expect(grid.locator("[data-testid='delete-blocked']")).to_contain_text(
        "TaskGrid(frame, fleet=fleet)"
    )
    grid.locator("input.wsnb-search").fill("")
    grid.locator("th[data-column='region']").click()  # sorted by region: groups with a rule
    expect(grid.locator("th[data-column='region']")).to_have_attribute("aria-sort", "ascending")
    grid.locator("select[aria-label='Rows per page']").select_option("25")
    expect(grid.locator("tbody tr.wsnb-group-start")).to_have_count(1)
    for theme in ("JupyterLab Light", "JupyterLab Dark"):
        _set_theme(page, theme)
        shade = "dark" if "Dark" in theme else "light"
        grid.locator("[data-testid='delete-blocked']").scroll_into_view_if_needed()
        page.screenshot(path=str(output_dir / f"grid-fleet-{ui}-{shade}.png"))
        blocked = page.evaluate(CONTRAST_JS, f"{GRID} [data-testid='delete-blocked']")
        assert blocked >= MIN_CONTRAST, (theme, blocked)
    _set_theme(page, "JupyterLab Light")
    grid.locator("th[data-column='region']").click()
    grid.locator("th[data-column='region']").click()
    grid.locator("button[data-action='clear']").click()
    expect(grid.locator("[data-testid='selected-count']")).to_have_text("0 selected")


# --- the tests ----------------------------------------------------------------------------------


def test_lab_history_marks_and_filter(
    lab: Any, emulator_runs: tuple[Emulator, dict[str, list[str]]]
) -> None:
    _history_marks_and_filter(lab, emulator_runs[1])


def test_lab_history_contrast_light_and_dark(
    lab: Any, emulator_runs: tuple[Emulator, dict[str, list[str]]], output_dir: Path
) -> None:
    _history_contrast(lab, emulator_runs[1], output_dir, "jupyterlab")


def test_lab_fleet_filters_keys_and_blocked_delete(
    lab: Any, emulator_runs: tuple[Emulator, dict[str, list[str]]], output_dir: Path
) -> None:
    _fleet(lab, emulator_runs[0], output_dir, "jupyterlab")


def test_nb7_history_marks_and_filter(
    nb7: Any, emulator_runs: tuple[Emulator, dict[str, list[str]]]
) -> None:
    _history_marks_and_filter(nb7, emulator_runs[1])


def test_nb7_fleet_filters_keys_and_blocked_delete(
    nb7: Any, emulator_runs: tuple[Emulator, dict[str, list[str]]], output_dir: Path
) -> None:
    _fleet(nb7, emulator_runs[0], output_dir, "notebook7")
