"""The ``wsnb`` command's exit codes and the error it raises for an expected failure.

:class:`ExitCode` is the one list of exit codes (the ``--help`` epilog and the README's CLI
section show it); :class:`CliError` is a :class:`click.ClickException` that carries one and
prints as one ``Error: …`` line. Which exception means which code is decided in one place,
:func:`wsnb.cli._explain`.
"""

from __future__ import annotations

from enum import IntEnum

import click

__all__ = ["CliError", "ExitCode"]


class ExitCode(IntEnum):
    """What a ``wsnb`` exit status means (``.doc`` says it in words)."""

    OK = 0
    NOT_OK = 1
    USAGE = 2
    AUTH = 3
    CONNECTION = 4
    LEDGER = 5
    INTERNAL = 70

    @property
    def doc(self) -> str:
        return _DOCS[self]


_DOCS: dict[ExitCode, str] = {
    ExitCode.OK: "success (a dry run included)",
    ExitCode.NOT_OK: "the run finished but is not OK (failed, forbidden, skipped, invalid or"
    " pending ids; a cancelled or interrupted run; a restore or a notebook that failed), or you"
    " answered no",
    ExitCode.USAGE: "usage or bad input (an option, the ids file, a notebook or its parameters,"
    " a run id, more ids than --max)",
    ExitCode.AUTH: "authentication or permission (missing or wrong credentials, 401, 403)",
    ExitCode.CONNECTION: "connection or endpoint (unreachable, wrong endpoint or 404,"
    " throttled, 5xx, an outcome unknown)",
    ExitCode.LEDGER: "the ledger (not a wsnb ledger, corrupt, not writable, newer schema)",
    ExitCode.INTERNAL: "internal error: a bug; rerun with --debug and report the traceback",
}


class CliError(click.ClickException):
    """An expected failure: printed as one ``Error: message`` line, exits with ``code``."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(" ".join(message.split()))  # one line, whatever the cause said
        self.exit_code = int(code)  # type: ignore[misc]  # click declares a class default
