"""What ``wsnb tasks`` and ``wsnb runs`` share: connection options, output, ledger, reports.

Light on purpose: only click and :mod:`wsnb.models` at import time (``--help`` must not load
pandas); everything heavy is imported inside the functions.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    import pandas as pd

    from wsnb.client import Client
    from wsnb.ledger import Ledger
    from wsnb.report import DeletionReport

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = click.Choice(["table", "csv", "json"])

ledger_option = click.option(
    "--ledger", type=click.Path(dir_okay=False), help="Ledger file (default: WSNB_LEDGER)."
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
    """A client from the options, else the environment; bad settings are usage errors."""
    from wsnb.client import Client

    kw = {"endpoint": endpoint, "region": region, "project_id": project_id}
    try:
        return Client.from_env(**{k: v for k, v in kw.items() if v})
    except (ValueError, TypeError) as exc:
        raise click.UsageError(str(exc)) from exc


def open_ledger(path: str | None) -> Ledger:
    from wsnb.ledger import Ledger

    return Ledger(path)


def emit(frame: pd.DataFrame, fmt: str, output: str | None) -> None:
    """``frame`` as a table, CSV or JSON, to ``output`` or stdout."""
    import pandas as pd

    if fmt == "csv":
        text = frame.to_csv()
    elif fmt == "json":
        text = frame.reset_index().to_json(orient="records", date_format="iso", indent=2) + "\n"
    elif frame.empty:
        text = "(none)\n"
    else:
        with pd.option_context("display.width", 200, "display.max_colwidth", 40):
            text = frame.to_string() + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(frame)} row(s) to {output}", err=True)
    else:
        click.echo(text, nl=False)


def read_ids(path: str) -> list[str]:
    """One id per line; blank lines and ``#`` comments skipped; ``-`` reads stdin."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def echo_report(report: DeletionReport) -> None:
    """The run's summary (:meth:`~wsnb.report.DeletionReport.summary_text`); failures to stderr."""
    click.echo(report.summary_text())
    failures = report.failures()
    if not failures.empty:
        click.echo(failures.to_string(), err=True)
