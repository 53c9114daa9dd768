"""One deletion run, fresh or resumed: the ``_Run`` state machine and the phases that drive it.

Contract: every id of the run's plan ends with exactly one outcome in the ledger, or stays
``pending`` (resumable) when the run stops early; no id outside the plan is ever sent.
``_delete`` validates the options, plans (:mod:`wsnb.deletion._plan`), creates the run in the
ledger and drives it; ``_resume`` re-opens a run. ``_drive`` runs the phases (snapshot or
existence check, send, verify) and closes the run: ``done`` when no id is pending,
``cancelled`` when the cancel event was set (or the task cancelled) with ids left, else
``interrupted`` (an error stopped it, or the server kept failing: see below).

Every write call is written ahead to the ledger before it goes out. An ambiguous outcome is
resolved by asking the server (``_existing``: a listing read to its last page, or per-id
``get_task``; never concluded from ``total_count``) while nothing of the run is in flight, never by
guessing. An id found absent is ``deleted`` when a call of this run that may have taken effect
named it (answered 2xx, ambiguous, or in flight at a crash: ``maybe_done``), else
``already_absent``; the ``gone`` event records which calls are the evidence.

Ids go out in at most :data:`MAX_ROUNDS` rounds; an id that only met transient failures
(throttling, 5xx, ambiguous calls found not to have deleted it) in all of them stays ``pending``
with its last error and the run ends ``interrupted``: ``resume`` tries again. Within a round a
refused chunk is split (``_isolate``):

* a 400 about ids is bisected down to the ids it is about; when both halves are refused as
  "does not exist", the chunk's ids are looked up at the end of the round instead (one check,
  not one call per id), and the ones still there go out again;
* a 400 whose two halves fail with the same error that is not about ids settles the chunk
  ``failed`` (3 calls, not 2N-1);
* a 403, or a 400 with an ``encoded_authorization_message`` (per-id IAM), is bisected down to
  the ``forbidden`` ids once a write of the run succeeded; before that, :data:`DENIALS_TO_STOP`
  denials (the chunk, its halves, a one-id probe) stop the run as a credential problem.

A 401 (or "service not enabled") stops the run at once. After a stop or a cancel nothing new is
sent (checked after the concurrency gate is acquired, and by the clients before each attempt:
:mod:`wsnb._cancel`); the ids not sent stay ``pending``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeVar

import pandas as pd

from wsnb import _cancel
from wsnb._aio import Api
from wsnb._cancel import CallCancelled
from wsnb._checks import check_int
from wsnb._eta import (
    FIRST_PART,
    MAX_PART,
    VERIFY_CONFIDENCE,
    VERIFY_TOLERANCE,
    Observed,
    estimate,
    format_duration,
    verify_sample_size,
)
from wsnb._listing import list_all
from wsnb.deletion._plan import (
    DEFAULT_CHUNK_SIZE,
    DeletionCapError,
    _check_max_deletions,
    _chunks,
    _select,
    detail_fingerprints,
    fingerprints,
    shared_filters,
)
from wsnb.errors import (
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    OutcomeUnknownError,
    ServerError,
    ServiceNotEnabledError,
    ThrottledError,
    TransportError,
    UnexpectedResponseError,
    WorkspaceError,
)
from wsnb.ledger import Ledger, Outcome, RunStatus, default_ledger, redact_url
from wsnb.models import BATCH_DELETE_MAX, LIST_PAGE_MAX, ScheduledType
from wsnb.report import DeletionReport, operator

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DENIALS_TO_STOP",
    "FIRST_PART",
    "MAX_PART",
    "MAX_ROUNDS",
    "READ_CONCURRENCY",
    "LedgerError",
    "Progress",
]

#: Batch-delete calls in flight at once (the client's write limiter sets the pace).
DEFAULT_CONCURRENCY: Final = 4
#: ``get_task`` calls in flight at once for snapshots and existence checks.
READ_CONCURRENCY: Final = 8
#: Seconds a tasks frame's listing stands in for the existence pre-check (``snapshot=False``):
#: the selection was listed that recently, so listing the project again proves nothing new.
PRECHECK_REUSE: Final = 60.0
#: Times an id is sent at most in one run (ambiguous or throttled calls are re-sent after a
#: check); an id still there after that stays ``pending`` for ``resume``.
MAX_ROUNDS: Final = 4
#: IAM denials (403) tolerated while no write of the run has succeeded: the chunk, both its
#: halves and a one-id probe. The last one stops the run (the credentials cannot delete).
DENIALS_TO_STOP: Final = 4


#: A progress sink: ``True``/``False`` for a tqdm bar (on/off), or a callable
#: ``(done, total) -> None`` called as ids settle (e.g. to drive a widget's bar).
Progress = bool | Callable[[int, int], None]

T = TypeVar("T")

_log = logging.getLogger(__name__)


class LedgerError(sqlite3.DatabaseError):
    """The ledger file could not be opened or used; the message names the file."""


# --- refusals ------------------------------------------------------------------------------------


def _missing(error: WorkspaceError) -> bool:
    return isinstance(error, NotFoundError) or (
        isinstance(error, BadRequestError) and error.task_missing
    )


def _denied(error: WorkspaceError) -> bool:
    """An IAM denial that may concern some ids only (per-id policies): a 403, or a 400 with an
    ``encoded_authorization_message``. "Service not enabled" is no such denial."""
    if isinstance(error, ServiceNotEnabledError):
        return False
    return isinstance(error, ForbiddenError) or (
        isinstance(error, BadRequestError) and bool(error.encoded_authorization_message)
    )


#: A refusal's message that names ids ("task_ids[3] …", "task id …"): splitting can isolate them.
_ABOUT_IDS: Final = re.compile(r"\btask[ _-]?ids?\b|\bids?\b", re.IGNORECASE)


def _about_ids(error: WorkspaceError) -> bool:
    """Whether a refusal can be about some of the ids, so that splitting the chunk helps."""
    return (
        _missing(error)
        or _denied(error)
        or bool(error.error_msg and _ABOUT_IDS.search(error.error_msg))
    )


def _same(a: WorkspaceError, b: WorkspaceError) -> bool:
    return (type(a), a.status, a.error_code, a.error_msg) == (
        type(b),
        b.status,
        b.error_code,
        b.error_msg,
    )


def _error_fields(error: WorkspaceError) -> dict[str, Any]:
    cause = error.cause if isinstance(error, OutcomeUnknownError) else None
    status = error.status
    if status is None and isinstance(cause, WorkspaceError):
        status = cause.status
    return {
        "http_status": status,
        "error_code": error.error_code or type(error).__name__,
        "error_msg": (error.error_msg or str(error))[:500],
        "request_id": error.request_id,
    }


def _forbidden_fields(error: WorkspaceError) -> dict[str, Any]:
    """A denial's fields, the whole ``encoded_authorization_message`` kept in the message (IAM
    decodes it with ``decode-authorization-message``; a cut one cannot be decoded)."""
    fields = _error_fields(error)
    if error.encoded_authorization_message:
        fields["error_msg"] += (
            f"; encoded_authorization_message: {error.encoded_authorization_message}"
        )
    return fields


# --- existence checks ----------------------------------------------------------------------------


async def _gather(aws: Iterable[Awaitable[T]]) -> list[T]:
    """``asyncio.gather``; when one fails, the others are cancelled and awaited, so no orphan
    goes on calling the API after the failure has left this function."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _gather_limited(
    items: Sequence[str], fn: Callable[[str], Awaitable[Any]], limit: int
) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(item: str) -> Any:
        async with gate:
            return await fn(item)

    return await _gather(one(i) for i in items)


async def _lookup(api: Api, task_id: str) -> dict[str, Any] | None:
    """A task's definition, or ``None`` when the server says it does not exist."""
    try:
        return dict(await api.get_task(task_id))
    except WorkspaceError as error:
        if _missing(error):
            return None
        raise


def _hint(total: object) -> int | None:
    """A ``total_count`` usable as a hint (a non-negative int), else ``None``."""
    ok = isinstance(total, int) and not isinstance(total, bool) and total >= 0
    return total if ok else None  # type: ignore[return-value]


async def _existing(api: Api, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` exist now, by asking about them: per-id ``get_task``, or listing the
    whole project (every page, to the last); whichever is cheaper by the totals the server
    reports. A total is only a hint for that choice: "0 tasks" still lists, and without a
    total more than a page of ids is listed.

    Must only be called while none of this run's writes is in flight (listing by offset while
    deleting would skip tasks).
    """
    if not ids:
        return set()
    if len(ids) > 2:
        (normal_items, normal), (life_items, life) = await _gather(
            (
                api.list_page(0, {}, limit=1),
                api.list_page(0, {"scheduled_type": ScheduledType.LIFE_CYCLE.value}, limit=1),
            )
        )
        if not normal_items and not life_items:  # the first page of each is empty: no tasks
            return set()
        normal_hint, life_hint = _hint(normal), _hint(life)
        if normal_hint is None or life_hint is None:
            by_listing = len(ids) > LIST_PAGE_MAX
        else:  # a listing costs at least one call per pass, whatever the totals say
            pages = max(1, math.ceil(normal_hint / LIST_PAGE_MAX)) + max(
                1, math.ceil(life_hint / LIST_PAGE_MAX)
            )
            by_listing = pages < len(ids)
        if by_listing:
            listed = await list_all(api, {}, include_life_cycle=True)
            present = {str(item.get("id")) for item in listed}
            return {i for i in ids if i in present}
    found = await _gather_limited(ids, lambda i: _lookup(api, i), READ_CONCURRENCY)
    return {i for i, d in zip(ids, found, strict=True) if d is not None}


# --- one run -------------------------------------------------------------------------------------


class _Run:
    """The state and steps of one run (fresh or resumed), shared by sync and async callers."""

    def __init__(
        self,
        api: Api,
        ledger: Ledger,
        run_id: int,
        *,
        chunk_size: int,
        concurrency: int,
        verify: bool | str,
        snapshot: bool,
        precheck: bool,
        progress: Progress,
        total: int,
        cancel: threading.Event,
    ) -> None:
        from tqdm.auto import tqdm

        self.api = api
        self.ledger = ledger
        self.run_id = run_id
        self.chunk_size = chunk_size
        self.concurrency = concurrency
        self.verify = verify
        self.snapshot = snapshot
        self.precheck = precheck
        self.total = total
        self.cancel = cancel
        self.done = 0
        self.on_progress = progress if callable(progress) else None
        show_bar = bool(progress) and self.on_progress is None
        self.bar = tqdm(total=total, desc="deleting", unit="task", disable=not show_bar)
        self.next_chunk = 0
        #: id -> a call of this run that may have deleted it (2xx, ambiguous, in flight).
        self.maybe_done: dict[str, int] = {}
        self.deleted_now: list[str] = []
        self.accepted: list[list[str]] = []  # the ids of each call answered 2xx (verification)
        self.retry: list[str] = []  # refused without effect: send again
        self.unsure: list[str] = []  # ambiguous: check the server first
        self.missing: list[str] = []  # refused as "does not exist" in bulk: check, then resend
        #: refused for good, but an earlier call of this run may have deleted them: check first
        self.doubtful: list[tuple[list[str], dict[str, Any]]] = []
        self.last_error: dict[str, dict[str, Any]] = {}
        #: The error that stopped the run (401, credential-level 403): nothing more is sent.
        self.fatal: WorkspaceError | None = None
        #: A write of this run succeeded: the credentials may delete, a 403 is about ids.
        self.proven = False
        self.denials = 0  # 403s while not proven
        self.reads_proven = False  # a snapshot read was answered (denials are then per-id)
        self.held: list[tuple[list[str], WorkspaceError]] = []  # 1-id denials, not proven yet
        self.halted = False  # the snapshots failed mid-pipeline: nothing new is sent

    @property
    def stopping(self) -> bool:
        """Cancelled, or stopped by an error: no new call goes out."""
        return self.fatal is not None or self.cancel.is_set() or self.halted

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise CallCancelled()

    def settle(self, ids: Sequence[str], outcome: Outcome, **error: Any) -> None:
        if not ids:
            return
        self.ledger.set_outcomes(self.run_id, ids, outcome, **error)
        if outcome != "pending":
            self.advance(len(ids))

    def advance(self, settled: int) -> None:
        """Count ``settled`` more ids done: move the bar, call the progress callable."""
        self.bar.update(settled)
        self.done = min(self.done + settled, self.total)
        self.report_progress()

    def report_progress(self) -> None:
        if self.on_progress is None:
            return
        try:
            self.on_progress(self.done, self.total)
        except Exception:  # a broken progress display must not stop a deletion half-way
            _log.warning("progress callback failed; no further progress is reported", exc_info=True)
            self.on_progress = None

    def settle_gone(self, ids: Iterable[str], why: str, **error: Any) -> None:
        """Ids found absent: ``deleted`` when a call of this run that may have taken effect
        named them (the ``gone`` event names those calls: the evidence), else
        ``already_absent`` (with ``error``, the answer that said so, if any)."""
        gone = list(ids)
        if not gone:
            return
        ours = [i for i in gone if i in self.maybe_done]
        others = [i for i in gone if i not in self.maybe_done]
        self.ledger.add_event(
            self.run_id,
            "gone",
            why=why,
            deleted=len(ours),
            already_absent=len(others),
            calls=sorted({self.maybe_done[i] for i in ours}),
            ids=ours[:20],
        )
        self.settle(ours, "deleted")
        self.settle(others, "already_absent", **error)

    def settle_failed(self, ids: Sequence[str], **error: Any) -> None:
        """Ids refused for good: ``failed``, except those an earlier call of this run may have
        deleted (an ambiguous call, a late commit): the server is asked about them at the end
        of the round (absent: ``deleted``)."""
        doubtful = [i for i in ids if i in self.maybe_done]
        if doubtful:
            self.doubtful.append((doubtful, error))
        self.settle([i for i in ids if i not in self.maybe_done], "failed", **error)

    # --- phase 1: what exists -----------------------------------------------------------------

    async def prepare(
        self, ids: list[str], on_ready: Callable[[list[str]], None] | None = None
    ) -> list[str]:
        """Snapshot (or check) ``ids``; settle the absent ones; return those to delete.

        ``on_ready`` (pipelining): called with each part's ids as soon as they are snapshotted
        (first with those that already were), so their deletion starts while the next part is
        read. Parts grow from :data:`FIRST_PART` to :data:`MAX_PART` ids (deletions start within
        seconds, later parts make fewer writes); each is sent in chunks of ``chunk_size``."""
        if not ids:
            return []
        self.check_cancel()
        if not self.snapshot:
            if not self.precheck:
                return list(ids)
            present = await _existing(self.api, ids)
            self.settle_gone((i for i in ids if i not in present), "absent before sending")
            return [i for i in ids if i in present]
        have = self.ledger.snapshots(self.run_id)
        todo = [i for i in ids if have.get(i) is None]
        keep = [i for i in ids if have.get(i) is not None]
        if on_ready is not None and keep:
            on_ready(list(keep))
        for part in _parts(todo, MAX_PART):
            self.check_cancel()
            found = await _gather_limited(part, self._snap, READ_CONCURRENCY)
            denials = [d for d in found if isinstance(d, WorkspaceError) and _denied(d)]
            self.reads_proven = self.reads_proven or any(
                not isinstance(d, Exception) for d in found
            )
            if denials and not self.reads_proven:  # no read allowed at all: the credential's
                raise denials[0]
            snaps = {
                tid: d for tid, d in zip(part, found, strict=True) if not isinstance(d, Exception)
            }
            self.ledger.record_snapshots(self.run_id, snaps)
            self.settle_gone(
                (tid for tid, d in snaps.items() if d is None), "absent when its snapshot was taken"
            )
            ready = []
            for tid, d in zip(part, found, strict=True):
                if isinstance(d, WorkspaceError) and _denied(d):  # a per-id IAM denial
                    fields = _forbidden_fields(d)
                    fields["error_msg"] = f"no snapshot: {fields['error_msg']}"
                    self.settle([tid], "forbidden", **fields)
                elif isinstance(d, WorkspaceError):
                    self.settle(
                        [tid], "skipped", **{**_error_fields(d), "error_msg": f"no snapshot: {d}"}
                    )
                elif d is not None:
                    ready.append(tid)
            keep.extend(ready)
            if on_ready is not None and ready:
                on_ready(ready)
        order = {tid: n for n, tid in enumerate(ids)}
        return sorted(keep, key=order.__getitem__)

    async def _snap(self, task_id: str) -> dict[str, Any] | WorkspaceError | None:
        try:
            return await _lookup(self.api, task_id)
        except (AuthenticationError, ServiceNotEnabledError):
            raise
        except WorkspaceError as error:  # a denial too: ``prepare`` tells per-id from total
            return error

    # --- phase 2: send -------------------------------------------------------------------------

    async def send_all(self, ids: list[str], *, stream: bool = False) -> None:
        """Send ``ids`` in up to :data:`MAX_ROUNDS` rounds. ``stream``: ``ids`` still need their
        snapshots; round 1 sends each part as soon as it is snapshotted (``prepare``)."""
        todo = ids
        for round_no in range(1, MAX_ROUNDS + 1):
            if stream and round_no == 1:
                await self._stream(ids, round_no)
            else:
                if not todo or self.stopping:
                    return
                chunks = _chunks(todo, self.chunk_size)
                gate = asyncio.Semaphore(self.concurrency)
                first, self.next_chunk = self.next_chunk, self.next_chunk + len(chunks)
                await _gather(
                    self._deliver(chunk, first + n, round_no, gate)
                    for n, chunk in enumerate(chunks)
                )
            self._judge_held()
            if self.stopping:  # what is left (ambiguous ones too) stays pending for resume
                return
            # Nothing is in flight now: resolve ambiguous calls by asking the server.
            unsure, self.unsure = self.unsure, []
            missing, self.missing = self.missing, []
            doubtful, self.doubtful = self.doubtful, []
            todo, self.retry = self.retry, []
            refused = [i for ids_, _ in doubtful for i in ids_]
            if unsure or missing or refused:
                present = await _existing(self.api, [*unsure, *missing, *refused])
                gone = [i for i in unsure if i not in present]
                if unsure:
                    self.ledger.add_event(
                        self.run_id, "resolved", checked=len(unsure), gone=len(gone), round=round_no
                    )
                self.settle_gone(gone, "absent after an ambiguous call")
                self.settle_gone(
                    (i for i in missing if i not in present), "refused: the tasks do not exist"
                )
                self.settle_gone((i for i in refused if i not in present), "absent after a refusal")
                for ids_, error in doubtful:
                    self.settle([i for i in ids_ if i in present], "failed", **error)
                todo = [*todo, *(i for i in [*unsure, *missing] if i in present)]
        if todo:
            self._give_up(todo)

    async def _stream(self, ids: list[str], round_no: int) -> None:
        """Round 1 of a pipelined run: snapshot ``ids`` part by part, each part's chunk sent as
        soon as it is ready (the reads and the writes draw on separate budgets). A stop or a
        failed read while snapshotting lets the calls already sent settle (queued ones are not
        sent: they stay ``pending``); cancelling the task cancels them too."""
        gate = asyncio.Semaphore(self.concurrency)
        sends: list[asyncio.Future[None]] = []

        def send(ready: list[str]) -> None:
            for chunk in _chunks(ready, self.chunk_size):
                number, self.next_chunk = self.next_chunk, self.next_chunk + 1
                sends.append(asyncio.ensure_future(self._deliver(chunk, number, round_no, gate)))

        try:
            await self.prepare(ids, on_ready=send)
        except asyncio.CancelledError:  # the task is cancelled: so are its calls (unknown)
            for task in sends:
                task.cancel()
            await asyncio.gather(*sends, return_exceptions=True)
            raise
        except BaseException:  # a cancel, or a read failed (401…): nothing new goes out, but
            self.halted = True  # the calls already sent settle (their ids are not lost)
            await asyncio.gather(*sends, return_exceptions=True)
            raise
        await _gather(sends)

    def _give_up(self, ids: list[str]) -> None:
        """Ids that met only transient failures in every round: still ``pending`` (``resume``
        tries again), with their last error; the run ends ``interrupted``."""
        groups: dict[tuple[tuple[str, Any], ...], list[str]] = {}
        for tid in ids:
            groups.setdefault(tuple(sorted(self.last_error.get(tid, {}).items())), []).append(tid)
        for key, tids in groups.items():
            error = dict(key)
            last = error.get("error_msg") or "no answer"
            error["error_msg"] = (
                f"not deleted after {MAX_ROUNDS} attempts (last: {last}); "
                "resume the run to try again"
            )
            self.ledger.set_outcomes(self.run_id, tids, "pending", **error)
        self.ledger.add_event(self.run_id, "gave_up", ids=len(ids), rounds=MAX_ROUNDS)

    async def _deliver(
        self, ids: list[str], chunk: int, attempt: int, gate: asyncio.Semaphore
    ) -> None:
        refusal = await self._call(ids, chunk, attempt, gate)
        if refusal is not None:
            await self._isolate(ids, chunk, attempt, gate, refusal)

    async def _call(
        self, ids: list[str], chunk: int, attempt: int, gate: asyncio.Semaphore
    ) -> WorkspaceError | None:
        """One batch-delete of ``ids``, written ahead to the ledger; settles what its answer
        settles. Returns a refusal (400/403) for the caller to split, else ``None``."""
        async with gate:
            if self.stopping:  # checked after the gate: queued calls do not go out
                return None
            call_id = self.ledger.call_started(self.run_id, "batch_delete", chunk, attempt, ids)
            try:
                request_id = await self.api.batch_delete(ids)
            except CallCancelled:
                self.ledger.call_finished(
                    call_id,
                    "error",
                    error_code="CANCELLED",
                    error_msg="not sent: the run was cancelled",
                )
                return None
            except asyncio.CancelledError:
                self.maybe_done.update(dict.fromkeys(ids, call_id))
                self.ledger.call_finished(
                    call_id,
                    "unknown",
                    error_code="CANCELLED",
                    error_msg="cancelled while in flight: the outcome is unknown",
                )
                raise
            except WorkspaceError as error:
                failure = error
            else:
                self.proven = True
                self.maybe_done.update(dict.fromkeys(ids, call_id))
                # One transaction: the call's answer and its ids' outcome (every id of the
                # chunk carries the chunk's status and request id: the API has no per-id result).
                self.ledger.call_succeeded(
                    call_id, self.run_id, ids, "deleted", http_status=200, request_id=request_id
                )
                self.advance(len(ids))
                self.deleted_now.extend(ids)
                self.accepted.append(ids)
                return None
        return self._answer(failure, ids, call_id)

    def _answer(
        self, failure: WorkspaceError, ids: list[str], call_id: int
    ) -> WorkspaceError | None:
        """What a failed call means for its ids (see the module docstring)."""
        fields = _error_fields(failure)
        for tid in ids:
            self.last_error[tid] = fields
        if isinstance(failure, AuthenticationError | ServiceNotEnabledError):
            self.ledger.call_finished(call_id, "error", **fields)
            self.fatal = self.fatal or failure
            return None
        if _denied(failure):
            self.ledger.call_finished(call_id, "error", **fields)
            if not self.proven:
                self.denials += 1
                if self.denials >= DENIALS_TO_STOP:
                    self.fatal = self.fatal or failure
                    return None
            return failure
        if isinstance(failure, BadRequestError):
            self.ledger.call_finished(call_id, "error", **fields)
            return failure
        if isinstance(failure, ThrottledError) or (
            isinstance(failure, TransportError) and not failure.sent
        ):
            self.ledger.call_finished(call_id, "error", **fields)
            self.retry.extend(ids)
            return None
        if isinstance(
            failure, OutcomeUnknownError | ServerError | TransportError | UnexpectedResponseError
        ):
            self.ledger.call_finished(call_id, "unknown", **fields)
            self.maybe_done.update(dict.fromkeys(ids, call_id))
            self.unsure.extend(ids)
            return None
        # 404 (wrong endpoint), 413 and the like: final
        self.ledger.call_finished(call_id, "error", **fields)
        self.settle_failed(ids, **fields)
        return None

    async def _isolate(
        self,
        ids: list[str],
        chunk: int,
        attempt: int,
        gate: asyncio.Semaphore,
        refusal: WorkspaceError,
    ) -> None:
        """``ids`` were refused as a whole: find the ones the refusal is about."""
        if self.stopping:
            return
        if len(ids) == 1:
            self._settle_refused(ids, refusal)
            return
        half = len(ids) // 2
        left, right = ids[:half], ids[half:]
        self.ledger.add_event(
            self.run_id,
            "split",
            chunk=chunk,
            size=len(ids),
            left=len(left),
            right=len(right),
            error_code=refusal.error_code,
            error_msg=refusal.error_msg,
        )
        left_r, right_r = await _gather(
            (self._call(left, chunk, attempt, gate), self._call(right, chunk, attempt, gate))
        )
        if left_r is not None and right_r is not None:
            if not _about_ids(left_r) and _same(left_r, right_r):
                # Both halves refused the same way, by an error about no id: splitting further
                # cannot help (it would take 2N-1 calls to fail every id alone).
                self.ledger.add_event(
                    self.run_id,
                    "refused",
                    chunk=chunk,
                    size=len(ids),
                    error_code=left_r.error_code,
                    error_msg=left_r.error_msg,
                )
                self.settle_failed(ids, **_error_fields(left_r))
                return
            if _missing(left_r) and _missing(right_r):
                # Many of these are gone (deleted by someone else, or by a late commit of our
                # own): ask the server about them once, at the end of the round, rather than
                # one call per id; the ones still there go out again.
                self.ledger.add_event(self.run_id, "recheck", chunk=chunk, size=len(ids))
                self.missing.extend(ids)
                return
            if _denied(left_r) and _denied(right_r) and not self.proven and len(left) > 1:
                # Denied everywhere so far: probe one id alone; if that is denied too, the
                # credentials cannot delete at all (DENIALS_TO_STOP), else isolate as usual.
                probe, left = left[:1], left[1:]
                probe_r = await self._call(probe, chunk, attempt, gate)
                if probe_r is not None:
                    self._settle_refused(probe, probe_r)
        await _gather(
            self._isolate(part, chunk, attempt, gate, r)
            for part, r in ((left, left_r), (right, right_r))
            if r is not None
        )

    def _settle_refused(self, ids: list[str], refusal: WorkspaceError) -> None:
        """One id refused alone."""
        if self.stopping:
            return
        fields = _error_fields(refusal)
        if _denied(refusal):
            if self.proven:
                self.settle(ids, "forbidden", **_forbidden_fields(refusal))
            else:  # denied, or every write is: decided at the end of the round
                self.held.append((ids, refusal))
        elif _missing(refusal):
            self.settle_gone(ids, "refused: the task does not exist", **fields)
        else:
            self.settle_failed(ids, **fields)

    def _judge_held(self) -> None:
        """Ids denied alone while no write had succeeded: ``forbidden`` once one has; if none
        has by the end of the round, the credentials are the problem: the run stops."""
        held, self.held = self.held, []
        if not held:
            return
        if self.proven:
            for ids, refusal in held:
                self.settle(ids, "forbidden", **_forbidden_fields(refusal))
        elif self.fatal is None and not self.cancel.is_set():
            self.fatal = held[0][1]

    # --- phase 3: verify -----------------------------------------------------------------------

    async def check_deleted(self) -> None:
        """Confirm the ids the server accepted are gone. ``verify=True`` (``"sample"``): when a
        listing of what is left of the project is cheaper than the sample (two one-item pages
        tell), every id is checked by that listing; else a random sample checked with
        ``get_task`` (:func:`_sample`: one id of every accepted call, at least 59 in all), and
        any id still there escalates to a full check. ``"full"``: every id (the cheaper of per-id
        reads and a listing)."""
        ids = list(dict.fromkeys(self.deleted_now))
        if not self.verify or not ids or self.stopping:
            return
        if self.verify != "full" and await self._listing_beats(verify_sample_size(len(ids))):
            # what is left of the project lists in fewer reads than the sample: check them all
            listed = await list_all(self.api, {}, include_life_cycle=True)
            present = {str(item.get("id")) for item in listed}
            still = [i for i in ids if i in present]
            self._verified_full(ids, still, "a listing of what is left of the project")
            return
        if self.verify != "full":
            sample = _sample(self.accepted, ids)
            found = await _gather_limited(sample, lambda i: _lookup(self.api, i), READ_CONCURRENCY)
            left = [i for i, d in zip(sample, found, strict=True) if d is not None]
            if not left:
                self.ledger.add_event(
                    self.run_id,
                    "verified",
                    mode="sample",
                    checked=len(ids),
                    sampled=len(sample),
                    still_present=0,
                    claim=_claim(len(sample), len(ids), len(self.accepted)),
                )
                return
            self.ledger.add_event(
                self.run_id, "verify_escalated", sampled=len(sample), still_present=len(left)
            )
        present = await _existing(self.api, ids)
        still = [i for i in ids if i in present]
        self._verified_full(ids, still, "per id or by listing")

    async def _listing_beats(self, sample: int) -> bool:
        """Whether listing the whole project now costs fewer reads than ``sample`` ``get_task``
        calls, by the totals of two one-item pages (2 reads; a total decides the method, never
        the answer). After deleting most of a project this is a handful of pages."""
        if sample <= 2:
            return False
        (_, normal), (_, life) = await _gather(
            (
                self.api.list_page(0, {}, limit=1),
                self.api.list_page(0, {"scheduled_type": ScheduledType.LIFE_CYCLE.value}, limit=1),
            )
        )
        hints = (_hint(normal), _hint(life))
        if hints[0] is None or hints[1] is None:
            return False
        pages = sum(max(1, math.ceil(h / LIST_PAGE_MAX)) for h in hints if h is not None)
        return pages < sample

    def _verified_full(self, ids: list[str], still: list[str], how: str) -> None:
        self.ledger.add_event(
            self.run_id,
            "verified",
            mode="full",
            checked=len(ids),
            still_present=len(still),
            claim=f"every one of the {len(ids):,} deleted ids was checked ({how})",
        )
        self.ledger.set_outcomes(
            self.run_id,
            still,
            "failed",
            error_code="VERIFY",
            error_msg="still exists after the server accepted its deletion",
        )


def _parts(ids: Sequence[str], most: int) -> list[list[str]]:
    """``ids`` in parts of :data:`FIRST_PART`, doubling up to ``most`` (the pipeline's steps)."""
    out, size, start = [], min(FIRST_PART, most), 0
    while start < len(ids):
        out.append(list(ids[start : start + size]))
        start += size
        size = min(size * 2, most)
    return out


def _sample(accepted: Sequence[Sequence[str]], ids: Sequence[str]) -> list[str]:
    """The verification sample: one random id of every accepted call (a call that did nothing
    is caught for sure), then random ids up to :func:`~wsnb._eta.verify_sample_size`."""
    rng = random.SystemRandom()
    picked = dict.fromkeys(rng.choice(list(call)) for call in accepted if call)
    rest = [i for i in ids if i not in picked]
    extra = max(0, verify_sample_size(len(ids)) - len(picked))
    picked.update(dict.fromkeys(rng.sample(rest, min(extra, len(rest)))))
    return list(picked)


def _claim(sampled: int, checked: int, calls: int) -> str:
    """What a clean sample shows, in words (the report quotes it)."""
    if sampled >= checked:
        return f"every one of the {checked:,} deleted ids was checked"
    return (
        f"{sampled:,} of {checked:,} deleted ids sampled, none still there: each of the "
        f"{calls:,} accepted call(s) deleted the id sampled from it, and with "
        f"{VERIFY_CONFIDENCE:.0%} confidence fewer than {VERIFY_TOLERANCE:.0%} of the ids remain"
    )


def _check_verify(value: object) -> None:
    if not (value is True or value is False or value in ("sample", "full")):
        raise ValueError(f"verify must be True, False, 'sample' or 'full'; got {value!r}")


def _stats_delta(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    ops = {
        k: after["by_operation"].get(k, 0) - before["by_operation"].get(k, 0)
        for k in after["by_operation"]
    }
    return {
        "calls": after["calls"] - before["calls"],
        "retries": after["retries"] - before["retries"],
        "throttled": after["throttled"] - before["throttled"],
        "by_operation": {k: v for k, v in ops.items() if v},
    }


def _merge_stats(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    ops = dict(old.get("by_operation", {}))
    for k, v in new["by_operation"].items():
        ops[k] = ops.get(k, 0) + v
    return {
        "calls": old.get("calls", 0) + new["calls"],
        "retries": old.get("retries", 0) + new["retries"],
        "throttled": old.get("throttled", 0) + new["throttled"],
        "by_operation": ops,
    }


async def _phases(
    run: _Run, ids: list[str], *, dry_run: bool, ambiguous: Sequence[str] = ()
) -> None:
    if ambiguous:
        present = await _existing(run.api, ambiguous)
        gone = [i for i in ambiguous if i not in present]
        run.ledger.add_event(run.run_id, "resumed", checked=len(ambiguous), gone=len(gone))
        run.settle_gone(gone, "absent when the run resumed")
        ids = [i for i in ids if i not in set(gone)]
    if dry_run:
        todo = await run.prepare(ids)
        chunks = _chunks(todo, run.chunk_size)
        run.ledger.set_chunks(run.run_id, chunks)
        run.settle(todo, "planned")
    elif run.snapshot:  # pipelined: each part is sent as soon as it is snapshotted
        await run.send_all(ids, stream=True)
        await run.check_deleted()
    else:
        await run.send_all(await run.prepare(ids))
        await run.check_deleted()


def _close(run: _Run, before: Mapping[str, Any], failure: BaseException | None) -> RunStatus:
    """Close the run in the ledger: ``done``, ``cancelled`` or ``interrupted``."""
    pending = len(run.ledger.pending(run.run_id))
    status: RunStatus
    if failure is None and not pending:
        status = "done"
    elif run.cancel.is_set() or isinstance(failure, asyncio.CancelledError):
        status = "cancelled"
    else:
        status = "interrupted"
    if status == "cancelled":
        run.ledger.add_event(run.run_id, "cancelled", pending=pending)
    old = run.ledger.run(run.run_id)["stats"]
    stats = _merge_stats(old, _stats_delta(before, run.api.stats()))
    run.ledger.finish_run(run.run_id, status, stats)
    if status != "done":
        _log.warning(
            "deletion run %d %s with %d id(s) pending; resume(client, ledger, %d) finishes it",
            run.run_id,
            status,
            pending,
            run.run_id,
        )
    return status


async def _drive(
    run: _Run, ids: list[str], *, dry_run: bool, ambiguous: Sequence[str] = ()
) -> None:
    """Run the phases and close the run (see the module docstring). Raises what stopped it:
    an exception (the run is ``interrupted``, or ``cancelled`` for ``CancelledError``), or the
    401/403 that stopped the sending; a cancel (the event) returns normally."""
    before = run.api.stats()
    run.report_progress()  # (0, total): the start
    failure: BaseException | None = None
    try:
        with _cancel.scope(run.cancel):
            await _phases(run, ids, dry_run=dry_run, ambiguous=ambiguous)
    except CallCancelled:
        pass  # a call refused to go out after the cancel: the run is cancelled
    except BaseException as exc:  # CancelledError and KeyboardInterrupt too: close, re-raise
        failure = exc
    finally:
        run.bar.close()
    try:
        _close(run, before, failure)
    except sqlite3.Error:
        if failure is None:
            raise
        _log.exception("could not close deletion run %d in the ledger", run.run_id)
    if failure is not None:
        raise failure
    if run.fatal is not None and not run.cancel.is_set():
        raise run.fatal


# --- the ledger argument -------------------------------------------------------------------------


@contextlib.contextmanager
def ledger_errors(path: str) -> Iterator[None]:
    """Re-raise SQLite errors as :class:`LedgerError` naming the ledger file."""
    try:
        yield
    except LedgerError:
        raise
    except sqlite3.Error as error:
        raise LedgerError(f"ledger {path}: {error}") from error


def _open_ledger(ledger: Ledger | str | os.PathLike[str] | None) -> tuple[Ledger, bool]:
    """The ledger to use and whether this call opened it (and must close it)."""
    if isinstance(ledger, Ledger):
        return ledger, False
    path = os.fspath(ledger) if isinstance(ledger, str | os.PathLike) else None
    if ledger is not None and not isinstance(path, str):
        raise TypeError(
            "ledger must be a Ledger, a path (str or os.PathLike) or None, not "
            f"{type(ledger).__name__}"
        )
    if path is not None and not path.strip():
        raise ValueError("ledger path is empty: pass a file path, a Ledger, or None (default)")
    with ledger_errors(redact_url(path or default_ledger())):
        return Ledger(path), True


# --- fresh and resumed runs ----------------------------------------------------------------------


async def _delete(
    api: Api,
    tasks: Any,
    *,
    chunk_size: int | None,
    concurrency: int | None,
    dry_run: bool,
    max_deletions: int,
    ledger: Ledger | str | os.PathLike[str] | None,
    verify: bool | str,
    progress: Progress,
    snapshot: bool,
    precheck: bool,
    cancel: threading.Event | None = None,
) -> DeletionReport:
    began = time.monotonic()
    _check_verify(verify)
    size = check_int(
        "chunk_size", DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size, 1, BATCH_DELETE_MAX
    )
    workers = check_int(
        "concurrency", DEFAULT_CONCURRENCY if concurrency is None else concurrency, 1, 64
    )
    selection = _select(tasks)
    _check_max_deletions(max_deletions, len(selection.ids))
    if len(selection.ids) > max_deletions:
        raise DeletionCapError(
            f"refusing to delete {len(selection.ids)} tasks: max_deletions is "
            f"{max_deletions}. Nothing was sent. Pass max_deletions={len(selection.ids)} "
            "if you mean it."
        )
    listed_age = _listing_age(tasks)
    reused = not snapshot and precheck and listed_age is not None and listed_age <= PRECHECK_REUSE
    if reused:  # the frame was listed moments ago: that listing is the existence check
        precheck = False
    book, owned = _open_ledger(ledger)
    try:
        with ledger_errors(book.path):
            plan: list[tuple[str, str | None, str | None, Outcome, str | None]] = [
                (tid, *selection.names.get(tid, (None, None)), "pending", None)
                for tid in selection.ids
            ]
            plan += [(shown, None, None, "invalid", reason) for shown, reason in selection.invalid]
            params: dict[str, Any] = {
                "chunk_size": size,
                "concurrency": workers,
                "max_deletions": max_deletions,
                "verify": verify,
                "snapshot": snapshot,
                "precheck": precheck,
                "selected": len(selection.ids) + len(selection.invalid),
            }
            if who := operator():  # user@host for the report, unless WSNB_REPORT_ANONYMOUS
                params["operator"] = who
            eta = run_eta(
                api,
                len(selection.ids),
                dry_run=dry_run,
                snapshot=snapshot,
                verify=verify,
                chunk_size=size,
                precheck=precheck,
                project_tasks=_project_tasks(tasks),
                elapsed=time.monotonic() - began,
            )
            params["eta"] = eta
            _log.info("deletion %s: %s", "dry run" if dry_run else "run", eta["text"])
            run_id = book.create_run(
                endpoint=api.endpoint,
                project_id=api.project_id,
                params=params,
                dry_run=dry_run,
                plan=plan,
            )
            if reused:
                book.add_event(run_id, "precheck_reused", listing_age_s=round(listed_age or 0, 1))
            run = _Run(
                api,
                book,
                run_id,
                chunk_size=size,
                concurrency=workers,
                verify=verify,
                snapshot=snapshot,
                precheck=precheck,
                progress=progress,
                total=len(selection.ids),
                cancel=cancel if cancel is not None else threading.Event(),
            )
            with book.lease(run_id):  # taken by create_run; renewed while it runs
                listed = _listed_at(tasks)  # a plan's time: the frame's listing, else now
                await _drive(run, selection.ids, dry_run=dry_run)
                if dry_run:
                    _record_plan(book, run_id, tasks, listed, snapshot)
            return DeletionReport.from_ledger(book, run_id)
    finally:
        if owned:
            book.close()


def run_eta(
    api: Api,
    n: int,
    *,
    dry_run: bool,
    snapshot: bool,
    verify: bool | str,
    chunk_size: int,
    precheck: bool = True,
    listing_pages: int = 0,
    project_tasks: int | None = None,
    elapsed: float = 0.0,
) -> dict[str, Any]:
    """The run's estimate before it starts (:func:`wsnb._eta.estimate` with the client's rate
    limit), as ``{"seconds", "text", "verify_reads"}``; a dry run also says what executing its
    plan would take (``execute_seconds``, ``execute_text``: the plan's check, the writes and the
    verification).
    ``elapsed``: the seconds the run has already spent (its selection, a plan's check), part of
    its time too."""
    rate = getattr(api.client, "rate_limit", None)
    stats = getattr(api.client, "stats", None)  # what the client has seen of the server
    seen_reads, seen_writes = Observed.of(stats, "read"), Observed.of(stats, "write")
    pages = listing_pages
    if not snapshot and precheck and n > 2:  # the existence check: the cheaper of the two
        pages = min(n, max(1, math.ceil(n / LIST_PAGE_MAX)) + 1)
    project = None if project_tasks is None else math.ceil(project_tasks / LIST_PAGE_MAX) + 1
    check = estimate(
        n,
        listing_pages=pages,
        project_pages=project,
        snapshot=snapshot,
        verify=False if dry_run else verify,
        chunk_size=chunk_size,
        rate_limit=rate,
        observed_reads=seen_reads,
        observed_writes=seen_writes,
    )
    if not dry_run:  # (the verification's reads too: the text names only the dominant phase)
        seconds = round(elapsed + check.seconds, 1)
        return {"seconds": seconds, "text": check.text, "verify_reads": check.phase("verify").calls}
    reads = elapsed + check.phase("listing").seconds + check.phase("snapshots").seconds
    out: dict[str, Any] = {"seconds": round(reads, 1)}
    out["text"] = f"≈ {format_duration(reads)} of reads ({check.text.split(': ', 1)[-1]})"
    later = estimate(
        n,
        listing_pages=min(n, math.ceil(n / LIST_PAGE_MAX) + 1) if n > 2 else 0,
        snapshot=False,
        verify=verify,
        chunk_size=chunk_size,
        rate_limit=rate,
        observed_reads=seen_reads,
        observed_writes=seen_writes,
    )
    out["execute_seconds"] = round(later.seconds, 1)
    out["execute_text"] = later.text
    return out


def _project_tasks(tasks: Any) -> int | None:
    """How many tasks the project had when a tasks frame listed it whole, else ``None``."""
    attrs = getattr(tasks, "attrs", None)
    found = attrs.get("wsnb_project_tasks") if isinstance(attrs, dict) else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def _listing_age(tasks: Any) -> float | None:
    """Seconds since a tasks frame's listing (``attrs["wsnb_listed_at"]``), else ``None``."""
    attrs = getattr(tasks, "attrs", None)
    stamp = attrs.get("wsnb_listed_at") if isinstance(attrs, dict) else None
    if not isinstance(stamp, str):
        return None
    try:
        return (datetime.now(UTC) - datetime.fromisoformat(stamp)).total_seconds()
    except (ValueError, TypeError):
        return None


def _listed_at(tasks: Any) -> str:
    """When the selection was listed: a tasks frame's ``attrs["wsnb_listed_at"]``, else now."""
    attrs = getattr(tasks, "attrs", None)
    stamp = attrs.get("wsnb_listed_at") if isinstance(attrs, dict) else None
    if isinstance(stamp, str):
        try:
            return datetime.fromisoformat(stamp).astimezone(UTC).isoformat()
        except ValueError:
            pass
    return datetime.now(UTC).isoformat()


def _record_plan(book: Ledger, run_id: int, tasks: Any, listed: str, snapshot: bool) -> None:
    """Keep a dry run as an executable plan: each planned id's listed fields, from the selection
    frame when it has them, else from the snapshots just taken (see ``_execute``)."""
    frame = book.outcomes(run_id)
    planned = [str(t) for t in frame.loc[frame["outcome"] == "planned", "task_id"]]
    prints: dict[str, dict[str, Any]] = {}
    source: Literal["selection", "snapshots", "none"] = "none"
    if isinstance(tasks, pd.DataFrame) and not isinstance(tasks.index, pd.MultiIndex):
        prints = fingerprints(tasks, planned)
        source = "selection" if prints else "none"
    if not prints and snapshot:
        snaps = book.snapshots(run_id)
        prints = detail_fingerprints({t: snaps.get(t) for t in planned})
        source = "snapshots" if prints else "none"
    book.record_plan(
        run_id, listed=listed, source=source, filters=shared_filters(prints), fingerprints=prints
    )


def _maybe_done(ledger: Ledger, run_id: int) -> dict[str, int]:
    """Ids named by a call of the run that may have taken effect (answered 2xx, ambiguous, or
    left in flight by a crash), with the call's id."""
    calls = ledger.calls(run_id)
    return {
        tid: int(call_id)
        for call_id, state, ids in zip(
            calls["call_id"], calls["state"], calls["task_ids"], strict=True
        )
        if state != "error"
        for tid in ids
    }


# --- resume --------------------------------------------------------------------------------------


async def _resume(
    api: Api,
    ledger: Ledger,
    run_id: int,
    progress: Progress,
    cancel: threading.Event | None = None,
) -> DeletionReport:
    """Finish run ``run_id``, holding its lease (RunLeasedError while another process runs it)."""
    with ledger_errors(ledger.path), ledger.lease(run_id):
        return await _resume_held(api, ledger, run_id, progress, cancel)


async def _resume_held(
    api: Api,
    ledger: Ledger,
    run_id: int,
    progress: Progress,
    cancel: threading.Event | None = None,
) -> DeletionReport:
    with ledger_errors(ledger.path):
        info = ledger.run(run_id)
        if (info["endpoint"], info["project_id"]) != (api.endpoint, api.project_id):
            raise ValueError(
                f"run {run_id} was made against {info['endpoint']} (project "
                f"{info['project_id']}); this client talks to {api.endpoint} (project "
                f"{api.project_id})"
            )
        pending = ledger.pending(run_id)
        params = info["params"]
        ledger.reopen_run(run_id)
        run = _Run(
            api,
            ledger,
            run_id,
            chunk_size=params["chunk_size"],
            concurrency=params["concurrency"],
            verify=params["verify"],
            snapshot=params["snapshot"],
            precheck=params.get("precheck", True),
            progress=progress,
            total=len(pending),
            cancel=cancel if cancel is not None else threading.Event(),
        )
        run.maybe_done = _maybe_done(ledger, run_id)
        calls = ledger.calls(run_id)
        run.next_chunk = int(calls["chunk"].max()) + 1 if len(calls) else 0
        ambiguous = [i for i in pending if i in run.maybe_done]
        await _drive(run, pending, dry_run=info["dry_run"], ambiguous=ambiguous)
        return DeletionReport.from_ledger(ledger, run_id)
