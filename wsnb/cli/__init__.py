"""The ``wsnb`` command: a thin shell over the Python API (console script ``wsnb.cli:main``).

Each command lives in its own module (:mod:`wsnb.cli.tasks`, :mod:`wsnb.cli.runs`,
:mod:`wsnb.cli.notebook`, :mod:`wsnb.emulator._cli`) and is imported only when invoked, so
``wsnb --help`` is fast and a broken optional part never breaks the rest. The command modules
import only click and light modules at the top; pandas, the client and papermill are imported
inside the command bodies, so ``wsnb tasks --help`` does not load them.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import click

from wsnb.cli._errors import CliError, ExitCode

__all__ = ["CliError", "ExitCode", "cli", "main"]

#: ``ctx.meta`` keys: the ``--debug`` flag, and the endpoint the command talks to (for messages).
DEBUG_KEY = "wsnb.debug"
ENDPOINT_KEY = "wsnb.endpoint"

# name -> ("module:attribute", short help)
_COMMANDS: dict[str, tuple[str, str]] = {
    "tasks": ("wsnb.cli.tasks:tasks", "List and delete scheduled tasks."),
    "runs": (
        "wsnb.cli.runs:runs",
        "Inspect, resume, execute and restore deletion runs (the ledger).",
    ),
    "emulator": ("wsnb.emulator._cli:emulator", "Run the local scheduled-tasks emulator."),
    "run": ("wsnb.cli.notebook:run", "Run a bundled notebook through papermill."),
    "demo": (
        "wsnb.cli.notebook:demo",
        "Start the emulator and run the cleanup notebook against it.",
    ),
    "doctor": ("wsnb.cli.doctor:doctor", "Check the setup against a tenant (read-only)."),
}


def _debug(ctx: click.Context) -> bool:
    """``--debug`` was given, or ``WSNB_DEBUG`` is set to anything but 0/false/no/off."""
    flag = os.environ.get("WSNB_DEBUG", "").strip().lower()
    return bool(ctx.meta.get(DEBUG_KEY)) or flag not in ("", "0", "false", "no", "off")


def _explain(exc: Exception, endpoint: str | None = None) -> CliError:
    """The one place that maps an exception to an exit code and an ``Error:`` line (cause, fix).

    Errors are matched by their base classes (``wsnb.errors``, ``wsnb.auth``), so subclasses
    added later land in the right bucket. Anything unexpected is an internal error (70).
    """
    import sqlite3

    from wsnb import auth, errors

    cap: tuple[type[Exception], ...] = ()
    bad_parameter: tuple[type[Exception], ...] = ()
    try:  # bad input the library refuses (heavier modules: they may be what failed to import)
        from wsnb.deletion import DeletionCapError
        from wsnb.params import ParameterError

        cap, bad_parameter = (DeletionCapError,), (ParameterError,)
    except ImportError:  # pragma: no cover
        pass

    at = f" at {endpoint}" if endpoint else ""
    where = "--endpoint/WSNB_ENDPOINT or --region/WSNB_REGION"
    keys = "HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK or WSNB_AUTH_TOKEN"
    credentials = tuple(
        {c for c in (auth.CredentialsError, getattr(errors, "CredentialsError", None)) if c}
    )
    if isinstance(exc, credentials):
        return CliError(
            f"credentials: {exc}. Set {keys} and HUAWEICLOUD_SDK_PROJECT_ID, or the SDK"
            " credentials file (HUAWEICLOUD_SDK_CREDENTIALS_FILE)",
            ExitCode.AUTH,
        )
    if isinstance(exc, errors.AuthenticationError):
        return CliError(
            f"authentication failed{at}: {exc}. Check {keys} (an IAM token expires after 24"
            " hours), HUAWEICLOUD_SDK_PROJECT_ID and this machine's clock",
            ExitCode.AUTH,
        )
    if isinstance(exc, errors.ForbiddenError):
        return CliError(
            f"permission denied{at}: {exc}. Give the IAM user Workspace rights in this project,"
            " and check that Workspace is enabled in the region",
            ExitCode.AUTH,
        )
    if isinstance(exc, errors.OutcomeUnknownError):
        return CliError(
            f"the outcome of a write is unknown{at}: {exc}. Nothing was resent; check the"
            " tasks ('wsnb tasks list') before trying again",
            ExitCode.CONNECTION,
        )
    if isinstance(exc, errors.TransportError):
        return CliError(
            f"cannot reach the service{at}: {exc}. Check {where}, the network and any proxy",
            ExitCode.CONNECTION,
        )
    if isinstance(exc, errors.NotFoundError):
        return CliError(
            f"no such API{at}: {exc}. The endpoint is probably wrong: check {where} (e.g."
            " https://workspace.cn-north-4.myhuaweicloud.com)",
            ExitCode.CONNECTION,
        )
    if isinstance(exc, errors.ThrottledError):
        return CliError(
            f"throttled{at}, still after retrying: {exc}. Wait a minute and try again, or use"
            " a lower --concurrency",
            ExitCode.CONNECTION,
        )
    if isinstance(exc, errors.WorkspaceError):
        return CliError(
            f"the service failed{at}: {exc}. Try again later; quote the request_id to Huawei"
            " support if it persists",
            ExitCode.CONNECTION,
        )
    if isinstance(exc, sqlite3.Error):
        return CliError(
            f"ledger database error: {exc}. Check the --ledger/WSNB_LEDGER file (disk space,"
            " permissions, another program holding it) or use a new file",
            ExitCode.LEDGER,
        )
    if isinstance(exc, cap):
        return CliError(f"{exc} Raise --max to allow more.", ExitCode.USAGE)
    if isinstance(exc, bad_parameter):
        return CliError(str(exc), ExitCode.USAGE)
    if isinstance(exc, OSError):
        target = f" {exc.filename}" if exc.filename else ""
        return CliError(
            f"cannot use{target}: {exc.strerror or exc}. Check the path and its folder",
            ExitCode.USAGE,
        )
    return CliError(
        f"internal error: {type(exc).__name__}: {exc}. Rerun with --debug for the traceback"
        " and report it",
        ExitCode.INTERNAL,
    )


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

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Exit codes"):
            formatter.write_dl([(str(code.value), code.doc) for code in ExitCode])
        formatter.write_paragraph()
        formatter.write_text(
            "An expected failure prints one 'Error: ...' line; --debug (or WSNB_DEBUG=1) shows"
            " the traceback instead."
        )

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; an exception that is not click's own becomes a :class:`CliError`."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, EOFError):
            raise
        except Exception as exc:
            if _debug(ctx):
                raise
            raise _explain(exc, ctx.meta.get(ENDPOINT_KEY)) from exc


@click.group(cls=_LazyGroup)
@click.version_option(package_name="wsnb")
@click.option("--debug", is_flag=True, help="Show the traceback of an error (or WSNB_DEBUG=1).")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """wsnb: clean up Huawei Cloud Workspace scheduled tasks."""
    ctx.meta[DEBUG_KEY] = debug


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``wsnb`` console script."""
    return cli.main(args=argv, prog_name="wsnb")


if __name__ == "__main__":  # pragma: no cover
    main()
