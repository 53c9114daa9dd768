"""The public API: ``_EXPORTS``, ``__all__`` and the TYPE_CHECKING imports agree, every name is
the object its module defines, and ``import wsnb`` itself loads none of the heavy parts."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import wsnb

INIT = Path(wsnb.__file__)


def _type_checking_imports() -> dict[str, str]:
    """name -> module of the ``from … import …`` lines under ``if TYPE_CHECKING:``."""
    names: dict[str, str] = {}
    for node in ast.parse(INIT.read_text()).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module, ast.unparse(stmt)
                names.update({alias.name: stmt.module for alias in stmt.names})
    return names


def test_all_exports_and_type_checking_imports_agree() -> None:
    assert wsnb.__all__ == sorted(wsnb._EXPORTS)
    assert _type_checking_imports() == wsnb._EXPORTS


@pytest.mark.parametrize("name", wsnb.__all__)
def test_public_name_is_the_object_its_module_defines(name: str) -> None:
    module = importlib.import_module(wsnb._EXPORTS[name])
    value = getattr(wsnb, name)
    assert value is getattr(module, name)
    defined = (
        value.__module__
    )  # there, or in a room of that package; not re-exported from elsewhere
    assert defined == module.__name__ or defined.startswith(module.__name__ + ".")
    assert value.__name__ == name
    assert vars(wsnb)[name] is value  # resolved once, then a plain module attribute


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'no_such_thing'"):
        _ = wsnb.no_such_thing  # type: ignore[attr-defined]


def _fresh(code: str) -> str:
    """``code``'s stdout in a new interpreter (nothing imported by this test session)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_import_is_light() -> None:
    """``import wsnb`` must not pull in pandas, the widgets, httpx or the emulator until used."""
    code = (
        "import sys, wsnb\n"
        "heavy = ('pandas', 'numpy', 'anywidget', 'ipywidgets', 'httpx', 'matplotlib', 'click')\n"
        "print(sorted(m for m in sys.modules if m in heavy or m.startswith('wsnb.')))"
    )
    assert _fresh(code) == "[]"


def test_dir_lists_the_public_names_before_they_are_loaded() -> None:
    code = (
        "import sys, wsnb\n"
        "names = dir(wsnb)\n"
        "print(sorted(set(wsnb.__all__) - set(names)), '__version__' in names,"
        " 'wsnb.client' in sys.modules)"
    )
    assert _fresh(code) == "[] True False"


def test_client_never_imports_the_emulator() -> None:
    code = (
        "import sys, wsnb, wsnb.client, wsnb.deletion, wsnb.frames, wsnb.grid, wsnb.report\n"
        "print([m for m in sys.modules if m.startswith('wsnb.emulator')])"
    )
    assert _fresh(code) == "[]"
