"""One deletion run, fresh or resumed: the ``_Run`` state machine and the phases that drive it.

Contract: every id of the run's plan ends with exactly one outcome in the ledger; no id outside
the plan is ever sent. ``_delete`` validates the options, plans (:mod:`wsnb.deletion._plan`),
creates the run in the ledger and drives it; ``_resume`` re-opens an interrupted run. Both hold
the run's lease (:meth:`wsnb.ledger.Ledger.lease`) while they drive it. ``_drive``
runs the phases (snapshot or existence check, send, verify) and marks the run ``done``, or
``interrupted`` (resumable) on any exception. Every write call is written ahead to the ledger
before it goes out; an ambiguous outcome is resolved by asking the server (``_existing``) while
nothing of the run is in flight, never by guessing. Ids go out in at most :data:`MAX_ROUNDS`
rounds (within a round, a chunk refused with 400 is bisected and its halves sent again).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from wsnb._aio import Api
from wsnb._checks import check_int
from wsnb._listing import list_all
from wsnb.deletion._plan import (
    DEFAULT_CHUNK_SIZE,
    DeletionCapError,
    _check_max_deletions,
    _chunks,
    _select,
)
from wsnb.errors import (
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    OutcomeUnknownError,
    ServerError,
    ThrottledError,
    TransportError,
    WorkspaceError,
)
from wsnb.ledger import Ledger, Outcome
from wsnb.models import BATCH_DELETE_MAX, LIST_PAGE_MAX, ScheduledType
from wsnb.report import DeletionReport, operator

__all__ = ["DEFAULT_CONCURRENCY", "MAX_ROUNDS", "READ_CONCURRENCY", "Progress"]

#: Batch-delete calls in flight at once (the client's write limiter sets the pace).
DEFAULT_CONCURRENCY: Final = 4
#: ``get_task`` calls in flight at once for snapshots and existence checks.
READ_CONCURRENCY: Final = 8
#: Times an id is sent at most (ambiguous or throttled calls are re-sent after a check).
MAX_ROUNDS: Final = 4


#: A progress sink: ``True``/``False`` for a tqdm bar (on/off), or a callable
#: ``(done, total) -> None`` called as ids settle (e.g. to drive a widget's bar).
Progress = bool | Callable[[int, int], None]


_log = logging.getLogger(__name__)


# --- existence checks ----------------------------------------------------------------------------


def _missing(error: WorkspaceError) -> bool:
    return isinstance(error, NotFoundError) or (
        isinstance(error, BadRequestError) and error.task_missing
    )


async def _gather_limited(
    items: Sequence[str], fn: Callable[[str], Awaitable[Any]], limit: int
) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(item: str) -> Any:
        async with gate:
            return await fn(item)

    return list(await asyncio.gather(*(one(i) for i in items)))


async def _lookup(api: Api, task_id: str) -> dict[str, Any] | None:
    """A task's definition, or ``None`` when the server says it does not exist."""
    try:
        return dict(await api.get_task(task_id))
    except WorkspaceError as error:
        if _missing(error):
            return None
        raise


async def _existing(api: Api, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` exist now: per-id ``get_task`` or a full listing, whichever is cheaper.

    ``total_count`` only estimates the listing's cost (it may count hidden LIFE_CYCLE tasks, be
    off or absent; without it, per-id lookups, whose cost is known); an empty project is known
    from two empty pages, never from a total of 0. Must only be called while none of this run's
    writes is in flight (listing by offset while deleting would skip tasks).
    """
    if not ids:
        return set()
    if len(ids) > 2:
        normal, life = await asyncio.gather(
            api.list_page(0, {}, limit=1),
            api.list_page(0, {"scheduled_type": ScheduledType.LIFE_CYCLE.value}, limit=1),
        )
        if not normal[0] and not life[0]:  # both listings end at once: the project is empty
            return set()
        hints = (normal[1], life[1])
        pages = sum(h // LIST_PAGE_MAX + 1 for h in hints if h is not None)
        if None not in hints and pages < len(ids):
            listed = await list_all(api, {}, include_life_cycle=True)
            present = {str(item.get("id")) for item in listed}
            return {i for i in ids if i in present}
    found = await _gather_limited(ids, lambda i: _lookup(api, i), READ_CONCURRENCY)
    return {i for i, d in zip(ids, found, strict=True) if d is not None}


# --- one run -------------------------------------------------------------------------------------


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
        verify: bool,
        snapshot: bool,
        precheck: bool,
        progress: Progress,
        total: int,
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
        self.done = 0
        self.on_progress = progress if callable(progress) else None
        show_bar = bool(progress) and self.on_progress is None
        self.bar = tqdm(total=total, desc="deleting", unit="task", disable=not show_bar)
        self.next_chunk = 0
        self.sent: set[str] = set()
        self.deleted_now: list[str] = []
        self.retry: list[str] = []  # refused without effect: send again
        self.unsure: list[str] = []  # ambiguous: check the server first
        self.last_error: dict[str, dict[str, Any]] = {}
        self.fatal: WorkspaceError | None = None

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

    def settle_gone(self, ids: Iterable[str]) -> None:
        """Ids found absent: ``deleted`` if this run ever sent them, else ``already_absent``."""
        gone = list(ids)
        self.settle([i for i in gone if i in self.sent], "deleted")
        self.settle([i for i in gone if i not in self.sent], "already_absent")

    # --- phase 1: what exists -----------------------------------------------------------------

    async def prepare(self, ids: list[str]) -> list[str]:
        """Snapshot (or check) ``ids``; settle the absent ones; return those to delete."""
        if not ids:
            return []
        if not self.snapshot:
            if not self.precheck:
                return list(ids)
            present = await _existing(self.api, ids)
            self.settle_gone(i for i in ids if i not in present)
            return [i for i in ids if i in present]
        have = self.ledger.snapshots(self.run_id)
        todo = [i for i in ids if have.get(i) is None]
        keep = [i for i in ids if have.get(i) is not None]
        for part in _chunks(todo, 200):
            found = await _gather_limited(part, self._snap, READ_CONCURRENCY)
            snaps = {
                tid: d for tid, d in zip(part, found, strict=True) if not isinstance(d, Exception)
            }
            self.ledger.record_snapshots(self.run_id, snaps)
            self.settle_gone(tid for tid, d in snaps.items() if d is None)
            for tid, d in zip(part, found, strict=True):
                if isinstance(d, WorkspaceError):
                    self.settle(
                        [tid], "skipped", **{**_error_fields(d), "error_msg": f"no snapshot: {d}"}
                    )
                elif d is not None:
                    keep.append(tid)
        order = {tid: n for n, tid in enumerate(ids)}
        return sorted(keep, key=order.__getitem__)

    async def _snap(self, task_id: str) -> dict[str, Any] | WorkspaceError | None:
        try:
            return await _lookup(self.api, task_id)
        except (AuthenticationError, ForbiddenError):
            raise
        except WorkspaceError as error:
            return error

    # --- phase 2: send -------------------------------------------------------------------------

    async def send_all(self, ids: list[str]) -> None:
        todo = ids
        for round_no in range(1, MAX_ROUNDS + 1):
            if not todo or self.fatal is not None:
                break
            chunks = _chunks(todo, self.chunk_size)
            gate = asyncio.Semaphore(self.concurrency)
            jobs = [
                self._send(chunk, self.next_chunk + n, round_no, gate)
                for n, chunk in enumerate(chunks)
            ]
            self.next_chunk += len(chunks)
            await asyncio.gather(*jobs)
            # Nothing is in flight now: resolve ambiguous calls by asking the server.
            unsure, self.unsure = self.unsure, []
            todo, self.retry = self.retry, []
            if unsure:
                present = await _existing(self.api, unsure)
                gone = [i for i in unsure if i not in present]
                self.ledger.add_event(
                    self.run_id, "resolved", checked=len(unsure), gone=len(gone), round=round_no
                )
                self.settle(gone, "deleted")
                self.deleted_now.extend(gone)
                todo = [*todo, *(i for i in unsure if i in present)]
        if todo:
            for tid in todo:
                error = self.last_error.get(tid, {})
                self.settle(
                    [tid],
                    "failed",
                    **{
                        **error,
                        "error_msg": f"not deleted after {MAX_ROUNDS} attempts: "
                        f"{error.get('error_msg', 'unknown error')}",
                    },
                )

    async def _send(
        self, ids: list[str], chunk: int, attempt: int, gate: asyncio.Semaphore
    ) -> None:
        if self.fatal is not None:
            return
        async with gate:
            call_id = self.ledger.call_started(self.run_id, "batch_delete", chunk, attempt, ids)
            self.sent.update(ids)
            try:
                request_id = await self.api.batch_delete(ids)
            except WorkspaceError as error:
                failure = error
            else:
                # One transaction: the call's answer and its ids' outcome (every id of the
                # chunk carries the chunk's status and request id: the API has no per-id result).
                self.ledger.call_succeeded(
                    call_id, self.run_id, ids, "deleted", http_status=200, request_id=request_id
                )
                self.advance(len(ids))
                self.deleted_now.extend(ids)
                return
        fields = _error_fields(failure)
        for tid in ids:
            self.last_error[tid] = fields
        if isinstance(failure, BadRequestError):
            self.ledger.call_finished(call_id, "error", **fields)
            await self._bisect(ids, chunk, attempt, gate, failure)
        elif isinstance(failure, AuthenticationError | ForbiddenError):
            self.ledger.call_finished(call_id, "error", **fields)
            self.fatal = failure
            self.settle(ids, "failed", **fields)
        elif isinstance(failure, ThrottledError) or (
            isinstance(failure, TransportError) and not failure.sent
        ):
            self.ledger.call_finished(call_id, "error", **fields)
            self.retry.extend(ids)
        elif isinstance(failure, OutcomeUnknownError | ServerError | TransportError):
            self.ledger.call_finished(call_id, "unknown", **fields)
            self.unsure.extend(ids)
        else:  # 404 (wrong endpoint), 413 and the like: final
            self.ledger.call_finished(call_id, "error", **fields)
            self.settle(ids, "failed", **fields)

    async def _bisect(
        self,
        ids: list[str],
        chunk: int,
        attempt: int,
        gate: asyncio.Semaphore,
        error: BadRequestError,
    ) -> None:
        fields = _error_fields(error)
        if len(ids) == 1:
            if error.task_missing:
                self.settle(ids, "already_absent", **fields)
            else:
                self.settle(ids, "failed", **fields)
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
            error_code=error.error_code,
            error_msg=error.error_msg,
        )
        await asyncio.gather(
            self._send(left, chunk, attempt, gate), self._send(right, chunk, attempt, gate)
        )

    # --- phase 3: verify -----------------------------------------------------------------------

    async def check_deleted(self) -> None:
        ids = list(dict.fromkeys(self.deleted_now))
        if not self.verify or not ids:
            return
        present = await _existing(self.api, ids)
        still = [i for i in ids if i in present]
        self.ledger.add_event(self.run_id, "verified", checked=len(ids), still_present=len(still))
        self.ledger.set_outcomes(
            self.run_id,
            still,
            "failed",
            error_code="VERIFY",
            error_msg="still exists after the server accepted its deletion",
        )

    def stop_rest(self) -> None:
        if self.fatal is None:
            return
        rest = self.ledger.pending(self.run_id)
        self.settle(rest, "skipped", error_msg=f"not sent: the run stopped after {self.fatal}")


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


async def _drive(
    run: _Run, ids: list[str], *, dry_run: bool, ambiguous: Sequence[str] = ()
) -> None:
    """Run the phases; on any exception mark the run ``interrupted`` (resumable)."""
    before = run.api.stats()
    status = "interrupted"
    run.report_progress()  # (0, total): the start
    try:
        if ambiguous:
            present = await _existing(run.api, ambiguous)
            gone = [i for i in ambiguous if i not in present]
            run.ledger.add_event(run.run_id, "resumed", checked=len(ambiguous), gone=len(gone))
            run.settle_gone(gone)
            ids = [i for i in ids if i not in set(gone)]
        todo = await run.prepare(ids)
        if dry_run:
            chunks = _chunks(todo, run.chunk_size)
            run.ledger.set_chunks(run.run_id, chunks)
            run.settle(todo, "planned")
        else:
            await run.send_all(todo)
            run.stop_rest()
            await run.check_deleted()
        status = "done"
    finally:
        run.bar.close()
        old = run.ledger.run(run.run_id)["stats"]
        stats = _merge_stats(old, _stats_delta(before, run.api.stats()))
        run.ledger.finish_run(run.run_id, status, stats)  # type: ignore[arg-type]


def _open_ledger(ledger: Ledger | str | os.PathLike[str] | None) -> tuple[Ledger, bool]:
    if isinstance(ledger, Ledger):
        return ledger, False
    return Ledger(ledger), True


async def _delete(
    api: Api,
    tasks: Any,
    *,
    chunk_size: int | None,
    concurrency: int | None,
    dry_run: bool,
    max_deletions: int,
    ledger: Ledger | str | os.PathLike[str] | None,
    verify: bool,
    progress: Progress,
    snapshot: bool,
    precheck: bool,
) -> DeletionReport:
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
    book, owned = _open_ledger(ledger)
    try:
        plan: list[tuple[str, str | None, str | None, Outcome, str | None]] = [
            (tid, *selection.names.get(tid, (None, None)), "pending", None) for tid in selection.ids
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
        if who := operator():  # user@host for the report, unless WSNB_REPORT_ANONYMOUS is set
            params["operator"] = who
        run_id = book.create_run(
            endpoint=api.endpoint,
            project_id=api.project_id,
            params=params,
            dry_run=dry_run,
            plan=plan,
        )
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
        )
        with book.lease(run_id):  # taken by create_run; renewed while it runs, then released
            await _drive(run, selection.ids, dry_run=dry_run)
        return DeletionReport.from_ledger(book, run_id)
    finally:
        if owned:
            book.close()


# --- resume --------------------------------------------------------------------------------------


async def _resume(api: Api, ledger: Ledger, run_id: int, progress: Progress) -> DeletionReport:
    """Finish run ``run_id``, holding its lease (RunLeasedError while another process runs it)."""
    with ledger.lease(run_id):
        return await _resume_held(api, ledger, run_id, progress)


async def _resume_held(api: Api, ledger: Ledger, run_id: int, progress: Progress) -> DeletionReport:
    info = ledger.run(run_id)
    if (info["endpoint"], info["project_id"]) != (api.endpoint, api.project_id):
        raise ValueError(
            f"run {run_id} was made against {info['endpoint']} (project {info['project_id']}); "
            f"this client talks to {api.endpoint} (project {api.project_id})"
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
    )
    run.sent = ledger.sent_ids(run_id)
    calls = ledger.calls(run_id)
    run.next_chunk = int(calls["chunk"].max()) + 1 if len(calls) else 0
    ambiguous = [i for i in pending if i in run.sent]
    await _drive(run, pending, dry_run=info["dry_run"], ambiguous=ambiguous)
    return DeletionReport.from_ledger(ledger, run_id)
