"""The front-end files (``wsnb/grid/static/``): shipped in the wheel, served by the widget."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.grid.conftest import make_frame
from wsnb.grid import TaskGrid

STATIC = Path(__file__).resolve().parents[2] / "wsnb" / "grid" / "static"


def test_front_end_files_ship_in_the_wheel(tmp_path: Any) -> None:
    """The ES module and CSS are package data: a wheel built from this tree must carry them."""
    import zipfile

    wheel = pytest.importorskip("hatchling.builders.wheel")
    repo = Path(__file__).resolve().parents[2]
    built = next(
        wheel.WheelBuilder(str(repo)).build(directory=str(tmp_path), versions=["standard"])
    )
    with zipfile.ZipFile(built) as archive:
        names = set(archive.namelist())
        esm = archive.read("wsnb/grid/static/grid.js").decode()
        css = archive.read("wsnb/grid/static/grid.css").decode()
    assert {
        "wsnb/grid/static/grid.js",
        "wsnb/grid/static/grid.css",
        "wsnb/grid/__init__.py",
        "wsnb/grid/widget.py",
    } <= names
    assert "export default { render }" in esm
    grid = TaskGrid(make_frame([{"id": "a"}]))
    served: object = grid._esm  # the file's text, once built
    assert served == esm  # the widget serves that very file
    served_css: object = grid._css
    assert served_css == css


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_grid_js_parses_as_an_es_module() -> None:
    """``node --check`` catches a syntax error in the front end before a browser test would.

    The source goes through stdin as ``--input-type=module``: given a ``.js`` path, node may
    guess the module type and let a syntax error through.
    """
    source = (STATIC / "grid.js").read_text()
    out = subprocess.run(
        ["node", "--input-type=module", "--check"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    broken = subprocess.run(
        ["node", "--input-type=module", "--check"],
        input=source.replace("export default { render };", "export default { render ;"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert broken.returncode != 0  # the check itself can fail
