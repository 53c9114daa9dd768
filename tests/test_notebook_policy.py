"""The policy for committed notebook outputs (README, "Notebook outputs in git").

``demo.ipynb`` is committed executed, so Binder, GitHub and nbviewer show a finished demo. The
working notebooks, ``select_and_delete.ipynb`` and ``scheduled_cleanup.ipynb``, are committed
stripped: no outputs, no execution counts, no timing or widget state, so diffs show only code and
no run's data lands in git. Their cell metadata (the ``parameters`` tag papermill needs) stays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WITH_OUTPUTS = {"demo.ipynb"}
STRIPPED = {"select_and_delete.ipynb", "scheduled_cleanup.ipynb"}
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _read(name: str) -> Any:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(notebook)
    return notebook


def _code(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_every_notebook_falls_under_the_policy() -> None:
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} == WITH_OUTPUTS | STRIPPED


@pytest.mark.parametrize("name", sorted(STRIPPED))
def test_working_notebooks_are_stored_stripped(name: str) -> None:
    notebook = _read(name)
    for cell in _code(notebook):
        assert cell.outputs == [], f"{name}: a cell has outputs"
        assert cell.execution_count is None, f"{name}: a cell has an execution count"
        assert "execution" not in cell.metadata, f"{name}: a cell has timing metadata"
    assert "widgets" not in notebook.metadata
    assert "papermill" not in notebook.metadata


def test_scheduled_cleanup_keeps_its_parameters_cell() -> None:
    tagged = [
        c
        for c in _read("scheduled_cleanup.ipynb").cells
        if "parameters" in c.metadata.get("tags", [])
    ]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    assert "dry_run: bool = True" in tagged[0].source


def test_demo_is_stored_executed_top_to_bottom() -> None:
    notebook = _read("demo.ipynb")
    cells = _code(notebook)
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))
    outputs = [o for c in cells for o in c.outputs]
    assert sum(1 for c in cells if c.outputs) >= len(cells) - 1  # only the last cell is silent
    assert not [o for o in outputs if o.output_type == "error"]
    # the grid renders in previews from the saved widget state
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    state = notebook.metadata["widgets"][WIDGET_STATE]["state"]
    assert views and all(
        v.data["application/vnd.jupyter.widget-view+json"]["model_id"] in state for v in views
    )
    # produced by the current code: the report chart is inline SVG, never a PNG
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "<svg" in html and "data:image/png" not in html
