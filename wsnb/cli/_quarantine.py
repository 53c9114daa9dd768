"""``wsnb tasks quarantine``: grace periods from the command line (:mod:`wsnb.quarantine`).

One command runs what the cleanup notebook runs in ``mode="quarantine"``
(:func:`wsnb.quarantine.run_grace`): first the release-or-delete pass over what earlier runs
quarantined (deleting what is past its grace and still disabled and unchanged, releasing what
someone re-enabled or edited), then the quarantine of this selection (disabled now, deleted by a
run at least ``--grace-days`` later). ``--due-only`` runs the first part alone.
:func:`quarantine_command` builds the command with the ``tasks`` group's filter options (so the
filters are the same as ``tasks list/delete``); :mod:`wsnb.cli.tasks` registers it. Only click
and light modules are imported at the top.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from wsnb.cli._common import connection_options, ledger_option, make_client, open_ledger, read_ids
from wsnb.cli._errors import CliError, ExitCode
from wsnb.models import DEFAULT_GRACE_DAYS, DEFAULT_MAX_DELETIONS, GRACE_DAYS_MAX

if TYPE_CHECKING:
    from wsnb.cli._common import F
    from wsnb.selection import TaskFilters

__all__ = ["quarantine_command"]


_Body = Callable[..., None]


def quarantine_command(
    filters: Callable[[_Body], _Body], task_filters: Callable[..., TaskFilters]
) -> click.Command:
    """``wsnb tasks quarantine``, with the ``tasks`` group's filter options (``filters``) and
    their reading (``task_filters(options, expired=...)``)."""
    return click.command("quarantine")(
        connection_options(filters(_options(_make_run(task_filters))))
    )


def _options(fn: F) -> F:
    """The command's own options (below the connection and filter options)."""
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--ids-file",
        type=click.Path(dir_okay=False, allow_dash=True),
        help="Ids to quarantine, one per line ('-': stdin). Otherwise the filters select.",
    ),
    click.option("--expired", is_flag=True, help="Only tasks whose expire_time has passed."),
    click.option(
        "--all", "select_all", is_flag=True, help="Allow selecting with no filter at all."
    ),
    click.option(
        "--due-only",
        is_flag=True,
        help="Only delete (or release) what earlier runs quarantined; quarantine nothing new.",
    ),
    click.option(
        "--grace-days",
        type=click.IntRange(0, GRACE_DAYS_MAX),
        default=DEFAULT_GRACE_DAYS,
        show_default=True,
        help="Whole days a quarantined task waits before a later run deletes it.",
    ),
    click.option("--dry-run", is_flag=True, help="Plan both phases; send no update, no delete."),
    click.option(
        "--max",
        "max_tasks",
        type=click.IntRange(0),
        default=DEFAULT_MAX_DELETIONS,
        show_default=True,
        help="Refuse above this many tasks to quarantine, or to delete, before any write.",
    ),
    ledger_option,
    click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation."),
]


def _make_run(task_filters: Callable[..., TaskFilters]) -> Callable[..., None]:
    """The command's body, reading the filter options with ``task_filters``."""

    def run(**options: Any) -> None:
        """Disable tasks now and delete them after a grace period (run it on a schedule)."""
        _run(task_filters, **options)

    return run


def _run(
    task_filters: Callable[..., TaskFilters],
    *,
    endpoint: str | None,
    region: str | None,
    project_id: str | None,
    include_life_cycle: bool,
    ids_file: str | None,
    expired: bool,
    select_all: bool,
    due_only: bool,
    grace_days: int,
    dry_run: bool,
    max_tasks: int,
    ledger: str | None,
    yes: bool,
    **filters: Any,
) -> None:
    from wsnb.deletion import DeletionCapError
    from wsnb.quarantine import estimate_quarantine, run_grace
    from wsnb.selection import select_tasks

    chosen = task_filters(filters, expired=expired)
    if ids_file and chosen.active():
        raise click.UsageError("give either --ids-file or filters, not both")
    if due_only and (ids_file or chosen.active() or select_all):
        raise click.UsageError("--due-only selects nothing: leave out --ids-file and filters")
    if not due_only and not ids_file and not (chosen.active() or select_all):
        raise click.UsageError("nothing selected: give --ids-file, a filter, --all or --due-only")
    ids = read_ids(ids_file) if ids_file else None
    book = open_ledger(ledger)
    try:
        with make_client(endpoint, region, project_id) as client:
            selection: Any = [] if due_only else ids
            if selection is None:
                selection = select_tasks(client, chosen, include_life_cycle=include_life_cycle)
            count = len(selection)
            if count > max_tasks:
                raise CliError(
                    f"refusing to quarantine {count} task(s): --max is {max_tasks}; nothing was"
                    f" sent. Use --max {count} if you mean it"
                )
            if count:
                _, eta = estimate_quarantine(count, reads=count, rate_limit=client.rate_limit)
                click.echo(f"plan: quarantine {count} task(s) for {grace_days} day(s), {eta}")
            if not dry_run and not yes:
                click.confirm(
                    f"Delete what is past its grace and quarantine {count} task(s) in project"
                    f" {client.project_id} at {client.endpoint}?",
                    abort=True,
                )
            try:
                result = run_grace(
                    client,
                    selection,
                    grace_days=grace_days,
                    max_tasks=max_tasks,
                    dry_run=dry_run,
                    ledger=book,
                )
            except DeletionCapError as exc:  # more due for deletion than --max
                raise CliError(str(exc)) from exc
    finally:
        book.close()
    click.echo(result.text())
    if not result.ok:
        raise CliError(
            "the grace run needs attention (see above): 'wsnb runs show RUN' lists every task",
            ExitCode.NOT_OK,
        )
