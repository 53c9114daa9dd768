"""The public API: every name in ``wsnb.__all__`` resolves, and nothing else is exported."""

from __future__ import annotations

import subprocess
import sys

import pytest

import wsnb


@pytest.mark.parametrize("name", wsnb.__all__)
def test_public_name_resolves(name: str) -> None:
    assert getattr(wsnb, name) is not None


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = wsnb.no_such_thing  # type: ignore[attr-defined]


def test_import_is_light() -> None:
    """``import wsnb`` must not pull in the grid, pandas or the emulator until used."""
    code = (
        "import sys, wsnb; "
        "heavy = [m for m in ('pandas', 'ipywidgets', 'matplotlib', 'wsnb.emulator') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_client_never_imports_the_emulator() -> None:
    code = (
        "import sys, wsnb, wsnb.client, wsnb.deletion, wsnb.frames, wsnb.grid, wsnb.report; "
        "print([m for m in sys.modules if m.startswith('wsnb.emulator')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
