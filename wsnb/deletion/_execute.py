"""Executable plans: a dry run kept in the ledger and executed later, exactly as planned.

Contract: :meth:`Plan.execute` (and ``delete_tasks(client, plan)``, ``wsnb runs execute RUN``,
the cleanup notebook's ``plan_run``) deletes exactly the ids dry run ``run_id`` planned, reusing
its snapshots (no id is snapshotted twice), or refuses before any write:

* the plan must be a finished dry run (``done``) of this client's endpoint and project, not yet
  executed (the execution claims it in the ledger, in the transaction that creates its run);
* a plan older than ``max_age`` (from the time of the listing it came from) is refused
  (:class:`PlanStaleError`);
* the planned tasks are checked once, by the cheaper of a listing narrowed by the server-side
  filters they all share and one ``get_task`` per id; an id whose listed fields
  (:data:`~wsnb.deletion._plan.LISTED_FIELDS`) differ from the plan's, or that dropped out of the
  narrowed listing, has *changed*: ``changed="refuse"`` (the default) raises
  :class:`PlanChangedError` naming them, ``"skip"`` leaves them ``skipped``, ``"recheck"`` takes
  a new snapshot of those only and deletes them. An id gone from an unfiltered listing is
  ``already_absent``.

The execution is an ordinary run (``runs.params["plan_run"]`` names the plan): cap, write-ahead
calls, verification, cancel and resume all apply; its snapshots are the plan's (copied), so
``restore_tasks`` works on it.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import pandas as pd

from wsnb._aio import Api
from wsnb._listing import list_all
from wsnb.deletion._plan import (
    DETAIL_FIELDS,
    DeletionCapError,
    _check_max_deletions,
    changed_fields,
    detail_fingerprints,
    fingerprints,
)
from wsnb.deletion._run import (
    READ_CONCURRENCY,
    Progress,
    _drive,
    _gather,
    _gather_limited,
    _hint,
    _lookup,
    _open_ledger,
    _Run,
    ledger_errors,
    run_eta,
)
from wsnb.ledger import Ledger, Outcome
from wsnb.models import LIST_PAGE_MAX, ScheduledType
from wsnb.report import DeletionReport, operator

__all__ = [
    "DEFAULT_MAX_AGE",
    "Plan",
    "PlanChangedError",
    "PlanError",
    "PlanStaleError",
]

#: How old a plan may be when it is executed (from its listing's time): an approval within a
#: working day. Pass ``max_age=`` to allow more (or less).
DEFAULT_MAX_AGE: Final = timedelta(hours=24)

Changed = Literal["refuse", "skip", "recheck"]
_CHANGED: Final = ("refuse", "skip", "recheck")


class PlanError(ValueError):
    """The run cannot be executed as a plan (not a finished dry run, another project, used)."""


class PlanStaleError(PlanError):
    """The plan is older than ``max_age``: make a new dry run (or pass a larger ``max_age``)."""


class PlanChangedError(PlanError):
    """Planned tasks changed since the plan (``changed``: id -> the fields that differ)."""

    def __init__(self, message: str, changed: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.changed = changed


def _seconds(max_age: timedelta | float | int) -> float:
    value = max_age.total_seconds() if isinstance(max_age, timedelta) else max_age
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"max_age must be a timedelta or seconds >= 0, got {max_age!r}")
    return float(value)


@dataclass(repr=False)
class Plan:
    """Dry run ``run_id`` of ``ledger`` as something to execute (see the module docstring).

    Made by :func:`~wsnb.deletion.plan_deletion` (which keeps its client, so ``execute()``
    needs none), :meth:`load` or :meth:`from_report`.
    """

    ledger: Ledger | str
    run_id: int
    endpoint: str
    project_id: str
    listed: datetime
    ids: tuple[str, ...] = field(repr=False)
    max_deletions: int
    params: dict[str, Any] = field(repr=False, default_factory=dict)
    _client: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, ledger: Ledger | str | os.PathLike[str] | None, run_id: int) -> Plan:
        """The plan of dry run ``run_id`` in ``ledger`` (None: the default file; ``KeyError``
        for an unknown run, :class:`PlanError` when it is not a dry run)."""
        book, owned = _open_ledger(ledger)
        try:
            with ledger_errors(book.path):
                info = book.run(run_id)
                if not info["dry_run"]:
                    raise PlanError(f"run {run_id} is not a dry run: only a dry run is a plan")
                pinfo = book.plan_info(run_id)
                frame = book.outcomes(run_id)
        finally:
            if owned:
                book.close()
        planned = frame.loc[frame["outcome"] == "planned", "task_id"]
        listed = datetime.fromisoformat(pinfo["listed"] if pinfo else info["created"])
        return cls(
            ledger=book if not owned else book.path,
            run_id=run_id,
            endpoint=info["endpoint"],
            project_id=info["project_id"],
            listed=listed,
            ids=tuple(str(t) for t in planned),
            max_deletions=int(info["params"].get("max_deletions", len(planned))),
            params=dict(info["params"]),
        )

    @classmethod
    def from_report(
        cls, report: DeletionReport, ledger: Ledger | str | os.PathLike[str] | None = None
    ) -> Plan:
        """The plan of a dry run's report (its ledger file, or ``ledger`` for one in memory)."""
        source = ledger if ledger is not None else report.summary.get("ledger")
        if source is None:
            raise PlanError(
                "this report's ledger is in memory: pass it, Plan.from_report(report, ledger)"
            )
        return cls.load(source, int(report.summary["run_id"]))

    @property
    def age(self) -> timedelta:
        """Time since the listing the plan came from (or since the dry run)."""
        return datetime.now(UTC) - self.listed

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        from wsnb._eta import format_duration

        return (
            f"Plan(dry run {self.run_id}: {len(self.ids):,} task(s) in project {self.project_id}, "
            f"listed {format_duration(max(0.0, self.age.total_seconds()))} ago)"
        )

    def report(self) -> DeletionReport:
        """The dry run's report."""
        book, owned = _open_ledger(self.ledger)
        try:
            return DeletionReport.from_ledger(book, self.run_id)
        finally:
            if owned:
                book.close()

    def execute(
        self,
        client: Any = None,
        *,
        max_age: timedelta | float = DEFAULT_MAX_AGE,
        changed: Changed = "refuse",
        max_deletions: int | None = None,
        verify: bool | str = True,
        progress: Progress = True,
        cancel: threading.Event | None = None,
    ) -> DeletionReport:
        """Delete exactly the planned ids (see the module docstring); the client defaults to
        the one that made the plan. ``max_deletions`` (default: the plan's cap) is checked
        again."""
        from wsnb._aio import run_sync
        from wsnb.client import AsyncClient

        client = client if client is not None else self._client
        if client is None:
            raise TypeError("Plan.execute() needs a client (this plan was loaded, not made)")
        if isinstance(client, AsyncClient):
            raise TypeError("Plan.execute() needs a sync Client; use aexecute() with AsyncClient")
        event = cancel if cancel is not None else threading.Event()
        return run_sync(
            _execute(
                Api(client),
                self,
                max_age=max_age,
                changed=changed,
                max_deletions=max_deletions,
                verify=verify,
                progress=progress,
                cancel=event,
            ),
            cancel=event,
        )

    async def aexecute(
        self,
        client: Any,
        *,
        max_age: timedelta | float = DEFAULT_MAX_AGE,
        changed: Changed = "refuse",
        max_deletions: int | None = None,
        verify: bool | str = True,
        progress: Progress = True,
        cancel: threading.Event | None = None,
    ) -> DeletionReport:
        """The :class:`~wsnb.client.AsyncClient` twin of :meth:`execute`."""
        return await _execute(
            Api(client),
            self,
            max_age=max_age,
            changed=changed,
            max_deletions=max_deletions,
            verify=verify,
            progress=progress,
            cancel=cancel,
        )


# --- checking the planned tasks ------------------------------------------------------------------


@dataclass
class _Check:
    """What the check before an execution found."""

    how: str  # "listing" | "get_task" | "none"
    reads: int = 0
    gone: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)


def _passes(filters: dict[str, Any]) -> list[dict[str, Any]]:
    """The listing passes a narrowed listing makes (as :func:`~wsnb._listing.list_all`)."""
    if "scheduled_type" in filters:
        return [filters]
    return [filters, {**filters, "scheduled_type": ScheduledType.LIFE_CYCLE.value}]


async def _listing_is_cheaper(api: Api, ids: list[str], filters: dict[str, Any]) -> bool:
    """Whether listing (narrowed by ``filters``) costs fewer reads than one per id, by the
    ``total_count`` hints of one-item pages (a hint decides the method, never an answer)."""
    if len(ids) <= 2:
        return False
    answers = await _gather(api.list_page(0, f, limit=1) for f in _passes(filters))
    hints = [_hint(total) for _, total in answers]
    if any(h is None for h in hints):
        return len(ids) > LIST_PAGE_MAX
    pages = sum(max(1, math.ceil(h / LIST_PAGE_MAX)) for h in hints if h is not None)
    return pages < len(ids)


async def _check(api: Api, book: Ledger, plan: Plan) -> _Check:
    """Which planned ids are gone or changed, by the cheaper method (module docstring)."""
    from wsnb.frames import tasks_to_frame

    pinfo = book.plan_info(plan.run_id) or {"source": "none", "filters": {}}
    stored = book.plan_listing(plan.run_id)
    ids = list(plan.ids)
    if not ids:
        return _Check("none")
    filters = dict(pinfo["filters"]) if stored else {}
    before = api.stats()["by_operation"]
    if await _listing_is_cheaper(api, ids, filters):
        items = await list_all(api, filters, include_life_cycle=True)
        wanted = set(ids)
        items = [i for i in items if str(i.get("id")) in wanted]
        fresh = fingerprints(tasks_to_frame(items), ids) if items else {}
        result = _Check("listing")
        unlisted = [tid for tid in ids if tid not in fresh]
        for tid in ids:
            if tid in fresh and tid in stored and (diff := changed_fields(stored[tid], fresh[tid])):
                result.changed[tid] = diff
        if unlisted and filters:  # out of the narrowed listing: gone, or changed out of it
            found = await _gather_limited(unlisted, lambda i: _lookup(api, i), READ_CONCURRENCY)
            now = detail_fingerprints(dict(zip(unlisted, found, strict=True)))
            for tid, definition in zip(unlisted, found, strict=True):
                if definition is None:
                    result.gone.append(tid)
                else:
                    common = {f: v for f, v in stored.get(tid, {}).items() if f in DETAIL_FIELDS}
                    diff = changed_fields(common, now.get(tid, {}))
                    result.changed[tid] = diff or [f"no longer listed with {filters}"]
        else:
            result.gone.extend(unlisted)
    else:
        found = await _gather_limited(ids, lambda i: _lookup(api, i), READ_CONCURRENCY)
        now = detail_fingerprints(dict(zip(ids, found, strict=True)))
        result = _Check("get_task")
        for tid, definition in zip(ids, found, strict=True):
            if definition is None:
                result.gone.append(tid)
            elif tid in stored:
                common = {f: v for f, v in stored[tid].items() if f in DETAIL_FIELDS}
                if diff := changed_fields(common, now.get(tid, {})):
                    result.changed[tid] = diff
    after = api.stats()["by_operation"]
    result.reads = sum(after.get(k, 0) - before.get(k, 0) for k in ("list_tasks", "get_task"))
    return result


# --- executing -----------------------------------------------------------------------------------


async def _execute(
    api: Api,
    plan: Plan,
    *,
    max_age: timedelta | float,
    changed: Changed,
    max_deletions: int | None,
    verify: bool | str,
    progress: Progress,
    cancel: threading.Event | None,
) -> DeletionReport:
    if changed not in _CHANGED:
        raise ValueError(f"changed must be one of {list(_CHANGED)}, got {changed!r}")
    limit = _seconds(max_age)
    book, owned = _open_ledger(plan.ledger)
    try:
        with ledger_errors(book.path):
            return await _execute_with(
                api, book, plan, limit, changed, max_deletions, verify, progress, cancel
            )
    finally:
        if owned:
            book.close()


async def _execute_with(
    api: Api,
    book: Ledger,
    plan: Plan,
    max_age: float,
    changed: Changed,
    max_deletions: int | None,
    verify: bool | str,
    progress: Progress,
    cancel: threading.Event | None,
) -> DeletionReport:
    began = time.monotonic()
    run_id = plan.run_id
    info = book.run(run_id)
    if not info["dry_run"]:
        raise PlanError(f"run {run_id} is not a dry run: only a dry run is a plan")
    if info["status"] != "done":
        raise PlanError(
            f"dry run {run_id} is {info['status']}, not done: its plan is incomplete; "
            "make a new dry run"
        )
    if (info["endpoint"], info["project_id"]) != (api.endpoint, api.project_id):
        raise PlanError(
            f"plan {run_id} was made against {info['endpoint']} (project {info['project_id']}); "
            f"this client talks to {api.endpoint} (project {api.project_id})"
        )
    pinfo = book.plan_info(run_id)
    if pinfo is not None and pinfo["executed_by"] is not None:
        raise PlanError(
            f"plan {run_id} was already executed by run {pinfo['executed_by']}; see "
            f"'wsnb runs show {pinfo['executed_by']}' (resume it if it stopped early)"
        )
    age = (datetime.now(UTC) - plan.listed).total_seconds()
    if age > max_age:
        raise PlanStaleError(
            f"plan {run_id} is {timedelta(seconds=round(age))} old (its listing), more than "
            f"max_age {timedelta(seconds=round(max_age))}: make a new dry run, or pass a larger "
            "max_age if the plan still holds. Nothing was sent."
        )
    cap = _check_max_deletions(
        plan.max_deletions if max_deletions is None else max_deletions, len(plan.ids)
    )
    if len(plan.ids) > cap:
        raise DeletionCapError(
            f"refusing to execute plan {run_id} of {len(plan.ids)} tasks: max_deletions is "
            f"{cap}. Nothing was sent."
        )
    found = await _check(api, book, plan)
    if found.changed and changed == "refuse":
        sample = ", ".join(f"{t} ({', '.join(f)})" for t, f in list(found.changed.items())[:5])
        raise PlanChangedError(
            f"{len(found.changed)} of {len(plan.ids)} planned task(s) changed since plan "
            f"{run_id} was made: {sample}{' …' if len(found.changed) > 5 else ''}. Nothing was "
            "sent. Make a new dry run, or execute with changed='skip' (leave them) or "
            "changed='recheck' (snapshot them again and delete them).",
            found.changed,
        )
    rows = book.outcomes(run_id)
    gone, moved = set(found.gone), found.changed
    plan_rows: list[tuple[str, str | None, str | None, Outcome, str | None]] = []
    for tid, name, ttype, outcome, msg in zip(
        rows["task_id"],
        rows["task_name"],
        rows["task_type"],
        rows["outcome"],
        rows["error_msg"],
        strict=True,
    ):
        tid, name, ttype = str(tid), _text(name), _text(ttype)
        if outcome != "planned":  # invalid, already absent or skipped in the dry run: as then
            plan_rows.append((tid, name, ttype, outcome, _text(msg)))
        elif tid in gone:
            plan_rows.append(
                (tid, name, ttype, "already_absent", "absent when the plan was checked")
            )
        elif tid in moved and changed == "skip":
            why = f"changed since plan {run_id}: {', '.join(moved[tid])}"
            plan_rows.append((tid, name, ttype, "skipped", why))
        else:
            plan_rows.append((tid, name, ttype, "pending", None))
    params = {
        key: info["params"][key]
        for key in ("chunk_size", "concurrency", "snapshot", "selected")
        if key in info["params"]
    }
    params.update(
        plan_run=run_id,
        max_deletions=cap,
        verify=verify,
        precheck=False,  # the check above was the pre-check
        changed=changed,
    )
    if who := operator():
        params["operator"] = who
    params["eta"] = run_eta(
        api,
        len(plan.ids),
        dry_run=False,
        snapshot=False,  # the plan's snapshots are reused: no read per id
        verify=verify,
        chunk_size=int(params.get("chunk_size", 5000)),
        precheck=False,
        elapsed=time.monotonic() - began,  # the plan's check
    )
    recheck = [t for t in moved if changed == "recheck"]
    new_id = book.create_execution(
        run_id,
        endpoint=api.endpoint,
        project_id=api.project_id,
        params=params,
        plan=plan_rows,
        fresh=recheck,
    )
    book.add_event(
        new_id,
        "plan",
        plan_run=run_id,
        age_s=round(age, 1),
        checked_by=found.how,
        reads=found.reads,
        gone=len(found.gone),
        changed=len(found.changed),
        policy=changed,
        ids=list(found.changed)[:20],
    )
    todo = [r[0] for r in plan_rows if r[3] == "pending"]
    run = _Run(
        api,
        book,
        new_id,
        chunk_size=int(params.get("chunk_size", 5000)),
        concurrency=int(params.get("concurrency", 4)),
        verify=verify,
        snapshot=bool(params.get("snapshot", True)),
        precheck=False,
        progress=progress,
        total=len(todo),
        cancel=cancel if cancel is not None else threading.Event(),
    )
    with book.lease(new_id):  # taken by create_execution; renewed while it runs
        await _drive(run, todo, dry_run=False)
    return DeletionReport.from_ledger(book, new_id)


def _text(value: Any) -> str | None:
    return None if value is None or bool(pd.isna(value)) else str(value)
