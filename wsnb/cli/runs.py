"""``wsnb runs``: inspect, resume, execute (a dry run's plan) and restore deletion runs.

A thin shell over :class:`wsnb.ledger.Ledger`, :mod:`wsnb.deletion` (``resume``,
``Plan.execute``, ``restore_tasks``), :mod:`wsnb.quarantine` (quarantine runs: ``show`` and
``resume`` know them, ``unquarantine`` sets their tasks back) and :mod:`wsnb.report`. Only click
is imported at the top (``wsnb runs --help`` does not load pandas).
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
from wsnb.models import DEFAULT_MAX_DELETIONS

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


def _is_quarantine(book: Ledger, run_id: int) -> bool:
    """Whether run ``run_id`` is a quarantine run (:mod:`wsnb.quarantine`); unknown: exit 2."""
    try:
        return bool(book.run(run_id)["params"].get("mode") == "quarantine")
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from exc


@click.group()
def runs() -> None:
    """Inspect, resume, execute and restore deletion runs (the ledger)."""


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
        frame = _with_quarantine(book, book.runs())
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


def _with_quarantine(book: Ledger, frame: Any) -> Any:
    """Quarantine runs in the runs table: ``mode`` ("quarantine", "dry quarantine"; empty
    for deletion runs) and ``ids`` = the tasks they selected (they have no plan rows)."""
    if frame.empty:
        return frame
    modes: list[str] = []
    for run_id in frame.index:
        info = book.run(int(run_id))
        held = info["params"].get("mode") == "quarantine"
        modes.append(("dry quarantine" if info["dry_run"] else "quarantine") if held else "")
    if not any(modes):
        return frame
    frame = frame.copy()
    frame["mode"] = modes
    records = book.quarantine()
    counts: dict[int, int] = {}
    for run_id in records["run_id"]:
        counts[int(run_id)] = counts.get(int(run_id), 0) + 1
    for run_id, mode in zip(frame.index, modes, strict=True):
        if mode:
            frame.loc[run_id, "ids"] = counts.get(int(run_id), 0)
    return frame


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
        if _is_quarantine(book, run_id):
            from wsnb.quarantine import QuarantineReport

            held = QuarantineReport.from_ledger(book, run_id)
            if fmt == "table" and not output:
                click.echo(held.text())
            columns = ["task_name", "state", "quarantined", "due", "reason", "delete_run"]
            emit(held.frame[columns], fmt, output)
            return
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
        if _is_quarantine(book, run_id):
            _resume_quarantine(book, run_id, endpoint, region, project_id)
            return
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


@runs.command("execute")
@click.argument("run_id", type=int)
@ledger_option
@connection_options
@click.option(
    "--max-age",
    type=click.FloatRange(0),
    default=24.0,
    show_default=True,
    help="Refuse a plan whose listing is older than this many hours.",
)
@click.option(
    "--changed",
    type=click.Choice(["refuse", "skip", "recheck"]),
    default="refuse",
    show_default=True,
    help="Planned tasks changed since the dry run: refuse (send nothing), skip them, or"
    " snapshot them again and delete them.",
)
@click.option(
    "--max",
    "max_deletions",
    type=click.IntRange(0),
    help="Refuse above this many ids (default: the dry run's --max).",
)
@click.option("--verify/--no-verify", default=True, show_default=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--progress/--no-progress", default=True)
def runs_execute(
    run_id: int,
    ledger: str | None,
    endpoint: str | None,
    region: str | None,
    project_id: str | None,
    max_age: float,
    changed: str,
    max_deletions: int | None,
    verify: bool,
    yes: bool,
    progress: bool,
) -> None:
    """Execute dry run RUN_ID's plan: delete exactly the ids it planned, with its snapshots.

    The planned tasks are checked first (one listing, or one read each when cheaper); a stale
    plan, or changed tasks with --changed refuse, stop it before anything is sent."""
    from datetime import timedelta

    from wsnb._aio import Api
    from wsnb._eta import format_duration
    from wsnb.deletion import Plan, PlanError
    from wsnb.deletion._run import run_eta
    from wsnb.ledger import LeaseError

    book = open_ledger(ledger)
    try:
        _known_run(book, run_id)
        try:
            plan = Plan.load(book, run_id)
        except PlanError as exc:
            raise CliError(str(exc)) from exc
        with make_client(endpoint, region, project_id) as client:
            eta = run_eta(
                Api(client),
                len(plan),
                dry_run=False,
                snapshot=False,
                verify=verify,
                chunk_size=int(plan.params.get("chunk_size", 5000)),
                precheck=False,
                listing_pages=len(plan) // 50 + 1,
            )
            click.echo(
                f"plan {run_id}: {len(plan)} task(s) in project {plan.project_id}, listed "
                f"{format_duration(plan.age.total_seconds())} ago; {eta['text']}"
            )
            if not yes:
                click.confirm(
                    f"Delete the {len(plan)} planned task(s) in project {client.project_id}?",
                    abort=True,
                )
            try:
                report = plan.execute(
                    client,
                    max_age=timedelta(hours=max_age),
                    changed=changed,  # type: ignore[arg-type]
                    max_deletions=max_deletions,
                    verify=verify,
                    progress=progress,
                )
            except LeaseError as exc:
                raise CliError(str(exc), ExitCode.LEDGER) from exc
            except ValueError as exc:  # stale, changed, used, foreign plan; over the cap
                raise CliError(str(exc)) from exc
    finally:
        book.close()
    echo_report(report)
    if not report.ok:
        raise not_ok(report.run_id)


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


def _resume_quarantine(
    book: Ledger, run_id: int, endpoint: str | None, region: str | None, project_id: str | None
) -> None:
    """``runs resume`` of a quarantine run: :func:`wsnb.quarantine.resume_quarantine`."""
    from wsnb.ledger import LeaseError
    from wsnb.quarantine import resume_quarantine

    with make_client(endpoint, region, project_id) as client:
        try:
            held = resume_quarantine(client, book, run_id)
        except LeaseError as exc:
            raise CliError(str(exc), ExitCode.LEDGER) from exc
        except ValueError as exc:  # another endpoint or project than the run's
            raise CliError(str(exc)) from exc
    click.echo(held.text())
    if not held.ok:
        raise not_ok(run_id)


@runs.command("unquarantine")
@click.argument("run_id", type=int)
@ledger_option
@connection_options
@click.option(
    "--ids-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Set back only these ids (default: every task the run holds in quarantine).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be set back; send nothing.")
@click.option(
    "--max",
    "max_tasks",
    type=click.IntRange(0),
    default=DEFAULT_MAX_DELETIONS,
    show_default=True,
    help="Refuse above this many tasks, before any write.",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def runs_unquarantine(
    run_id: int,
    ledger: str | None,
    endpoint: str | None,
    region: str | None,
    project_id: str | None,
    ids_file: str | None,
    dry_run: bool,
    max_tasks: int,
    yes: bool,
    fmt: str,
) -> None:
    """Set a quarantine run's tasks back as they were (same ids, updated back; no re-creation)."""
    from wsnb.ledger import LeaseError
    from wsnb.quarantine import QuarantineCapError, unquarantine

    ids = read_ids(ids_file) if ids_file else None
    book = open_ledger(ledger)
    try:
        if not _is_quarantine(book, run_id):
            raise CliError(
                f"run {run_id} is a deletion run, not a quarantine run: 'wsnb runs restore"
                f" {run_id}' re-creates what a deletion run deleted"
            )
        with make_client(endpoint, region, project_id) as client:
            what = f"{len(ids)} task(s)" if ids is not None else "every task"
            if not yes and not dry_run:
                click.confirm(f"Set back {what} quarantined by run {run_id}?", abort=True)
            try:
                frame = unquarantine(
                    client, book, run_id, ids, max_tasks=max_tasks, dry_run=dry_run
                )
            except LeaseError as exc:  # another live process holds the run
                raise CliError(str(exc), ExitCode.LEDGER) from exc
            except (ValueError, QuarantineCapError) as exc:  # not held, another project, --max
                raise CliError(str(exc)) from exc
    finally:
        book.close()
    if dry_run:
        emit(frame[["task_name", "state", "action"]], fmt, None)
        return
    emit(frame[["task_name", "state", "reason"]], fmt, None)
    left = int((frame["state"] != "restored").sum()) - int((frame["state"] == "gone").sum())
    if left:
        raise CliError(
            f"{left} of {len(frame)} task(s) of run {run_id} were not set back (see the table"
            f" above); 'wsnb runs unquarantine {run_id}' tries them again",
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
