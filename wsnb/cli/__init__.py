"""The ``wsnb`` command: a thin shell over the Python API (console script ``wsnb.cli:main``).

Each command lives in its own module (:mod:`wsnb.cli.tasks`, :mod:`wsnb.cli.runs`,
:mod:`wsnb.cli.notebook`, :mod:`wsnb.emulator._cli`) and is imported only when invoked, so
``wsnb --help`` is fast and a broken optional part never breaks the rest. The command modules
import only click and light modules at the top; pandas, the client and papermill are imported
inside the command bodies, so ``wsnb tasks --help`` does not load them.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> ("module:attribute", short help)
_COMMANDS: dict[str, tuple[str, str]] = {
    "tasks": ("wsnb.cli.tasks:tasks", "List and delete scheduled tasks."),
    "runs": ("wsnb.cli.runs:runs", "Inspect, resume and restore deletion runs (the ledger)."),
    "emulator": ("wsnb.emulator._cli:emulator", "Run the local scheduled-tasks emulator."),
    "run": ("wsnb.cli.notebook:run", "Run a bundled notebook through papermill."),
    "demo": (
        "wsnb.cli.notebook:demo",
        "Start the emulator and run the cleanup notebook against it.",
    ),
    "doctor": ("wsnb.cli.doctor:doctor", "Check the setup against a tenant (read-only)."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = _COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module, _, attr = spec[0].partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup)
@click.version_option(package_name="wsnb")
def cli() -> None:
    """wsnb: clean up Huawei Cloud Workspace scheduled tasks."""


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``wsnb`` console script."""
    return cli.main(args=argv, prog_name="wsnb")


if __name__ == "__main__":  # pragma: no cover
    main()
