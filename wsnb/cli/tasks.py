"""``wsnb tasks``: list and delete scheduled tasks.

A thin shell over :mod:`wsnb.selection` (the same filter semantics as the cleanup notebook),
:mod:`wsnb.deletion` and :mod:`wsnb.report`. The connection comes from
``--endpoint``/``--region``/``--project-id`` or the environment
(:meth:`wsnb.client.Client.from_env`); credentials only ever from the environment or the SDK
credentials file, never from the command line. Only click and :mod:`wsnb.models` are imported
at the top (``wsnb tasks --help`` does not load pandas).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from wsnb.cli._common import (
    FORMATS,
    F,
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
from wsnb.cli._quarantine import quarantine_command
from wsnb.models import (
    BATCH_DELETE_MAX,
    DEFAULT_MAX_DELETIONS,
    LastStatus,
    LifeCycleType,
    ScheduledType,
    TaskType,
)

if TYPE_CHECKING:
    from wsnb.selection import TaskFilters

__all__ = ["tasks"]


def _filters(fn: F) -> F:
    """The API list filters plus the ``--no-life-cycle`` switch."""
    options = [
        click.option("--name", "task_name", help="Task name contains (case-sensitive)."),
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


def _task_filters(
    options: dict[str, Any], *, expired: bool = False, disabled: bool = False
) -> TaskFilters:
    """The :class:`~wsnb.selection.TaskFilters` the filter options describe."""
    from wsnb.selection import TaskFilters

    def one(name: str) -> tuple[str, ...]:
        value = options.get(name)
        return (value,) if value else ()

    return TaskFilters(
        name_pattern=options.get("task_name") or None,
        task_types=one("task_type"),
        last_statuses=one("last_status"),
        scheduled_types=one("scheduled_type"),
        life_cycle_types=one("life_cycle_type"),
        expired_only=expired,
        disabled_only=disabled,
    )


@click.group()
def tasks() -> None:
    """List and delete scheduled tasks."""


@tasks.command("list")
@connection_options
@fleet_option
@_filters
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here, not stdout.")
@click.option("--progress/--no-progress", default=False)
def list_command(
    endpoint: str | None,
    region: str | None,
    project_id: str | None,
    fleet_file: str | None,
    include_life_cycle: bool,
    fmt: str,
    output: str | None,
    progress: bool,
    **filters: Any,
) -> None:
    """List the tasks the filters select (all must match); with --fleet, in every project of
    the fleet (columns project_id and region first)."""
    from wsnb.cli._table import TASKS
    from wsnb.selection import select_tasks

    if fleet_file is not None:
        from wsnb.cli._fleet import fleet_table, load

        fleet = load(fleet_file, endpoint, region, project_id)
        frame = select_tasks(fleet, _task_filters(filters), include_life_cycle=include_life_cycle)
        emit(frame, fmt, output, fleet_table(TASKS))
        return
    with make_client(endpoint, region, project_id) as client:
        frame = select_tasks(
            client,
            _task_filters(filters),
            include_life_cycle=include_life_cycle,
            progress=progress,
        )
    emit(frame, fmt, output, TASKS)


@tasks.command("delete")
@connection_options
@fleet_option
@_filters
@click.option(
    "--ids-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Ids to delete, one per line ('-': stdin; with --fleet: 'project_id task_id')."
    " Otherwise the filters select.",
)
@click.option("--expired", is_flag=True, help="Only tasks whose expire_time has passed.")
@click.option("--disabled", "only_disabled", is_flag=True, help="Only disabled tasks.")
@click.option("--all", "select_all", is_flag=True, help="Allow selecting with no filter at all.")
@click.option("--dry-run", is_flag=True, help="Plan and snapshot, send no delete.")
@click.option(
    "--max",
    "max_deletions",
    type=click.IntRange(0),
    default=DEFAULT_MAX_DELETIONS,
    show_default=True,
    help="Refuse above this many ids, before any call (every deletion is capped).",
)
@ledger_option
@click.option("--chunk-size", type=click.IntRange(1, BATCH_DELETE_MAX))
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
    help="Also write the report: .html (e-mail sized; a sampled page brings its .csv), .csv,"
    " .json or .md (by the suffix); with --fleet a folder (fleet.csv and one folder per"
    " project).",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--progress/--no-progress", default=True)
def delete_command(
    endpoint: str | None,
    region: str | None,
    project_id: str | None,
    fleet_file: str | None,
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
    """Delete tasks named in --ids-file, or those the filters select (all must match)."""
    from wsnb.deletion import delete_tasks
    from wsnb.report import REPORT_FILES
    from wsnb.selection import select_tasks

    chosen = _task_filters(filters, expired=expired, disabled=only_disabled)
    if ids_file and chosen.active():
        raise click.UsageError("give either --ids-file or filters, not both")
    if not ids_file and not (chosen.active() or select_all):
        raise click.UsageError("nothing selected: give --ids-file, a filter, or --all")
    if fleet_file is not None:
        _delete_fleet(
            _load_fleet_file(fleet_file, endpoint, region, project_id),
            chosen,
            ids_file=ids_file,
            include_life_cycle=include_life_cycle,
            dry_run=dry_run,
            max_deletions=max_deletions,
            ledger=ledger,
            yes=yes,
            report=report,
            options={
                "chunk_size": chunk_size,
                "concurrency": concurrency,
                "verify": verify,
                "progress": progress,
                "snapshot": snapshot,
                "precheck": precheck,
            },
        )
        return
    if report and Path(report).suffix.lower().lstrip(".") not in REPORT_FILES:
        raise click.UsageError("--report must end in .html, .csv, .json or .md")
    if report and not Path(report).expanduser().absolute().parent.is_dir():
        raise CliError(f"--report {report}: its folder does not exist; create it first")
    ids = read_ids(ids_file) if ids_file else None  # bad input fails before any call
    book = open_ledger(ledger)  # so does a ledger that cannot be used
    try:
        with make_client(endpoint, region, project_id) as client:
            selection: Any = ids
            if selection is None:
                selection = select_tasks(
                    client, chosen, include_life_cycle=include_life_cycle, progress=progress
                )
            count = len(selection)
            if count == 0:
                click.echo("no task selected; nothing to do")
                return
            if count > max_deletions:  # before asking: the deleter would refuse anyway
                raise CliError(
                    f"refusing to delete {count} task(s): --max is {max_deletions}; nothing was"
                    f" sent. Use --max {count} if you mean it"
                )
            from wsnb._aio import Api
            from wsnb.deletion._run import run_eta

            eta = run_eta(
                Api(client),
                count,
                dry_run=dry_run,
                snapshot=snapshot,
                verify=verify,
                chunk_size=chunk_size or BATCH_DELETE_MAX,
                precheck=precheck,
            )
            click.echo(f"{'dry run' if dry_run else 'deletion'} of {count} task(s): {eta['text']}")
            if not dry_run and not yes:
                click.confirm(
                    f"Delete {count} task(s) in project {client.project_id} at {client.endpoint}?",
                    abort=True,
                )
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
    finally:
        book.close()
    echo_report(result)
    if report:
        for path in result.write(report).values():
            click.echo(f"report written to {path}", err=True)
    if not result.ok:
        raise not_ok(result.run_id)


# ``wsnb tasks quarantine`` (grace periods) is built in its own module, with the filters above.
tasks.add_command(quarantine_command(_filters, _task_filters))


def _load_fleet_file(path: str, *connection: str | None) -> Any:
    """The fleet of ``--fleet`` (a usage error with connection options or a bad file)."""
    from wsnb.cli._fleet import load

    return load(path, *connection)


def _delete_fleet(
    fleet: Any,
    chosen: TaskFilters,
    *,
    ids_file: str | None,
    include_life_cycle: bool,
    dry_run: bool,
    max_deletions: int,
    ledger: str | None,
    yes: bool,
    report: str | None,
    options: dict[str, Any],
) -> None:
    """``tasks delete --fleet``: select in every project, one confirmation, one fleet run."""
    from wsnb.cli._fleet import count_by_project, read_fleet_ids
    from wsnb.deletion import delete_fleet
    from wsnb.report import REPORT_FILES
    from wsnb.selection import select_tasks

    if report and (
        Path(report).suffix.lower().lstrip(".") in REPORT_FILES
        or (Path(report).expanduser().exists() and not Path(report).expanduser().is_dir())
    ):
        raise click.UsageError(
            f"--report {report}: with --fleet the report is a folder (fleet.csv, report.json"
            " and one folder per project), not a file"
        )
    ids = read_fleet_ids(ids_file) if ids_file else None
    unknown = sorted(set(ids or {}) - set(fleet.project_ids))
    if unknown:
        raise CliError(f"--ids-file names project(s) not in the fleet: {', '.join(unknown)}")
    book = open_ledger(ledger)
    try:
        selection: Any = ids
        if selection is None:
            selection = select_tasks(fleet, chosen, include_life_cycle=include_life_cycle)
        per = count_by_project(selection)
        count = sum(per.values())
        if count == 0:
            click.echo("no task selected; nothing to do")
            return
        if count > max_deletions:
            raise CliError(
                f"refusing to delete {count} task(s) across the fleet: --max is "
                f"{max_deletions} (for the whole fleet); nothing was sent. Use --max {count} "
                "if you mean it"
            )
        if not dry_run and not yes:
            where = ", ".join(f"{n} in {pid} ({fleet.target(pid).label})" for pid, n in per.items())
            click.confirm(f"Delete {count} task(s) across the fleet: {where}?", abort=True)
        options = {k: v for k, v in options.items() if v is not None}
        result = delete_fleet(
            fleet, selection, dry_run=dry_run, max_deletions=max_deletions, ledger=book, **options
        )
    finally:
        book.close()
    click.echo(result.summary_text())
    if report:
        for name, path in result.write(report).items():
            if "/" not in name or name.endswith("/html"):
                click.echo(f"report written to {path}", err=True)
    if not result.ok:
        raise CliError(
            f"fleet run {result.fleet_run_id} did not finish OK (see the summary above): "
            f"'wsnb runs show {result.fleet_run_id} --fleet' lists every project, "
            f"'wsnb runs resume {result.fleet_run_id} --fleet FILE' finishes what is pending",
            ExitCode.NOT_OK,
        )
