"""Tasks and records as pandas DataFrames, and filter helpers that compose with pandas.

Contract: :func:`tasks_to_frame` / :func:`records_to_frame` turn API items into frames with a
fixed schema (:data:`TASK_COLUMNS`, :data:`RECORD_COLUMNS`); :func:`tasks_frame`,
:func:`atasks_frame` and :func:`records_frame` are thin calls that fetch (listing:
:func:`wsnb._listing.list_all`) and convert.

Conversion is vectorized: one column at a time, times parsed with ``pd.to_datetime`` per time
zone group, then localized and converted to UTC; explicit offsets (a ``GMT+08:00`` suffix, RFC
3339 ``Z``/``±hh:mm``) in a second vectorized pass. Whatever is left falls back to
:func:`wsnb._time.parse_api_time` one by one, and so do local times that a DST change skips or
repeats, so the frame and the scalar parser follow one rule for every value (a skipped time is
moved later by the gap, a repeated one is the first; sub-microsecond digits are dropped).

Filter helpers return a boolean mask aligned to the frame's index (``NA`` counts as False), so
they combine with ``&``, ``|`` and ``~`` and select with ``df[mask]``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any, Final

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from wsnb._aio import Api, run_sync
from wsnb._listing import DEFAULT_CONCURRENCY, list_fleet, stream_all
from wsnb._time import parse_api_time, zone
from wsnb.client import AsyncClient, Client
from wsnb.errors import WorkspaceError
from wsnb.fleet import Fleet, FleetError
from wsnb.models import LastStatus, LifeCycleType, ScheduledType, Task, TaskType

__all__ = [
    "FLEET_INDEX",
    "RECORD_COLUMNS",
    "TASK_COLUMNS",
    "atasks_frame",
    "disabled",
    "expired",
    "fleet_frame",
    "last_failed",
    "name_matches",
    "next_run_between",
    "of_type",
    "records_frame",
    "records_to_frame",
    "tasks_frame",
    "tasks_to_frame",
]

#: The index levels of a fleet's tasks frame (:func:`fleet_frame`).
FLEET_INDEX: Final = ("project_id", "task_id")

#: Column -> dtype of :func:`tasks_frame` (index ``task_id``, dtype ``string``).
TASK_COLUMNS: Final[dict[str, str]] = {
    "task_name": "string",
    "task_type": "category",
    "scheduled_type": "category",
    "life_cycle_type": "category",
    "last_status": "category",
    "enable": "boolean",
    "next_execution_time": "datetime64[ns, UTC]",
    "expire_time": "datetime64[ns, UTC]",
    "time_zone": "string",
    "description": "string",
    "priority": "Int64",
    "wait_time": "Int64",
    "life_cycle_exec_period": "Int64",
    "extra_params": "string",
}

#: Column -> dtype of :func:`records_frame` (index ``record_id``, dtype ``string``).
RECORD_COLUMNS: Final[dict[str, str]] = {
    "start_time": "datetime64[ns, UTC]",
    "task_type": "category",
    "scheduled_type": "category",
    "life_cycle_type": "category",
    "status": "category",
    "success_num": "Int64",
    "failed_num": "Int64",
    "skip_num": "Int64",
    "time_zone": "string",
    "execute_task_id": "string",
    "execute_object_type": "string",
    "expire_time": "datetime64[ns, UTC]",
    "extra_params": "string",
}

_CATEGORIES: Final[dict[str, list[str]]] = {
    "task_type": [t.value for t in TaskType],
    "scheduled_type": [t.value for t in ScheduledType],
    "life_cycle_type": [t.value for t in LifeCycleType],
    "last_status": [t.value for t in LastStatus],
    "status": [t.value for t in LastStatus],
}

_API_FORMAT: Final = "%Y-%m-%d %H:%M:%S"


# --- conversion ----------------------------------------------------------------------------------


def _utc_times(values: Sequence[Any], zones: Sequence[Any]) -> pd.Series:
    """API time strings, each local to its row's zone, as ``datetime64[ns, UTC]``."""
    n = len(values)
    out = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    text = pd.Series(values, dtype="object")
    present = text.notna().to_numpy()
    if present.any():
        keys = pd.Series(zones, dtype="object").fillna("").to_numpy()
        groups = pd.Series(np.arange(n))[present].groupby(keys[present]).indices
        positions = np.flatnonzero(present)
        for name, where in groups.items():
            rows = positions[where]
            _fill_zone(out, rows, text.iloc[rows], str(name))
    valid = out != np.iinfo(np.int64).min
    out[valid] -= out[valid] % 1000  # microseconds, like datetime: floor, never round up
    return pd.Series(out.view("datetime64[ns]")).dt.tz_localize("UTC")


_EXPLICIT_OFFSET: Final = r"(?:Z|[+-]\d{2}:?\d{2})$"


def _fill_zone(
    out: np.ndarray[Any, Any], rows: np.ndarray[Any, Any], text: pd.Series, name: str
) -> None:
    try:
        tz: tzinfo = zone(name or None)
    except ValueError:
        warnings.warn(
            f"unknown time_zone {name!r} in {len(rows)} task(s); their times are left empty",
            stacklevel=4,
        )
        return
    parsed = pd.to_datetime(text, format=_API_FORMAT, errors="coerce")
    # times a DST change skips or repeats are left to parse_api_time (one rule for both paths)
    local = pd.DatetimeIndex(parsed).tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    utc = local.tz_convert("UTC").as_unit("ns").asi8
    missing = np.asarray(local.isna())
    out[rows[~missing]] = utc[~missing]
    if not missing.any():
        return
    # Second vectorized pass: an explicit offset (``… GMT+08:00``, RFC 3339 ``Z``/``±hh:mm``).
    rest = text[missing].astype(str).str.strip()
    rows_rest = rows[missing]
    cleaned = rest.str.replace(r"\s*(?:GMT|UTC)\s*(?=[+-]\d{2}:?\d{2}$)", "", regex=True)
    has_offset = cleaned.str.contains(_EXPLICIT_OFFSET, regex=True).to_numpy(dtype=bool, copy=True)
    if has_offset.any():
        aware = pd.to_datetime(cleaned[has_offset], format="ISO8601", utc=True, errors="coerce")
        ok = aware.notna().to_numpy()
        out[rows_rest[has_offset][ok]] = pd.DatetimeIndex(aware[ok]).as_unit("ns").asi8
        has_offset[np.flatnonzero(has_offset)[~ok]] = False
    # Whatever is left (skipped or repeated local times, ``GMT+8``, dates, blanks): one by one.
    for row, value in zip(rows_rest[~has_offset], rest[~has_offset].tolist(), strict=True):
        moment = parse_api_time(value, tz)
        if moment is not None:
            out[row] = pd.Timestamp(moment).tz_convert("UTC").as_unit("ns").value


def _column(name: str, dtype: str, values: list[Any], zones: list[Any]) -> Any:
    if dtype == "category":
        known = _CATEGORIES.get(name, [])
        extra = sorted({v for v in values if v is not None and v not in known})
        return pd.Categorical(values, categories=[*known, *extra])
    if dtype.startswith("datetime64"):
        return _utc_times(values, zones).array
    if dtype == "Int64":
        return pd.array([None if v is None or v == "" else int(v) for v in values], dtype="Int64")
    if dtype == "boolean":
        return pd.array(values, dtype="boolean")
    return pd.array(values, dtype="string")


def _to_frame(
    items: Sequence[Mapping[str, Any]], columns: Mapping[str, str], index: str
) -> pd.DataFrame:
    zones = [item.get("time_zone") for item in items]
    data = {
        name: _column(name, dtype, [item.get(name) for item in items], zones)
        for name, dtype in columns.items()
    }
    ids = pd.Index(pd.array([item.get("id") for item in items], dtype="string"), name=index)
    return pd.DataFrame(data, index=ids)


def tasks_to_frame(tasks: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """List items (``Task`` dicts) as the tasks frame (see :data:`TASK_COLUMNS`)."""
    return _to_frame(tasks, TASK_COLUMNS, "task_id")


def records_to_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Execution records as a frame (see :data:`RECORD_COLUMNS`), index ``record_id``."""
    return _to_frame(records, RECORD_COLUMNS, "record_id")


# --- fetch and convert ---------------------------------------------------------------------------


def _check_sync(client: Any, name: str) -> None:
    if isinstance(client, AsyncClient):
        raise TypeError(f"{name}() needs a sync Client; use a{name}() with an AsyncClient")


#: Tasks converted at once while a listing runs: the pages of the quota's waits (or of the
#: network's) are converted then, and only the last part after the last page.
PART_SIZE: Final = 2000


class _Parts:
    """A sink for :func:`~wsnb._listing.stream_all`: the tasks as frame parts of
    :data:`PART_SIZE`, converted as they arrive (the listing's end then converts one part, not
    the whole frame, and the parsed items do not all wait in memory)."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []
        self.items: list[Task] = []

    def __call__(self, items: list[Task]) -> None:
        self.items.extend(items)
        if len(self.items) >= PART_SIZE:
            self._convert()

    def _convert(self) -> None:
        if self.items or not self.parts:
            self.parts.append(tasks_to_frame(self.items))
            self.items = []

    def frame(self) -> pd.DataFrame:
        """The tasks frame: as :func:`tasks_to_frame` of all the tasks would be."""
        self._convert()
        if len(self.parts) == 1:
            return self.parts[0]
        frame = pd.concat(self.parts)
        for name, dtype in TASK_COLUMNS.items():
            if dtype == "category":  # each part has its own extra categories: their union
                known = _CATEGORIES.get(name, [])
                union = union_categoricals([part[name].array for part in self.parts])
                extra = sorted(set(union.categories) - set(known))
                frame[name] = union.set_categories([*known, *extra])
        return frame


async def _list(
    client: Client | AsyncClient,
    filters: Mapping[str, Any],
    include_life_cycle: bool,
    concurrency: int,
    progress: bool,
) -> pd.DataFrame:
    """The one listing behind :func:`tasks_frame` and :func:`atasks_frame`: the tasks frame."""
    parts = _Parts()
    await stream_all(
        Api(client),
        filters,
        parts,
        include_life_cycle=include_life_cycle,
        concurrency=concurrency,
        progress=progress,
    )
    return parts.frame()


def fleet_frame(
    fleet: Fleet,
    *,
    include_life_cycle: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    **filters: Any,
) -> pd.DataFrame:
    """Every target's tasks in one frame: the task columns plus ``region`` (the target's
    label), indexed by (``project_id``, ``task_id``). The targets are listed at once, each by
    its own client (its own quota). When some projects fail the others are still listed and
    :class:`~wsnb.fleet.FleetError` is raised, naming them, with the frame of the others as
    ``result``."""
    with fleet.clients() as clients:
        apis = {pid: Api(client) for pid, client in clients.items()}
        listed = run_sync(
            list_fleet(
                apis, filters, include_life_cycle=include_life_cycle, concurrency=concurrency
            )
        )
    errors = {pid: r for pid, r in listed.items() if isinstance(r, Exception)}
    for error in errors.values():
        if isinstance(error, TypeError | ValueError) and not isinstance(error, WorkspaceError):
            raise error  # a bad filter or option: the caller's mistake, the same everywhere
    parts: list[pd.DataFrame] = []
    for target in fleet:
        items = listed[target.project_id]
        if isinstance(items, Exception):
            continue
        part = tasks_to_frame(items)
        part["region"] = pd.array([target.label] * len(part), dtype="string")
        part.index = pd.MultiIndex.from_arrays(
            [pd.array([target.project_id] * len(part), dtype="string"), part.index],
            names=FLEET_INDEX,
        )
        parts.append(part)
    if parts:
        frame = pd.concat(parts)
        for name, dtype in TASK_COLUMNS.items():
            if dtype == "category":  # concat of differing categories falls back to object
                frame[name] = frame[name].astype("category")
    else:
        frame = tasks_to_frame([])
        frame["region"] = pd.array([], dtype="string")
        frame.index = pd.MultiIndex.from_arrays(
            [pd.array([], dtype="string"), frame.index], names=FLEET_INDEX
        )
    if errors:
        raise FleetError("listing", errors, frame)
    return frame


def tasks_frame(
    client: Client | Fleet,
    *,
    include_life_cycle: bool = True,
    progress: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    **filters: Any,
) -> pd.DataFrame:
    """All tasks matching the API filters as a DataFrame (index ``task_id``).

    ``filters``: ``task_name`` (substring), ``task_type``, ``scheduled_type``,
    ``life_cycle_type``, ``last_status`` - applied by the server. Without a ``scheduled_type``
    filter and with ``include_life_cycle``, LIFE_CYCLE tasks (which the API hides unless asked)
    are listed too. Times are tz-aware UTC; ``time_zone`` says how to show them.

    With a :class:`~wsnb.fleet.Fleet` instead of a client, every project at once: see
    :func:`fleet_frame` (index (``project_id``, ``task_id``), plus a ``region`` column).
    """
    if isinstance(client, Fleet):
        return fleet_frame(
            client,
            include_life_cycle=include_life_cycle,
            concurrency=concurrency,
            **filters,
        )
    _check_sync(client, "tasks_frame")
    listed = datetime.now(UTC).isoformat()
    frame = run_sync(_list(client, filters, include_life_cycle, concurrency, progress))
    frame.attrs["wsnb_listed_at"] = listed  # a dry run's plan is as old as its listing
    if include_life_cycle and not any(v is not None for v in filters.values()):
        frame.attrs["wsnb_project_tasks"] = len(frame)  # the whole project: sizes estimates
    return frame


async def atasks_frame(
    client: AsyncClient,
    *,
    include_life_cycle: bool = True,
    progress: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    **filters: Any,
) -> pd.DataFrame:
    """The :class:`~wsnb.client.AsyncClient` twin of :func:`tasks_frame`."""
    listed = datetime.now(UTC).isoformat()
    frame = await _list(client, filters, include_life_cycle, concurrency, progress)
    frame.attrs["wsnb_listed_at"] = listed
    if include_life_cycle and not any(v is not None for v in filters.values()):
        frame.attrs["wsnb_project_tasks"] = len(frame)
    return frame


def records_frame(client: Client, task_id: str) -> pd.DataFrame:
    """A task's execution records (every page) as a DataFrame, index ``record_id``."""
    _check_sync(client, "records_frame")
    return records_to_frame(client.list_records(task_id))


# --- filter helpers (boolean masks) --------------------------------------------------------------


def _mask(frame: pd.DataFrame, values: Any) -> pd.Series:
    return pd.Series(values, index=frame.index, dtype="boolean").fillna(False).astype(bool)


def _utc(value: datetime | str | pd.Timestamp | None) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def expired(frame: pd.DataFrame, now: datetime | str | None = None) -> pd.Series:
    """Tasks whose ``expire_time`` has passed (naive ``now`` is UTC; default: the current time)."""
    moment = _utc(now) or pd.Timestamp.now(tz="UTC")
    return _mask(frame, frame["expire_time"] <= moment)


def disabled(frame: pd.DataFrame) -> pd.Series:
    """Tasks with ``enable`` False."""
    return _mask(frame, frame["enable"] == False)  # noqa: E712 - nullable boolean comparison


def last_failed(frame: pd.DataFrame) -> pd.Series:
    """Tasks whose last run failed (``last_status == "FAIL"``)."""
    return _mask(frame, frame["last_status"] == LastStatus.FAIL.value)


def name_matches(
    frame: pd.DataFrame, pattern: str, *, regex: bool = False, case: bool = True
) -> pd.Series:
    """Tasks whose name contains ``pattern`` (a substring, or a regular expression)."""
    if regex:
        re.compile(pattern)  # a clear error for a bad pattern
    return _mask(frame, frame["task_name"].str.contains(pattern, regex=regex, case=case))


def next_run_between(
    frame: pd.DataFrame,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
) -> pd.Series:
    """Tasks whose next run is in ``[start, end)`` (open ends when None; no next run: False)."""
    times = frame["next_execution_time"]
    mask = times.notna()
    low, high = _utc(start), _utc(end)
    if low is not None:
        mask &= times >= low
    if high is not None:
        mask &= times < high
    return _mask(frame, mask)


def of_type(frame: pd.DataFrame, *types: str | StrEnum) -> pd.Series:
    """Tasks of any of the given ``task_type`` values."""
    wanted = [str(t) for t in types]
    unknown = sorted(set(wanted) - set(_CATEGORIES["task_type"]))
    if unknown:
        raise ValueError(f"unknown task_type(s) {unknown}; known: {_CATEGORIES['task_type']}")
    return _mask(frame, frame["task_type"].isin(wanted))
