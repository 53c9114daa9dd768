"""``wsnb runs``: inspect, resume and restore deletion runs (the ledger).

A thin shell over :class:`wsnb.ledger.Ledger`, :mod:`wsnb.deletion` (``resume``,
``restore_tasks``) and :mod:`wsnb.report`. Only click is imported at the top (``wsnb runs
--help`` does not load pandas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from wsnb.cli._common import (
    FORMATS,
    connection_options,
    echo_report,
    emit,
    ledger_option,
    make_client,
    not_ok,
    open_ledger,
    read_ids,
)
from wsnb.cli._errors import CliError, ExitCode
from wsnb.cli._fleet import fleet_option

if TYPE_CHECKING:
    from wsnb.cli._table import TableKind
    from wsnb.ledger import Ledger

__all__ = ["runs"]


def _known_run(book: Ledger, run_id: int) -> None:
    """A :class:`CliError` (exit code 2) unless the ledger holds run ``run_id``."""
    try:
        book.run(run_id)
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from exc


@click.group()
def runs() -> None:
    """Inspect, resume and restore deletion runs (the ledger)."""


@runs.command("list")
@ledger_option
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@fleet_option
def runs_list(ledger: str | None, fmt: str, fleet_file: str | None) -> None:
    """Every run in the ledger, newest first; a run made for a fleet names its fleet run.
    With --fleet: the fleet runs (one row each, counts over their projects)."""
    from wsnb.cli._table import RUNS, Column, TableKind

    book = open_ledger(ledger)
    try:
        if fleet_file is not None:
            emit(book.fleet_runs(), fmt, None, _FLEET_RUNS())
            return
        frame = book.runs()
        fleets = book.fleet_of_runs()
        if fleets:
            frame.insert(0, "fleet", frame.index.map(fleets).astype("Int64"))
            kind = TableKind(
                (Column("fleet", "fleet", 5, justify="right", drop=1, cut=False), *RUNS.columns),
                RUNS.footer,
                RUNS.noun,
            )
            emit(frame, fmt, None, kind)
        else:
            emit(frame, fmt, None, RUNS)
    finally:
        book.close()


def _FLEET_RUNS() -> TableKind:
    from wsnb.cli._table import Column, TableKind

    def footer(frame: Any) -> str:
        n = len(frame)
        text = f"{n:,} fleet run{'' if n == 1 else 's'}"
        if n:
            text += (
                f"; {int(frame['projects'].sum()):,} project runs, "
                f"{int(frame['deleted'].sum()):,} tasks deleted, "
                f"{int(frame['failed'].sum()):,} failed"
            )
        return text

    return TableKind(
        (
            Column("fleet_run_id", "fleet run", 9, justify="right", cut=False),
            Column("created", "started (UTC)", 16, cut=False),
            Column("dry_run", "mode", 7, cut=False),
            Column("status", "status", 6, drop=5),
            Column("projects", "projects", 8, justify="right", cut=False),
            Column("ids", "ids", 3, justify="right", cut=False),
            Column("deleted", "deleted", 7, justify="right", cut=False),
            Column("failed", "failed", 6, justify="right", cut=False),
            Column("pending", "pending", 7, justify="right", drop=4, cut=False),
        ),
        footer,
        "fleet run",
    )


@runs.command("show")
@click.argument("run_id", type=int)
@ledger_option
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False))
@fleet_option
def runs_show(
    run_id: int, ledger: str | None, fmt: str, output: str | None, fleet_file: str | None
) -> None:
    """A run's summary and per-task outcomes (with --fleet: RUN is a fleet run; one summary
    line per project, outcomes with their project; the fleet file is not read)."""
    from wsnb.cli._table import OUTCOMES
    from wsnb.report import DeletionReport

    book = open_ledger(ledger)
    if fleet_file is not None:
        from wsnb._fleet_report import FleetReport
        from wsnb.cli._fleet import fleet_table

        try:
            try:
                fleet_report = FleetReport.from_ledger(book, run_id)
            except KeyError as exc:
                raise CliError(str(exc.args[0])) from exc
        finally:
            book.close()
        if fmt == "table" and not output:
            click.echo(fleet_report.summary_text())
        frame = fleet_report.frame.set_index(["project_id", "task_id"])
        emit(frame, fmt, output, fleet_table(OUTCOMES))
        return
    try:
        try:
            report = DeletionReport.from_ledger(book, run_id)
        except KeyError as exc:
            raise CliError(str(exc.args[0])) from exc
    finally:
        book.close()
    if fmt == "table" and not output:
        echo_report(report)
    emit(report.frame.set_index("task_id"), fmt, output, OUTCOMES)


@runs.command("resume")
@click.argument("run_id", type=int)
@ledger_option
@connection_options
@fleet_option
@click.option("--progress/--no-progress", default=True)
def runs_resume(
    run_id: int,
    ledger: str | None,
    endpoint: str | None,
    region: str | None,
    project_id: str | None,
    fleet_file: str | None,
    progress: bool,
) -> None:
    """Finish an interrupted run without resending anything already settled (with --fleet:
    RUN is a fleet run; each project not done is resumed with its own client)."""
    from wsnb.deletion import resume
    from wsnb.ledger import LeaseError

    if fleet_file is not None:
        _resume_fleet(run_id, ledger, fleet_file, (endpoint, region, project_id), progress)
        return
    book = open_ledger(ledger)
    try:
        _known_run(book, run_id)
        with make_client(endpoint, region, project_id) as client:
            try:
                report = resume(client, book, run_id, progress=progress)
            except LeaseError as exc:  # another live process holds the run
                raise CliError(str(exc), ExitCode.LEDGER) from exc
            except ValueError as exc:  # another endpoint or project than the run's
                raise CliError(str(exc)) from exc
    finally:
        book.close()
    echo_report(report)
    if not report.ok:
        raise not_ok(run_id)


@runs.command("restore")
@click.argument("run_id", type=int)
@ledger_option
@connection_options
@fleet_option
@click.option(
    "--ids-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Restore only these ids (default: every task the run deleted; with --fleet: lines"
    " 'project_id task_id').",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def runs_restore(
    run_id: int,
    ledger: str | None,
    endpoint: str | None,
    region: str | None,
    project_id: str | None,
    fleet_file: str | None,
    ids_file: str | None,
    yes: bool,
    fmt: str,
) -> None:
    """Re-create tasks a run deleted, from the snapshots in the ledger (with --fleet: RUN is a
    fleet run; each project is restored with its own client)."""
    from wsnb.deletion import restore_tasks
    from wsnb.ledger import LeaseError

    if fleet_file is not None:
        _restore_fleet(
            run_id, ledger, fleet_file, (endpoint, region, project_id), ids_file, yes, fmt
        )
        return
    ids = read_ids(ids_file) if ids_file else None
    book = open_ledger(ledger)
    try:
        _known_run(book, run_id)
        with make_client(endpoint, region, project_id) as client:
            what = f"{len(ids)} task(s)" if ids is not None else "every task"
            if not yes:
                click.confirm(f"Re-create {what} deleted by run {run_id}?", abort=True)
            try:
                frame = restore_tasks(client, book, run_id, ids)
            except LeaseError as exc:  # another live process holds the run
                raise CliError(str(exc), ExitCode.LEDGER) from exc
            except ValueError as exc:  # ids the run did not delete
                raise CliError(str(exc)) from exc
    finally:
        book.close()
    emit(frame, fmt, None)
    failed = int((frame["state"] != "ok").sum())
    if failed:
        raise CliError(
            f"{failed} of {len(frame)} task(s) of run {run_id} were not re-created (see the"
            f" table above); 'wsnb runs restore {run_id}' tries the failed ones again (check"
            " 'unknown' ones on the server first)",
            ExitCode.NOT_OK,
        )


# --- fleet runs ----------------------------------------------------------------------------------


def _known_fleet_run(book: Ledger, run_id: int) -> None:
    try:
        book.fleet_run(run_id)
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from exc


def _resume_fleet(
    run_id: int,
    ledger: str | None,
    fleet_file: str,
    connection: tuple[str | None, ...],
    progress: bool,
) -> None:
    from wsnb.cli._fleet import load
    from wsnb.deletion import resume_fleet
    from wsnb.ledger import LeaseError

    fleet = load(fleet_file, *connection)
    book = open_ledger(ledger)
    try:
        _known_fleet_run(book, run_id)
        try:
            report = resume_fleet(fleet, book, run_id, progress=progress)
        except LeaseError as exc:
            raise CliError(str(exc), ExitCode.LEDGER) from exc
        except ValueError as exc:  # a project the fleet file lacks, or points elsewhere
            raise CliError(str(exc)) from exc
    finally:
        book.close()
    click.echo(report.summary_text())
    if not report.ok:
        raise CliError(
            f"fleet run {run_id} did not finish OK (see the summary above)", ExitCode.NOT_OK
        )


def _restore_fleet(
    run_id: int,
    ledger: str | None,
    fleet_file: str,
    connection: tuple[str | None, ...],
    ids_file: str | None,
    yes: bool,
    fmt: str,
) -> None:
    from wsnb.cli._fleet import load, read_fleet_ids
    from wsnb.deletion import restore_fleet
    from wsnb.fleet import FleetError
    from wsnb.ledger import LeaseError

    fleet = load(fleet_file, *connection)
    ids = read_fleet_ids(ids_file) if ids_file else None
    book = open_ledger(ledger)
    failed_projects: dict[str, BaseException] = {}
    try:
        _known_fleet_run(book, run_id)
        what = f"{sum(map(len, ids.values()))} task(s)" if ids is not None else "every task"
        if not yes:
            click.confirm(f"Re-create {what} deleted by fleet run {run_id}?", abort=True)
        try:
            frame = restore_fleet(fleet, book, run_id, ids)
        except FleetError as exc:
            frame, failed_projects = exc.result, exc.errors
        except LeaseError as exc:
            raise CliError(str(exc), ExitCode.LEDGER) from exc
        except ValueError as exc:
            raise CliError(str(exc)) from exc
    finally:
        book.close()
    emit(frame, fmt, None)
    failed = int((frame["state"] != "ok").sum()) if len(frame) else 0
    if failed or failed_projects:
        names = "; ".join(f"{pid}: {type(e).__name__}: {e}" for pid, e in failed_projects.items())
        raise CliError(
            f"fleet run {run_id}: {failed} task(s) not re-created"
            + (f"; projects that failed: {names}" if names else ""),
            ExitCode.NOT_OK,
        )
