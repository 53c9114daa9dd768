"""Grace periods: quarantine the selection (disable it), delete it only once the grace has passed.

Cloud Custodian's *mark-for-op*, for scheduled tasks. Two phases, each its own run in the
:class:`~wsnb.ledger.Ledger`:

1. :func:`quarantine_tasks` **quarantines** a selection: for each task it reads the full definition
   (``get_task``, plus ``enable``/``priority`` from one listing of the project, which the show
   response lacks), records it in the ledger as the task's *prior* state, then disables the task
   with one ``update_task`` (read-modify-write: the body is the recorded definition with
   ``enable=False``, so nothing else changes whatever the server does with absent fields). Each
   update is written ahead (a ``calls`` row and the prior state, in one transaction) before it
   is sent: a run killed at any point leaves no task disabled without a record, and
   :func:`resume_quarantine` finishes it (a task left ``in_flight`` is disabled iff the listing
   says so; otherwise it is read and sent again). An update whose outcome is unknown (a 5xx, a
   lost answer) is settled the same way at the end of the run, never guessed. A task that is
   already disabled is recorded without a write. A task held by another quarantine run, or
   released or restored earlier, is ``skipped`` (a scheduled run's filters may match it again).
2. :func:`delete_quarantined` (a later run) **deletes** the quarantined tasks of the client's
   project whose grace period has passed (``quarantined + grace_days <= now``; ``now`` is
   injectable) and that are still disabled and unchanged (their show response equals the
   recorded one, apart from ``enable``), through :func:`wsnb.deletion.delete_tasks` (the same
   ledger, snapshots, cap and verification); it **releases** the ones someone re-enabled or
   edited meanwhile (``released``, with the reason: never deleted) and marks the ones deleted by
   someone else ``gone``.

:func:`unquarantine` sets a quarantine run's tasks back: the same task ids, updated back to their
recorded ``enable`` (the body is the recorded definition; a task edited meanwhile keeps the
edits and only gets its ``enable`` back, and says so), each update written ahead too.

Every path that writes has a dry run, a cap (``max_tasks`` / ``max_deletions``: more is refused
before any call) and the ledger. Writes cost quota: one update per task at the write limit
(~100/min), so the run's ETA (:func:`estimate_quarantine`) is computed and recorded (the run's
params, the ``quarantine_planned`` event) before the first write.

States of a task in a quarantine run (:data:`STATES`): ``planned`` (dry run), ``pending`` (not
done yet), ``in_flight`` (prior recorded, update sent or about to be), ``quarantined`` (disabled,
grace running), ``failed`` (the update or the read was refused; the task was not changed),
``absent`` (not in the project), ``skipped`` (see above), ``invalid`` (not a task id),
``released`` (re-enabled or edited meanwhile: left alone), ``gone`` (deleted by someone else),
``deleted`` (deleted after its grace, ``delete_run`` names the deletion run), ``restoring`` /
``restored`` (:func:`unquarantine`).

:func:`run_grace` is one scheduled run of both phases (the cleanup notebook's
``mode="quarantine"``, ``wsnb tasks quarantine``): phase 2, then phase 1 on the selection.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from wsnb._aio import Api, run_sync
from wsnb._checks import check_int
from wsnb._eta import DEFAULT_ROUND_TRIP, format_duration
from wsnb._listing import list_all
from wsnb.client import AsyncClient, Client
from wsnb.deletion import DEFAULT_MAX, DeletionCapError, delete_tasks, selection_ids
from wsnb.deletion._plan import _select
from wsnb.deletion._run import _missing, _open_ledger
from wsnb.errors import (
    AuthenticationError,
    ServiceNotEnabledError,
    TransportError,
    WorkspaceError,
)
from wsnb.ledger import Ledger
from wsnb.models import DEFAULT_GRACE_DAYS, GRACE_DAYS_MAX, UPDATE_FIELDS
from wsnb.report import operator

if TYPE_CHECKING:
    from wsnb._retry import RateLimit
    from wsnb.report import DeletionReport

__all__ = [
    "DEFAULT_GRACE_DAYS",
    "GRACE_DAYS_MAX",
    "HELD_STATES",
    "STATES",
    "GraceReport",
    "GraceRun",
    "QuarantineCapError",
    "QuarantineReport",
    "changed_fields",
    "check_grace_days",
    "delete_quarantined",
    "estimate_quarantine",
    "quarantine_tasks",
    "resume_quarantine",
    "run_grace",
    "unquarantine",
    "update_body",
]

_log = logging.getLogger(__name__)


STATES: Final = (
    "planned",
    "pending",
    "in_flight",
    "quarantined",
    "failed",
    "absent",
    "skipped",
    "invalid",
    "released",
    "gone",
    "deleted",
    "restoring",
    "restored",
)
#: States in which a task belongs to its quarantine run (another run skips it).
HELD_STATES: Final = ("pending", "in_flight", "quarantined", "restoring")

#: ``extra_params`` longer than this is refused in an update body (the 2024 update definition;
#: create allows 2000): such a value is left out of the body (absent fields are kept).
_UPDATE_EXTRA_PARAMS_MAX: Final = 1024
#: Fields of a show response that are no part of the task's definition for comparisons.
_VOLATILE: Final = frozenset({"enable", "next_execution_time", "last_status"})
#: The run-level ``params["mode"]`` of a quarantine run.
MODE: Final = "quarantine"


class QuarantineCapError(DeletionCapError):
    """More tasks selected than ``max_tasks`` allows; nothing was called or recorded."""


def check_grace_days(value: object, name: str = "grace_days") -> int:
    """``value`` as a grace period: a whole number of days from 0 to :data:`GRACE_DAYS_MAX`.

    ``ValueError`` naming ``name`` and the limits otherwise (``bool``, floats, text included)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"{name} must be a whole number of days from 0 to {GRACE_DAYS_MAX}, got {value!r}"
        )
    if not 0 <= value <= GRACE_DAYS_MAX:
        raise ValueError(f"{name} must be from 0 to {GRACE_DAYS_MAX} days, got {value}")
    return value


def _check_cap(value: object, name: str) -> int:
    if value is None:
        raise ValueError(
            f"{name}=None is not allowed: every write is capped. Pass an explicit number such "
            "as the size of the selection if you mean them all."
        )
    return check_int(name, value, 0)


# --- definitions ---------------------------------------------------------------------------------


def update_body(definition: Mapping[str, Any], *, enable: bool) -> dict[str, Any]:
    """A full update request from a recorded definition, with ``enable`` set.

    Read-modify-write: every updatable field the definition holds is sent as it was, so the
    update changes nothing but ``enable`` even if the server does not keep absent fields.
    ``id`` is dropped; ``apply_objects`` go exactly as read, ``object_name`` included (without it
    the emulator, like a server that resolves names again, would store a new name), with
    ``apply_object_update_type=FULL_COVERAGE`` (the same list again); an ``extra_params``
    longer than the update limit (1024) is left out (it would be refused; absent fields are
    kept)."""
    body: dict[str, Any] = {}
    for name in UPDATE_FIELDS:
        value = definition.get(name)
        if value is None or name in ("enable", "apply_object_update_type", "is_gray"):
            continue
        if name == "apply_objects":  # as read, object_name too: re-resolving it could rename
            value = [{k: v for k, v in obj.items() if v is not None} for obj in value]
            body["apply_object_update_type"] = "FULL_COVERAGE"
        if name == "extra_params" and len(str(value)) > _UPDATE_EXTRA_PARAMS_MAX:
            continue
        body[name] = value
    body["enable"] = enable
    return body


def _norm(name: str, value: Any) -> Any:
    if name == "apply_objects" and isinstance(value, list):
        return sorted(json.dumps(o, sort_keys=True) for o in value)
    return value


def changed_fields(prior: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """The fields whose values differ between two recorded definitions, apart from ``enable``
    (and what the server derives from it: ``next_execution_time``, ``last_status``), sorted;
    apply objects compare in any order."""
    names = (set(prior) | set(current)) - _VOLATILE
    return sorted(n for n in names if _norm(n, prior.get(n)) != _norm(n, current.get(n)))


def _definition(detail: Mapping[str, Any], item: Mapping[str, Any]) -> dict[str, Any]:
    """The show response plus what only the listing has (``enable``, ``priority``)."""
    out = {k: v for k, v in detail.items() if v is not None}
    out["enable"] = item.get("enable", True) is not False
    if item.get("priority") is not None:
        out["priority"] = item["priority"]
    return out


def _listing(client: Client) -> dict[str, dict[str, Any]]:
    """Every task of the project (LIFE_CYCLE ones included), by id: one listing."""
    items = run_sync(list_all(Api(client), {}, include_life_cycle=True))
    return {str(t["id"]): dict(t) for t in items}


def _lookup(client: Client, task_id: str) -> dict[str, Any] | None:
    try:
        return dict(client.get_task(task_id))
    except WorkspaceError as error:
        if _missing(error):
            return None
        raise


def _stops(error: WorkspaceError) -> bool:
    """Errors about the credentials or the service, not the task: the run stops (resumable)."""
    return isinstance(error, AuthenticationError | ServiceNotEnabledError)


# --- the estimate --------------------------------------------------------------------------------


def estimate_quarantine(
    updates: int,
    *,
    reads: int,
    listing_pages: int = 0,
    rate_limit: RateLimit | None,
    round_trip: float = DEFAULT_ROUND_TRIP,
) -> tuple[float, str]:
    """Seconds and a one-line text for ``reads`` show calls and ``updates`` updates, one at a
    time, after ``listing_pages`` list pages: the listing, then the slower of the reads' and the
    writes' pace (they interleave, each class drawing on its own quota) and the round trips."""

    def paced(calls: int, operation: str, before: int = 0) -> float:
        if rate_limit is None or not calls:
            return 0.0
        return rate_limit.pace(operation, before + calls) - rate_limit.pace(operation, before)

    listing = max(paced(listing_pages, "list_tasks"), listing_pages * round_trip)
    rest = max(
        paced(reads, "get_task", listing_pages),  # the reads share the listing's quota
        paced(updates, "update_task"),
        (reads + updates) * round_trip,
    )
    seconds = listing + rest
    if rate_limit is None or rate_limit.writes_per_minute is None:
        pace = "unthrottled"
    else:
        pace = f"at {rate_limit.writes_per_minute:,.0f} writes/min"
    text = f"≈ {format_duration(seconds)} {pace}: {updates:,} update{'s' * (updates != 1)}"
    return seconds, f"{text} (one per task) and {reads:,} read{'s' * (reads != 1)}"


# --- reports -------------------------------------------------------------------------------------


@dataclass
class QuarantineReport:
    """One quarantine run as the ledger holds it: ``frame`` (one row per selected task: state,
    when quarantined, when due, reason), ``summary`` (counts, ETA, status)."""

    run_id: int
    frame: pd.DataFrame
    summary: dict[str, Any]

    @classmethod
    def from_ledger(cls, ledger: Ledger, run_id: int) -> QuarantineReport:
        info = ledger.run(run_id)
        if info["params"].get("mode") != MODE:
            raise ValueError(f"run {run_id} is not a quarantine run")
        frame = ledger.quarantine(run_id).drop(columns=["prior"]).set_index("task_id")
        counts = {s: int(n) for s, n in frame["state"].value_counts().items() if n}
        summary = {
            "run_id": run_id,
            "mode": MODE,
            "status": info["status"],
            "dry_run": info["dry_run"],
            "endpoint": info["endpoint"],
            "project_id": info["project_id"],
            "grace_days": info["params"].get("grace_days"),
            "eta": info["params"].get("eta"),
            "selected": len(frame),
            "counts": counts,
            "created": info["created"],
            "finished": info["finished"],
        }
        return cls(run_id, frame, summary)

    @property
    def ok(self) -> bool:
        """The run is ``done`` and no task failed or is left unsettled."""
        bad = {"failed", "pending", "in_flight", "invalid"}
        return self.summary["status"] == "done" and not bad & set(self.summary["counts"])

    def text(self) -> str:
        """The run in two lines for terminals (see :func:`wsnb.report.quarantine_text`)."""
        from wsnb.report import quarantine_text

        return quarantine_text(self.summary, self.frame)


@dataclass
class GraceReport:
    """One pass of :func:`delete_quarantined`: every task that was quarantined at its start,
    with its ``action`` (``deleted``, ``would delete`` (dry run), ``released``, ``gone``,
    ``waiting`` (grace not over), ``not deleted`` (the deletion did not settle it: tried again
    next time)), ``reason`` and ``due``; ``deletion`` is the deletion run's report (None when
    nothing was due)."""

    frame: pd.DataFrame
    now: datetime
    dry_run: bool
    deletion: DeletionReport | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Nothing due was left undeleted, and the deletion run (if any) is OK."""
        left = bool((self.frame["action"] == "not deleted").any()) if len(self.frame) else False
        return not left and (self.deletion is None or self.deletion.ok)

    def text(self) -> str:
        """The pass in a few lines (see :func:`wsnb.report.grace_text`)."""
        from wsnb.report import grace_text

        return grace_text(self.frame, now=self.now, dry_run=self.dry_run)


# --- phase 1: quarantine -------------------------------------------------------------------------


def _check_client(client: object) -> Client:
    if isinstance(client, AsyncClient) or not isinstance(client, Client):
        raise TypeError("quarantine needs a sync wsnb Client")
    return client


def quarantine_tasks(
    client: Client,
    tasks: Any,
    *,
    grace_days: int = DEFAULT_GRACE_DAYS,
    max_tasks: int = DEFAULT_MAX,
    dry_run: bool = False,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    include_released: bool = False,
) -> QuarantineReport:
    """Disable the selected tasks for ``grace_days`` (a later :func:`delete_quarantined` deletes
    them); returns the run's :class:`QuarantineReport`.

    ``tasks`` as for :func:`~wsnb.deletion.delete_tasks`. More than ``max_tasks`` ids (never
    None) raises :class:`QuarantineCapError` before any call. A dry run lists the project and
    records the plan (``planned``), sending no update. Tasks held by another quarantine run of
    the same project are ``skipped``, and so are tasks an earlier pass ``released`` (someone
    re-enabled or edited them) or :func:`unquarantine` ``restored`` (a scheduled run whose filters
    still match must not take them again), unless ``include_released``. See the module docstring
    for the rest."""
    client = _check_client(client)
    days = check_grace_days(grace_days)
    cap = _check_cap(max_tasks, "max_tasks")
    selection = _select(tasks)
    if len(selection.ids) > cap:
        raise QuarantineCapError(
            f"refusing to quarantine {len(selection.ids)} tasks: max_tasks is {cap}; nothing "
            f"was sent. Pass max_tasks={len(selection.ids)} if you mean it"
        )
    book, owned = _open_ledger(ledger)
    try:
        held = book.quarantine(
            endpoint=client.endpoint, project_id=client.project_id, states=HELD_STATES
        )
        holder = {
            str(t): f"held by quarantine run {r}"
            for t, r in zip(held["task_id"], held["run_id"], strict=True)
        }
        if not include_released:
            freed = book.quarantine(
                endpoint=client.endpoint,
                project_id=client.project_id,
                states=("released", "restored"),
            )
            for tid, run, state in zip(
                freed["task_id"], freed["run_id"], freed["state"], strict=True
            ):
                why = f"{state} by quarantine run {run}; include_released=True takes it again"
                holder.setdefault(str(tid), why)
        listed = _listing(client)
        rows: list[tuple[str, str | None, str | None, str, str | None]] = []
        for shown, why in selection.invalid:
            rows.append((shown, None, None, "invalid", why))
        writes = 0
        for tid in selection.ids:
            item = listed.get(tid, {})
            name, kind = item.get("task_name"), item.get("task_type")
            if tid in holder:
                rows.append((tid, name, kind, "skipped", holder[tid]))
            elif not item:
                rows.append((tid, None, None, "absent", "not in the project's listing"))
            else:
                rows.append((tid, name, kind, "planned" if dry_run else "pending", None))
                writes += item.get("enable", True) is not False
        reads = sum(r[3] in ("planned", "pending") for r in rows)
        _, eta = estimate_quarantine(writes, reads=reads, rate_limit=client.rate_limit)
        params: dict[str, Any] = {"mode": MODE, "grace_days": days, "max_tasks": cap, "eta": eta}
        if who := operator():
            params["operator"] = who
        run_id = book.create_run(
            endpoint=client.endpoint,
            project_id=client.project_id,
            params=params,
            dry_run=dry_run,
            plan=(),
        )
        book.add_quarantine(run_id, rows, days)
        book.add_event(run_id, "quarantine_planned", tasks=reads, updates=writes, eta=eta)
        _log.info("quarantine run %s: %s tasks, %s", run_id, reads, eta)
        with book.lease(run_id):  # taken by create_run; released at the end, dry run too
            if dry_run:
                book.finish_run(run_id, "done", {"eta": eta})
            else:
                _drive(client, book, run_id, listed)
        return QuarantineReport.from_ledger(book, run_id)
    finally:
        if owned:
            book.close()


def resume_quarantine(
    client: Client, ledger: Ledger | str | os.PathLike[str] | None, run_id: int
) -> QuarantineReport:
    """Finish a quarantine run that was interrupted or killed: tasks ``pending`` are quarantined;
    ``in_flight`` ones are looked up (disabled: ``quarantined``; else read and sent again).
    Needs a client for the run's endpoint and project (``ValueError`` before any call)."""
    client = _check_client(client)
    book, owned = _open_ledger(ledger)
    try:
        _check_run(book, run_id, client)
        with book.lease(run_id):
            book.reopen_run(run_id)
            book.add_event(run_id, "resumed")
            _drive(client, book, run_id, _listing(client))
        return QuarantineReport.from_ledger(book, run_id)
    finally:
        if owned:
            book.close()


def _check_run(book: Ledger, run_id: int, client: Client) -> dict[str, Any]:
    info = book.run(run_id)
    if info["params"].get("mode") != MODE:
        raise ValueError(f"run {run_id} is not a quarantine run")
    if (info["endpoint"], info["project_id"]) != (client.endpoint, client.project_id):
        raise ValueError(
            f"run {run_id} was made against {info['endpoint']} project {info['project_id']}; "
            f"this client is for {client.endpoint} project {client.project_id}"
        )
    return info


def _drive(client: Client, book: Ledger, run_id: int, listed: Mapping[str, Any]) -> None:
    """Quarantine the run's ``pending`` and ``in_flight`` tasks; close the run ``done`` when
    none is left, else ``interrupted`` (also on any exception, which is re-raised)."""
    try:
        todo = book.quarantine(run_id, states=("pending", "in_flight"))
        for tid, state in zip(todo["task_id"], todo["state"], strict=True):
            item = listed.get(str(tid))
            if state == "in_flight" and item is None:
                book.set_quarantine(run_id, [tid], "gone", reason="deleted meanwhile")
                continue
            if state == "in_flight" and item is not None and item.get("enable") is False:
                book.set_quarantine(run_id, [tid], "quarantined", quarantined=datetime.now(UTC))
                continue
            _quarantine_one(client, book, run_id, str(tid), item)
        left = book.quarantine(run_id, states=("in_flight",))
        if len(left):  # outcome unknown: ask the server once
            listed = _listing(client)
            for tid, why in zip(left["task_id"], left["reason"], strict=True):
                item = listed.get(str(tid))
                if item is None:
                    book.set_quarantine(run_id, [tid], "gone", reason="deleted meanwhile")
                elif item.get("enable") is False:  # the update took effect after all
                    book.set_quarantine(run_id, [tid], "quarantined", quarantined=datetime.now(UTC))
                else:  # it did not: the task is as it was
                    note = f"the update did not take effect ({why})" if why else None
                    book.set_quarantine(run_id, [tid], "failed", reason=note)
        open_ = book.quarantine(run_id, states=("pending", "in_flight"))
        book.finish_run(run_id, "interrupted" if len(open_) else "done", client.stats.snapshot())
    except BaseException:
        book.finish_run(run_id, "interrupted", client.stats.snapshot())
        raise


def _quarantine_one(
    client: Client, book: Ledger, run_id: int, tid: str, item: Mapping[str, Any] | None
) -> None:
    if item is None:
        book.set_quarantine(run_id, [tid], "absent", reason="not in the project's listing")
        return
    try:
        detail = _lookup(client, tid)
    except WorkspaceError as error:
        if _stops(error):
            raise
        book.set_quarantine(run_id, [tid], "failed", reason=f"could not read it: {error}")
        return
    if detail is None:
        book.set_quarantine(run_id, [tid], "absent", reason="the server says it does not exist")
        return
    prior = _definition(detail, item)
    if not prior["enable"]:
        book.set_quarantine(
            run_id,
            [tid],
            "quarantined",
            prior=prior,
            quarantined=datetime.now(UTC),
            reason="already disabled: no update sent",
        )
        return
    call_id = book.quarantine_started(run_id, tid, "in_flight", prior=prior)
    try:
        client.update_task(tid, update_body(prior, enable=False))
    except WorkspaceError as error:
        known = _update_failed(book, call_id, error)
        if _stops(error):
            book.set_quarantine(run_id, [tid], "pending")  # refused: the task is unchanged
            raise
        if not known:  # it may have taken effect: the listing at the end of the run decides
            book.set_quarantine(run_id, [tid], "in_flight", reason=f"outcome unknown: {error}")
            return
        state = "absent" if _missing(error) else "failed"
        book.set_quarantine(run_id, [tid], state, reason=f"update refused: {error}")
        return
    book.call_finished(call_id, "ok", http_status=200)
    book.set_quarantine(run_id, [tid], "quarantined", quarantined=datetime.now(UTC))


def _update_failed(book: Ledger, call_id: int, error: WorkspaceError) -> bool:
    """Close the write-ahead row of an ``update_task`` that raised: ``error`` when it certainly
    did not take effect (:func:`_refused`), else ``unknown``. Returns whether it was refused."""
    known = _refused(error)
    book.call_finished(
        call_id,
        "error" if known else "unknown",
        http_status=error.status,
        error_code=error.error_code,
        error_msg=str(error),
        request_id=error.request_id,
    )
    return known


def _refused(error: WorkspaceError) -> bool:
    """Whether a failed write certainly did not take effect: a 4xx answer, or a connection that
    never sent the request. A 5xx, a dropped answer or an unreadable one may hide a commit."""
    if isinstance(error, TransportError):
        return not error.sent
    status = error.status
    return isinstance(status, int) and 400 <= status < 500


# --- phase 2: release or delete ------------------------------------------------------------------


def delete_quarantined(
    client: Client,
    *,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    max_deletions: int = DEFAULT_MAX,
    dry_run: bool = False,
    now: datetime | None = None,
    verify: bool = True,
    chunk_size: int | None = None,
    progress: bool | Callable[[int, int], None] = False,
) -> GraceReport:
    """Delete the client's project's quarantined tasks whose grace has passed and that are still
    disabled and unchanged; release the ones re-enabled or edited meanwhile. Returns a
    :class:`GraceReport` (the deletion run's report in ``.deletion``).

    ``now`` (default: the wall clock, UTC) decides which grace periods are over. More tasks due
    for deletion than ``max_deletions`` (never None) raises
    :class:`~wsnb.deletion.DeletionCapError` before any write and before the ledger changes. A
    dry run reads, then plans the deletion (a dry deletion run) and records nothing else."""
    client = _check_client(client)
    cap = _check_cap(max_deletions, "max_deletions")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    book, owned = _open_ledger(ledger)
    try:
        held = book.quarantine(
            endpoint=client.endpoint, project_id=client.project_id, states=("quarantined",)
        )
        frame = held.drop(columns=["prior"]).copy()
        due = held[held["due"] <= pd.Timestamp(moment)]
        verdicts: dict[tuple[int, str], tuple[str, str | None]] = {}
        if len(due):
            listed = _listing(client)
            for run_id, tid, prior in zip(due["run_id"], due["task_id"], due["prior"], strict=True):
                verdicts[(int(run_id), str(tid))] = _verdict(client, str(tid), prior, listed)
        candidates = [key for key, (action, _) in verdicts.items() if action == "delete"]
        ids = list(dict.fromkeys(tid for _, tid in candidates))
        if len(ids) > cap:
            raise DeletionCapError(
                f"refusing to delete {len(ids)} quarantined tasks whose grace is over: "
                f"max_deletions is {cap}; nothing was sent or recorded. Pass "
                f"max_deletions={len(ids)} if you mean it"
            )
        if not dry_run:
            for (run_id, tid), (action, reason) in verdicts.items():
                if action in ("released", "gone"):
                    book.set_quarantine(run_id, [tid], action, reason=reason)
        report = None
        if ids:
            report = delete_tasks(
                client,
                ids,
                max_deletions=cap,
                dry_run=dry_run,
                ledger=book,
                verify=verify,
                chunk_size=chunk_size,
                progress=progress,
            )
            book.add_event(
                report.run_id,
                "grace_deletion",
                quarantine_runs=sorted({r for r, _ in candidates}),
                now=moment.isoformat(),
            )
        outcome: dict[str, str] = {}
        if report is not None:
            outcome = dict(zip(report.frame["task_id"], report.frame["outcome"], strict=True))
        for (run_id, tid), (action, _) in list(verdicts.items()):
            if action != "delete":
                continue
            result = outcome.get(tid)
            if dry_run:
                verdicts[(run_id, tid)] = ("would delete", None)
            elif result == "deleted":
                verdicts[(run_id, tid)] = ("deleted", None)
                assert report is not None
                book.set_quarantine(run_id, [tid], "deleted", delete_run=report.run_id)
            elif result == "already_absent":
                verdicts[(run_id, tid)] = ("gone", "deleted by someone else meanwhile")
                book.set_quarantine(run_id, [tid], "gone", reason="deleted meanwhile")
            else:
                verdicts[(run_id, tid)] = ("not deleted", f"deletion outcome {result}")
        keys = [(int(r), str(t)) for r, t in zip(frame["run_id"], frame["task_id"], strict=True)]
        frame["action"] = pd.array(
            [verdicts.get(k, ("waiting", None))[0] for k in keys], dtype="string"
        )
        frame["reason"] = pd.array(
            [
                verdicts[k][1] if k in verdicts else r
                for k, r in zip(keys, frame["reason"], strict=True)
            ],
            dtype="string",
        )
        grace = GraceReport(frame.set_index("task_id"), moment, dry_run, report)
        grace.summary = _grace_summary(grace)
        return grace
    finally:
        if owned:
            book.close()


def _verdict(
    client: Client, tid: str, prior: Mapping[str, Any] | None, listed: Mapping[str, Any]
) -> tuple[str, str | None]:
    """``("delete", None)``, or why not: ``released`` (re-enabled / edited: fields), ``gone``."""
    item = listed.get(tid)
    if item is None:
        return "gone", "deleted by someone else meanwhile"
    if item.get("enable") is not False:
        return "released", "re-enabled meanwhile"
    detail = _lookup(client, tid)
    if detail is None:
        return "gone", "deleted by someone else meanwhile"
    diff = changed_fields(prior or {}, _definition(detail, item))
    if diff:
        return "released", f"edited meanwhile: {', '.join(diff)}"
    return "delete", None


def _grace_summary(report: GraceReport) -> dict[str, Any]:
    actions = report.frame["action"].value_counts()
    waiting = report.frame[report.frame["action"] == "waiting"]
    return {
        "now": report.now.isoformat(),
        "dry_run": report.dry_run,
        "actions": {str(k): int(v) for k, v in actions.items() if v},
        "next_due": None if waiting.empty else waiting["due"].min().isoformat(),
        "deletion_run": None if report.deletion is None else report.deletion.run_id,
    }


# --- undo ----------------------------------------------------------------------------------------


def unquarantine(
    client: Client,
    ledger: Ledger | str | os.PathLike[str] | None,
    run_id: int,
    ids: Iterable[str] | None = None,
    *,
    max_tasks: int = DEFAULT_MAX,
    dry_run: bool = False,
) -> pd.DataFrame:
    """Set the tasks of quarantine run ``run_id`` (or only ``ids``) back to their recorded state:
    the same task ids, ``update_task`` with the recorded definition and ``enable`` (no
    re-creation). A task edited meanwhile keeps the edits and only gets its ``enable`` back
    (``reason`` says so); one deleted meanwhile is ``gone``. Each update is written ahead
    (``restoring``); running it again finishes an interrupted one. Returns the run's records
    for those tasks (``state`` ``restored``, ``gone`` or, when refused, ``quarantined`` with the
    error in ``reason``). Ids the run does not hold: ``ValueError``, more tasks than
    ``max_tasks``: :class:`QuarantineCapError`, both before any call. A dry run lists the project
    and returns the records with ``action`` (``would set back``, ``nothing to do``, ``gone``),
    sending nothing and changing no record."""
    client = _check_client(client)
    cap = _check_cap(max_tasks, "max_tasks")
    book, owned = _open_ledger(ledger)
    try:
        _check_run(book, run_id, client)
        rows = book.quarantine(run_id, states=("quarantined", "in_flight", "restoring", "failed"))
        recorded = pd.Series([bool(p) for p in rows["prior"]], index=rows.index, dtype=bool)
        rows = rows[recorded]  # a failed read left nothing to go back to
        if ids is not None:
            wanted = list(dict.fromkeys(ids))
            unknown = sorted(set(wanted) - set(rows["task_id"]))
            if unknown:
                raise ValueError(
                    f"run {run_id} holds no quarantined task {unknown[:5]}"
                    f"{' …' if len(unknown) > 5 else ''}: nothing was sent"
                )
            rows = rows[rows["task_id"].isin(wanted)]
        if len(rows) > cap:
            raise QuarantineCapError(
                f"refusing to set back {len(rows)} tasks: max_tasks is {cap}; nothing was sent. "
                f"Pass max_tasks={len(rows)} if you mean it"
            )
        if dry_run:
            listed = _listing(client) if len(rows) else {}
            plan = rows.drop(columns=["prior"]).set_index("task_id")
            plan["action"] = pd.array(
                [
                    _dry_action(prior or {}, listed.get(str(tid)))
                    for tid, prior in zip(rows["task_id"], rows["prior"], strict=True)
                ],
                dtype="string",
            )
            return plan
        with book.lease(run_id):
            listed = _listing(client) if len(rows) else {}
            for tid, prior in zip(rows["task_id"], rows["prior"], strict=True):
                _restore_one(client, book, run_id, str(tid), prior or {}, listed.get(str(tid)))
            book.add_event(run_id, "unquarantined", tasks=len(rows))
        done = book.quarantine(run_id)
        done = done[done["task_id"].isin(rows["task_id"])]
        return done.drop(columns=["prior"]).set_index("task_id")
    finally:
        if owned:
            book.close()


def _dry_action(prior: Mapping[str, Any], item: Mapping[str, Any] | None) -> str:
    if item is None:
        return "gone"
    target = prior.get("enable", True) is not False
    return "nothing to do" if (item.get("enable") is not False) == target else "would set back"


def _restore_one(
    client: Client,
    book: Ledger,
    run_id: int,
    tid: str,
    prior: Mapping[str, Any],
    item: Mapping[str, Any] | None,
) -> None:
    if item is None:
        book.set_quarantine(run_id, [tid], "gone", reason="deleted meanwhile: nothing to restore")
        return
    target = prior.get("enable", True) is not False
    detail = _lookup(client, tid)
    if detail is None:
        book.set_quarantine(run_id, [tid], "gone", reason="deleted meanwhile: nothing to restore")
        return
    current = _definition(detail, item)
    diff = changed_fields(prior, current)
    note = f"edited meanwhile ({', '.join(diff)}): those edits kept" if diff else None
    if current["enable"] == target:
        book.set_quarantine(run_id, [tid], "restored", reason=note)
        return
    call_id = book.quarantine_started(run_id, tid, "restoring")
    try:
        client.update_task(tid, update_body(current if diff else prior, enable=target))
    except WorkspaceError as error:
        known = _update_failed(book, call_id, error)
        if known:  # refused: still quarantined (running it again tries again)
            book.set_quarantine(run_id, [tid], "quarantined", reason=f"not restored: {error}")
        else:  # may have taken effect: stays restoring, running it again asks the server
            book.set_quarantine(run_id, [tid], "restoring", reason=f"outcome unknown: {error}")
        if _stops(error):
            raise
        return
    book.call_finished(call_id, "ok", http_status=200)
    book.set_quarantine(run_id, [tid], "restored", reason=note)


# --- both phases, for the cleanup notebook and the CLI ------------------------------------------


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A report frame as JSON-ready rows (times as ISO text, missing values as null)."""
    out = []
    for tid, row in frame.iterrows():
        item: dict[str, Any] = {"task_id": tid}
        for name, value in row.items():
            if isinstance(value, pd.Timestamp):
                item[str(name)] = value.isoformat()
            elif value is None or (not isinstance(value, dict | list) and pd.isna(value)):
                item[str(name)] = None
            else:
                item[str(name)] = value.item() if hasattr(value, "item") else value
        out.append(item)
    return out


@dataclass
class GraceRun:
    """One scheduled run in ``mode="quarantine"``: the release-or-delete pass over what earlier
    runs quarantined (``grace``, whose ``deletion`` is the deletion run's report or None), then
    the quarantine of this run's selection (``quarantine``; None when nothing was selected)."""

    grace: GraceReport
    quarantine: QuarantineReport | None

    @property
    def ok(self) -> bool:
        """Both phases OK (see :attr:`GraceReport.ok`, :attr:`QuarantineReport.ok`)."""
        return self.grace.ok and (self.quarantine is None or self.quarantine.ok)

    def text(self) -> str:
        """Terminal lines: the pass, its deletion run's summary, the quarantine run."""
        parts = [self.grace.text()]
        if self.grace.deletion is not None:
            parts.append(self.grace.deletion.summary_text())
        if self.quarantine is not None:
            parts.append(self.quarantine.text())
        return "\n".join(parts)

    def html(self) -> str:
        """The grace-period section (:func:`wsnb.report.grace_html`)."""
        from wsnb.report import grace_html

        held = self.quarantine
        return grace_html(
            None if held is None else held.frame,
            self.grace.frame,
            now=self.grace.now,
            summary=None if held is None else held.summary,
        )

    def _repr_html_(self) -> str:
        return self.html()

    def write(self, folder: str | os.PathLike[str], *, parameters: Any = None) -> dict[str, Any]:
        """Write ``grace.html`` and ``grace.json`` (both phases, every row) into ``folder``, and
        the deletion run's report files (``report.*``) when something was deleted; returns the
        paths by kind (``grace_html``, ``grace_json``, then the report's)."""
        from pathlib import Path

        target = Path(folder).expanduser()
        target.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Any] = {}
        if self.grace.deletion is not None:
            paths.update(self.grace.deletion.write(target, parameters=parameters))
        page = target / "grace.html"
        page.write_text(
            "<!doctype html><meta charset=utf-8><title>wsnb grace period</title>" + self.html(),
            encoding="utf-8",
        )
        data = {
            "grace": {"summary": self.grace.summary, "tasks": _rows(self.grace.frame)},
            "quarantine": None
            if self.quarantine is None
            else {"summary": self.quarantine.summary, "tasks": _rows(self.quarantine.frame)},
            "parameters": parameters,
        }
        doc = target / "grace.json"
        doc.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), "utf-8")
        return {"grace_html": page, "grace_json": doc, **paths}


def run_grace(
    client: Client,
    tasks: Any,
    *,
    grace_days: int = DEFAULT_GRACE_DAYS,
    max_tasks: int = DEFAULT_MAX,
    dry_run: bool = False,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    now: datetime | None = None,
    verify: bool = True,
    chunk_size: int | None = None,
) -> GraceRun:
    """A scheduled run in quarantine mode: :func:`delete_quarantined` (``max_tasks`` caps the
    deletions), then :func:`quarantine_tasks` on ``tasks`` less what the pass deleted or found
    gone (``max_tasks`` caps the updates; skipped when nothing is left). Both phases share
    ``ledger`` and ``dry_run``."""
    days = check_grace_days(grace_days)
    book, owned = _open_ledger(ledger)
    try:
        grace = delete_quarantined(
            client,
            ledger=book,
            max_deletions=max_tasks,
            dry_run=dry_run,
            now=now,
            verify=verify,
            chunk_size=chunk_size,
        )
        # the selection was listed before the pass: leave out what the pass found deleted
        done = set(grace.frame.index[grace.frame["action"].isin(["deleted", "gone"])])
        if done and isinstance(tasks, pd.DataFrame):
            tasks = tasks[~tasks.index.isin(list(done))]
        elif done:
            tasks = [t for t in selection_ids(tasks) if not (isinstance(t, str) and t in done)]
        held = None
        if len(_select(tasks).ids) or len(_select(tasks).invalid):
            held = quarantine_tasks(
                client, tasks, grace_days=days, max_tasks=max_tasks, dry_run=dry_run, ledger=book
            )
        return GraceRun(grace, held)
    finally:
        if owned:
            book.close()
