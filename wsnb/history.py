"""History-aware selection: per-task execution-history columns from the records API.

Contract: :func:`enrich` (and its :class:`~wsnb.client.AsyncClient` twin :func:`aenrich`) returns
a copy of a tasks frame (index ``task_id``) with the columns of :data:`HISTORY_COLUMNS`, computed
from each task's newest ``records`` execution records: one ``list_records`` read per task. It is
opt-in and ETA-aware: before any read it counts the reads it needs (tasks not in the cache), turns
them into an ETA at the client's read quota (:attr:`RateLimit.reads_per_minute`), shows it (log
record on ``wsnb.history``, progress-bar description) and refuses above ``max_reads`` with a
:class:`ValueError` naming the parameter. The reads run concurrently through
:class:`wsnb._aio.Api`; the client's own rate limiter paces them.

Cache: the fetched records live in the ledger database (default :func:`wsnb.ledger.
default_ledger_path`; the local file also when the ledger is PostgreSQL) in a table of their
own, ``history_cache``, keyed by endpoint, project and task, so a later call (another session
too) within ``max_age`` makes no read at all. An entry is reused only when it was fetched with
at least as many records as asked for, or when the task had fewer. Tasks that no longer exist
get empty history and are not cached.

Columns are computed from the fetched records only: ``failure_streak`` and ``runs_30d`` are
capped at ``records`` (a value equal to ``records`` means "at least").
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

import pandas as pd

from wsnb._aio import Api, run_sync
from wsnb._checks import check_int
from wsnb._listing import DEFAULT_CONCURRENCY
from wsnb._sqlite import connect, transaction
from wsnb.client import AsyncClient, Client
from wsnb.errors import WorkspaceError
from wsnb.frames import records_to_frame
from wsnb.ledger import Ledger, default_ledger_path, is_database_url
from wsnb.models import RECORDS_PAGE_MAX, LastStatus

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_MAX_READS",
    "HISTORY_COLUMNS",
    "aenrich",
    "enrich",
    "failed_last",
]

log = logging.getLogger("wsnb.history")

#: Column -> dtype added by :func:`enrich`.
HISTORY_COLUMNS: Final[dict[str, str]] = {
    "last_run": "datetime64[ns, UTC]",
    "last_outcome": "category",
    "recent_outcomes": "string",
    "failure_streak": "Int64",
    "runs_30d": "Int64",
}

#: Most reads one call makes unless ``max_reads`` says otherwise (a guard against an accidental
#: many-minute enrichment, not a limit of the API).
DEFAULT_MAX_READS: Final = 2000
#: How long a cached history counts as fresh.
DEFAULT_MAX_AGE: Final = timedelta(hours=6)

_FAIL: Final = LastStatus.FAIL.value
_WINDOW: Final = timedelta(days=30)

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS history_cache (
    endpoint    TEXT NOT NULL,
    project_id  TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    fetched_at  TEXT NOT NULL,
    limit_asked INTEGER NOT NULL,
    payload_json TEXT NOT NULL,
    PRIMARY KEY (endpoint, project_id, task_id)
)
"""

Cache = Ledger | str | os.PathLike[str] | Literal[False] | None


# --- the cache -----------------------------------------------------------------------------------


class _Store:
    """The ``history_cache`` table on a connection of its own (or a ``:memory:`` ledger's)."""

    def __init__(self, cache: Cache) -> None:
        self._owned = True
        self._lock: Any = threading.Lock()
        if isinstance(cache, Ledger) and cache.path == ":memory:":
            # A private in-memory database is reachable only through the ledger's connection.
            self._con: sqlite3.Connection = cache._con
            self._lock = cache._lock
            self._owned = False
        else:
            raw = cache.path if isinstance(cache, Ledger) else cache
            if isinstance(raw, str) and is_database_url(raw):
                raw = None  # a PostgreSQL ledger: the cache stays in the local SQLite file
            path = default_ledger_path() if raw is None else raw
            text = str(path)
            if text != ":memory:":
                Path(text).expanduser().parent.mkdir(parents=True, exist_ok=True)
                text = str(Path(text).expanduser())
            self._con = connect(text, synchronous="NORMAL")
        with transaction(self._con, self._lock):
            self._con.execute(_SCHEMA)

    def close(self) -> None:
        if self._owned:
            self._con.close()

    def load(
        self,
        endpoint: str,
        project_id: str,
        limit: int,
        fresh_after: datetime,
        wanted: set[str],
    ) -> dict[str, list[dict[str, Any]]]:
        """Fresh entries of ``wanted`` tasks good for ``limit`` records: id -> records."""
        with self._lock:
            rows = self._con.execute(
                "SELECT task_id, limit_asked, payload_json FROM history_cache "
                "WHERE endpoint = ? AND project_id = ? AND fetched_at > ?",
                (endpoint, project_id, _stamp(fresh_after)),
            ).fetchall()
        out: dict[str, list[dict[str, Any]]] = {}
        for task_id, limit_asked, payload in rows:
            if task_id not in wanted:
                continue
            records: list[dict[str, Any]] = json.loads(payload)
            if limit_asked >= limit or len(records) < limit_asked:
                out[task_id] = records[:limit]
        return out

    def save(
        self,
        endpoint: str,
        project_id: str,
        limit: int,
        fetched: Mapping[str, list[dict[str, Any]]],
        now: datetime,
    ) -> None:
        if not fetched:
            return
        stamp = _stamp(now)
        rows = [
            (endpoint, project_id, task_id, stamp, limit, json.dumps(records, ensure_ascii=False))
            for task_id, records in fetched.items()
        ]
        with transaction(self._con, self._lock):
            self._con.executemany(
                "INSERT INTO history_cache VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (endpoint, project_id, task_id) DO UPDATE SET "
                "fetched_at = excluded.fetched_at, limit_asked = excluded.limit_asked, "
                "payload_json = excluded.payload_json",
                rows,
            )


def _stamp(moment: datetime) -> str:
    """UTC ISO text of fixed width, so SQLite compares stamps as text in time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@contextmanager
def _store(cache: Cache) -> Iterator[_Store | None]:
    if cache is False:
        yield None
        return
    store = _Store(cache)
    try:
        yield store
    finally:
        store.close()


# --- ETA -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    reads: int
    cached: int
    reads_per_minute: float | None

    @property
    def eta_seconds(self) -> float:
        if not self.reads or self.reads_per_minute is None:
            return 0.0
        return self.reads * 60.0 / self.reads_per_minute

    def text(self) -> str:
        quota = (
            "no client rate limit"
            if self.reads_per_minute is None
            else f"{self.reads_per_minute:g} reads/min"
        )
        return (
            f"history: {self.reads} list_records read(s), {self.cached} cached, "
            f"ETA ~{_duration(self.eta_seconds)} at {quota}"
        )


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


# --- the columns ---------------------------------------------------------------------------------


def _history(records: Sequence[Mapping[str, Any]], now: datetime) -> dict[str, Any]:
    """The history columns of one task from its records (newest first)."""
    if not records:
        return {
            "last_run": pd.NaT,
            "last_outcome": None,
            "recent_outcomes": "",
            "failure_streak": 0,
            "runs_30d": 0,
        }
    frame = records_to_frame(records)
    starts = frame["start_time"]
    outcomes = [str(s) if s is not None else "" for s in (r.get("status") for r in records)]
    streak = 0
    for outcome in outcomes:
        if outcome != _FAIL:
            break
        streak += 1
    window = pd.Timestamp(now - _WINDOW)
    return {
        "last_run": starts.max(),
        "last_outcome": outcomes[0] or None,
        "recent_outcomes": ",".join(outcomes),
        "failure_streak": streak,
        "runs_30d": int((starts >= window).sum()),
    }


def _utc(values: list[Any]) -> Any:
    """Timestamps (UTC) and ``NaT`` as a ``datetime64[ns, UTC]`` array."""
    index = pd.DatetimeIndex(values)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return index.as_unit("ns").array


def _columns(
    index: pd.Index, histories: Mapping[str, Sequence[Mapping[str, Any]]], now: datetime
) -> pd.DataFrame:
    rows = [_history(histories.get(str(task_id), ()), now) for task_id in index]
    known = [o.value for o in LastStatus]
    seen = [r["last_outcome"] for r in rows]
    extra = sorted({o for o in seen if o is not None and o not in known})
    data = {
        "last_run": _utc([r["last_run"] for r in rows]),
        "last_outcome": pd.Categorical(seen, categories=[*known, *extra]),
        "recent_outcomes": pd.array([r["recent_outcomes"] for r in rows], dtype="string"),
        "failure_streak": pd.array([r["failure_streak"] for r in rows], dtype="Int64"),
        "runs_30d": pd.array([r["runs_30d"] for r in rows], dtype="Int64"),
    }
    return pd.DataFrame(data, index=index)


# --- fetching ------------------------------------------------------------------------------------


def _progress(enabled: bool, total: int, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="task", disable=not enabled, leave=False)


async def _fetch(
    api: Api, task_ids: Sequence[str], limit: int, concurrency: int, bar: Any
) -> tuple[dict[str, list[dict[str, Any]]], set[str]]:
    """Records of each task (one read each); the second set holds tasks that no longer exist."""
    gate = asyncio.Semaphore(concurrency)
    fetched: dict[str, list[dict[str, Any]]] = {}
    missing: set[str] = set()

    async def one(task_id: str) -> None:
        async with gate:
            try:
                records = await api.list_records(task_id, 0, limit)
            except WorkspaceError as exc:
                if not exc.task_missing:
                    raise
                missing.add(task_id)
            else:
                fetched[task_id] = [dict(r) for r in records]
            bar.update(1)

    tasks = [asyncio.ensure_future(one(t)) for t in task_ids]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return fetched, missing


def _task_ids(frame: pd.DataFrame) -> list[str]:
    if frame.index.has_duplicates:
        raise ValueError("frame has duplicate task ids in its index")
    return [str(t) for t in frame.index]


def _seconds(max_age: timedelta | float) -> timedelta:
    age = max_age if isinstance(max_age, timedelta) else timedelta(seconds=float(max_age))
    if age < timedelta(0):
        raise ValueError(f"max_age must be >= 0, got {max_age!r}")
    return age


async def _enrich(
    client: Client | AsyncClient,
    frame: pd.DataFrame,
    records: int,
    cache: Cache,
    max_age: timedelta | float,
    max_reads: int,
    concurrency: int,
    progress: bool,
) -> pd.DataFrame:
    check_int("records", records, 1, RECORDS_PAGE_MAX)
    check_int("max_reads", max_reads, 0)
    check_int("concurrency", concurrency, 1)
    age = _seconds(max_age)
    api = Api(client)
    task_ids = _task_ids(frame)
    now = datetime.now(UTC)
    wanted = set(task_ids)
    with _store(cache) as store:
        cached = (
            {}
            if store is None or age == timedelta(0)
            else store.load(api.endpoint, api.project_id, records, now - age, wanted)
        )
        todo = [t for t in task_ids if t not in cached]
        rate = client.rate_limit
        plan = _Plan(len(todo), len(cached), None if rate is None else rate.reads_per_minute)
        if plan.reads > max_reads:
            raise ValueError(
                f"{plan.text()}: more than max_reads={max_reads}; "
                f"pass max_reads={plan.reads} (or more) to go ahead"
            )
        log.info("%s", plan.text())
        fetched: dict[str, list[dict[str, Any]]] = {}
        if todo:
            with _progress(progress, len(todo), plan.text()) as bar:
                fetched, _missing = await _fetch(api, todo, records, concurrency, bar)
            if store is not None:
                store.save(api.endpoint, api.project_id, records, fetched, now)
    out = frame.copy()
    columns = _columns(frame.index, {**cached, **fetched}, now)
    for name in HISTORY_COLUMNS:
        out[name] = columns[name]
    out.attrs["history"] = {
        "records": records,
        "reads": plan.reads,
        "cached": plan.cached,
        "eta_seconds": plan.eta_seconds,
        "eta": plan.text(),
    }
    return out


def enrich(
    frame: pd.DataFrame,
    client: Client,
    records: int = 5,
    *,
    cache: Cache = None,
    max_age: timedelta | float = DEFAULT_MAX_AGE,
    max_reads: int = DEFAULT_MAX_READS,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: bool = True,
) -> pd.DataFrame:
    """``frame`` (index ``task_id``) plus the execution-history columns of :data:`HISTORY_COLUMNS`.

    ``last_run`` (UTC), ``last_outcome``, ``recent_outcomes`` (the newest ``records`` outcomes,
    newest first, comma-separated: ``"FAIL,FAIL,SUCCESS"``; ``""`` when it never ran),
    ``failure_streak`` (failed runs in a row from the newest) and ``runs_30d`` (runs in the last
    30 days), both among the newest ``records`` runs.

    One ``list_records`` read per task not cached (``cache``: the ledger database by default, a
    path, a :class:`~wsnb.ledger.Ledger`, or ``False`` for none) within ``max_age`` (a
    ``timedelta`` or seconds; ``0`` refreshes everything). Refuses with ``ValueError`` when more
    than ``max_reads`` reads are needed; the message carries the ETA at the client's read quota.
    ``result.attrs["history"]`` says how many reads were made and the ETA shown.
    """
    if isinstance(client, AsyncClient):
        raise TypeError("enrich() needs a sync Client; use aenrich() with an AsyncClient")
    return run_sync(
        _enrich(client, frame, records, cache, max_age, max_reads, concurrency, progress)
    )


async def aenrich(
    frame: pd.DataFrame,
    client: AsyncClient,
    records: int = 5,
    *,
    cache: Cache = None,
    max_age: timedelta | float = DEFAULT_MAX_AGE,
    max_reads: int = DEFAULT_MAX_READS,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: bool = True,
) -> pd.DataFrame:
    """The :class:`~wsnb.client.AsyncClient` twin of :func:`enrich`."""
    return await _enrich(client, frame, records, cache, max_age, max_reads, concurrency, progress)


# --- filters -------------------------------------------------------------------------------------


def failed_last(frame: pd.DataFrame, n: int = 1) -> pd.Series:
    """Boolean mask: the task failed each of its last ``n`` runs (needs :func:`enrich` columns).

    ``n`` may not exceed the ``records`` the frame was enriched with (the streak is only known
    that far).
    """
    check_int("n", n, 1)
    if "failure_streak" not in frame.columns:
        raise ValueError(
            "frame has no failure_streak column; call wsnb.enrich(frame, client) first"
        )
    known = frame.attrs.get("history", {}).get("records")
    if known is not None and n > known:
        raise ValueError(f"n={n} exceeds the {known} records fetched; enrich with records >= {n}")
    mask: pd.Series = (frame["failure_streak"] >= n).fillna(False).astype(bool)
    return mask
