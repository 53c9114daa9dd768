"""What ``wsnb tasks`` and ``wsnb runs`` share: connection options, output, ledger, reports.

Light on purpose: only click and :mod:`wsnb.models` at import time (``--help`` must not load
pandas); everything heavy is imported inside the functions.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import click

from wsnb.cli._errors import CliError, ExitCode

if TYPE_CHECKING:
    import pandas as pd

    from wsnb.cli._table import TableKind
    from wsnb.client import Client
    from wsnb.ledger import Ledger
    from wsnb.report import DeletionReport

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = click.Choice(["table", "csv", "json"])

ledger_option = click.option(
    "--ledger",
    type=click.Path(dir_okay=False),
    help="Ledger file or postgresql:// URL (default: WSNB_LEDGER).",
)


def connection_options(fn: F) -> F:
    """``--endpoint``, ``--region`` and ``--project-id`` (defaults from the environment)."""
    fn = click.option("--project-id", help="Project id (default: HUAWEICLOUD_SDK_PROJECT_ID).")(fn)
    fn = click.option("--region", help="Region, e.g. cn-north-4 (default: WSNB_REGION).")(fn)
    fn = click.option(
        "--endpoint", help="Endpoint URL, e.g. an emulator's (default: WSNB_ENDPOINT)."
    )(fn)
    return fn


def make_client(endpoint: str | None, region: str | None, project_id: str | None) -> Client:
    """A client from the options, else the environment; bad settings are usage errors, missing
    or contradictory credentials go to the CLI's handler (exit code 3)."""
    from wsnb.auth import CredentialsError
    from wsnb.client import Client

    kw = {"endpoint": endpoint, "region": region, "project_id": project_id}
    try:
        client = Client.from_env(**{k: v for k, v in kw.items() if v})
    except CredentialsError:
        raise
    except (ValueError, TypeError) as exc:
        raise click.UsageError(str(exc)) from exc
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta["wsnb.endpoint"] = client.endpoint  # named in connection errors
    return client


def open_ledger(path: str | None) -> Ledger:
    """The ledger at ``path`` (default ``WSNB_LEDGER``); one that cannot be opened is exit 5."""
    import sqlite3

    from wsnb.ledger import Ledger, default_ledger, redact_url

    shown = redact_url(path or default_ledger())  # a PostgreSQL URL's password: never shown
    try:
        return Ledger(path)
    except (sqlite3.Error, OSError, RuntimeError) as exc:  # RuntimeError: a newer schema
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CliError(
            f"cannot open the ledger {shown}: {reason}. Point --ledger (or WSNB_LEDGER) at a"
            " wsnb ledger or a new file",
            ExitCode.LEDGER,
        ) from exc


def emit(frame: pd.DataFrame, fmt: str, output: str | None, table: TableKind | None = None) -> None:
    """``frame`` as a table for people (:mod:`wsnb.cli._table`; ``table`` names its columns
    and footer), CSV or JSON, to ``output`` or stdout. CSV and JSON are for machines: whole,
    never shortened."""
    if fmt == "csv":
        text = frame.to_csv()
    elif fmt == "json":
        text = frame.reset_index().to_json(orient="records", date_format="iso", indent=2) + "\n"
    elif frame.empty:
        text = "(none)\n"
    else:
        text = table_text(frame, table, to_file=bool(output))
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(frame)} row(s) to {output}", err=True)
    else:
        click.echo(text, nl=False)


def table_text(
    frame: pd.DataFrame, table: TableKind | None = None, *, to_file: bool = False, err: bool = False
) -> str:
    """``frame`` drawn for the terminal (or a file) it goes to: as wide as that terminal
    (``COLUMNS``, else 100 without a TTY), coloured only on a TTY without ``NO_COLOR``."""
    from wsnb.cli._table import DEFAULT_WIDTH, render, terminal_width

    stream = sys.stderr if err else sys.stdout
    width = terminal_width(None if to_file else stream)
    tty = not to_file and stream.isatty() and not os.environ.get("NO_COLOR")
    return render(frame, table, width=width or DEFAULT_WIDTH, color=tty)


#: Byte-order marks of encodings an ids file must not be in (longest first: UTF-32 LE starts
#: with UTF-16 LE's mark).
_FOREIGN_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def decode_ids(data: bytes, name: str) -> list[str]:
    """The ids in an ids file's bytes: UTF-8 (a BOM is fine), one per line (LF or CRLF),
    blank lines and ``#`` comments skipped. Anything else is a :class:`CliError` naming
    ``name``: UTF-16/UTF-32 (a BOM, or NUL bytes) or invalid UTF-8 would otherwise turn into
    ids the server never knew (a BOM read as text hid the first id)."""
    save = "save it as UTF-8 (e.g. iconv -t UTF-8)"
    for bom, encoding in _FOREIGN_BOMS:
        if data.startswith(bom):
            raise CliError(
                f"--ids-file {name} is {encoding} encoded (it starts with a {encoding}"
                f" byte-order mark); {save}"
            )
    if b"\x00" in data:
        raise CliError(
            f"--ids-file {name} contains NUL bytes (UTF-16 or UTF-32 without a"
            f" byte-order mark?); {save}"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CliError(
            f"--ids-file {name} is not valid UTF-8 (byte 0x{data[exc.start]:02x} on"
            f" line {line}); {save}"
        ) from None
    lines = (line.strip().strip("\ufeff").strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def read_ids(path: str) -> list[str]:
    """The ids of ``--ids-file`` (``-`` reads stdin); see :func:`decode_ids`. A file that
    cannot be read is a :class:`CliError` (exit code 2) naming it."""
    if path == "-":
        raw: BinaryIO | None = getattr(sys.stdin, "buffer", None)  # None: a text-only stand-in
        data = raw.read() if raw is not None else sys.stdin.read().encode("utf-8")
        return decode_ids(data, "<stdin>")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read --ids-file {path}: {exc.strerror or exc}") from None
    return decode_ids(data, path)


def echo_report(report: DeletionReport) -> None:
    """The run's summary (:meth:`~wsnb.report.DeletionReport.summary_text`); failures to stderr."""
    from wsnb.cli._table import FAILURES

    click.echo(report.summary_text())
    failures = report.failures()
    if not failures.empty:
        click.echo(table_text(failures, FAILURES, err=True), err=True, nl=False)


def not_ok(run_id: int) -> CliError:
    """The error of a run that finished but is not OK (exit code 1), after its summary."""
    return CliError(
        f"run {run_id} did not finish OK (see the summary above): 'wsnb runs show {run_id}'"
        f" lists every outcome, 'wsnb runs resume {run_id}' finishes what is pending",
        ExitCode.NOT_OK,
    )
