"""TaskGrid end to end: real JupyterLab and Notebook 7 in Debian's Chromium, a 20k-task emulator.

The test process runs the emulator; the kernel reaches it over HTTP with credentials from its
environment (never written into the notebook), lists every task with ``tasks_frame``, shows
the grid with a client, and the browser filters, clicks, shift-clicks and deletes through the
delete panel. The emulator must then lack exactly the tasks chosen in the browser. Notebook 7
then opens the same notebook from ``/tree``: the grid is restored from the live kernel and a
second deletion goes through the same panel.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from wsnb.auth import CREDENTIAL_ENV_VARS
from wsnb.emulator import Emulator

pytestmark = pytest.mark.browser

TASKS = 20_000
NOTEBOOK = "grid.ipynb"
GRID = ".wsnb-grid"
ROWS = f"{GRID} tbody tr[data-id]"
LOAD_TIMEOUT_MS = 150_000  # listing 20k tasks from the emulator

SETUP_CELL = """\
import time
from wsnb import Client, TaskGrid, tasks_frame

client = Client.from_env(rate_limit=None)  # the emulator's endpoint and keys: environment only
started = time.perf_counter()
frame = tasks_frame(client)
print(f"LOADED {len(frame)} tasks in {time.perf_counter() - started:.1f} s")"""

GRID_CELL = """\
grid = TaskGrid(frame, client=client, ledger="ledger.sqlite", max_deletions=100)
grid"""


@pytest.fixture(scope="module")
def emulator_20k(chromium_path: Path) -> Iterator[Emulator]:
    """Seeded only once the browser is known to exist (else the test skips first)."""
    with Emulator(tasks=TASKS, seed=2024) as emu:
        yield emu


@pytest.fixture(scope="module")
def grid_server(
    emulator_20k: Emulator,
    jupyter_env: dict[str, str],
    jupyter_launcher: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    env = dict(jupyter_env)
    for name in ("WSNB_REGION", *CREDENTIAL_ENV_VARS):
        env.pop(name, None)
    env.update(
        WSNB_ENDPOINT=emulator_20k.endpoint,
        HUAWEICLOUD_SDK_AK=emulator_20k.ak,
        HUAWEICLOUD_SDK_SK=emulator_20k.sk,
        HUAWEICLOUD_SDK_PROJECT_ID=emulator_20k.project_id,
    )
    root = tmp_path_factory.mktemp("grid-root")
    notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(SETUP_CELL), nbformat.v4.new_code_cell(GRID_CELL)]  # type: ignore[no-untyped-call]
    nbformat.write(notebook, root / NOTEBOOK)  # type: ignore[no-untyped-call]
    with jupyter_launcher(env, root) as server:
        yield server


# Records (page clock) when the LOADED line and the first grid row enter the DOM.
MARKS_JS = """() => {
  const marks = (window.__wsnbMarks = { start: performance.now() });
  const stdout = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stdout']";
  new MutationObserver(() => {
    const now = performance.now();
    if (!marks.loaded && [...document.querySelectorAll(stdout)].some(
        (e) => e.textContent.includes("LOADED"))) marks.loaded = now;
    if (!marks.rows && document.querySelector(".wsnb-grid tbody tr[data-id]")) marks.rows = now;
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
}"""


def _wait_kernel_idle(server: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sessions = [s for s in server.api("/api/sessions") if s["path"] == NOTEBOOK]
        if sessions and sessions[0]["kernel"]["execution_state"] == "idle":
            return
        time.sleep(0.2)
    pytest.fail(f"the kernel for {NOTEBOOK} did not become idle:\n{server.log.read_text()[-2000:]}")


def _wait_for_output(page: Any, wanted: str, timeout_ms: int) -> None:
    """Wait for stdout containing ``wanted`` (or for the selector ``wanted`` when it is one);
    a traceback in any cell fails at once, with its text."""
    target = (
        wanted
        if wanted.startswith(".")
        else (
            f".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stdout']:has-text('{wanted}')"
        )
    )
    error = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    page.wait_for_selector(f"{target}, {error}", timeout=timeout_ms, state="attached")
    if page.locator(error).count():
        pytest.fail(f"a notebook cell failed:\n{page.locator(error).first.inner_text()[-3000:]}")


def _run_all(page: Any) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel:text-is('Run All Cells')").click()


def _row_ids(page: Any) -> list[str]:
    return list(page.eval_on_selector_all(ROWS, "rows => rows.map(r => r.dataset.id)"))


def _selected_ids(page: Any) -> list[str]:
    return list(
        page.eval_on_selector_all(
            f"{GRID} tbody tr.wsnb-selected", "rows => rows.map(r => r.dataset.id)"
        )
    )


def _choose(page: Any, column: str, value: str) -> None:
    """Tick one value in an enum column's filter drop-down, then close it."""
    from playwright.sync_api import expect

    summary = page.locator(f"{GRID} .wsnb-filter[data-column='{column}'] summary")
    summary.click()
    box = page.locator(
        f"{GRID} .wsnb-filter[data-column='{column}'] input[data-value='{json.dumps(value)}']"
    )
    box.check()
    expect(page.locator(f"{GRID} .wsnb-filter[data-column='{column}'] summary")).to_contain_text(
        "(1)"
    )
    page.locator(f"{GRID} .wsnb-filter[data-column='{column}'] summary").click()


def _delete_selected(page: Any, count: int, screenshots: Path, name: str) -> None:
    """Preview, confirm (the button names the count), wait for the report; screenshot both."""
    from playwright.sync_api import expect

    preview = page.locator(f"{GRID} button[data-action='delete_preview']")
    expect(preview).to_have_text(f"Delete {count} selected…")
    preview.click()
    confirm = page.locator(f"{GRID} button[data-action='delete_confirm']")
    expect(confirm).to_have_text(f"Yes, delete {count} tasks", timeout=60_000)
    expect(page.locator(f"{GRID} .wsnb-message")).to_contain_text(f"{count} planned")
    confirm.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / f"{name}-confirm.png"))
    confirm.click()
    expect(page.locator(f"{GRID} .wsnb-delete-state[data-state='done']")).to_have_count(
        1, timeout=60_000
    )
    expect(page.locator(f"{GRID} .wsnb-message")).to_contain_text(f"{count} deleted")
    report = page.locator(f"{GRID} [data-testid='report']")
    expect(report).to_contain_text("Deletion run")
    report.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / f"{name}-report.png"))


def _column_text(page: Any, column: str) -> list[str]:
    return list(
        page.eval_on_selector_all(
            f"{ROWS} td:nth-child({_COLUMN_INDEX[column]})",
            "cells => cells.map(c => c.textContent)",
        )
    )


_COLUMN_INDEX = {"task_id": 2, "task_name": 3, "task_type": 4, "next_execution_time": 8}


def _sort_search_dates_and_pages(page: Any, dump: list[dict[str, Any]]) -> None:
    """Header sort, quick search, a date range and paging, checked against the emulator's data."""
    from playwright.sync_api import expect

    status = page.locator(f"{GRID} [data-testid='status']")
    header = page.locator(f"{GRID} th[data-column='task_name']")
    header.click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    names = sorted(t["task_name"] for t in dump)
    expect(page.locator(f"{ROWS} >> nth=0 >> td:nth-child(3)")).to_have_text(names[0])
    assert _column_text(page, "task_name") == names[:50]
    header.click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(page.locator(f"{ROWS} >> nth=0 >> td:nth-child(3)")).to_have_text(names[-1])
    header.click()
    expect(header).to_have_attribute("aria-sort", "none")

    needle = "snapshot"
    hits = sum(
        needle in "\x1f".join((t["id"], t["task_name"], t.get("description") or "")).lower()
        for t in dump
    )
    page.locator(f"{GRID} input.wsnb-search").fill(needle.upper())
    expect(status).to_contain_text(f"of {hits:,} matching ({TASKS:,} tasks)")
    page.locator(f"{GRID} button[data-action='next']").click()
    expect(status).to_have_text(f"51–100 of {hits:,} matching ({TASKS:,} tasks)")
    assert all(needle in name.lower() for name in _column_text(page, "task_name"))

    page.locator(f"{GRID} input.wsnb-search").fill("")
    first, last = "2026-12-01", "2026-12-03"
    page.locator(f"{GRID} input[data-column='next_execution_time'][data-bound='from']").fill(first)
    page.locator(f"{GRID} input[data-column='next_execution_time'][data-bound='to']").fill(last)
    in_range = """([first, last]) => {
      const cells = [...document.querySelectorAll(".wsnb-grid tbody tr[data-id] td:nth-child(8)")];
      return cells.length > 0 && cells.every((c) => {
        const day = c.textContent.slice(0, 10);
        return first <= day && day <= last;
      });
    }"""
    page.wait_for_function(in_range, arg=[first, last], timeout=10_000)
    shown = _column_text(page, "next_execution_time")
    assert shown and all(first <= day[:10] <= last for day in shown), shown  # the task's zone
    page.locator(f"{GRID} .wsnb-link", has_text="Reset filters").click()
    expect(status).to_have_text(f"1–50 of {TASKS:,} matching ({TASKS:,} tasks)")


def _screenshot_on_failure(request: pytest.FixtureRequest, context: Any, output_dir: Path) -> None:
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed:
        return
    for number, open_page in enumerate(context.pages):
        open_page.screenshot(path=str(output_dir / f"grid-failure-{number}.png"))


def test_grid_filter_select_delete_in_lab_and_notebook7(
    grid_server: Any,
    emulator_20k: Emulator,
    browser_context: Any,
    output_dir: Path,
    request: pytest.FixtureRequest,
) -> None:
    from playwright.sync_api import expect

    timings: dict[str, float] = {}
    dump = emulator_20k.control.dump()["tasks"]
    before = set(emulator_20k.control.task_ids())
    assert len(before) == TASKS
    types = Counter(t["task_type"] for t in dump)
    statuses = Counter(t.get("last_status") for t in dump)

    # --- JupyterLab -------------------------------------------------------------------------
    page = browser_context.new_page()
    request.addfinalizer(lambda: _screenshot_on_failure(request, browser_context, output_dir))
    started = time.perf_counter()
    page.goto(grid_server.page_url(f"/lab/tree/{NOTEBOOK}"))
    page.wait_for_selector(".jp-Notebook")
    _wait_kernel_idle(grid_server)
    timings["lab: page open to kernel idle (s)"] = time.perf_counter() - started
    page.evaluate(MARKS_JS)
    _run_all(page)
    _wait_for_output(page, "LOADED", LOAD_TIMEOUT_MS)
    _wait_for_output(page, ROWS, 30_000)
    marks = page.evaluate("window.__wsnbMarks")
    timings["lab: Run All to LOADED (listing 20k tasks) (s)"] = (
        marks["loaded"] - marks["start"]
    ) / 1000
    timings["lab: LOADED to first rendered rows (grid cell + render) (s)"] = (
        marks["rows"] - marks["loaded"]
    ) / 1000
    status = page.locator(f"{GRID} [data-testid='status']")
    expect(status).to_have_text(f"1–50 of {TASKS:,} matching ({TASKS:,} tasks)")
    _sort_search_dates_and_pages(page, dump)

    _choose(page, "task_type", "REBOOT")
    expect(status).to_contain_text(f"of {types['REBOOT']:,} matching ({TASKS:,} tasks)")
    shown = _row_ids(page)
    rows = page.locator(ROWS)
    badge = page.locator(f"{GRID} [data-testid='selected-count']")
    rows.nth(1).click()
    expect(badge).to_have_text("1 selected")
    rows.nth(5).click(modifiers=["Shift"])
    expect(badge).to_have_text("5 selected")
    rows.nth(8).click()
    expect(badge).to_have_text("6 selected")
    chosen = _selected_ids(page)
    assert chosen == [*shown[1:6], shown[8]]
    type_cells = page.eval_on_selector_all(
        f"{GRID} tbody tr.wsnb-selected td.wsnb-enum:nth-child(4)", "c => c.map(x => x.textContent)"
    )
    assert type_cells == ["REBOOT"] * 6

    _delete_selected(page, 6, output_dir, "grid-jupyterlab")
    after_lab = set(emulator_20k.control.task_ids())
    assert before - after_lab == set(chosen)
    assert after_lab < before
    expect(status).to_contain_text(f"of {types['REBOOT'] - 6:,} matching ({TASKS - 6:,} tasks)")
    assert not set(_row_ids(page)) & set(chosen)
    page.keyboard.press("Control+s")  # the outputs (widget views) go to Notebook 7 via the file
    expect(page.locator(".jp-mod-dirty")).to_have_count(0, timeout=10_000)
    saved = (grid_server.root / NOTEBOOK).read_text()
    assert "application/vnd.jupyter.widget-view+json" in saved
    assert emulator_20k.sk not in saved and emulator_20k.ak not in saved  # no secret in files

    # --- Notebook 7: /tree, then the notebook, the grid restored from the live kernel ---------
    started = time.perf_counter()
    page.goto(grid_server.page_url("/tree"))
    item = page.locator(".jp-DirListing-item", has_text=NOTEBOOK)
    expect(item).to_be_visible()
    with browser_context.expect_page() as opened:
        item.dblclick()
    nb7 = opened.value
    nb7.wait_for_selector(ROWS, timeout=60_000)
    assert "/notebooks/" in nb7.url
    timings["notebook 7: /tree double-click to restored rows (s)"] = time.perf_counter() - started
    nb7_status = nb7.locator(f"{GRID} [data-testid='status']")
    expect(nb7_status).to_contain_text(f"({TASKS - 6:,} tasks)")
    expect(nb7.locator(f"{GRID} [data-testid='report']")).to_contain_text("Deletion run")
    nb7.locator(f"{GRID} button[data-action='delete_cancel']").click()  # close the Lab report
    expect(nb7.locator(f"{GRID} [data-testid='report']")).to_have_count(0)
    nb7.locator(f"{GRID} button[data-action='clear']").click()
    nb7.locator(f"{GRID} .wsnb-link", has_text="Reset filters").click()
    expect(nb7_status).to_have_text(f"1–50 of {TASKS - 6:,} matching ({TASKS - 6:,} tasks)")
    _choose(nb7, "last_status", "FAIL")
    expect(nb7_status).to_contain_text(f"of {statuses['FAIL']:,} matching")
    shown = _row_ids(nb7)
    rows = nb7.locator(ROWS)
    nb7_badge = nb7.locator(f"{GRID} [data-testid='selected-count']")
    rows.nth(10).click()
    expect(nb7_badge).to_have_text("1 selected")
    rows.nth(7).click(modifiers=["Shift"])  # an upward range
    expect(nb7_badge).to_have_text("4 selected")
    chosen_nb7 = _selected_ids(nb7)
    assert chosen_nb7 == shown[7:11]
    _delete_selected(nb7, 4, output_dir, "grid-notebook7")
    after_nb7 = set(emulator_20k.control.task_ids())
    assert after_lab - after_nb7 == set(chosen_nb7)
    assert before - after_nb7 == set(chosen) | set(chosen_nb7)

    (output_dir / "grid-browser-timings.json").write_text(json.dumps(timings, indent=2))
    for name, seconds in timings.items():
        print(f"{name}: {seconds:.2f}")
