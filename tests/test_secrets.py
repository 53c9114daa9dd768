"""No AK, SK or token in anything the notebook runs produced (notebooks, HTML, CSV, JSON, logs).

Scans the session's ``notebook-runs`` folder: the outputs of ``tests/test_notebooks.py`` (keys of
the shared emulator) and of the ``wsnb demo`` run (known demo keys), whichever ran this session.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from wsnb.emulator import Emulator

SCANNED = (".ipynb", ".html", ".csv", ".json", ".log", ".sqlite")


def find_secrets(root: Path, secrets: dict[str, str]) -> list[tuple[Path, str]]:
    """(file, secret name) for every file under ``root`` that contains a secret's value."""
    needles = {name: value.encode() for name, value in secrets.items() if value}
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits += [(path, name) for name, needle in needles.items() if needle in data]
    return hits


def test_the_scanner_finds_a_planted_secret(tmp_path: Path) -> None:
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "out.ipynb").write_text('{"source": "sk = \\"PLANTED-SK-123\\""}')
    (tmp_path / "clean.log").write_text("nothing here")
    hits = find_secrets(tmp_path, {"sk": "PLANTED-SK-123", "ak": "NOT-THERE"})
    assert hits == [(tmp_path / "deep" / "out.ipynb", "sk")]


@pytest.mark.slow  # needs the wsnb demo run
def test_no_secret_in_any_output(
    demo_run: tuple[Path, str, dict[str, str]],
    _shared_emulator: Emulator,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.getbasetemp() / "notebook-runs"
    _, _, demo_keys = demo_run
    emu = _shared_emulator
    secrets = {
        "demo AK": demo_keys["ak"],
        "demo SK": demo_keys["sk"],
        "emulator AK": emu.ak,
        "emulator SK": emu.sk,
        "emulator token": emu.token,
    }
    kinds = Counter(p.suffix for p in root.rglob("*") if p.is_file())
    for suffix in (".ipynb", ".html", ".csv", ".json", ".log"):
        assert kinds[suffix] > 0, f"nothing of type {suffix} was produced to scan: {kinds}"
    assert find_secrets(root, secrets) == []
