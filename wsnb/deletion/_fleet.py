"""Deleting across a fleet: one *fleet run* grouping one ordinary run per project.

Contract: :func:`delete_fleet` routes each selected id to its project (a fleet frame's
(``project_id``, ``task_id``) index, a mapping project id -> ids, or ``(project_id, task_id)``
pairs; a project outside the fleet, or a bare id with no project, is refused before any call),
applies ``max_deletions`` to the whole fleet (:class:`DeletionCapError` before any call or
ledger row), records the fleet run and every child run in one ledger transaction
(:meth:`wsnb.ledger.Ledger.create_fleet_run`: each child keeps its endpoint and project id), then
drives the children concurrently, each through its own client (its own rate limit and quota) with
the engine of :mod:`wsnb.deletion._run`. A project whose run fails (a 401, a refused connection,
…) does not stop the others: its error is kept on the fleet member row and in the
:class:`~wsnb._fleet_report.FleetReport`. The fleet run is ``done`` when every child is,
``cancelled`` after the cancel event, else ``interrupted``; :func:`resume_fleet` resumes every
child not done with that project's client, :func:`restore_fleet` restores per child.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from wsnb._aio import Api, run_sync
from wsnb._checks import check_int
from wsnb._fleet_report import FleetReport
from wsnb.client import Client
from wsnb.deletion._plan import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX,
    DeletionCapError,
    _check_max_deletions,
    _select,
    _Selection,
)
from wsnb.deletion._restore import _restore
from wsnb.deletion._run import (
    DEFAULT_CONCURRENCY,
    Progress,
    _drive,
    _open_ledger,
    _resume,
    _Run,
    ledger_errors,
)
from wsnb.fleet import Fleet, FleetError
from wsnb.ledger import Ledger, Outcome, RunLeasedError, RunStatus
from wsnb.models import BATCH_DELETE_MAX
from wsnb.report import operator

__all__ = ["delete_fleet", "restore_fleet", "resume_fleet", "route"]


def route(fleet: Fleet, tasks: Any) -> dict[str, Any]:
    """Project id -> that project's part of the selection (ids, or a frame indexed by task id),
    in fleet order. Refuses (before any call) ids without a project and unknown projects."""
    if hasattr(tasks, "selected_ids") and not isinstance(tasks, pd.DataFrame | Mapping):
        tasks = tasks.selected_ids
    parts: dict[str, Any] = {}
    if isinstance(tasks, pd.DataFrame | pd.Series | pd.MultiIndex):
        index = tasks if isinstance(tasks, pd.MultiIndex) else tasks.index
        if not isinstance(index, pd.MultiIndex) or "project_id" not in (index.names or []):
            raise TypeError(
                "a fleet selection must say each task's project: pass a fleet frame (index "
                "project_id, task_id), a mapping {project_id: ids} or (project_id, task_id) pairs"
            )
        if isinstance(tasks, pd.DataFrame):
            for pid in dict.fromkeys(index.get_level_values("project_id")):
                parts[str(pid)] = tasks.xs(pid, level="project_id")
        else:
            level = index.names.index("project_id")
            other = 1 - level if index.nlevels == 2 else index.names.index("task_id")
            for key in index:
                parts.setdefault(str(key[level]), []).append(key[other])
    elif isinstance(tasks, Mapping):
        for pid, ids in tasks.items():
            parts[str(pid)] = list(ids) if not isinstance(ids, str) else [ids]
    else:
        for item in tasks:
            if not (isinstance(item, tuple | list) and len(item) == 2):
                raise TypeError(
                    f"a fleet selection names each task's project: expected (project_id, "
                    f"task_id) pairs, got {item!r}"
                )
            parts.setdefault(str(item[0]), []).append(item[1])
    unknown = [pid for pid in parts if pid not in fleet.project_ids]
    if unknown:
        raise ValueError(
            f"project(s) {', '.join(unknown)} are not in the fleet "
            f"({', '.join(fleet.project_ids)}); nothing was sent"
        )
    return {pid: parts[pid] for pid in fleet.project_ids if pid in parts}


class _FleetProgress:
    """One progress display over every child run: a tqdm bar, or the caller's callable with
    the fleet's (done, total)."""

    def __init__(self, progress: Progress, totals: Mapping[str, int]) -> None:
        from tqdm.auto import tqdm

        self.done = dict.fromkeys(totals, 0)
        self.total = sum(totals.values())
        self.call = progress if callable(progress) else None
        self.bar = tqdm(
            total=self.total,
            desc="deleting (fleet)",
            unit="task",
            disable=not (bool(progress) and self.call is None),
        )

    def child(self, pid: str) -> Callable[[int, int], None]:
        def update(done: int, total: int) -> None:
            step = done - self.done[pid]
            self.done[pid] = done
            if step > 0:
                self.bar.update(step)
            if self.call is not None:
                self.call(sum(self.done.values()), self.total)

        return update

    def close(self) -> None:
        self.bar.close()


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _fleet_status(ledger: Ledger, fleet_run_id: int, cancel: threading.Event) -> RunStatus:
    members = ledger.fleet_members(fleet_run_id)
    if all(members["status"] == "done") and members["error"].isna().all():
        return "done"
    return "cancelled" if cancel.is_set() else "interrupted"


def refresh_fleet_run(ledger: Ledger, run_id: int) -> None:
    """After run ``run_id`` was resumed on its own (``wsnb runs resume RUN``): when it belongs to
    a closed fleet run, clear its error once it is done and recompute the fleet run's status."""
    with ledger_errors(ledger.path):
        fleet_run_id = ledger.fleet_of_runs().get(run_id)
        if fleet_run_id is None or ledger.fleet_run(fleet_run_id)["status"] == "running":
            return
        if ledger.run(run_id)["status"] == "done":
            ledger.set_member_error(fleet_run_id, run_id, None)
        ledger.finish_fleet_run(
            fleet_run_id, _fleet_status(ledger, fleet_run_id, threading.Event())
        )


async def _delete_fleet(
    clients: Mapping[str, Client],
    fleet: Fleet,
    tasks: Any,
    *,
    chunk_size: int | None,
    concurrency: int | None,
    dry_run: bool,
    max_deletions: int,
    ledger: Ledger,
    verify: bool | str,
    progress: Progress,
    snapshot: bool,
    precheck: bool,
    cancel: threading.Event,
) -> FleetReport:
    size = check_int(
        "chunk_size", DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size, 1, BATCH_DELETE_MAX
    )
    workers = check_int(
        "concurrency", DEFAULT_CONCURRENCY if concurrency is None else concurrency, 1, 64
    )
    selections: dict[str, _Selection] = {
        pid: _select(part) for pid, part in route(fleet, tasks).items()
    }
    total = sum(len(sel.ids) for sel in selections.values())
    _check_max_deletions(max_deletions, total)
    if total > max_deletions:
        per = ", ".join(f"{pid}: {len(sel.ids)}" for pid, sel in selections.items())
        raise DeletionCapError(
            f"refusing to delete {total} tasks across the fleet ({per}): max_deletions is "
            f"{max_deletions} for the whole fleet. Nothing was sent. Pass "
            f"max_deletions={total} if you mean it."
        )
    params: dict[str, Any] = {
        "chunk_size": size,
        "concurrency": workers,
        "max_deletions": max_deletions,
        "verify": verify,
        "snapshot": snapshot,
        "precheck": precheck,
    }
    if who := operator():
        params["operator"] = who
    members: list[dict[str, Any]] = []
    for pid, sel in selections.items():
        plan: list[tuple[str, str | None, str | None, Outcome, str | None]] = [
            (tid, *sel.names.get(tid, (None, None)), "pending", None) for tid in sel.ids
        ]
        plan += [(shown, None, None, "invalid", reason) for shown, reason in sel.invalid]
        members.append(
            {
                "endpoint": clients[pid].endpoint,
                "project_id": pid,
                "region": fleet.target(pid).label,
                "params": {**params, "selected": len(plan)},
                "plan": plan,
            }
        )
    with ledger_errors(ledger.path):
        fleet_run_id, run_ids = ledger.create_fleet_run(
            params={**params, "selected": total, "projects": list(selections)},
            dry_run=dry_run,
            members=members,
        )
    shown = _FleetProgress(progress, {pid: len(sel.ids) for pid, sel in selections.items()})

    async def one(pid: str, run_id: int) -> None:
        run = _Run(
            Api(clients[pid]),
            ledger,
            run_id,
            chunk_size=size,
            concurrency=workers,
            verify=verify,
            snapshot=snapshot,
            precheck=precheck,
            progress=shown.child(pid),
            total=len(selections[pid].ids),
            cancel=cancel,
        )
        try:
            with ledger_errors(ledger.path), ledger.lease(run_id):
                await _drive(run, selections[pid].ids, dry_run=dry_run)
        except Exception as error:  # this project failed; the others go on
            ledger.set_member_error(fleet_run_id, run_id, _error_text(error))

    try:
        await asyncio.gather(
            *(one(pid, run_id) for pid, run_id in zip(selections, run_ids, strict=True))
        )
    finally:
        shown.close()
        ledger.finish_fleet_run(fleet_run_id, _fleet_status(ledger, fleet_run_id, cancel))
    return FleetReport.from_ledger(ledger, fleet_run_id)


def _check_clients(
    ledger: Ledger, fleet_run_id: int, clients: Mapping[str, Client], runs: pd.DataFrame
) -> None:
    """Every child run to work on has a client for its endpoint and project (else ValueError
    before any call)."""
    problems = []
    for row in runs.itertuples():
        client = clients.get(str(row.project_id))
        if client is None:
            problems.append(f"project {row.project_id} (run {row.run_id}) is not in the fleet")
        elif client.endpoint != row.endpoint:
            problems.append(
                f"project {row.project_id} (run {row.run_id}) was run against {row.endpoint}; "
                f"the fleet points it at {client.endpoint}"
            )
    if problems:
        raise ValueError(f"fleet run {fleet_run_id}: " + "; ".join(problems))


async def _resume_fleet(
    clients: Mapping[str, Client],
    ledger: Ledger,
    fleet_run_id: int,
    progress: Progress,
    cancel: threading.Event,
) -> FleetReport:
    with ledger_errors(ledger.path):
        ledger.fleet_run(fleet_run_id)  # KeyError when unknown
        members = ledger.fleet_members(fleet_run_id)
        todo = members[
            (members["status"] != "done")
            | members["error"].notna()
            | members["run_id"].map(lambda r: bool(ledger.pending(int(r))))
        ]
        _check_clients(ledger, fleet_run_id, clients, todo)
        for run_id in todo["run_id"].tolist():  # another live process runs one: touch none
            holder = ledger.lease_holder(int(run_id))
            if holder is not None and holder["holder"] != ledger.holder:
                raise RunLeasedError(int(run_id), holder)
        ledger.reopen_fleet_run(fleet_run_id)
    work = {str(p): int(r) for p, r in zip(todo["project_id"], todo["run_id"], strict=True)}
    totals = {pid: len(ledger.pending(run_id)) for pid, run_id in work.items()}
    shown = _FleetProgress(progress, totals)

    async def one(pid: str, run_id: int) -> None:
        ledger.set_member_error(fleet_run_id, run_id, None)
        try:
            await _resume(Api(clients[pid]), ledger, run_id, shown.child(pid), cancel)
        except Exception as error:  # this project failed; the others go on
            ledger.set_member_error(fleet_run_id, run_id, _error_text(error))

    try:
        await asyncio.gather(*(one(pid, run_id) for pid, run_id in work.items()))
    finally:
        shown.close()
        ledger.finish_fleet_run(fleet_run_id, _fleet_status(ledger, fleet_run_id, cancel))
    return FleetReport.from_ledger(ledger, fleet_run_id)


async def _restore_fleet(
    clients: Mapping[str, Client],
    ledger: Ledger,
    fleet_run_id: int,
    ids: Mapping[str, Sequence[str]] | None,
) -> pd.DataFrame:
    with ledger_errors(ledger.path):
        ledger.fleet_run(fleet_run_id)
        members = ledger.fleet_members(fleet_run_id)
        if ids is not None:
            members = members[members["project_id"].isin(list(ids))]
        _check_clients(ledger, fleet_run_id, clients, members)

    async def one(pid: str, run_id: int) -> pd.DataFrame:
        wanted = None if ids is None else list(ids[pid])
        return await _restore(Api(clients[pid]), ledger, run_id, wanted)

    pids = [str(p) for p in members["project_id"]]
    results = await asyncio.gather(
        *(one(pid, int(run_id)) for pid, run_id in zip(pids, members["run_id"], strict=True)),
        return_exceptions=True,
    )
    parts, errors = [], {}
    for pid, result in zip(pids, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, Exception):
            raise result
        if isinstance(result, Exception):
            errors[pid] = result
        else:
            parts.append(pd.concat({pid: result}, names=["project_id"]))
    frame = pd.concat(parts) if parts else pd.DataFrame()
    if errors:
        raise FleetError("restore", errors, frame)
    return frame


# --- the sync entry points (wsnb.deletion dispatches a Fleet here) -------------------------------


def delete_fleet(
    fleet: Fleet,
    tasks: Any,
    *,
    chunk_size: int | None = None,
    concurrency: int | None = None,
    dry_run: bool = False,
    max_deletions: int = DEFAULT_MAX,
    ledger: Ledger | str | Any = None,
    verify: bool | str = True,
    progress: Progress = True,
    snapshot: bool = True,
    precheck: bool = True,
    cancel: threading.Event | None = None,
) -> FleetReport:
    """:func:`wsnb.delete_tasks` for a fleet (see the module docstring)."""
    route(fleet, tasks)  # refuse a selection without projects before making any client
    event = cancel if cancel is not None else threading.Event()
    book, owned = _open_ledger(ledger)
    try:
        with fleet.clients() as clients:
            return run_sync(
                _delete_fleet(
                    clients,
                    fleet,
                    tasks,
                    chunk_size=chunk_size,
                    concurrency=concurrency,
                    dry_run=dry_run,
                    max_deletions=max_deletions,
                    ledger=book,
                    verify=verify,
                    progress=progress,
                    snapshot=snapshot,
                    precheck=precheck,
                    cancel=event,
                ),
                cancel=event,
            )
    finally:
        if owned:
            book.close()


def resume_fleet(
    fleet: Fleet,
    ledger: Ledger | str | Any,
    fleet_run_id: int,
    *,
    progress: Progress = True,
    cancel: threading.Event | None = None,
) -> FleetReport:
    """Resume every child run of fleet run ``fleet_run_id`` that is not done, each with its
    project's client (concurrently); returns the fleet's report."""
    event = cancel if cancel is not None else threading.Event()
    book, owned = _open_ledger(ledger)
    try:
        with fleet.clients() as clients:
            return run_sync(
                _resume_fleet(clients, book, fleet_run_id, progress, event), cancel=event
            )
    finally:
        if owned:
            book.close()


def restore_fleet(
    fleet: Fleet,
    ledger: Ledger | str | Any,
    fleet_run_id: int,
    ids: Any = None,
) -> pd.DataFrame:
    """Restore what fleet run ``fleet_run_id`` deleted (all, or ``ids``: a mapping project id
    -> ids, or (project_id, task_id) pairs); a frame indexed by (``project_id``, ``old_id``).
    Projects that fail raise :class:`~wsnb.fleet.FleetError` after the others are done."""
    wanted = None
    if ids is not None:
        wanted = {pid: [str(i) for i in part] for pid, part in route(fleet, ids).items()}
    book, owned = _open_ledger(ledger)
    try:
        with fleet.clients() as clients:
            return run_sync(_restore_fleet(clients, book, fleet_run_id, wanted))
    finally:
        if owned:
            book.close()
