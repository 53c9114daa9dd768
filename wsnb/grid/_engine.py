"""The grid's kernel-side engine: filter, sort, page and format a tasks frame with numpy.

Everything that depends only on the frame (search text, sort keys, wall-clock times in each
task's zone) is computed once, lazily, and cached, so each interaction on 100k rows is a few
vectorised passes. Positions here index the frame; the widget speaks row keys to the outside.

Two optional shapes widen the frame:

* a **fleet frame** (``tasks_frame(fleet)``: a MultiIndex ``("project_id", "task_id")`` and a
  ``region`` column) — each row's key is ``"<project_id>/<task_id>"`` (:func:`row_key`; project
  ids never hold ``/``, they are part of the API's path), so two projects may hold the same task
  id; ``region`` and ``project_id`` are value filters whose values come from the frame;
* **history columns** (``wsnb.enrich``: ``last_run``, ``recent_outcomes``, ``failure_streak``,
  …) — ``recent_outcomes`` is shown (as marks, by the front end), ``last_run`` is a date column,
  and the ``history`` filter selects by failure streak and idle time (:class:`HistoryFilter`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from wsnb.models import LastStatus, ScheduledType, TaskType

IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: Enum columns offered as value filters, with the values the API defines for each.
ENUM_COLUMNS: Final[dict[str, tuple[str | bool, ...]]] = {
    "task_type": tuple(t.value for t in TaskType),
    "scheduled_type": tuple(s.value for s in ScheduledType),
    "last_status": tuple(s.value for s in LastStatus),
    "enable": (True, False),
}
#: Value-filter columns whose values come from the frame itself (fleet frames).
FACET_COLUMNS: Final = ("region", "project_id")
#: Datetime columns offered as date-range filters (compared as wall-clock time in the task's zone).
DATE_COLUMNS: Final = ("next_execution_time", "expire_time", "last_run")
#: The columns ``wsnb.enrich`` adds that the grid needs to show and filter on history.
HISTORY_NEEDS: Final = ("recent_outcomes", "failure_streak", "last_run")
#: The pseudo-column of the history filter (``filters["history"]``).
HISTORY_FILTER: Final = "history"
#: Days without a run that the history filter's "idle" choice starts from.
DEFAULT_IDLE_DAYS: Final = 30
#: Columns the quick search looks into, besides the task id.
SEARCH_COLUMNS: Final = ("task_name", "description")
#: Columns shown in the grid, in order (the task id is always first).
DISPLAY_COLUMNS: Final = (
    "task_name",
    "region",
    "project_id",
    "task_type",
    "scheduled_type",
    "last_status",
    "enable",
    "next_execution_time",
    "expire_time",
    "time_zone",
    "recent_outcomes",
    "last_run",
)
ID_COLUMN: Final = "task_id"
#: The index levels of a fleet frame.
FLEET_LEVELS: Final = ("project_id", "task_id")
#: Separates the project id from the task id in a fleet row's key.
KEY_SEPARATOR: Final = "/"
#: Years a date filter accepts (the browser's date inputs use the same bounds as min/max).
DATE_YEARS: Final = (1900, 2199)
_NAT: Final = np.iinfo(np.int64).min
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _zone_or_utc(name: str) -> tzinfo:
    """The task's zone (blank: the API's default); UTC when the name is not understood.

    Display must not fail over one odd zone string: such rows show UTC, and the UTC tooltip
    makes that visible.
    """
    from wsnb._time import zone

    try:
        return zone(name or None)
    except ValueError:
        return UTC


_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _strip_marks(text: str) -> str:
    """``text`` without accents: compatibility-decomposed, combining diacritics removed."""
    return _MARKS.sub("", unicodedata.normalize("NFKD", text))


def collation_key(text: str) -> str:
    """Sort key for names as people read them: letters first, ignoring case and accents; then
    accents ("Arret" before "arrêt"); then case, lower case first ("echo" before "Echo").

    A portable approximation of the Unicode collation algorithm's three levels (no ICU, and the
    kernel's C locale makes ``locale.strxfrm`` plain code-point order); scripts keep their
    code-point order among themselves. The levels are joined by NUL into one string, which
    compares like the tuple of levels and about twice as fast.
    """
    text = text.replace("\x00", "")
    folded = text.casefold()
    primary = folded if folded.isascii() else _strip_marks(folded)
    return f"{primary}\x00{folded}\x00{text.swapcase()}"


def _dense_rank(values: pd.Series, *, collate: bool = True) -> IntArray:
    """Dense rank of each value (ties equal), ``-1`` for missing; text by :func:`collation_key`.

    Text is ranked with Python's sort over the rows' keys (``collate=False``: by code point, as
    for task ids): about 0.15 s on 100k distinct names, paid once when the grid opens; unlike a
    fixed-width numpy copy it cannot blow up on long descriptions. Categories rank
    alphabetically by the same key, not in declaration order.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        names = [collation_key(n) for n in values.cat.categories.astype(str)]
        by_name = np.empty(len(names), dtype=np.intp)
        by_name[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
        return np.where(codes < 0, -1, by_name[codes]).astype(np.intp)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        instants = values.to_numpy(dtype="datetime64[ns]").view(np.int64)
        _, rank = np.unique(instants, return_inverse=True)  # 3x a sorted factorize on tz-aware
        return np.where(values.isna().to_numpy(), -1, rank).astype(np.intp)
    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        codes, _ = pd.factorize(values, sort=True, use_na_sentinel=True)
        return np.asarray(codes, dtype=np.intp)
    missing = values.isna().to_numpy()
    text = values.to_numpy(dtype=object, na_value="")
    keys = list(map(collation_key, text)) if collate else text
    order = np.array(sorted(range(len(text)), key=keys.__getitem__), dtype=np.intp)
    ordered = np.asarray(keys, dtype=object)[order]
    starts = np.ones(len(text), dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    rank = np.empty(len(text), dtype=np.intp)
    rank[order] = np.cumsum(starts) - 1
    rank[missing] = -1
    return rank


#: Search masks kept per engine (the last needles typed), and full display orders (the last sorts).
_CACHED_SEARCHES: Final = 16
_CACHED_ORDERS: Final = 8


def _needle(query: str) -> str:
    """What a search looks for: trimmed, lower-cased, without the index's separators (so a match
    never spans two fields or two rows)."""
    return query.strip().lower().replace("\x1f", "").replace("\x00", "")


class _TextIndex:
    """Every row's searchable text as one UTF-8 byte array: a row's fields (lower-cased, NUL
    removed) joined by ``\x1f``, each row ended by ``\x00``; ``starts`` holds each row's first byte.

    A substring test over all rows is then a few vectorised passes over the bytes instead of a
    Python loop over the rows (UTF-8 is self-synchronising: a byte match is a character match).
    """

    def __init__(self, text: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64]) -> None:
        self.text = text
        self.starts = starts
        self._frequency: npt.NDArray[np.intp] | None = None

    @classmethod
    def build(cls, parts: Sequence[Sequence[str]]) -> _TextIndex:
        """The index of rows whose fields are ``parts[field][row]``."""
        rows = len(parts[0]) if parts else 0
        joined = "\x00".join(map("\x1f".join, zip(*parts, strict=True)))
        if joined.count("\x00") != max(rows - 1, 0):  # a field holds NUL: drop it
            clean = [[v.replace("\x00", "") for v in field] for field in parts]
            joined = "\x00".join(map("\x1f".join, zip(*clean, strict=True)))
        data = (joined.lower() + "\x00").encode("utf-8", "surrogatepass") if rows else b""
        text = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(text == 0)
        starts = np.zeros(rows, dtype=np.int64)
        starts[1:] = ends[:-1] + 1
        return cls(text, starts)

    def subset(self, keep: BoolArray) -> _TextIndex:
        """The index of the rows ``keep`` flags (their bytes gathered, nothing re-encoded)."""
        lengths = np.diff(self.starts, append=len(self.text))
        text = self.text[np.repeat(keep, lengths)]
        starts = np.zeros(int(keep.sum()), dtype=np.int64)
        np.cumsum(lengths[keep][:-1], out=starts[1:])
        return _TextIndex(text, starts)

    def find(self, needle: str) -> BoolArray:
        """Which rows contain ``needle`` (already lower-cased, without separators)."""
        rows = len(self.starts)
        pattern = np.frombuffer(needle.encode("utf-8", "surrogatepass"), dtype=np.uint8)
        size, span = len(pattern), len(self.text)
        if size == 0:
            return np.ones(rows, dtype=bool)
        found = np.zeros(rows, dtype=bool)
        if size > span:
            return found
        if self._frequency is None:  # estimated on a sample of about 64k bytes
            step = max(1, span // 65_536)
            self._frequency = np.bincount(self.text[::step], minlength=256)
        # Start from the needle's rarest byte: the fewest candidates to check the others on.
        first = int(np.argmin(self._frequency[pattern]))
        hits = np.flatnonzero(self.text[first : span - size + 1 + first] == pattern[first])
        for k in range(size):
            if k == first or not len(hits):
                continue
            hits = hits[self.text[hits + k] == pattern[k]]
        found[np.searchsorted(self.starts, hits, side="right") - 1] = True
        return found


@dataclass(frozen=True)
class DateRange:
    """An inclusive wall-clock range; ``None`` bounds are open."""

    start: int | None  # ns since epoch, naive wall clock
    end: int | None


def _parse_bound(column: str, key: str, value: object) -> int | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"filters[{column!r}][{key!r}] must be an ISO date string, got {value!r}")
    where = f"filters[{column!r}][{key!r}]"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not an ISO date (YYYY-MM-DD[THH:MM])") from None
    if parsed.tzinfo is not None:
        raise ValueError(f"{where}: give a wall-clock time without offset, got {value!r}")
    first, last = DATE_YEARS
    if not first <= parsed.year <= last:
        # A browser's date field holds year 0002 while "2026" is being typed; nanosecond
        # timestamps overflow outside 1677-2262 anyway.
        raise ValueError(f"{where}: the year must be between {first} and {last}, got {value!r}")
    if key == "to" and _DATE_ONLY.match(value):
        # A date-only upper bound includes that whole day.
        parsed = datetime.combine(parsed.date(), time()) + timedelta(days=1, microseconds=-1)
    return int(pd.Timestamp(parsed).as_unit("ns").value)


@dataclass(frozen=True)
class HistoryFilter:
    """The history filter: ``failed_last`` (the task failed each of its last N runs, i.e. its
    failure streak is at least N) and ``idle_days`` (no run in the last D days, never-run tasks
    included); ``None`` leaves that part out."""

    failed_last: int | None = None
    idle_days: int | None = None


@dataclass(frozen=True)
class Filters:
    """A checked ``filters`` value: value sets, date ranges and the history filter."""

    enums: dict[str, list[str | bool | None]]
    dates: dict[str, DateRange]
    history: HistoryFilter | None = None


def _history_bound(key: str, value: object, high: int) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ValueError(
            f"filters['history'][{key!r}] must be a whole number from 1 to {high}, got {value!r}"
        )
    return value


def normalize_filters(
    filters: Mapping[str, Any],
    columns: Sequence[str],
    choices: Mapping[str, Sequence[str | bool | None]] | None = None,
    history_records: int = 0,
) -> Filters:
    """Check a ``filters`` value and split it into value sets, date ranges and history.

    Value filters are lists of allowed values (``None`` means missing); an empty list means no
    filter. ``choices`` gives the values of the columns whose values come from the frame
    (:data:`FACET_COLUMNS`). Date filters are ``{"from": iso, "to": iso}`` with either bound
    optional. ``filters["history"]`` is ``{"failed_last": n, "idle_days": d}`` (either
    optional), accepted when the frame carries history (``history_records`` > 0: ``n`` is at
    most that many runs, the streak is known no further).
    """
    if not isinstance(filters, Mapping):
        raise ValueError(
            f"filters must be a dict of column -> filter, got {type(filters).__name__}"
        )
    dynamic = dict(choices or {})
    enums: dict[str, list[str | bool | None]] = {}
    dates: dict[str, DateRange] = {}
    history: HistoryFilter | None = None
    for column, spec in filters.items():
        if column == HISTORY_FILTER and history_records > 0:
            if not isinstance(spec, Mapping) or set(spec) - {"failed_last", "idle_days"}:
                raise ValueError(
                    f"filters['history'] must be {{'failed_last': n, 'idle_days': d}}, got {spec!r}"
                )
            failed = _history_bound("failed_last", spec.get("failed_last"), history_records)
            idle = _history_bound("idle_days", spec.get("idle_days"), 36_500)
            if failed is not None or idle is not None:
                history = HistoryFilter(failed, idle)
            continue
        if column not in columns:
            raise ValueError(f"filters: column {column!r} is not in the frame")
        if column in ENUM_COLUMNS or column in dynamic:
            if not isinstance(spec, list | tuple):
                raise ValueError(f"filters[{column!r}] must be a list of values, got {spec!r}")
            allowed = ENUM_COLUMNS[column] if column in ENUM_COLUMNS else tuple(dynamic[column])
            values: list[str | bool | None] = []
            for value in spec:
                if column == "enable" and isinstance(value, str) and value in ("true", "false"):
                    value = value == "true"
                if value is not None and value not in allowed:
                    shown = ", ".join(map(str, (a for a in allowed if a is not None)))
                    raise ValueError(
                        f"filters[{column!r}]: unknown value {value!r}; allowed: "
                        f"{shown} or None (missing)"
                    )
                values.append(value)
            if values:
                enums[column] = values
        elif column in DATE_COLUMNS:
            if not isinstance(spec, Mapping) or set(spec) - {"from", "to"}:
                raise ValueError(f"filters[{column!r}] must be {{'from': iso, 'to': iso}}")
            start = _parse_bound(column, "from", spec.get("from"))
            end = _parse_bound(column, "to", spec.get("to"))
            if start is not None and end is not None and start > end:
                raise ValueError(f"filters[{column!r}]: 'from' is after 'to'")
            if start is not None or end is not None:
                dates[column] = DateRange(start, end)
        else:
            filterable = [c for c in (*ENUM_COLUMNS, *dynamic, *DATE_COLUMNS) if c in columns] + (
                [HISTORY_FILTER] if history_records > 0 else []
            )
            raise ValueError(
                f"filters: column {column!r} cannot be filtered; "
                f"filterable: {', '.join(filterable)}"
            )
    return Filters(enums, dates, history)


def normalize_sort(sort: Sequence[Any], columns: Sequence[str]) -> list[tuple[str, bool]]:
    """Check a ``sort`` value: a list of ``{"column": name, "descending": bool}``, primary first."""
    if not isinstance(sort, list | tuple):
        raise ValueError(f"sort must be a list of {{'column', 'descending'}}, got {sort!r}")
    out: list[tuple[str, bool]] = []
    sortable = (ID_COLUMN, *columns)
    for item in sort:
        if not isinstance(item, Mapping) or "column" not in item:
            raise ValueError(f"sort items must be {{'column': name, 'descending': bool}}: {item!r}")
        column = item["column"]
        if column not in sortable:
            raise ValueError(f"sort: column {column!r} is not sortable; sortable: {sortable}")
        out.append((str(column), bool(item.get("descending", False))))
    return out


def row_key(project_id: str, task_id: str) -> str:
    """A fleet row's key: ``"<project_id>/<task_id>"`` (unique across projects)."""
    return f"{project_id}{KEY_SEPARATOR}{task_id}"


def is_fleet_frame(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` is a fleet frame: indexed by ``("project_id", "task_id")``."""
    return isinstance(frame.index, pd.MultiIndex) and tuple(frame.index.names) == FLEET_LEVELS


class FrameEngine:
    """Precomputed, vectorised views of one tasks frame (which it never modifies)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"TaskGrid needs a pandas DataFrame, got {type(frame).__name__}")
        self.fleet = is_fleet_frame(frame)
        if isinstance(frame.index, pd.MultiIndex) and not self.fleet:
            raise ValueError(
                "a frame with a MultiIndex must be a fleet frame, indexed by "
                f"{FLEET_LEVELS} (wsnb.tasks_frame(fleet)); got levels {list(frame.index.names)}"
            )
        if not frame.index.is_unique:
            dupes = frame.index[frame.index.duplicated()].unique()[:5].tolist()
            name = "(project_id, task_id)" if self.fleet else ID_COLUMN
            raise ValueError(f"the frame's index ({name}) must be unique; repeated: {dupes}")
        self.frame = frame
        #: The frame's columns plus, for a fleet, ``project_id`` (an index level) as a column.
        self.data = frame
        if self.fleet:
            projects = frame.index.get_level_values("project_id").astype(str)
            bad = sorted({p for p in projects if KEY_SEPARATOR in p})[:5]
            if bad:
                raise ValueError(f"project ids cannot contain {KEY_SEPARATOR!r}: {bad}")
            tasks = frame.index.get_level_values("task_id").astype(str)
            self.task_ids: npt.NDArray[np.object_] = np.array(list(tasks), dtype=object)
            self.ids: npt.NDArray[np.object_] = np.array(
                [row_key(p, t) for p, t in zip(projects, tasks, strict=True)], dtype=object
            )
            self.data = frame.assign(project_id=pd.array(list(projects), dtype="string"))
        else:
            values = frame.index.to_numpy(dtype=object).tolist()
            self.ids = np.array([v if type(v) is str else str(v) for v in values], dtype=object)
            self.task_ids = self.ids
        self.n = len(frame)
        self.columns: tuple[str, ...] = tuple(
            c
            for c in DISPLAY_COLUMNS
            if c in self.data.columns and (c not in HISTORY_NEEDS or self.has_history())
        )
        self._codes: dict[str, tuple[IntArray, dict[Any, int]]] = {}
        self._sort_keys: dict[str, IntArray] = {}
        self._local: dict[str, npt.NDArray[np.int64]] = {}
        self._utc: dict[str, npt.NDArray[np.int64]] = {}
        self._values: dict[str, npt.NDArray[np.object_]] = {}
        self._search: _TextIndex | None = None
        self._position: dict[str, int] | None = None
        #: For an engine made by ``subset``: position in the lookup's frame -> position here
        #: (``-1``: not in this frame); ``None``: the lookup is this frame's own.
        self._own: IntArray | None = None
        self._choices: dict[str, list[str | bool | None]] = {}
        self._records: int | None = None
        self._streaks: npt.NDArray[np.int64] | None = None
        # Per-view caches (the frame never changes under an engine, so they never go stale;
        # a new frame gets a new engine): search masks per needle, full display orders per
        # sort, and the last filter/search result with its counts.
        self._found: dict[str, BoolArray] = {}
        self._orders: dict[tuple[tuple[str, bool], ...], IntArray] = {}
        self._matched: tuple[str, tuple[BoolArray, dict[str, list[int]]]] | None = None
        # Pay the slow first-use costs (text index, name ordering, key lookup) up front, when the
        # grid opens, so the first keystroke, click on "Name" or row click stay interactive.
        self._search_rows()
        if "task_name" in frame.columns:
            self._sort_key("task_name")
        self._lookup()  # the key lookup: the first click does not build it

    def subset(self, keep: BoolArray) -> FrameEngine:
        """The engine of ``frame[keep]``, its caches taken from this one's rows instead of
        computed again (text index, sort keys, value codes, wall-clock times, streaks).

        What the grid builds after a deletion: no 100k-row sort or text pass, only vectorised
        gathers, so the thread doing it never holds the interpreter for long while the browser's
        messages wait. Sort keys stay order-preserving ranks (no longer dense: ties still equal,
        missing still ``-1``), which is all :meth:`order` needs.
        """
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (self.n,):
            raise ValueError(f"subset: need one flag per row ({self.n}), got {keep.shape}")
        engine = FrameEngine.__new__(FrameEngine)
        engine._adopt(self, keep)
        return engine

    def _adopt(self, parent: FrameEngine, keep: BoolArray) -> None:
        self.fleet = parent.fleet
        self.frame = parent.frame[keep]
        self.data = parent.data[keep] if parent.data is not parent.frame else self.frame
        self.ids = parent.ids[keep]
        self.task_ids = self.ids if parent.task_ids is parent.ids else parent.task_ids[keep]
        self.n = int(keep.sum())
        self.columns = parent.columns
        # The parent's caches are copied first (one C call each): the kernel's thread may add
        # to them meanwhile, and a dict must not change size while it is being iterated.
        codes = dict(parent._codes)
        self._codes = {c: (values[keep], mapping) for c, (values, mapping) in codes.items()}
        self._sort_keys = {c: key[keep] for c, key in dict(parent._sort_keys).items()}
        self._local = {c: ns[keep] for c, ns in dict(parent._local).items()}
        self._utc = {c: ns[keep] for c, ns in dict(parent._utc).items()}
        self._values = {c: values[keep] for c, values in dict(parent._values).items()}
        self._search = parent._search.subset(keep) if parent._search is not None else None
        # The key lookup is the parent's (a 100k-entry dict is not rebuilt, which would hold
        # the interpreter in dict resizes); positions are mapped through ``_own``.
        self._position = parent._lookup()
        own = np.full(parent.n, -1, dtype=np.intp)
        own[keep] = np.arange(self.n, dtype=np.intp)
        mapped = parent._own
        self._own = own if mapped is None else np.where(mapped >= 0, own[mapped], -1)
        self._choices = {}  # the frame's own values (region, project): some may be gone
        self._records = None  # from the rows when the frame has no attrs["history"]
        self._streaks = parent._streaks[keep] if parent._streaks is not None else None
        self._found = {}
        self._orders = {}
        self._matched = None

    def warm(self) -> None:
        """Compute now what the first filter, date range, sort and lookup would compute lazily
        (value codes, wall-clock times, the key lookup): for an engine built off the kernel's
        main thread, so the first gesture on it is as fast as the later ones. Sort keys are not
        computed here (a Python sort of 100k keys holds the interpreter for tens of ms: the
        browser's messages would wait): an engine from :meth:`subset` has its parent's."""
        for column in self.facets:
            self._enum_codes(column)
        for column in DATE_COLUMNS:
            if column in self.columns:
                self.local_ns(column)
        self._lookup()

    # -- history -------------------------------------------------------------------------------

    def has_history(self) -> bool:
        """Whether the frame carries the ``wsnb.enrich`` columns the grid uses."""
        return all(c in self.data.columns for c in HISTORY_NEEDS)

    @property
    def history_records(self) -> int:
        """How many runs per task the history holds (0 without history): the ``records`` the
        frame was enriched with, else the longest ``recent_outcomes``."""
        if self._records is None:
            self._records = self._history_records()
        return self._records

    def _history_records(self) -> int:
        if not self.has_history():
            return 0
        known = self.frame.attrs.get("history", {}).get("records")
        if isinstance(known, int) and known > 0:
            return known
        outcomes = self.data["recent_outcomes"].fillna("").astype(str)
        longest = max((o.count(",") + 1 for o in outcomes if o), default=0)
        return max(longest, 1)

    def _streak(self) -> npt.NDArray[np.int64]:
        if self._streaks is None:
            values = pd.to_numeric(self.data["failure_streak"], errors="coerce").fillna(0)
            self._streaks = values.to_numpy(dtype=np.int64)
        return self._streaks

    def _idle(self, days: int, now: datetime | None = None) -> BoolArray:
        """No run in the last ``days`` days (never-run tasks included)."""
        moment = pd.Timestamp(now or datetime.now(UTC)) - pd.Timedelta(days=days)
        last = self.data["last_run"]
        stamps = pd.to_datetime(last, utc=True)
        missing = stamps.isna().to_numpy()
        before = (stamps < moment).fillna(False).to_numpy(dtype=bool)
        return missing | before

    def history_mask(self, spec: HistoryFilter, now: datetime | None = None) -> BoolArray:
        """The rows the history filter keeps."""
        mask = np.ones(self.n, dtype=bool)
        if spec.failed_last is not None:
            mask &= self._streak() >= spec.failed_last
        if spec.idle_days is not None:
            mask &= self._idle(spec.idle_days, now)
        return mask

    # -- lookups ---------------------------------------------------------------------------

    def _lookup(self) -> dict[str, int]:
        """Key -> position in the frame the lookup was built for (this engine's, or for an
        engine made by :meth:`subset`, the first engine's: see ``_own``)."""
        if self._position is None:
            self._position = {tid: i for i, tid in enumerate(self.ids.tolist())}
        return self._position

    def positions_of(self, ids: Sequence[str]) -> IntArray:
        """Frame positions of ``ids``; raises ``KeyError`` naming unknown ids."""
        lookup = self._lookup()
        found = np.fromiter((lookup.get(tid, -1) for tid in ids), dtype=np.intp, count=len(ids))
        if self._own is not None and len(found):
            found = np.where(found >= 0, self._own[found], -1)
        if len(found) and found.min() < 0:
            missing = [ids[int(i)] for i in np.flatnonzero(found < 0)]
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            if self.fleet:
                raise KeyError(
                    f"unknown rows: {missing[:5]}{more} (a fleet grid's rows are "
                    f"'project_id{KEY_SEPARATOR}task_id' keys or (project_id, task_id) pairs)"
                )
            raise KeyError(f"unknown task ids: {missing[:5]}{more}")
        return found

    def position_of(self, task_id: str) -> int | None:
        found = self._lookup().get(task_id)
        if found is None or self._own is None:
            return found
        own = int(self._own[found])
        return own if own >= 0 else None

    @property
    def facets(self) -> list[str]:
        """The columns offered as value filters, in display order."""
        return [c for c in self.columns if c in ENUM_COLUMNS or c in FACET_COLUMNS]

    def enum_values(self, column: str) -> list[str | bool | None]:
        """The values a value filter offers for ``column``: the API's (or, for ``region`` and
        ``project_id``, the frame's, sorted), then missing if any."""
        if column not in self._choices:
            series = self.data[column]
            values: list[str | bool | None]
            if column in ENUM_COLUMNS:
                values = list(ENUM_COLUMNS[column])
            else:
                values = [*sorted({str(v) for v in series.dropna()}, key=collation_key)]
            if series.isna().any():
                values.append(None)
            self._choices[column] = values
        return self._choices[column]

    def parse_filters(self, filters: Mapping[str, Any]) -> Filters:
        """:func:`normalize_filters` with this frame's columns, values and history."""
        choices: dict[str, list[str | bool | None]] = {
            c: self.enum_values(c) for c in FACET_COLUMNS if c in self.columns
        }
        return normalize_filters(filters, self.columns, choices, self.history_records)

    # -- filtering -------------------------------------------------------------------------

    def _enum_codes(self, column: str) -> tuple[IntArray, dict[Any, int]]:
        if column not in self._codes:
            codes, uniques = pd.factorize(self.data[column], use_na_sentinel=True)
            mapping: dict[Any, int] = {}
            for i, value in enumerate(uniques):
                mapping[bool(value) if column == "enable" else str(value)] = i
            self._codes[column] = (np.asarray(codes, dtype=np.intp), mapping)
        return self._codes[column]

    def local_ns(self, column: str) -> npt.NDArray[np.int64]:
        """Wall-clock time in each task's own zone, as naive ns (``_NAT`` where missing)."""
        if column not in self._local:
            utc = self.data[column]
            if "time_zone" in self.data.columns:
                local = np.full(self.n, _NAT, dtype=np.int64)
                zones = self.data["time_zone"].fillna("").astype(str)
                for name, idx in zones.groupby(zones).indices.items():
                    tz = _zone_or_utc(str(name))
                    shifted = utc.iloc[idx].dt.tz_convert(tz).dt.tz_localize(None)
                    local[idx] = shifted.to_numpy(dtype="datetime64[ns]").view(np.int64)
            else:
                local = utc.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view(np.int64)
            local = local.copy()
            local[utc.isna().to_numpy()] = _NAT
            self._local[column] = local
        return self._local[column]

    def _search_rows(self) -> _TextIndex:
        """Each row's id, name and description, lower-cased (see :class:`_TextIndex`).

        Built once, when the engine is made.
        """
        if self._search is None:
            parts = [self.ids.tolist()]
            for column in SEARCH_COLUMNS:
                if column in self.data.columns:
                    series = self.data[column]
                    values = series.to_numpy(dtype=object, na_value="").tolist()
                    if not isinstance(series.dtype, pd.StringDtype):
                        values = [v if isinstance(v, str) else str(v) for v in values]
                    parts.append(values)
            self._search = _TextIndex.build(parts)
        return self._search

    def search(self, query: str, among: IntArray | None = None) -> BoolArray:
        """Which rows (of ``among``, default all) contain ``query``, case-insensitively.

        One vectorised scan of the text index per new needle (a few ms on 100k rows), cached
        per needle: a filter or sort change under the same search costs nothing here.
        """
        needle = _needle(query)
        found = self._found.get(needle)
        if found is None:
            found = self._search_rows().find(needle)
            found.flags.writeable = False
            if len(self._found) >= _CACHED_SEARCHES:
                self._found.pop(next(iter(self._found)), None)
            self._found[needle] = found
        return found if among is None else found[among]

    def match(self, filters: Filters, query: str) -> BoolArray:
        """The rows that pass every filter and contain ``query`` (case-insensitive)."""
        return self.match_and_count(filters, query, ())[0]

    def match_and_count(
        self,
        filters: Filters,
        query: str,
        facets: Sequence[str],
        *,
        now: datetime | None = None,
    ) -> tuple[BoolArray, dict[str, list[int]]]:
        """:meth:`match`, plus for each value-filter column in ``facets`` how many rows each of
        its :meth:`enum_values` would leave: rows passing every *other* filter and the search.
        With history, ``facets`` may also name ``"history"``: then the counts are, for each
        ``n`` from 1 to :attr:`history_records`, the rows whose last ``n`` runs all failed, and
        last the rows with no run in the filter's ``idle_days`` (default
        :data:`DEFAULT_IDLE_DAYS`), each with the other filters and the search applied.

        The search mask is cached per needle, so the counts cost one boolean AND and one
        ``bincount`` per column. The last result is kept (the frame never changes under an
        engine): a sort or a page change under the same filters and search reuses it. Results
        involving history are not kept (idle days are counted from now).
        """
        timeless = now is None and filters.history is None and HISTORY_FILTER not in facets
        key = repr((filters, _needle(query), tuple(facets)))
        if timeless and self._matched is not None and self._matched[0] == key:
            return self._matched[1]
        result = self._match_and_count(filters, query, facets, now)
        if timeless:
            result[0].flags.writeable = False
            self._matched = (key, result)
        return result

    def _match_and_count(
        self,
        filters: Filters,
        query: str,
        facets: Sequence[str],
        now: datetime | None,
    ) -> tuple[BoolArray, dict[str, list[int]]]:
        base = np.ones(self.n, dtype=bool)
        for column, bounds in filters.dates.items():
            local = self.local_ns(column)
            ok = local != _NAT
            if bounds.start is not None:
                ok &= local >= bounds.start
            if bounds.end is not None:
                ok &= local <= bounds.end
            base &= ok
        if query.strip():
            base &= self.search(query)
        by_column: dict[str, BoolArray] = {}
        for column, values in filters.enums.items():
            codes, mapping = self._enum_codes(column)
            allowed = np.zeros(len(mapping) + 1, dtype=bool)  # by code + 1 (missing: 0)
            allowed[[mapping[v] + 1 for v in values if v is not None and v in mapping]] = True
            allowed[0] = None in values
            by_column[column] = allowed[codes + 1]
        if filters.history is not None:
            by_column[HISTORY_FILTER] = self.history_mask(filters.history, now)
        mask = base.copy()
        for part in by_column.values():
            mask &= part
        counts: dict[str, list[int]] = {}
        for column in facets:
            others = base.copy()
            for name, part in by_column.items():
                if name != column:
                    others &= part
            if column == HISTORY_FILTER:
                streak = np.minimum(self._streak()[others], self.history_records)
                tally = np.bincount(streak, minlength=self.history_records + 1)
                at_least = np.cumsum(tally[::-1])[::-1]
                days = (
                    filters.history.idle_days
                    if filters.history is not None and filters.history.idle_days is not None
                    else DEFAULT_IDLE_DAYS
                )
                idle = int((self._idle(days, now) & others).sum())
                counts[column] = [int(c) for c in at_least[1:]] + [idle]
                continue
            codes, mapping = self._enum_codes(column)
            tally = np.bincount(codes[others] + 1, minlength=len(mapping) + 1)
            counts[column] = [
                int(tally[0] if value is None else tally[mapping[value] + 1])
                if value is None or value in mapping
                else 0
                for value in self.enum_values(column)
            ]
        return mask, counts

    # -- sorting ---------------------------------------------------------------------------

    def _sort_key(self, column: str) -> IntArray:
        """Dense rank of each row for ``column`` (ties equal), ``-1`` where missing."""
        if column not in self._sort_keys:
            if column == ID_COLUMN:
                key = _dense_rank(pd.Series(self.task_ids), collate=False)
            elif column == "recent_outcomes":
                # By failure streak, then by the last run: "most failing, most recent" first
                # when descending. Never-run tasks have no history to sort: missing (last).
                streak = self._streak()
                last = _dense_rank(self.data["last_run"])
                key = streak * (int(last.max(initial=0)) + 2) + last + 1
                key = np.where(last < 0, -1, _dense_rank(pd.Series(key))).astype(np.intp)
            else:
                key = _dense_rank(self.data[column])
            self._sort_keys[column] = key
        return self._sort_keys[column]

    def order(self, mask: BoolArray, sort: Sequence[tuple[str, bool]]) -> IntArray:
        """Positions of the matching rows in display order; ties keep frame order, missing last."""
        if not sort:
            return np.flatnonzero(mask)
        spec = tuple(sort)
        full = self._orders.get(spec)
        if full is None:  # every row once per sort; a filter then keeps its rows' share
            keys: list[npt.NDArray[Any]] = []
            for column, descending in reversed(spec):
                key = self._sort_key(column)
                keys.append(-key if descending else key)
                keys.append(key < 0)  # more significant than the value: missing sorts last
            full = np.lexsort(keys).astype(np.intp)
            full.flags.writeable = False
            if len(self._orders) >= _CACHED_ORDERS:
                self._orders.pop(next(iter(self._orders)), None)
            self._orders[spec] = full
        return full[mask[full]]

    # -- display ---------------------------------------------------------------------------

    def _column_values(self, column: str) -> npt.NDArray[np.object_]:
        """The column as Python objects, missing as ``None`` (converted once, then gathered)."""
        if column not in self._values:
            series = self.data[column]
            values = series.to_numpy(dtype=object, copy=True)
            values[series.isna().to_numpy()] = None
            self._values[column] = values
        return self._values[column]

    def _utc_ns(self, column: str) -> npt.NDArray[np.int64]:
        """The column's instants as UTC ns (``_NAT`` where missing)."""
        if column not in self._utc:
            utc = self.data[column]
            if utc.dt.tz is not None:
                utc = utc.dt.tz_convert(UTC).dt.tz_localize(None)
            ns = utc.to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
            ns[utc.isna().to_numpy()] = _NAT
            self._utc[column] = ns
        return self._utc[column]

    def records(self, positions: IntArray, selected: BoolArray) -> list[dict[str, Any]]:
        """JSON-able rows for the browser, with display strings already formatted.

        Only the given rows are touched: each column's values are gathered from arrays
        converted once per engine, and dates are formatted in one vectorised call per column.
        """
        positions = np.asarray(positions, dtype=np.intp)
        cols: dict[str, list[str]] = {}
        for column in self.columns:
            if column in DATE_COLUMNS:
                cols[column] = _minutes(self.local_ns(column)[positions], "")
                cols[column + "_utc"] = _minutes(self._utc_ns(column)[positions], " UTC")
            elif column == "enable":
                cols[column] = [
                    "" if v is None else ("yes" if v else "no")
                    for v in self._column_values(column)[positions]
                ]
            else:
                cols[column] = [
                    "" if v is None else str(v) for v in self._column_values(column)[positions]
                ]
        ids = self.ids[positions].tolist()
        flags = selected[positions].tolist()
        task_ids = self.task_ids[positions].tolist() if self.fleet else None
        rows: list[dict[str, Any]] = []
        for i, key in enumerate(ids):
            row: dict[str, Any] = {"id": key, "selected": bool(flags[i])}
            if task_ids is not None:
                row[ID_COLUMN] = task_ids[i]
            for column, values in cols.items():
                row[column] = values[i]
            rows.append(row)
        return rows


def _minutes(ns: npt.NDArray[np.int64], suffix: str) -> list[str]:
    """``YYYY-MM-DD HH:MM`` + ``suffix`` per naive ns value; ``""`` where missing."""
    text = np.datetime_as_string(ns.view("datetime64[ns]"), unit="m").tolist()
    return ["" if t == "NaT" else t.replace("T", " ") + suffix for t in text]
