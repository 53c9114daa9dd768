"""``wsnb`` itself (``wsnb.cli``): the lazy command group and what ``--help`` imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from wsnb.cli import _COMMANDS, cli

HEAVY = ("pandas", "numpy", "httpx", "papermill", "wsnb.client", "wsnb.emulator")


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["tasks", "--help"],
        ["tasks", "list", "--help"],
        ["tasks", "delete", "--help"],
        ["runs", "--help"],
        ["runs", "show", "--help"],
    ],
)
def test_help_does_not_import_heavy_modules(args: list[str]) -> None:
    """``python -m wsnb ... --help`` in a fresh interpreter loads neither pandas nor the client."""
    code = (
        "import json, runpy, sys\n"
        f"sys.argv = ['wsnb', *{args!r}]\n"
        "try:\n"
        "    runpy.run_module('wsnb', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    *help_text, loaded = done.stdout.strip().splitlines()
    assert "Usage: wsnb" in "\n".join(help_text)
    assert json.loads(loaded) == []


def test_every_command_resolves_and_is_listed() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name, (target, help_) in _COMMANDS.items():
        assert name in result.output and help_ in result.output
        assert cli.get_command(None, name) is not None, target  # type: ignore[arg-type]
    assert cli.get_command(None, "nope") is None  # type: ignore[arg-type]
