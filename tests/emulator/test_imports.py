"""The emulator's modules import each other without a cycle, ``TYPE_CHECKING`` imports included.

The graph is read from the source with :mod:`ast` (every ``import`` anywhere in a module: top level,
inside functions, under ``if TYPE_CHECKING:``), so a cycle hidden from the interpreter still fails.
That the client never imports the emulator is checked in ``tests/test_init.py``.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import wsnb.emulator

PACKAGE = "wsnb.emulator"


def _resolve(level: int, module: str | None) -> str:
    """The absolute name ``from <level dots><module> import ...`` refers to, inside ``PACKAGE``."""
    if not level:
        return module or ""
    anchor = PACKAGE.split(".")[: len(PACKAGE.split(".")) - (level - 1)]
    return ".".join([*anchor, *([module] if module else [])])


def import_graph(sources: Mapping[str, str]) -> dict[str, set[str]]:
    """Module → the modules among ``sources`` it imports (``PACKAGE`` itself is ``__init__``)."""
    graph: dict[str, set[str]] = {name: set() for name in sources}

    def owner(name: str) -> str | None:  # the longest known module that ``name`` is or lies in
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            if ".".join(parts[:end]) in graph:
                return ".".join(parts[:end])
        return None

    for name, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [owner(alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node.level, node.module)
                # ``from pkg import sub`` imports the submodule; ``from mod import name`` the module
                targets = [owner(f"{base}.{alias.name}") for alias in node.names]
            graph[name].update(t for t in targets if t is not None and t != name)
    return graph


def _cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        return list(error.args[1])
    return None


def _package_sources() -> dict[str, str]:
    root = Path(wsnb.emulator.__file__).parent
    return {
        PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}": path.read_text("utf-8")
        for path in sorted(root.glob("*.py"))
    }


def test_the_emulator_package_has_no_import_cycle() -> None:
    graph = import_graph(_package_sources())
    # the graph is really read: the layering this package is built on shows up in it
    assert f"{PACKAGE}.state" in graph[f"{PACKAGE}._control"]
    assert f"{PACKAGE}.state" in graph[f"{PACKAGE}.pipeline"]
    assert f"{PACKAGE}.pipeline" in graph[f"{PACKAGE}.handlers"]
    assert {f"{PACKAGE}.handlers", f"{PACKAGE}._control"} <= graph[f"{PACKAGE}.routes"]
    assert f"{PACKAGE}._validation" in graph[f"{PACKAGE}.handlers"]  # ``from . import _validation``
    assert f"{PACKAGE}.routes" in graph[PACKAGE]
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph) or [])}"


@pytest.mark.parametrize(
    "b_source",
    [
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\n",
        "def late() -> None:\n    from . import a\n",
        "import wsnb.emulator.a\n",
        "from wsnb.emulator import Emulator\n",  # through the package's __init__
    ],
)
def test_hidden_and_late_imports_count_as_edges(b_source: str) -> None:
    sources = {
        PACKAGE: "from .a import A\n",
        f"{PACKAGE}.a": "from .b import B\n",
        f"{PACKAGE}.b": b_source,
    }
    assert _cycle(import_graph(sources)) is not None


def test_outside_and_parent_imports_are_not_edges() -> None:
    sources = {
        f"{PACKAGE}.a": "import json\nfrom wsnb import _signer\nfrom .. import models\n",
        f"{PACKAGE}.b": "from .a import A\n",
    }
    assert import_graph(sources) == {f"{PACKAGE}.a": set(), f"{PACKAGE}.b": {f"{PACKAGE}.a"}}
