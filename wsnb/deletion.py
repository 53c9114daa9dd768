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
   is written ahead to the ledger ("in flight") and completed after. A 400 on a chunk is bisected
   until the offending ids are isolated (each split logged); an ambiguous failure
   (:class:`~wsnb.errors.OutcomeUnknownError`: timeout, 502/503/504, dropped connection after
   sending, and a 500) is never guessed: when no write is in flight, the server is asked which
   of those ids still exist; the gone ones are ``deleted``, the others are sent again (at most
   :data:`MAX_ROUNDS` times).
4. **Verify.** With ``verify=True`` every id reported ``deleted`` is confirmed gone.

Outcomes per id: ``deleted``, ``already_absent``, ``invalid``, ``failed``, ``skipped`` (not sent
because the run stopped, or no snapshot could be taken), ``planned`` (dry run). A dry run reads
but makes no write call. Ids not selected are never sent.

The algorithm is written once, as coroutines over :class:`wsnb._aio.Api`; :func:`delete_tasks`
runs it for a sync :class:`~wsnb.client.Client` and :func:`adelete_tasks` for an
:class:`~wsnb.client.AsyncClient`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd

from wsnb._aio import Api, run_sync
from wsnb._listing import list_all
from wsnb.client import AsyncClient, Client
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
from wsnb.models import BATCH_DELETE_MAX, CREATE_FIELDS, ID_MAX_LEN, LIST_PAGE_MAX, ScheduledType
from wsnb.report import DeletionReport

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX",
    "DeletionCapError",
    "Progress",
    "adelete_tasks",
    "aresume",
    "delete_tasks",
    "restore_tasks",
    "resume",
    "selection_ids",
]

#: Most ids one call deletes unless ``max_deletions`` says otherwise (a typo guard, not a limit
#: of the API: pass a larger number on purpose; there is no "no cap").
DEFAULT_MAX: Final = 1000
#: Ids per batch-delete call: the API's maximum. Measured on the emulator, 10k ids took about
#: the same time unthrottled with chunks of 250, 1000, 2500 or 5000 (0.6-1.2 s, noise), while
#: under the ~100 writes/min limit every extra call costs 0.6 s; writes are the scarce resource.
DEFAULT_CHUNK_SIZE: Final = BATCH_DELETE_MAX
#: Batch-delete calls in flight at once (the client's write limiter sets the pace).
DEFAULT_CONCURRENCY: Final = 4
#: ``get_task`` calls in flight at once for snapshots and existence checks.
READ_CONCURRENCY: Final = 8
#: Times an id is sent at most (ambiguous or throttled calls are re-sent after a check).
MAX_ROUNDS: Final = 4


class DeletionCapError(ValueError):
    """The selection holds more ids than ``max_deletions`` allows; nothing was called."""


#: A progress sink: ``True``/``False`` for a tqdm bar (on/off), or a callable
#: ``(done, total) -> None`` called as ids settle (e.g. to drive a widget's bar).
Progress = bool | Callable[[int, int], None]


def _check_max_deletions(value: object, selected: int | None = None) -> int:
    """``value`` as a cap: a non-negative int. ``None`` is refused: every path to deletion
    has a cap, so "no cap" must be written as an explicit number."""
    if value is None:
        example = f"max_deletions={selected}" if selected is not None else "max_deletions=len(ids)"
        raise ValueError(
            "max_deletions=None is not allowed: every deletion is capped. Pass an explicit "
            f"number such as len(selection) ({example}) if you mean to delete them all."
        )
    return _check_int("max_deletions", value, 0)


_log = logging.getLogger(__name__)


# --- the selection -------------------------------------------------------------------------------


@dataclass
class _Selection:
    ids: list[str] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (shown id, reason)
    names: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


def selection_ids(tasks: Any) -> list[Any]:
    """The ids a selection names: a DataFrame's index, a boolean Series' True labels, a
    Series' or Index's values, an object's ``selected_ids``, or any iterable of ids."""
    if hasattr(tasks, "selected_ids") and not isinstance(tasks, pd.DataFrame | pd.Series):
        tasks = tasks.selected_ids
    if isinstance(tasks, pd.DataFrame):
        return tasks.index.tolist()
    if isinstance(tasks, pd.Series):
        if pd.api.types.is_bool_dtype(tasks.dtype):
            return tasks.index[tasks.fillna(False).astype(bool)].tolist()
        return tasks.dropna().tolist()
    if isinstance(tasks, pd.Index):
        return tasks.tolist()
    if isinstance(tasks, str | bytes):
        raise TypeError("tasks must be a collection of ids (e.g. a list), not a single string")
    if not isinstance(tasks, Iterable):
        raise TypeError(
            "tasks must be task ids, a DataFrame (its index), a Series/Index, or an object "
            f"with selected_ids; got {type(tasks).__name__}"
        )
    return list(tasks)


def _select(tasks: Any) -> _Selection:
    out = _Selection()
    frame = tasks if isinstance(tasks, pd.DataFrame) else None
    seen: set[str] = set()
    for raw in selection_ids(tasks):
        if isinstance(raw, str) and 1 <= len(raw) <= ID_MAX_LEN:
            if raw not in seen:
                seen.add(raw)
                out.ids.append(raw)
            continue
        shown = raw if isinstance(raw, str) else repr(raw)
        shown = shown[:ID_MAX_LEN] if shown else "''"
        if shown in seen:
            continue
        seen.add(shown)
        reason = (
            f"task id must be a str of 1 to {ID_MAX_LEN} characters "
            f"(got {type(raw).__name__} of length {len(raw) if isinstance(raw, str) else '-'})"
        )
        out.invalid.append((shown, reason))
    if frame is not None and len(out.ids):
        for column in ("task_name", "task_type"):
            if column not in frame.columns:
                return out
        sub = frame.loc[~frame.index.duplicated(), ["task_name", "task_type"]]
        names, types = (_optional_strs(sub[column]) for column in ("task_name", "task_type"))
        out.names = {
            tid: (name, ttype)
            for tid, name, ttype in zip(sub.index.tolist(), names, types, strict=True)
            if isinstance(tid, str) and tid in seen
        }
    return out


def _optional_strs(column: pd.Series) -> list[str | None]:
    """A column as Python ``str`` values, missing ones (NaN, None, NA) as ``None``."""
    values = column.astype(object).where(column.notna(), None).tolist()
    return [None if v is None else str(v) for v in values]


def _chunks(ids: Sequence[str], size: int) -> list[list[str]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {limit}, got {value}")
    return value


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

    Must only be called while none of this run's writes is in flight (listing by offset while
    deleting would skip tasks).
    """
    if not ids:
        return set()
    if len(ids) > 2:
        normal, life = await asyncio.gather(
            api.list_page(0, {}, limit=1),
            api.list_page(0, {"scheduled_type": ScheduledType.LIFE_CYCLE.value}, limit=1),
        )
        if normal[1] == 0 and life[1] == 0:  # the project is empty
            return set()
        pages = math.ceil(normal[1] / LIST_PAGE_MAX) + math.ceil(life[1] / LIST_PAGE_MAX)
        if pages < len(ids):
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
    size = _check_int(
        "chunk_size", DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size, 1, BATCH_DELETE_MAX
    )
    workers = _check_int(
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
        params = {
            "chunk_size": size,
            "concurrency": workers,
            "max_deletions": max_deletions,
            "verify": verify,
            "snapshot": snapshot,
            "precheck": precheck,
            "selected": len(selection.ids) + len(selection.invalid),
        }
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
        await _drive(run, selection.ids, dry_run=dry_run)
        return DeletionReport.from_ledger(book, run_id)
    finally:
        if owned:
            book.close()


def delete_tasks(
    client: Client,
    tasks: Any,
    *,
    chunk_size: int | None = None,
    concurrency: int | None = None,
    dry_run: bool = False,
    max_deletions: int = DEFAULT_MAX,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    verify: bool = True,
    progress: Progress = True,
    snapshot: bool = True,
    precheck: bool = True,
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
    """
    if isinstance(client, AsyncClient):
        raise TypeError("delete_tasks() needs a sync Client; use adelete_tasks() with AsyncClient")
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
        )
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
    verify: bool = True,
    progress: Progress = True,
    snapshot: bool = True,
    precheck: bool = True,
) -> DeletionReport:
    """The :class:`~wsnb.client.AsyncClient` twin of :func:`delete_tasks`."""
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
    )


# --- resume --------------------------------------------------------------------------------------


async def _resume(api: Api, ledger: Ledger, run_id: int, progress: Progress) -> DeletionReport:
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


def resume(
    client: Client,
    ledger: Ledger | str | os.PathLike[str],
    run_id: int,
    *,
    progress: Progress = True,
) -> DeletionReport:
    """Finish an interrupted run: ids sent before the interruption are checked on the server
    (never re-sent blindly), ids already settled are left alone, the rest are deleted.
    ``progress`` as in :func:`delete_tasks` (``total``: the ids still pending)."""
    book, owned = _open_ledger(ledger)
    try:
        return run_sync(_resume(Api(client), book, run_id, progress))
    finally:
        if owned:
            book.close()


async def aresume(
    client: AsyncClient,
    ledger: Ledger | str | os.PathLike[str],
    run_id: int,
    *,
    progress: Progress = True,
) -> DeletionReport:
    """The :class:`~wsnb.client.AsyncClient` twin of :func:`resume`."""
    book, owned = _open_ledger(ledger)
    try:
        return await _resume(Api(client), book, run_id, progress)
    finally:
        if owned:
            book.close()


# --- restore -------------------------------------------------------------------------------------


def create_body(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A create request from a task's show response: the create fields only, output-only data
    (``id``, ``apply_objects[].object_name``) dropped."""
    body: dict[str, Any] = {}
    for name in CREATE_FIELDS:
        value = definition.get(name)
        if value is None:
            continue
        if name == "apply_objects":
            value = [
                {k: v for k, v in obj.items() if k != "object_name" and v is not None}
                for obj in value
            ]
        body[name] = value
    return body


async def _restore(
    api: Api, ledger: Ledger, run_id: int, ids: Sequence[str] | None
) -> pd.DataFrame:
    ledger.run(run_id)  # KeyError for an unknown run
    outcomes = ledger.outcomes(run_id)
    deleted = [str(t) for t in outcomes.loc[outcomes["outcome"] == "deleted", "task_id"]]
    wanted = deleted if ids is None else list(dict.fromkeys(ids))
    not_deleted = sorted(set(wanted) - set(deleted))
    if not_deleted:
        raise ValueError(
            f"run {run_id} did not delete {len(not_deleted)} of the given ids "
            f"(e.g. {not_deleted[:3]}); only deleted tasks can be restored"
        )
    snaps = ledger.snapshots(run_id)
    done = ledger.restores(run_id)
    for old_id in wanted:
        if old_id in done.index and done.at[old_id, "state"] in ("ok", "unknown"):
            continue  # never create a twin: "unknown" needs a human look
        definition = snaps.get(old_id)
        if definition is None:
            ledger.record_restore(run_id, old_id, "failed", error_msg="no snapshot was taken")
            continue
        ledger.record_restore(run_id, old_id, "in_flight")
        try:
            new_id = await api.create_task(create_body(definition))
        except OutcomeUnknownError as error:
            ledger.record_restore(run_id, old_id, "unknown", error_msg=str(error)[:500])
        except WorkspaceError as error:
            ledger.record_restore(run_id, old_id, "failed", error_msg=str(error)[:500])
        else:
            ledger.record_restore(run_id, old_id, "ok", new_id=new_id)
    frame = ledger.restores(run_id)
    return frame.loc[[i for i in wanted if i in frame.index]]


def restore_tasks(
    client: Client,
    ledger: Ledger | str | os.PathLike[str],
    run_id: int,
    ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Re-create tasks a run deleted (all, or ``ids``) from their snapshots.

    Returns a frame indexed by ``old_id`` with ``new_id``, ``state`` (``ok``, ``failed``,
    ``unknown``) and ``error_msg``; the mapping is kept in the ledger, and a task already
    restored is not created again.
    """
    book, owned = _open_ledger(ledger)
    try:
        return run_sync(_restore(Api(client), book, run_id, ids))
    finally:
        if owned:
            book.close()
