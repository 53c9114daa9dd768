"""``wsnb.grid._messages``: the message schema, and that ``static/grid.js`` and the kernel agree.

The front end's JSDoc typedefs and ``model.send`` calls are read from the file itself, so a kind,
a payload key or a trait added on one side only fails here.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pandas as pd
import pytest

from tests.grid.conftest import Browser
from wsnb.grid import TaskGrid, _messages
from wsnb.grid._messages import (
    ACTIONS,
    DELETE_PHASES,
    DELETE_STATES,
    BrowserMessage,
    ColumnKind,
    DeletePhase,
    DeleteState,
    KernelMessage,
)

GRID_JS = (Path(__file__).resolve().parents[2] / "wsnb" / "grid" / "static" / "grid.js").read_text()

#: A valid payload for every kind (a new kind needs one here, see the test below).
SAMPLES: dict[str, dict[str, Any]] = {
    "toggle": {"id": "task-00", "shift": False},
    "select_page": {"value": True},
    "select_matching": {},
    "clear": {},
    "invert": {},
    "delete_preview": {},
    "delete_confirm": {"count": 0},
    "delete_cancel": {},
    "delete_stop": {},
    "set_cap": {"value": 5},
    "export_ids": {},
}


def _js_object_typedefs() -> dict[str, dict[str, bool]]:
    """``@typedef {{ key: type, key?: type }} Name`` in grid.js: name -> {key: required}."""
    shapes: dict[str, dict[str, bool]] = {}
    for body, name in re.findall(r"@typedef \{\{ (.*?) \}\} (\w+)", GRID_JS):
        fields = re.findall(r"(?:^|, )(\w+)(\??): ", body)
        shapes[name] = {key: not optional for key, optional in fields}
    return shapes


def _js_union_typedef(name: str) -> set[str]:
    """The string literals of ``@typedef {"a" | "b"} name`` in grid.js."""
    match = re.search(r"@typedef \{((?:\"\w*\"(?: \| )?)+)\} " + name + r"\b", GRID_JS)
    assert match, f"grid.js declares no @typedef {name}"
    return set(re.findall(r'"(\w*)"', match.group(1)))


def _js_trait_names() -> set[str]:
    """The ``@property`` names of the ``GridTraits`` typedef in grid.js."""
    block = re.search(r"@typedef \{object\} GridTraits\n(.*?)\*/", GRID_JS, re.S)
    assert block, "grid.js declares no GridTraits typedef"
    return set(re.findall(r"@property \{.*?\} (\w+)", block.group(1)))


def test_python_schema_is_consistent() -> None:
    kinds = {get_args(get_type_hints(m)["action"])[0] for m in get_args(BrowserMessage)}
    assert kinds == ACTIONS
    assert len(get_args(BrowserMessage)) == len(ACTIONS)  # one message type per kind
    assert set(DELETE_STATES) == set(get_args(DeleteState)) and DELETE_STATES[0] == "idle"


def test_grid_js_declares_and_sends_exactly_the_schema_kinds() -> None:
    typedefs = _js_object_typedefs()
    declared = {
        re.search(r'action: "(\w+)"', body).group(1)  # type: ignore[union-attr]
        for body, name in re.findall(r"@typedef \{\{ (.*?) \}\} (\w+Message)", GRID_JS)
        if body.startswith("action:")
    }
    sent = set(re.findall(r'send\(\{ action: "(\w+)"', GRID_JS))
    assert declared == ACTIONS
    assert sent == ACTIONS  # every kind has a gesture, and no gesture sends an undeclared kind
    union = re.search(r"\{((?:\w+Message\s*(?:\*\s*)?\|?\s*)+)\} BrowserMessage", GRID_JS)
    assert union, "grid.js declares no BrowserMessage union"
    members = set(re.findall(r"\w+Message", union.group(1)))
    assert members == {m.__name__ for m in get_args(BrowserMessage)}
    assert members <= set(typedefs)


def test_payload_shapes_match_key_for_key() -> None:
    js = _js_object_typedefs()
    python = {
        name: obj
        for name, obj in vars(_messages).items()
        if isinstance(obj, type) and hasattr(obj, "__required_keys__") and obj.__name__ == name
    }
    assert set(python) <= set(js), f"no JSDoc twin for {set(python) - set(js)}"
    for name, typed_dict in python.items():
        keys: Any = typed_dict  # a TypedDict class: its key sets are runtime attributes
        required = {k: True for k in keys.__required_keys__}
        optional = {k: False for k in keys.__optional_keys__}
        assert js[name] == required | optional, name


def test_delete_states_phases_and_column_kinds_match() -> None:
    assert _js_union_typedef("DeleteState") == set(DELETE_STATES)
    assert _js_union_typedef("DeletePhase") == set(DELETE_PHASES) == set(get_args(DeletePhase))
    assert _js_union_typedef("ColumnKind") == set(get_args(ColumnKind))
    compared = set(re.findall(r'state === "(\w+)"', GRID_JS))
    assert compared and compared <= set(DELETE_STATES)


def test_traits_the_front_end_uses_are_synced_traits_of_the_widget() -> None:
    declared = _js_trait_names()
    synced = set(TaskGrid.class_trait_names(sync=lambda v: bool(v)))
    assert declared <= synced, f"not synced by TaskGrid: {declared - synced}"
    used = set(re.findall(r'model\.(?:get|set)\("(\w+)"', GRID_JS))
    used |= set(re.findall(r'save\("(\w+)"', GRID_JS))
    used |= set(re.findall(r'"change:(\w+)"', GRID_JS))
    loop = re.search(r"for \(const name of \[(.*?)\]\)", GRID_JS, re.S)
    assert loop, "grid.js no longer lists the count traits it re-renders on"
    used |= set(re.findall(r'"(\w+)"', loop.group(1)))
    assert used == declared


def test_the_kernel_handles_exactly_the_schema_kinds(small: pd.DataFrame) -> None:
    handled = set(re.findall(r'action == "(\w+)"', inspect.getsource(TaskGrid._on_browser_msg)))
    assert handled == ACTIONS
    assert set(SAMPLES) == ACTIONS


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_kind_is_accepted_by_the_kernel(small: pd.DataFrame, action: str) -> None:
    grid = TaskGrid(small)
    Browser(grid).act(action, **SAMPLES[action])
    assert "unknown grid action" not in grid.error


def test_an_unknown_kind_is_reported_not_raised(small: pd.DataFrame) -> None:
    grid = TaskGrid(small)
    browser = Browser(grid)
    browser.act("select_everything")
    assert grid.error == "unknown grid action 'select_everything'"
    browser.act("select_matching")  # the grid still works
    assert grid.selected_count == len(small)


def test_the_front_end_handles_the_kernels_custom_messages() -> None:
    kinds = {get_args(get_type_hints(KernelMessage)["kind"])[0]}
    handled = set(re.findall(r'content\.kind !== "(\w+)"', GRID_JS))
    assert handled == kinds == {"download"}
    assert '"msg:custom": onCustom' in GRID_JS


def test_an_export_is_sent_as_the_download_message(small: pd.DataFrame) -> None:
    grid = TaskGrid(small)
    browser = Browser(grid)
    browser.act("export_ids")
    assert "select tasks first" in grid.error and browser.custom == []
    browser.click("task-03")
    browser.click("task-01")
    browser.act("export_ids")
    (message,) = browser.custom
    assert set(message) == set(get_type_hints(KernelMessage))
    assert message["text"] == "task-01\ntask-03\n"  # frame order, one id per line
