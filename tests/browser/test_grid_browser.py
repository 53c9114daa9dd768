"""TaskGrid end to end: real JupyterLab and Notebook 7 in Debian's Chromium, a 20k-task emulator.

The test process runs the emulator; the kernel reaches it over HTTP with credentials from its
environment (never written into the notebook), lists every task with ``tasks_frame``, shows
the grid with a client, and the browser filters, clicks, shift-clicks and deletes through the
delete panel. The emulator must then lack exactly the tasks chosen in the browser.

One server, one kernel, two pages for the whole module: JupyterLab first (Run All), then
Notebook 7 opening the saved notebook from ``/tree``, its grid restored from the live kernel.
The tests run in file order and each leaves the grid as it found it (no filter, no selection).
Each regression of the issue "The grid, the report and the CLI as good as the best tools" has
its test here, in both front ends where it matters: typed dates (item 1), contrast in the Light
and Dark themes (2), keyboard-only selection and deletion (3), layout (4), the cap (6), the
preview (7) and a closed client (8). Screenshots go to ``test-output/``.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from wsnb.auth import CREDENTIAL_ENV_VARS
from wsnb.emulator import Emulator
from wsnb.grid._engine import collation_key

pytestmark = pytest.mark.browser

TASKS = 20_000
NOTEBOOK = "grid.ipynb"
GRID = ".wsnb-grid"
ROWS = f"{GRID} tbody tr[data-id]"
LOAD_TIMEOUT_MS = 150_000  # listing 20k tasks from the emulator
CAP = 100
#: WCAG 2 AA for normal text.
MIN_CONTRAST = 4.5

SETUP_CELL = """\
import time
from wsnb import Client, TaskGrid, tasks_frame

client = Client.from_env(rate_limit=None)  # the emulator's endpoint and keys: environment only
started = time.perf_counter()
frame = tasks_frame(client)
print(f"LOADED {len(frame)} tasks in {time.perf_counter() - started:.1f} s")"""

GRID_CELL = f"""\
grid = TaskGrid(frame, client=client, ledger="ledger.sqlite", max_deletions={CAP})
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


@pytest.fixture(scope="module")
def context(browser: Any) -> Iterator[Any]:
    """One browser context for the module (both front ends, so Notebook 7 opens in a tab)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def timings(output_dir: Path) -> Iterator[dict[str, float]]:
    measured: dict[str, float] = {}
    yield measured
    (output_dir / "grid-browser-timings.json").write_text(json.dumps(measured, indent=2))
    for name, seconds in measured.items():
        print(f"{name}: {seconds:.2f}")


@pytest.fixture(autouse=True)
def _screenshot_on_failure(
    request: pytest.FixtureRequest, context: Any, output_dir: Path
) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for number, open_page in enumerate(context.pages):
            name = f"grid-failure-{request.node.name}-{number}.png"
            open_page.screenshot(path=str(output_dir / name))


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


def _menu(page: Any, *path: str) -> None:
    """Click through the menu bar: ``_menu(page, "Run", "Run All Cells")``."""
    page.locator(".lm-MenuBar-itemLabel", has_text=path[0]).first.click()
    for label in path[1:]:
        page.locator(f".lm-Menu-itemLabel:text-is('{label}')").last.click()


@pytest.fixture(scope="module")
def lab(grid_server: Any, context: Any, timings: dict[str, float]) -> Any:
    """JupyterLab with the notebook run: the grid shows 20k tasks."""
    page = context.new_page()
    started = time.perf_counter()
    page.goto(grid_server.page_url(f"/lab/tree/{NOTEBOOK}"))
    page.wait_for_selector(".jp-Notebook")
    _wait_kernel_idle(grid_server)
    timings["lab: page open to kernel idle (s)"] = time.perf_counter() - started
    page.evaluate(MARKS_JS)
    _menu(page, "Run", "Run All Cells")
    _wait_for_output(page, "LOADED", LOAD_TIMEOUT_MS)
    _wait_for_output(page, ROWS, 30_000)
    marks = page.evaluate("window.__wsnbMarks")
    timings["lab: Run All to LOADED (listing 20k tasks) (s)"] = (
        marks["loaded"] - marks["start"]
    ) / 1000
    timings["lab: LOADED to first rendered rows (grid cell + render) (s)"] = (
        marks["rows"] - marks["loaded"]
    ) / 1000
    return page


@pytest.fixture(scope="module")
def nb7(lab: Any, grid_server: Any, context: Any, timings: dict[str, float]) -> Any:
    """Notebook 7, opened from /tree on the notebook Lab saved; the grid restored from the
    live kernel."""
    from playwright.sync_api import expect

    lab.keyboard.press("Control+s")  # the outputs (widget views) go to Notebook 7 via the file
    expect(lab.locator(".jp-mod-dirty")).to_have_count(0, timeout=10_000)
    started = time.perf_counter()
    tree = context.new_page()
    tree.goto(grid_server.page_url("/tree"))
    item = tree.locator(".jp-DirListing-item", has_text=NOTEBOOK)
    expect(item).to_be_visible(timeout=30_000)
    with context.expect_page() as opened:
        item.dblclick()
    page = opened.value
    page.wait_for_selector(ROWS, timeout=60_000)
    assert "/notebooks/" in page.url
    timings["notebook 7: /tree double-click to restored rows (s)"] = time.perf_counter() - started
    tree.close()
    return page


# --- helpers ----------------------------------------------------------------------------------


def _total(emulator: Emulator) -> int:
    """Tasks left on the server (earlier tests deleted some)."""
    return len(emulator.control.task_ids())


def _row_ids(page: Any) -> list[str]:
    return list(page.eval_on_selector_all(ROWS, "rows => rows.map(r => r.dataset.id)"))


def _selected_ids(page: Any) -> list[str]:
    return list(
        page.eval_on_selector_all(
            f"{GRID} tbody tr.wsnb-selected", "rows => rows.map(r => r.dataset.id)"
        )
    )


def _status(page: Any) -> Any:
    return page.locator(f"{GRID} [data-testid='status']")


def _badge(page: Any) -> Any:
    return page.locator(f"{GRID} [data-testid='selected-count']")


def _start_clean(page: Any, total: int) -> None:
    """No filter, no search, no selection, first page, delete panel idle."""
    from playwright.sync_api import expect

    close = page.locator(f"{GRID} button[data-action='delete_cancel']")
    if close.count():
        close.first.click()
    reset = page.locator(f"{GRID} button:has-text('Reset filters')")
    if reset.count() and reset.is_visible():
        reset.click()
    page.locator(f"{GRID} button[data-action='clear']").click()
    expect(_badge(page)).to_have_text("0 selected")
    expect(_status(page)).to_have_text(f"1–50 of {total:,} matching ({total:,} tasks)")


def _choose(page: Any, column: str, value: str) -> None:
    """Tick one value in an enum column's filter menu, then close it."""
    from playwright.sync_api import expect

    button = page.locator(f"{GRID} button.wsnb-filter[data-column='{column}']")
    button.click()
    menu = page.locator(f"{GRID} .wsnb-menu[data-menu='{column}']")
    menu.locator(f"input[data-value='{json.dumps(value)}']").check()
    expect(button).to_contain_text("(1)")
    button.click()
    expect(menu).to_have_count(0)


def _column_text(page: Any, column: str) -> list[str]:
    return list(
        page.eval_on_selector_all(
            f"{ROWS} td:nth-child({_COLUMN_INDEX[column]})",
            "cells => cells.map(c => c.textContent)",
        )
    )


_COLUMN_INDEX = {"task_id": 2, "task_name": 3, "task_type": 4, "next_execution_time": 8}


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


# --- item 1: typing a date ---------------------------------------------------------------------


def _typed_dates(page: Any, total: int) -> None:
    """Type dates the way people do (the field shows mm/dd/yyyy in en-US): the grid keeps the
    focus, sends only complete valid dates, and shows what is wrong next to the field."""
    from playwright.sync_api import expect

    _start_clean(page, total)
    frm = page.locator(f"{GRID} input[data-column='next_execution_time'][data-bound='from']")
    to = page.locator(f"{GRID} input[data-column='next_execution_time'][data-bound='to']")
    error = page.locator(f"{GRID} .wsnb-field-error[data-column='next_execution_time']")
    frm.focus()
    page.keyboard.type("12/01/2026", delay=25)  # the field holds 0002-12-01 after the first "2"
    assert page.evaluate("document.activeElement.dataset.bound") == "from"  # focus stayed
    expect(frm).to_have_value("2026-12-01")
    # The kernel got 2026-12-01, never year 0002: every row shown is on or after it.
    expect(_status(page)).not_to_contain_text(f"of {total:,} matching")
    expect(page.locator(f"{GRID} .wsnb-error")).to_be_hidden()
    days = [d[:10] for d in _column_text(page, "next_execution_time")]
    assert days and all(day >= "2026-12-01" for day in days), days
    filtered = _status(page).inner_text()

    _tab_until(page, "el.dataset.bound === 'to'", limit=3)  # past the picker button, to "to"
    page.keyboard.type("02/30/2026", delay=25)  # no such day
    page.keyboard.press("Enter")
    expect(error).to_contain_text("impossible date")
    expect(to).to_have_attribute("aria-invalid", "true")
    expect(_status(page)).to_have_text(filtered)  # nothing was sent

    to.fill("")
    frm.focus()  # re-entering the field starts at its first part (the month)
    to.focus()
    page.keyboard.type("12/01/0002", delay=25)
    page.keyboard.press("Enter")
    expect(error).to_contain_text("between 1900 and 2199")
    expect(_status(page)).to_have_text(filtered)
    expect(page.locator(f"{GRID} .wsnb-error")).to_be_hidden()  # the kernel saw no bad bound

    to.fill("")
    frm.focus()  # re-entering the field starts at its first part (the month)
    to.focus()
    page.keyboard.type("12/03/2026", delay=25)
    _tab_until(page, "el.dataset.bound !== 'to'", limit=3)  # leaving the field applies it
    expect(error).to_be_hidden()
    page.wait_for_function(
        """() => [...document.querySelectorAll(".wsnb-grid tbody tr[data-id] td:nth-child(8)")]
          .every((c) => c.textContent.slice(0, 10) <= "2026-12-03")"""
    )
    _start_clean(page, total)


# --- item 2: contrast in both themes ----------------------------------------------------------

CONTRAST_JS = """(selector) => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.globalCompositeOperation = "copy";
  const rgba = (css) => {  // any CSS colour -> [r, g, b, a] through the canvas
    ctx.fillStyle = "rgba(0, 0, 0, 0)";
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3]));
  const background = (node) => {
    const layers = [];
    for (let n = node; n; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let color = [255, 255, 255];
    for (const layer of layers.reverse()) color = over(layer, color);
    return color;
  };
  const lum = (c) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const node = document.querySelector(selector);
  if (!node) return null;
  const bg = background(node);
  const fg = over(rgba(getComputedStyle(node).color), bg);
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  return Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100;
}"""


def _set_theme(page: Any, theme: str) -> None:
    from playwright.sync_api import expect

    _menu(page, "Settings", "Theme", theme)
    light = "true" if theme == "JupyterLab Light" else "false"
    expect(page.locator(f"body[data-jp-theme-light='{light}']")).to_have_count(1)
    page.wait_for_timeout(300)  # the theme's stylesheet swap settles


def _contrasts(page: Any) -> dict[str, float]:
    """Text contrast of a normal, a hovered, a selected and a selected+hovered row, and of the
    header, the status, the badge and the delete button."""
    page.mouse.move(0, 0)
    rows = page.locator(ROWS)
    measured: dict[str, float] = {}
    normal = f"{ROWS}:not(.wsnb-selected) td:nth-child(3)"
    measured["row"] = page.evaluate(CONTRAST_JS, normal)
    rows.nth(3).hover()
    measured["hovered row"] = page.evaluate(CONTRAST_JS, f"{ROWS}:nth-child(4) td:nth-child(3)")
    page.mouse.move(0, 0)
    measured["selected row"] = page.evaluate(
        CONTRAST_JS, f"{GRID} tbody tr.wsnb-selected td:nth-child(3)"
    )
    rows.nth(0).hover()
    measured["selected hovered row"] = page.evaluate(
        CONTRAST_JS, f"{ROWS}:nth-child(1) td:nth-child(3)"
    )
    page.mouse.move(0, 0)
    for name, selector in {
        "header": f"{GRID} th[data-column='task_name']",
        "status": f"{GRID} [data-testid='status']",
        "badge": f"{GRID} [data-testid='selected-count']",
        "delete button": f"{GRID} button[data-action='delete_preview']",
        "filter button": f"{GRID} .wsnb-filters button",
    }.items():
        measured[name] = page.evaluate(CONTRAST_JS, selector)
    return measured


def _contrast_in_both_themes(page: Any, total: int, output_dir: Path, ui: str) -> None:
    from playwright.sync_api import expect

    _start_clean(page, total)
    page.locator(ROWS).nth(0).click()
    page.locator(ROWS).nth(1).click()
    expect(_badge(page)).to_have_text("2 selected")
    results: dict[str, dict[str, float]] = {}
    try:
        for theme in ("JupyterLab Light", "JupyterLab Dark"):
            _set_theme(page, theme)
            page.locator(GRID).scroll_into_view_if_needed()
            results[theme] = _contrasts(page)
            shade = "dark" if "Dark" in theme else "light"
            page.locator(ROWS).nth(4).hover()
            page.screenshot(path=str(output_dir / f"grid-{ui}-{shade}.png"))
    finally:
        _set_theme(page, "JupyterLab Light")
    (output_dir / f"grid-{ui}-contrast.json").write_text(json.dumps(results, indent=2))
    low = {
        f"{theme}: {name}": ratio
        for theme, values in results.items()
        for name, ratio in values.items()
        if ratio is None or ratio < MIN_CONTRAST
    }
    assert not low, f"text contrast below {MIN_CONTRAST}:1 — {low}; all: {results}"
    page.locator(f"{GRID} button[data-action='clear']").click()


# --- item 3: keyboard only ----------------------------------------------------------------------


def _focused(page: Any, attribute: str) -> Any:
    return page.evaluate(f"document.activeElement && document.activeElement.{attribute}")


def _tab_until(page: Any, test: str, limit: int = 40, back: bool = False) -> None:
    """Press Tab (Shift+Tab with ``back``) until ``test`` (JS over ``el``) holds for the
    focused element."""
    for _ in range(limit):
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!({test}); }})()"):
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    pytest.fail(f"Tab never reached an element where {test}; at {_focused(page, 'outerHTML')}")


def _keyboard_select_and_delete(page: Any, emulator: Emulator, total: int, name: str) -> int:
    """Select three rows and delete them with the keyboard alone; returns the new total."""
    from playwright.sync_api import expect

    _start_clean(page, total)
    before = set(emulator.control.task_ids())
    cells = page.locator(".jp-Cell").count()
    page.locator(f"{GRID} input.wsnb-search").focus()
    page.keyboard.press("Tab")  # onto the first toolbar button
    assert _focused(page, "tagName") == "BUTTON"
    for key in ("a", "b", "d", "d", "0", "0", "m", "y"):  # notebook shortcuts, if they leaked
        page.keyboard.press(key)
    page.wait_for_timeout(300)
    assert page.locator(".jp-Cell").count() == cells  # no cell inserted or deleted
    expect(page.locator(".jp-Dialog")).to_have_count(0)  # no "restart kernel?" dialog

    _tab_until(page, "el.getAttribute('role') === 'gridcell'")  # the grid: one tab stop
    page.keyboard.press("Control+Home")  # its first cell
    shown = _row_ids(page)
    assert page.evaluate("document.activeElement.closest('tr').dataset.id") == shown[0]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    expect(_badge(page)).to_have_text("1 selected")
    page.keyboard.press("Shift+ArrowDown")
    expect(_badge(page)).to_have_text("2 selected")
    page.keyboard.press("Shift+ArrowDown")
    expect(_badge(page)).to_have_text("3 selected")
    assert page.evaluate("document.activeElement.closest('tr').dataset.id") == shown[3]
    assert page.evaluate("document.activeElement.closest('tr').getAttribute('aria-selected')") == (
        "true"
    )
    chosen = _selected_ids(page)
    assert chosen == shown[1:4]
    # The header: Up from the first row, Enter sorts (and again, and a third time: unsorted).
    for _ in range(4):
        page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowRight")
    assert _focused(page, "getAttribute('role')") == "columnheader"
    header = page.locator(f"{GRID} th[data-column='task_id']")
    page.keyboard.press("Enter")
    expect(header).to_have_attribute("aria-sort", "ascending")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(header).to_have_attribute("aria-sort", "none")
    assert _focused(page, "dataset.column") == "task_id"  # focus survived the re-render

    _tab_until(page, "el.dataset.action === 'delete_preview'")
    page.keyboard.press("Enter")
    confirm = page.locator(f"{GRID} button[data-action='delete_confirm']")
    expect(confirm).to_have_text("Yes, delete 3 tasks", timeout=60_000)
    # focus lands on Cancel (safe); the confirmation is one Shift+Tab away
    page.wait_for_function("document.activeElement.dataset.action === 'delete_cancel'")
    page.keyboard.press("Shift+Tab")
    assert _focused(page, "dataset.action") == "delete_confirm"
    page.keyboard.press("Enter")
    expect(page.locator(f"{GRID} .wsnb-delete-state[data-state='done']")).to_have_count(
        1, timeout=60_000
    )
    page.wait_for_function("document.activeElement.dataset.action === 'delete_cancel'")
    page.keyboard.press("Enter")  # Close report
    assert before - set(emulator.control.task_ids()) == set(chosen)
    return total - 3


# --- the tests: JupyterLab --------------------------------------------------------------------


def test_lab_sort_search_filter_select_and_delete(
    lab: Any, emulator_20k: Emulator, output_dir: Path
) -> None:
    """Header sort (names ignore case and accents), quick search, a date range, paging, a value
    filter with counts, click and shift-click, then the delete panel."""
    from playwright.sync_api import expect

    dump = emulator_20k.control.dump()["tasks"]
    before = set(emulator_20k.control.task_ids())
    assert len(before) == TASKS
    types = Counter(t["task_type"] for t in dump)
    status = _status(lab)
    expect(status).to_have_text(f"1–50 of {TASKS:,} matching ({TASKS:,} tasks)")

    header = lab.locator(f"{GRID} th[data-column='task_name']")
    header.click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    names = sorted((t["task_name"] for t in dump), key=collation_key)
    expect(lab.locator(f"{ROWS} >> nth=0 >> td:nth-child(3)")).to_have_text(names[0])
    assert _column_text(lab, "task_name") == names[:50]
    header.click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(lab.locator(f"{ROWS} >> nth=0 >> td:nth-child(3)")).to_have_text(names[-1])
    header.click()
    expect(header).to_have_attribute("aria-sort", "none")

    needle = "snapshot"
    hits = sum(
        needle in "\x1f".join((t["id"], t["task_name"], t.get("description") or "")).lower()
        for t in dump
    )
    lab.locator(f"{GRID} input.wsnb-search").fill(needle.upper())
    expect(status).to_contain_text(f"of {hits:,} matching ({TASKS:,} tasks)")
    marks = lab.eval_on_selector_all(f"{ROWS} mark.wsnb-mark", "m => m.map(x => x.textContent)")
    assert marks and all(m.lower() == needle for m in marks)  # the matches are highlighted
    lab.locator(f"{GRID} button[data-action='next']").click()
    expect(status).to_have_text(f"51–100 of {hits:,} matching ({TASKS:,} tasks)")
    assert all(needle in name.lower() for name in _column_text(lab, "task_name"))

    lab.locator(f"{GRID} input.wsnb-search").fill("")
    first, last = "2026-12-01", "2026-12-03"
    lab.locator(f"{GRID} input[data-column='next_execution_time'][data-bound='from']").fill(first)
    lab.locator(f"{GRID} input[data-column='next_execution_time'][data-bound='to']").fill(last)
    in_range = """([first, last]) => {
      const cells = [...document.querySelectorAll(".wsnb-grid tbody tr[data-id] td:nth-child(8)")];
      return cells.length > 0 && cells.every((c) => {
        const day = c.textContent.slice(0, 10);
        return first <= day && day <= last;
      });
    }"""
    lab.wait_for_function(in_range, arg=[first, last], timeout=10_000)
    shown = _column_text(lab, "next_execution_time")
    assert shown and all(first <= day[:10] <= last for day in shown), shown  # the task's zone
    lab.locator(f"{GRID} .wsnb-link", has_text="Reset filters").click()
    expect(status).to_have_text(f"1–50 of {TASKS:,} matching ({TASKS:,} tasks)")

    # The value menu counts what each value would leave.
    lab.locator(f"{GRID} button.wsnb-filter[data-column='task_type']").click()
    option = lab.locator(f"{GRID} .wsnb-menu label", has_text="REBOOT")
    expect(option.locator(".wsnb-count")).to_have_text(f"{types['REBOOT']:,}")
    lab.keyboard.press("Escape")
    _choose(lab, "task_type", "REBOOT")
    expect(status).to_contain_text(f"of {types['REBOOT']:,} matching ({TASKS:,} tasks)")
    shown_ids = _row_ids(lab)
    rows = lab.locator(ROWS)
    badge = _badge(lab)
    rows.nth(1).click()
    expect(badge).to_have_text("1 selected")
    rows.nth(5).click(modifiers=["Shift"])
    expect(badge).to_have_text("5 selected")
    rows.nth(8).click()
    expect(badge).to_have_text("6 selected")
    chosen = _selected_ids(lab)
    assert chosen == [*shown_ids[1:6], shown_ids[8]]
    type_cells = lab.eval_on_selector_all(
        f"{GRID} tbody tr.wsnb-selected td.wsnb-enum:nth-child(4)", "c => c.map(x => x.textContent)"
    )
    assert type_cells == ["REBOOT"] * 6

    _delete_selected(lab, 6, output_dir, "grid-jupyterlab")
    after = set(emulator_20k.control.task_ids())
    assert before - after == set(chosen)
    expect(status).to_contain_text(f"of {types['REBOOT'] - 6:,} matching ({TASKS - 6:,} tasks)")
    assert not set(_row_ids(lab)) & set(chosen)
    _start_clean(lab, TASKS - 6)


def test_lab_typed_dates(lab: Any, emulator_20k: Emulator) -> None:
    _typed_dates(lab, _total(emulator_20k))


def test_lab_layout_reset_menus_widths_and_columns(
    lab: Any, emulator_20k: Emulator, output_dir: Path
) -> None:
    """Item 4: Reset for a search alone; menus never cover the date fields and close on an
    outside click or Escape; widths do not move on updates; one scroll area; every column fits
    at 1400 px; columns can be hidden (remembered by the kernel) and resized."""
    from playwright.sync_api import expect

    total = _total(emulator_20k)
    _start_clean(lab, total)
    grid = lab.locator(GRID)
    reset = lab.locator(f"{GRID} button:has-text('Reset filters')")
    expect(reset).to_be_hidden()
    lab.locator(f"{GRID} input.wsnb-search").fill("patch")
    expect(reset).to_be_visible()  # a search alone is a filter too
    reset.click()
    expect(lab.locator(f"{GRID} input.wsnb-search")).to_have_value("")
    expect(_status(lab)).to_have_text(f"1–50 of {total:,} matching ({total:,} tasks)")

    box = grid.bounding_box()
    edges = lab.eval_on_selector_all(
        f"{GRID} thead th", "ths => ths.map(th => th.getBoundingClientRect().right)"
    )
    assert max(edges) <= box["x"] + box["width"] + 1, (edges, box)  # no sideways scrolling
    scrollers = lab.evaluate(
        """() => [...document.querySelectorAll(".wsnb-grid, .wsnb-grid *")].filter((n) => {
          const s = getComputedStyle(n);
          return /(auto|scroll)/.test(s.overflowX + s.overflowY)
            && (n.scrollHeight > n.clientHeight + 1 || n.scrollWidth > n.clientWidth + 1);
        }).map((n) => n.className)"""
    )
    assert scrollers == []  # the notebook is the one scroll area

    widths = "() => [...document.querySelectorAll('.wsnb-grid thead th')].map(t => t.offsetWidth)"
    start = lab.evaluate(widths)
    lab.locator(f"{GRID} button[data-action='next']").click()
    expect(_status(lab)).to_contain_text("51–100")
    assert lab.evaluate(widths) == start
    _choose(lab, "last_status", "FAIL")
    assert lab.evaluate(widths) == start

    for column in ("task_type", "enable"):
        button = lab.locator(f"{GRID} button.wsnb-filter[data-column='{column}']")
        button.click()
        menu = lab.locator(f"{GRID} .wsnb-menu[data-menu='{column}']")
        expect(menu).to_be_visible()
        lab.screenshot(path=str(output_dir / "grid-jupyterlab-menu.png"))
        covered = lab.evaluate(
            """() => {
              const menu = document.querySelector(".wsnb-grid .wsnb-menu").getBoundingClientRect();
              return [...document.querySelectorAll(".wsnb-grid .wsnb-filters input, .wsnb-search")]
                .filter((i) => {
                  const r = i.getBoundingClientRect();
                  return r.left < menu.right && menu.left < r.right
                    && r.top < menu.bottom && menu.top < r.bottom;
                }).map((i) => i.getAttribute("aria-label"));
            }"""
        )
        assert covered == [], covered
        if column == "task_type":
            _status(lab).click()  # a click elsewhere closes it
        else:
            lab.keyboard.press("Escape")
            assert _focused(lab, "dataset.column") == "enable"  # back on its button
        expect(menu).to_have_count(0)

    lab.locator(f"{GRID} [data-testid='columns-button']").click()
    lab.locator(
        f"{GRID} .wsnb-menu[data-menu='columns'] input[data-column='expire_time']"
    ).uncheck()
    expect(lab.locator(f"{GRID} th[data-column='expire_time']")).to_have_count(0)
    lab.keyboard.press("Escape")
    name = lab.locator(f"{GRID} th[data-column='task_name']")
    wide = name.bounding_box()["width"]
    handle = name.locator(".wsnb-resize").bounding_box()
    lab.mouse.move(handle["x"] + 3, handle["y"] + 5)
    lab.mouse.down()
    lab.mouse.move(handle["x"] + 43, handle["y"] + 5, steps=4)
    lab.mouse.up()
    expect(name).to_have_attribute("aria-sort", "none")  # the drag did not sort
    assert name.bounding_box()["width"] == pytest.approx(wide + 40, abs=3)
    table_width = lab.evaluate("() => document.querySelector('.wsnb-grid table').offsetWidth")
    assert table_width <= box["width"] + 1  # the neighbour gave the width: still no scrolling
    lab.screenshot(path=str(output_dir / "grid-jupyterlab-columns.png"))
    # put things back: the Notebook 7 view shares this state through the kernel
    lab.locator(f"{GRID} [data-testid='columns-button']").click()
    menu = lab.locator(f"{GRID} .wsnb-menu[data-menu='columns']")
    menu.locator("input[data-column='expire_time']").check()
    menu.locator("button", has_text="Reset widths").click()
    lab.keyboard.press("Escape")
    expect(lab.locator(f"{GRID} th[data-column='expire_time']")).to_have_count(1)
    _start_clean(lab, total)


def test_lab_keyboard_only_selection_and_delete(lab: Any, emulator_20k: Emulator) -> None:
    _keyboard_select_and_delete(lab, emulator_20k, _total(emulator_20k), "lab")


def test_lab_contrast_light_and_dark(lab: Any, emulator_20k: Emulator, output_dir: Path) -> None:
    _contrast_in_both_themes(lab, _total(emulator_20k), output_dir, "jupyterlab")


def test_lab_over_the_cap_then_preview(lab: Any, emulator_20k: Emulator, output_dir: Path) -> None:
    """Items 6 and 7: above the cap Delete is disabled and the panel explains; raising the cap
    (typed and confirmed) enables it; the preview lists the tasks, the ones the filter hides,
    an ETA, a download of the ids and the command line."""
    from playwright.sync_api import expect

    total = _total(emulator_20k)
    _start_clean(lab, total)
    lab.locator(f"{GRID} select[aria-label='Rows per page']").select_option("200")
    lab.locator(f"{GRID} button[data-action='select_page']").click()
    expect(_badge(lab)).to_have_text("200 selected")
    preview = lab.locator(f"{GRID} button[data-action='delete_preview']")
    expect(preview).to_be_disabled()
    cap = lab.locator(f"{GRID} [data-testid='cap']")
    expect(cap).to_contain_text(f"at most {CAP} per run")
    cap.scroll_into_view_if_needed()
    lab.screenshot(path=str(output_dir / "grid-jupyterlab-over-cap.png"))
    cap.locator("input").fill("200")
    raise_cap = cap.locator("button[data-action='set_cap']")
    expect(raise_cap).to_have_text("Raise cap to 200")
    raise_cap.click()
    expect(preview).to_be_enabled()
    expect(lab.locator(f"{GRID} .wsnb-message")).to_contain_text("cap is now 200")

    lab.locator(f"{GRID} select[aria-label='Rows per page']").select_option("50")
    _choose(lab, "task_type", "STOP")  # some of the 200 are now hidden by the filter
    hidden_text = re.search(r"\((\S+) hidden by filter\)", _badge(lab).inner_text())
    assert hidden_text, _badge(lab).inner_text()
    hidden = int(hidden_text.group(1).replace(",", ""))
    preview.click()
    shown = lab.locator(f"{GRID} [data-testid='preview']")
    expect(shown).to_contain_text("The 200 tasks to delete", timeout=60_000)
    expect(shown).to_contain_text(f"({hidden:,} of them hidden by the current filter)")
    expect(shown.locator("tbody tr")).to_have_count(10)
    expect(shown).to_contain_text("Tasks 1–10 of 200")
    expect(lab.locator(f"{GRID} [data-testid='eta']")).to_contain_text("reads at 200/min")
    command = lab.locator(f"{GRID} [data-testid='command']")
    expect(command).to_contain_text("wsnb tasks delete --ids-file wsnb-selected-ids.csv --max 200")
    assert emulator_20k.sk not in command.inner_text()
    shown.locator("button[aria-label='Next tasks']").click()
    expect(shown).to_contain_text("Tasks 11–20 of 200")
    with lab.expect_download() as download:
        shown.locator("button[data-action='export_ids']").click()
    saved = Path(download.value.path()).read_text().splitlines()
    assert len(saved) == 200 and len(set(saved)) == 200
    shown.scroll_into_view_if_needed()
    lab.screenshot(path=str(output_dir / "grid-jupyterlab-preview.png"))
    _set_theme(lab, "JupyterLab Dark")
    shown.scroll_into_view_if_needed()
    lab.screenshot(path=str(output_dir / "grid-jupyterlab-preview-dark.png"))
    _set_theme(lab, "JupyterLab Light")
    lab.locator(f"{GRID} button[data-action='delete_cancel']").click()
    assert len(emulator_20k.control.task_ids()) == total  # a preview deletes nothing
    _start_clean(lab, total)


# --- the tests: Notebook 7 --------------------------------------------------------------------


def test_nb7_restored_grid_selects_and_deletes(
    nb7: Any, emulator_20k: Emulator, output_dir: Path
) -> None:
    """The grid restored from the live kernel; a value filter, click and an upward shift-click,
    and a deletion whose progress names its phase."""
    from playwright.sync_api import expect

    before = set(emulator_20k.control.task_ids())
    total = len(before)
    statuses = Counter(t.get("last_status") for t in emulator_20k.control.dump()["tasks"])
    expect(_status(nb7)).to_contain_text(f"({total:,} tasks)")
    _start_clean(nb7, total)
    _choose(nb7, "last_status", "FAIL")
    expect(_status(nb7)).to_contain_text(f"of {statuses['FAIL']:,} matching")
    shown = _row_ids(nb7)
    rows = nb7.locator(ROWS)
    rows.nth(10).click()
    expect(_badge(nb7)).to_have_text("1 selected")
    rows.nth(7).click(modifiers=["Shift"])  # an upward range
    expect(_badge(nb7)).to_have_text("4 selected")
    chosen = _selected_ids(nb7)
    assert chosen == shown[7:11]
    nb7.locator(f"{GRID} button[data-action='delete_preview']").click()
    confirm = nb7.locator(f"{GRID} button[data-action='delete_confirm']")
    expect(confirm).to_have_text("Yes, delete 4 tasks", timeout=60_000)
    nb7.screenshot(path=str(output_dir / "grid-notebook7-confirm.png"))
    # Slow reads, so the running panel can be seen: phase, counts, no stale report. Confirm
    # executes the preview's plan: its first step checks the plan (the four ids read side by
    # side, so the phase lasts one latency); the preview took the snapshots.
    emulator_20k.control.add_fault(operation="get_task", kind="latency", latency=4.0)
    try:
        confirm.click()
        progress = nb7.locator(f"{GRID} [data-testid='progress'][data-phase='snapshots']")
        expect(progress).to_contain_text("Step 1 of 3: checking the plan")
        expect(nb7.locator(f"{GRID} [data-testid='report']")).to_have_count(0)
        nb7.screenshot(path=str(output_dir / "grid-notebook7-running.png"))
    finally:
        emulator_20k.control.clear_faults()
    expect(nb7.locator(f"{GRID} .wsnb-delete-state[data-state='done']")).to_have_count(
        1, timeout=60_000
    )
    expect(nb7.locator(f"{GRID} .wsnb-message")).to_contain_text("4 deleted")
    nb7.locator(f"{GRID} [data-testid='report']").scroll_into_view_if_needed()
    nb7.screenshot(path=str(output_dir / "grid-notebook7-report.png"))
    assert before - set(emulator_20k.control.task_ids()) == set(chosen)
    _start_clean(nb7, total - 4)


def test_nb7_typed_dates(nb7: Any, emulator_20k: Emulator) -> None:
    _typed_dates(nb7, _total(emulator_20k))


def test_nb7_keyboard_only_selection_and_delete(nb7: Any, emulator_20k: Emulator) -> None:
    _keyboard_select_and_delete(nb7, emulator_20k, _total(emulator_20k), "notebook7")


def test_nb7_contrast_light_and_dark(nb7: Any, emulator_20k: Emulator, output_dir: Path) -> None:
    _contrast_in_both_themes(nb7, _total(emulator_20k), output_dir, "notebook7")


def test_nb7_closed_client_disables_delete(nb7: Any, emulator_20k: Emulator) -> None:
    """Item 8: a last cell closes the client; the grid says so and offers no deletion."""
    from playwright.sync_api import expect

    total = _total(emulator_20k)
    _start_clean(nb7, total)
    nb7.locator(ROWS).nth(0).click()
    expect(nb7.locator(f"{GRID} button[data-action='delete_preview']")).to_be_enabled()
    nb7.locator(".jp-Cell .jp-InputArea-editor").last.click()
    nb7.keyboard.press("Escape")  # command mode, on the grid's cell
    nb7.keyboard.press("b")  # a new cell below
    nb7.keyboard.press("Enter")
    nb7.keyboard.type("client.close()")
    nb7.keyboard.press("Shift+Enter")
    message = nb7.locator(f"{GRID} .wsnb-message")
    expect(message).to_contain_text("client is closed", timeout=20_000)
    expect(nb7.locator(f"{GRID} button[data-action='delete_preview']")).to_be_disabled()
    assert len(emulator_20k.control.task_ids()) == total
