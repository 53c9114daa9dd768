"""``wsnb tasks`` (list, delete) and ``wsnb runs`` (list, show, resume, restore).

A thin shell over :mod:`wsnb.frames`, :mod:`wsnb.deletion` and :mod:`wsnb.ledger`. The connection
comes from ``--endpoint``/``--region``/``--project-id`` or the environment
(:meth:`wsnb.client.Client.from_env`); credentials only ever from the environment or the SDK
credentials file, never from the command line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import pandas as pd

from wsnb.deletion import DEFAULT_MAX
from wsnb.models import LastStatus, LifeCycleType, ScheduledType, TaskType

F = TypeVar("F", bound=Callable[..., Any])

_FORMATS = click.Choice(["table", "csv", "json"])


def _connection(fn: F) -> F:
    """``--endpoint``, ``--region`` and ``--project-id`` (defaults from the environment)."""
    fn = click.option("--project-id", help="Project id (default: HUAWEICLOUD_SDK_PROJECT_ID).")(fn)
    fn = click.option("--region", help="Region, e.g. cn-north-4 (default: WSNB_REGION).")(fn)
    fn = click.option(
        "--endpoint", help="Endpoint URL, e.g. an emulator's (default: WSNB_ENDPOINT)."
    )(fn)
    return fn


def _filters(fn: F) -> F:
    """The API list filters plus the ``--no-life-cycle`` switch."""
    options = [
        click.option("--name", "task_name", help="Task name contains (server-side)."),
        click.option("--type", "task_type", type=click.Choice([t.value for t in TaskType])),
        click.option("--scheduled-type", type=click.Choice([t.value for t in ScheduledType])),
        click.option("--life-cycle-type", type=click.Choice([t.value for t in LifeCycleType])),
        click.option("--last-status", type=click.Choice([t.value for t in LastStatus])),
        click.option(
            "--life-cycle/--no-life-cycle",
            "include_life_cycle",
            default=True,
            show_default=True,
            help="Also list LIFE_CYCLE tasks (the API hides them unless asked).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _client(endpoint: str | None, region: str | None, project_id: str | None) -> Any:
    from wsnb.client import Client

    kw = {"endpoint": endpoint, "region": region, "project_id": project_id}
    try:
        return Client.from_env(**{k: v for k, v in kw.items() if v})
    except (ValueError, TypeError) as exc:
        raise click.UsageError(str(exc)) from exc


def _ledger(path: str | None) -> Any:
    from wsnb.ledger import Ledger

    return Ledger(path)


def _emit(frame: pd.DataFrame, fmt: str, output: str | None) -> None:
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


def _read_ids(path: str) -> list[str]:
    """One id per line; blank lines and ``#`` comments skipped; ``-`` reads stdin."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _print_report(report: Any) -> None:
    s = report.summary
    shown = ", ".join(
        f"{k}={s[k]}"
        for k in ("deleted", "already_absent", "planned", "invalid", "skipped", "failed")
        if s[k]
    )
    kind = "dry run" if s["dry_run"] else "run"
    click.echo(f"{kind} {s['run_id']} {s['status']}: {shown or 'nothing to do'}")
    failures = report.failures()
    if not failures.empty:
        click.echo(failures.to_string(), err=True)


@click.group()
def tasks() -> None:
    """List and delete scheduled tasks."""


@tasks.command("list")
@_connection
@_filters
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here, not stdout.")
@click.option("--progress/--no-progress", default=False)
def list_command(
    endpoint: str | None,
    region: str | None,
    project_id: str | None,
    include_life_cycle: bool,
    fmt: str,
    output: str | None,
    progress: bool,
    **filters: Any,
) -> None:
    """List tasks (API filters are applied by the server)."""
    from wsnb.frames import tasks_frame

    with _client(endpoint, region, project_id) as client:
        frame = tasks_frame(
            client, include_life_cycle=include_life_cycle, progress=progress, **filters
        )
    _emit(frame, fmt, output)


@tasks.command("delete")
@_connection
@_filters
@click.option(
    "--ids-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Ids to delete, one per line ('-': stdin). Otherwise the filters select.",
)
@click.option("--expired", is_flag=True, help="Only tasks whose expire_time has passed.")
@click.option("--disabled", "only_disabled", is_flag=True, help="Only disabled tasks.")
@click.option("--all", "select_all", is_flag=True, help="Allow selecting with no filter at all.")
@click.option("--dry-run", is_flag=True, help="Plan and snapshot, send no delete.")
@click.option(
    "--max",
    "max_deletions",
    type=click.IntRange(0),
    default=DEFAULT_MAX,
    show_default=True,
    help="Refuse above this many ids, before any call (every deletion is capped).",
)
@click.option(
    "--ledger", type=click.Path(dir_okay=False), help="Ledger file (default: WSNB_LEDGER)."
)
@click.option("--chunk-size", type=click.IntRange(1, 5000))
@click.option("--concurrency", type=click.IntRange(1, 64))
@click.option(
    "--snapshot/--no-snapshot",
    default=True,
    show_default=True,
    help="Save each definition first (needed by 'runs restore').",
)
@click.option(
    "--precheck/--no-precheck",
    default=True,
    show_default=True,
    help="With --no-snapshot: check which ids exist before sending.",
)
@click.option("--verify/--no-verify", default=True, show_default=True)
@click.option(
    "--report",
    type=click.Path(dir_okay=False),
    help="Also write the report (.html, .csv or .json).",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--progress/--no-progress", default=True)
def delete_command(
    endpoint: str | None,
    region: str | None,
    project_id: str | None,
    include_life_cycle: bool,
    ids_file: str | None,
    expired: bool,
    only_disabled: bool,
    select_all: bool,
    dry_run: bool,
    max_deletions: int,
    ledger: str | None,
    chunk_size: int | None,
    concurrency: int | None,
    snapshot: bool,
    precheck: bool,
    verify: bool,
    report: str | None,
    yes: bool,
    progress: bool,
    **filters: Any,
) -> None:
    """Delete tasks named in --ids-file, or those the filters select."""
    from wsnb import frames
    from wsnb.deletion import DeletionCapError, delete_tasks

    chosen = {k: v for k, v in filters.items() if v is not None}
    if ids_file and (chosen or expired or only_disabled):
        raise click.UsageError("give either --ids-file or filters, not both")
    if not ids_file and not (chosen or expired or only_disabled or select_all):
        raise click.UsageError("nothing selected: give --ids-file, a filter, or --all")
    with _client(endpoint, region, project_id) as client:
        selection: Any
        if ids_file:
            selection = _read_ids(ids_file)
        else:
            frame = frames.tasks_frame(
                client, include_life_cycle=include_life_cycle, progress=progress, **chosen
            )
            if expired:
                frame = frame[frames.expired(frame)]
            if only_disabled:
                frame = frame[frames.disabled(frame)]
            selection = frame
        count = len(selection)
        if count == 0:
            click.echo("no task selected; nothing to do")
            return
        if not dry_run and not yes:
            click.confirm(
                f"Delete {count} task(s) in project {client.project_id} at {client.endpoint}?",
                abort=True,
            )
        book = _ledger(ledger)
        try:
            result = delete_tasks(
                client,
                selection,
                chunk_size=chunk_size,
                concurrency=concurrency,
                dry_run=dry_run,
                max_deletions=max_deletions,
                ledger=book,
                verify=verify,
                progress=progress,
                snapshot=snapshot,
                precheck=precheck,
            )
        except DeletionCapError as exc:
            raise click.ClickException(f"{exc} (use --max)") from exc
        finally:
            book.close()
    _print_report(result)
    if report:
        _write_report(result, report)
    if not result.ok:
        sys.exit(1)


def _write_report(report: Any, path: str) -> None:
    suffix = Path(path).suffix.lower()
    writers = {".html": report.to_html, ".csv": report.to_csv, ".json": report.to_json}
    if suffix not in writers:
        raise click.UsageError("--report must end in .html, .csv or .json")
    writers[suffix](path)
    click.echo(f"report written to {path}", err=True)


@click.group()
def runs() -> None:
    """Inspect, resume and restore deletion runs (the ledger)."""


_ledger_option = click.option(
    "--ledger", type=click.Path(dir_okay=False), help="Ledger file (default: WSNB_LEDGER)."
)


@runs.command("list")
@_ledger_option
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True)
def runs_list(ledger: str | None, fmt: str) -> None:
    """Every run in the ledger, newest first."""
    book = _ledger(ledger)
    try:
        _emit(book.runs(), fmt, None)
    finally:
        book.close()


@runs.command("show")
@click.argument("run_id", type=int)
@_ledger_option
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False))
def runs_show(run_id: int, ledger: str | None, fmt: str, output: str | None) -> None:
    """A run's summary and per-task outcomes."""
    from wsnb.report import DeletionReport

    book = _ledger(ledger)
    try:
        try:
            report = DeletionReport.from_ledger(book, run_id)
        except KeyError as exc:
            raise click.ClickException(str(exc.args[0])) from exc
    finally:
        book.close()
    if fmt == "table" and not output:
        _print_report(report)
    _emit(report.frame.set_index("task_id"), fmt, output)


@runs.command("resume")
@click.argument("run_id", type=int)
@_ledger_option
@_connection
@click.option("--progress/--no-progress", default=True)
def runs_resume(
    run_id: int,
    ledger: str | None,
    endpoint: str | None,
    region: str | None,
    project_id: str | None,
    progress: bool,
) -> None:
    """Finish an interrupted run without resending anything already settled."""
    from wsnb.deletion import resume

    book = _ledger(ledger)
    try:
        with _client(endpoint, region, project_id) as client:
            try:
                report = resume(client, book, run_id, progress=progress)
            except (KeyError, ValueError) as exc:
                raise click.ClickException(str(exc)) from exc
    finally:
        book.close()
    _print_report(report)
    if not report.ok:
        sys.exit(1)


@runs.command("restore")
@click.argument("run_id", type=int)
@_ledger_option
@_connection
@click.option(
    "--ids-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Restore only these ids (default: every task the run deleted).",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True)
def runs_restore(
    run_id: int,
    ledger: str | None,
    endpoint: str | None,
    region: str | None,
    project_id: str | None,
    ids_file: str | None,
    yes: bool,
    fmt: str,
) -> None:
    """Re-create tasks a run deleted, from the snapshots in the ledger."""
    from wsnb.deletion import restore_tasks

    ids = _read_ids(ids_file) if ids_file else None
    book = _ledger(ledger)
    try:
        with _client(endpoint, region, project_id) as client:
            what = f"{len(ids)} task(s)" if ids is not None else "every task"
            if not yes:
                click.confirm(f"Re-create {what} deleted by run {run_id}?", abort=True)
            try:
                frame = restore_tasks(client, book, run_id, ids)
            except (KeyError, ValueError) as exc:
                raise click.ClickException(str(exc)) from exc
    finally:
        book.close()
    _emit(frame, fmt, None)
    if (frame["state"] != "ok").any():
        sys.exit(1)
