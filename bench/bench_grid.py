"""TaskGrid on 100k tasks: kernel-side page, filter, search, sort and select, and the size of an
executed notebook that shows the grid headlessly.

Each interaction is timed the way the browser triggers it (a trait change or a custom message
through the widget's comm handler), including building the page of display rows. Figures are
the median of several runs, in ms, with the 50 ms target as the baseline (ratio > 1 is better
than the target). The grid builds its text index and the name ordering when it is created
("create grid"); "first search" and the "cold" sorts are the first use after that, the plain
figures are warm, like every later one.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._harness import Result
from wsnb.grid import TaskGrid
from wsnb.grid._sample import sample_tasks_frame

BENCH = "grid"
TARGET_MS = 50.0
TARGET_NOTEBOOK_KB = 200.0


def _median_ms(action: Callable[[int], object], repeat: int) -> float:
    samples = []
    for i in range(repeat):
        start = time.perf_counter()
        action(i)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _ms(name: str, value: float, note: str = "") -> Result:
    return Result(
        bench=BENCH,
        name=name,
        value=value,
        unit="ms",
        baseline=TARGET_MS,
        baseline_name="target",
        higher_is_better=False,
        target=1.0,
        note=note,
    )


def _message(grid: TaskGrid, **content: Any) -> None:
    """Deliver a custom message exactly as the front end's ``model.send`` does."""
    data = {"method": "custom", "content": content}
    grid._handle_msg({"content": {"data": data}, "buffers": []})


def _update(grid: TaskGrid, **state: Any) -> None:
    """Deliver a trait change exactly as the front end's ``model.save_changes`` does."""
    data = {"method": "update", "state": state, "buffer_paths": []}
    grid._handle_msg({"content": {"data": data}, "buffers": []})


def interaction_results(n: int, repeat: int) -> list[Result]:
    frame = sample_tasks_frame(n, seed=11)
    start = time.perf_counter()
    grid = TaskGrid(frame)
    created = (time.perf_counter() - start) * 1000
    results = [Result(BENCH, "create grid (once per frame)", created, "ms", higher_is_better=False)]
    last = grid.page_count - 1
    results.append(_ms("page", _median_ms(lambda i: _update(grid, page=(i * 37) % last), repeat)))

    filters = [
        {"task_type": ["REBOOT", "STOP"]},
        {"last_status": ["FAIL", None], "enable": [True]},
        {"next_execution_time": {"from": "2026-03-01", "to": "2026-06-30"}},
        {"task_type": ["EXECUTE_SCRIPT"], "expire_time": {"to": "2026-12-31"}},
    ]
    results.append(
        _ms(
            "filter (enum + date range)",
            _median_ms(lambda i: _update(grid, filters=filters[i % len(filters)]), repeat),
        )
    )
    _update(grid, filters={})
    start = time.perf_counter()
    _update(grid, query="nightly")
    results.append(
        _ms("first search", (time.perf_counter() - start) * 1000, "text index built with the grid")
    )
    queries = ["patch", "cleanup-0", "SNAPSHOT", "0000a"]
    results.append(
        _ms("search", _median_ms(lambda i: _update(grid, query=queries[i % len(queries)]), repeat))
    )
    _update(grid, query="")

    for column in ("task_name", "next_execution_time"):
        start = time.perf_counter()
        _update(grid, sort=[{"column": column, "descending": False}])
        results.append(_ms(f"sort {column} (cold)", (time.perf_counter() - start) * 1000))
    results.append(
        _ms(
            "sort",
            _median_ms(
                lambda i: _update(
                    grid,
                    sort=[
                        {
                            "column": ("task_name", "next_execution_time", "task_type")[i % 3],
                            "descending": bool(i % 2),
                        }
                    ],
                ),
                repeat,
            ),
            "warm: sort keys cached per column",
        )
    )

    def select(i: int) -> None:
        _message(grid, action="clear" if i % 2 else "select_matching")

    results.append(_ms("select all matching / clear", _median_ms(select, repeat)))
    _message(grid, action="clear")
    ids = grid.filtered.index

    def shift_range(i: int) -> None:
        _message(grid, action="toggle", id=str(ids[i]), shift=False)
        _message(grid, action="toggle", id=str(ids[i + 10_000]), shift=True)

    results.append(
        _ms(
            "click + shift-click 10k range",
            _median_ms(shift_range, repeat) / 2,
            "per message",
        )
    )
    return results


_NOTEBOOK_CELLS = [
    "from wsnb.grid._sample import sample_tasks_frame\nfrom wsnb import TaskGrid\n"
    "frame = sample_tasks_frame({n}, seed=5)",
    "grid = TaskGrid(frame)\ngrid.filters = {{'task_type': ['REBOOT', 'STOP']}}\n"
    "grid.select_matching()\ngrid",
    "grid.selected.head()",
]


def notebook_result(n: int) -> Result:
    """Execute a notebook showing the grid with papermill and measure the saved file."""
    import nbformat
    import papermill

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(c.format(n=n)) for c in _NOTEBOOK_CELLS]
    with tempfile.TemporaryDirectory() as tmp:
        source, output = Path(tmp, "grid.ipynb"), Path(tmp, "grid-out.ipynb")
        nbformat.write(notebook, source)
        start = time.perf_counter()
        papermill.execute_notebook(
            str(source), str(output), kernel_name="python3", progress_bar=False, cwd=tmp
        )
        seconds = time.perf_counter() - start
        size_kb = output.stat().st_size / 1024
        executed = nbformat.read(output, as_version=4)
    widget_state = executed.metadata.get("widgets", {})
    return Result(
        bench=BENCH,
        name=f"executed notebook size ({n:,} tasks)",
        value=size_kb,
        unit="KB",
        higher_is_better=False,
        target=TARGET_NOTEBOOK_KB,
        target_kind="value",
        note=(
            f"papermill run {seconds:.1f}s; widget state saved: {bool(widget_state)}; "
            "outputs hold the widget view, text/plain and a small text/html summary"
        ),
    )


def run(quick: bool = False) -> list[Result]:
    n = 20_000 if quick else 100_000
    results = interaction_results(n, repeat=5 if quick else 15)
    results.append(notebook_result(n))
    return results


if __name__ == "__main__":
    from bench._harness import print_table

    print_table(run())
