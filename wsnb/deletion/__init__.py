"""Safe, accounted-for batch deletion: plan, snapshot, chunk, send, bisect, resolve, verify.

One call of :func:`delete_tasks` is one *run* in the :class:`~wsnb.ledger.Ledger`:

1. **Plan.** The selection is de-duplicated; ids that are not strings of 1–255 characters are
   recorded as ``invalid`` and never sent. More than ``max_deletions`` ids is refused with
   :class:`DeletionCapError` before any call (or ledger row) is made.
2. **Snapshot.** Each id's full definition is read with ``get_task`` (reads only, within the read
   limit) and stored, so :func:`restore_tasks` can re-create it; an id the server does not know
   is settled as ``already_absent``. With ``snapshot=False`` existence is checked instead, by
   whichever is cheaper: one ``get_task`` per id, or listing the whole project (50 per page);
   ``precheck=False`` skips that too (the fastest mode, for a selection just listed).
3. **Send.** The ids still pending go out in chunks of at most 5000 through ``batch_delete``,
   ``concurrency`` at a time; throttling and retries of refused calls are the client's. Every call
   is written ahead to the ledger ("in flight") and completed after. A refused chunk is split to
   find the ids the refusal is about (a 400 about ids; a 403 per id: ``forbidden``), but not
   down to single ids for an error about no id (both halves refused the same way: ``failed``).
   An ambiguous failure (:class:`~wsnb.errors.OutcomeUnknownError`: timeout, 502/503/504,
   dropped connection after sending, and a 500) is never guessed: when no write is in flight,
   the server is asked which of those ids still exist; the gone ones are ``deleted``, the others
   are sent again (at most :data:`MAX_ROUNDS` times; still there after that: ``pending``).
   A 401, or a 403 on every call, stops the run: the ids not sent stay ``pending``.
4. **Verify.** With ``verify=True`` the ids reported ``deleted`` are confirmed gone: by listing
   what is left of the project when that is cheaper, else by a sample (one id of every accepted
   call, at least 59: 95 % confidence that fewer than 5 % remain), escalating to every id when a
   sampled one is still there (``verify="full"``: every id).

With snapshots, steps 2 and 3 are pipelined: each part of ids is sent as soon as it is
snapshotted. A dry run is an executable plan (:class:`Plan`, :func:`plan_deletion`,
``delete_tasks(client, plan)``; :mod:`wsnb.deletion._execute`): executing it later deletes
exactly the planned ids with the plan's snapshots, after checking that the plan is fresh and the
tasks unchanged.

Outcomes per id: ``deleted`` (this run deleted it, even when the server committed late),
``already_absent``, ``invalid``, ``failed``, ``forbidden``, ``skipped`` (no snapshot could be
taken), ``planned`` (dry run), or ``pending`` (not settled: :func:`resume` finishes it). A dry run
reads but makes no write call. Ids not selected are never sent. ``report.ok`` means the run is
``done`` and every id reached its goal (see :attr:`~wsnb.report.DeletionReport.ok`).

Stopping: ``cancel=`` (a ``threading.Event``) or an interrupt (Ctrl-C, Kernel > Interrupt) stops
sending at once, lets the call in flight settle, leaves the rest ``pending`` and closes the run
as ``cancelled`` (an interrupt then re-raises ``KeyboardInterrupt``).

The algorithm is written once, as coroutines over :class:`wsnb._aio.Api`; :func:`delete_tasks`
runs it for a sync :class:`~wsnb.client.Client` and :func:`adelete_tasks` for an
:class:`~wsnb.client.AsyncClient`.

The package's rooms: :mod:`wsnb.deletion._plan` (selection, validation, cap, chunks, plan
fingerprints), :mod:`wsnb.deletion._run` (one run, fresh or resumed),
:mod:`wsnb.deletion._execute` (executable plans), :mod:`wsnb.deletion._restore` (restore);
this module is the public face (the sync and async entry points).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import pandas as pd

from wsnb._aio import Api, run_sync
from wsnb._fleet_report import FleetReport
from wsnb.client import AsyncClient, Client
from wsnb.deletion._execute import (
    DEFAULT_MAX_AGE,
    Plan,
    PlanChangedError,
    PlanError,
    PlanStaleError,
)
from wsnb.deletion._fleet import delete_fleet, refresh_fleet_run, restore_fleet, resume_fleet
from wsnb.deletion._plan import DEFAULT_CHUNK_SIZE, DEFAULT_MAX, DeletionCapError, selection_ids
from wsnb.deletion._restore import _restore, create_body
from wsnb.deletion._run import (
    DEFAULT_CONCURRENCY,
    LedgerError,
    Progress,
    _delete,
    _open_ledger,
    _resume,
    ledger_errors,
    run_eta,
)
from wsnb.fleet import Fleet
from wsnb.ledger import Ledger, default_ledger_path
from wsnb.report import DeletionReport

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX",
    "DEFAULT_MAX_AGE",
    "DeletionCapError",
    "FleetReport",
    "LedgerError",
    "Plan",
    "PlanChangedError",
    "PlanError",
    "PlanStaleError",
    "Progress",
    "adelete_tasks",
    "aresume",
    "create_body",
    "delete_fleet",
    "delete_tasks",
    "deletion_eta",
    "plan_deletion",
    "restore_fleet",
    "restore_tasks",
    "resume",
    "resume_fleet",
    "selection_ids",
]


def delete_tasks(
    client: Client | Fleet,
    tasks: Any,
    *,
    chunk_size: int | None = None,
    concurrency: int | None = None,
    dry_run: bool = False,
    max_deletions: int = DEFAULT_MAX,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    verify: bool | str = True,
    progress: Progress = True,
    snapshot: bool = True,
    precheck: bool = True,
    cancel: threading.Event | None = None,
) -> DeletionReport:
    """Delete the selected tasks safely and return a :class:`~wsnb.report.DeletionReport`.

    ``tasks``: ids, a DataFrame (its index), a Series/Index, or an object with
    ``selected_ids``. ``chunk_size`` (1–5000, default :data:`DEFAULT_CHUNK_SIZE`) ids per call,
    ``concurrency`` calls at once. More than ``max_deletions`` ids (a non-negative int, default
    :data:`DEFAULT_MAX`; there is no "no cap": ``None`` raises ``ValueError``, pass
    ``len(selection)`` on purpose) raises :class:`DeletionCapError` before any call.
    ``ledger``: a :class:`~wsnb.ledger.Ledger`, a path, or None for the default location.
    ``progress``: ``True``/``False`` for a tqdm bar, or a callable ``(done, total) -> None``
    called at the start and as ids settle (``done`` never decreases; it ends at ``total`` when
    every id settled).
    ``snapshot=False`` skips saving definitions (one read per id: slow for big selections
    under the read limit; without them there is no restore) and checks existence by the cheaper
    of listing or ``get_task``; ``precheck=False`` (with ``snapshot=False``) skips even that and
    sends at once: then an id that never existed may be reported ``deleted`` (when the API
    ignores unknown ids, or an ambiguous call is resolved as "gone"); it is gone either way,
    and verification still runs.

    ``cancel``: a ``threading.Event`` (e.g. set by a Cancel button, from any thread). Once it
    is set nothing new is sent; the calls in flight settle, the ids not sent stay ``pending``,
    the run is closed as ``cancelled`` and its report returned (``resume`` finishes it). An
    interrupt (Ctrl-C, Jupyter's Kernel > Interrupt) does the same, then re-raises
    ``KeyboardInterrupt``.

    With a :class:`~wsnb.fleet.Fleet` instead of a client: ``tasks`` must say each id's project
    (a fleet frame, ``{project_id: ids}`` or ``(project_id, task_id)`` pairs), the projects run
    concurrently (each through its own client and quota), ``max_deletions`` caps the whole
    fleet, and the result is a :class:`~wsnb._fleet_report.FleetReport` (one run per project,
    grouped by a fleet run in the ledger; a project that fails does not stop the others).
    """
    if isinstance(client, Fleet):
        return delete_fleet(
            client,
            tasks,
            chunk_size=chunk_size,
            concurrency=concurrency,
            dry_run=dry_run,
            max_deletions=max_deletions,
            ledger=ledger,
            verify=verify,
            progress=progress,
            snapshot=snapshot,
            precheck=precheck,
            cancel=cancel,
        )
    if isinstance(client, AsyncClient):
        raise TypeError("delete_tasks() needs a sync Client; use adelete_tasks() with AsyncClient")
    if isinstance(tasks, Plan | DeletionReport):  # execute a dry run's plan, exactly as planned
        plan = _as_plan(tasks, dry_run, ledger)
        return plan.execute(
            client,
            max_deletions=max_deletions,
            verify=verify,
            progress=progress,
            cancel=cancel,
        )
    event = cancel if cancel is not None else threading.Event()
    return run_sync(
        _delete(
            Api(client),
            tasks,
            chunk_size=chunk_size,
            concurrency=concurrency,
            dry_run=dry_run,
            max_deletions=max_deletions,
            ledger=ledger,
            verify=verify,
            progress=progress,
            snapshot=snapshot,
            precheck=precheck,
            cancel=event,
        ),
        cancel=event,
    )


async def adelete_tasks(
    client: AsyncClient,
    tasks: Any,
    *,
    chunk_size: int | None = None,
    concurrency: int | None = None,
    dry_run: bool = False,
    max_deletions: int = DEFAULT_MAX,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    verify: bool | str = True,
    progress: Progress = True,
    snapshot: bool = True,
    precheck: bool = True,
    cancel: threading.Event | None = None,
) -> DeletionReport:
    """The :class:`~wsnb.client.AsyncClient` twin of :func:`delete_tasks`. Cancelling the task
    (``CancelledError``) also closes the run (``cancelled``; a call in flight is recorded as
    unknown, and ``resume`` asks the server about it)."""
    if isinstance(tasks, Plan | DeletionReport):
        plan = _as_plan(tasks, dry_run, ledger)
        return await plan.aexecute(
            client, max_deletions=max_deletions, verify=verify, progress=progress, cancel=cancel
        )
    return await _delete(
        Api(client),
        tasks,
        chunk_size=chunk_size,
        concurrency=concurrency,
        dry_run=dry_run,
        max_deletions=max_deletions,
        ledger=ledger,
        verify=verify,
        progress=progress,
        snapshot=snapshot,
        precheck=precheck,
        cancel=cancel,
    )


def _as_plan(
    tasks: Plan | DeletionReport, dry_run: bool, ledger: Ledger | str | os.PathLike[str] | None
) -> Plan:
    """A plan passed to ``delete_tasks`` (or the report of its dry run), to execute."""
    if dry_run:
        raise ValueError(
            "delete_tasks(client, plan, dry_run=True): a plan is already a dry run; "
            "pass dry_run=False to execute it"
        )
    if isinstance(tasks, Plan):
        return tasks
    if not tasks.summary.get("dry_run"):
        raise PlanError(
            f"run {tasks.summary.get('run_id')} is not a dry run: only a dry run's report is a plan"
        )
    return Plan.from_report(tasks, ledger)


def deletion_eta(
    client: Client | AsyncClient,
    count: int,
    *,
    dry_run: bool = False,
    plan: bool = False,
    snapshot: bool = True,
    verify: bool | str = True,
    chunk_size: int | None = None,
    precheck: bool = True,
) -> str:
    """One line, before anything starts: how long deleting ``count`` tasks takes with these
    options at the client's rate limit (``dry_run``: the dry run's reads, and executing its
    plan; ``plan``: executing a plan, whose snapshots are already taken), e.g. ``≈ 31 min at
    200 reads/min: 6,080 snapshots dominate; snapshot=False ≈ 54 s``."""
    size = DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size
    eta = run_eta(
        Api(client),
        count,
        dry_run=dry_run and not plan,
        snapshot=snapshot and not plan,
        verify=verify,
        chunk_size=size,
        precheck=precheck and not plan,
        listing_pages=count // 50 + 1 if plan else 0,
    )
    text = str(eta["text"])
    if eta.get("execute_text"):
        text += f"; executing the plan {eta['execute_text']}"
    return ("executing the plan " if plan else "") + text


def plan_deletion(
    client: Client,
    tasks: Any,
    *,
    chunk_size: int | None = None,
    concurrency: int | None = None,
    max_deletions: int = DEFAULT_MAX,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    progress: Progress = True,
    snapshot: bool = True,
    precheck: bool = True,
    cancel: threading.Event | None = None,
) -> Plan:
    """A dry run of :func:`delete_tasks` kept as an executable :class:`Plan`: ``plan.execute()``
    later deletes exactly the planned ids with the snapshots taken now (see
    :mod:`wsnb.deletion._execute`); ``plan.report()`` is the dry run's report."""
    report = delete_tasks(
        client,
        tasks,
        chunk_size=chunk_size,
        concurrency=concurrency,
        dry_run=True,
        max_deletions=max_deletions,
        ledger=ledger,
        progress=progress,
        snapshot=snapshot,
        precheck=precheck,
        cancel=cancel,
    )
    source = ledger if isinstance(ledger, Ledger) else report.summary.get("ledger")
    if source is None:  # the default file, opened and closed by delete_tasks
        source = str(default_ledger_path())
    plan = Plan.load(source, int(report.summary["run_id"]))
    plan._client = client
    return plan


# --- resume --------------------------------------------------------------------------------------


def resume(
    client: Client | Fleet,
    ledger: Ledger | str | os.PathLike[str],
    run_id: int,
    *,
    progress: Progress = True,
    cancel: threading.Event | None = None,
) -> DeletionReport:
    """Finish a run that stopped early (interrupted, cancelled, or left ids ``pending``): ids
    that a call may have deleted are checked on the server (never re-sent blindly), ids already
    settled are left alone, the rest are deleted. ``progress`` and ``cancel`` as in
    :func:`delete_tasks` (``total``: the ids still pending). Raises
    :class:`~wsnb.ledger.RunLeasedError` while another process holds the run (it is running).

    With a :class:`~wsnb.fleet.Fleet`, ``run_id`` is a *fleet run* id: every child run not done
    is resumed with its own project's client (concurrently); returns a
    :class:`~wsnb._fleet_report.FleetReport`."""
    if isinstance(client, Fleet):
        return resume_fleet(client, ledger, run_id, progress=progress, cancel=cancel)
    book, owned = _open_ledger(ledger)
    event = cancel if cancel is not None else threading.Event()
    try:
        report = run_sync(_resume(Api(client), book, run_id, progress, event), cancel=event)
        refresh_fleet_run(book, run_id)  # a fleet's child resumed on its own: the parent follows
        return report
    finally:
        if owned:
            book.close()


async def aresume(
    client: AsyncClient,
    ledger: Ledger | str | os.PathLike[str],
    run_id: int,
    *,
    progress: Progress = True,
    cancel: threading.Event | None = None,
) -> DeletionReport:
    """The :class:`~wsnb.client.AsyncClient` twin of :func:`resume`."""
    book, owned = _open_ledger(ledger)
    try:
        return await _resume(Api(client), book, run_id, progress, cancel)
    finally:
        if owned:
            book.close()


# --- restore -------------------------------------------------------------------------------------


def restore_tasks(
    client: Client | Fleet,
    ledger: Ledger | str | os.PathLike[str],
    run_id: int,
    ids: Sequence[str] | Any | None = None,
) -> pd.DataFrame:
    """Re-create tasks a run deleted (all, or ``ids``) from their snapshots.

    Returns a frame indexed by ``old_id`` with ``new_id``, ``state`` (``ok``, ``failed``,
    ``unknown``) and ``error_msg``; the mapping is kept in the ledger, and a task already
    restored is not created again. A create cut short (killed, or ``unknown``) is resolved on
    the next restore by asking the server (the task made since is adopted), never by creating
    a twin. Raises :class:`~wsnb.ledger.RunLeasedError` while another process holds the run.

    With a :class:`~wsnb.fleet.Fleet`, ``run_id`` is a fleet run id and ``ids`` (optional) says
    each id's project; the frame is indexed by (``project_id``, ``old_id``).
    """
    if isinstance(client, Fleet):
        return restore_fleet(client, ledger, run_id, ids)
    book, owned = _open_ledger(ledger)
    try:
        with ledger_errors(book.path):
            return run_sync(_restore(Api(client), book, run_id, ids))
    finally:
        if owned:
            book.close()
