"""Planning a deletion: what the selection names, which ids are valid, the cap, the chunks.

Contract: nothing here calls the API or writes the ledger. :func:`selection_ids` reads the ids out
of any supported selection; ``_select`` de-duplicates them (order kept) and sets aside ids that
are not strings of 1–255 characters as ``invalid`` (with the reason; they are never sent), and
takes names and types from a DataFrame selection for the ledger. ``_check_max_deletions`` accepts
a non-negative int only (``None`` is refused: every deletion is capped); the caller raises
:class:`DeletionCapError` when the valid ids outnumber the cap, before any call. ``_chunks`` cuts
ids into batch-delete calls of at most :data:`DEFAULT_CHUNK_SIZE`, in order.

Executable plans (no I/O either): :func:`fingerprints` takes each planned id's listed fields
(:data:`LISTED_FIELDS`) from a tasks frame, :func:`detail_fingerprints` the ones a ``get_task``
definition carries (:data:`DETAIL_FIELDS`) for a selection of bare ids, :func:`shared_filters`
the server-side filters all planned tasks share (to narrow the listing that re-checks them), and
:func:`changed_fields` what differs between a stored fingerprint and a fresh one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd

from wsnb._checks import check_int
from wsnb.models import BATCH_DELETE_MAX, DEFAULT_MAX_DELETIONS, ID_MAX_LEN

__all__ = ["DEFAULT_CHUNK_SIZE", "DEFAULT_MAX", "DeletionCapError", "selection_ids"]

#: Most ids one call deletes unless ``max_deletions`` says otherwise (a typo guard, not a limit
#: of the API: pass a larger number on purpose; there is no "no cap").
DEFAULT_MAX: Final = DEFAULT_MAX_DELETIONS
#: Ids per batch-delete call: the API's maximum. Measured on the emulator, 10k ids took about
#: the same time unthrottled with chunks of 250, 1000, 2500 or 5000 (0.6-1.2 s, noise), while
#: under the ~100 writes/min limit every extra call costs 0.6 s; writes are the scarce resource.
DEFAULT_CHUNK_SIZE: Final = BATCH_DELETE_MAX


class DeletionCapError(ValueError):
    """The selection holds more ids than ``max_deletions`` allows; nothing was called."""


def _check_max_deletions(value: object, selected: int | None = None) -> int:
    """``value`` as a cap: a non-negative int. ``None`` is refused: every path to deletion
    has a cap, so "no cap" must be written as an explicit number."""
    if value is None:
        example = f"max_deletions={selected}" if selected is not None else "max_deletions=len(ids)"
        raise ValueError(
            "max_deletions=None is not allowed: every deletion is capped. Pass an explicit "
            f"number such as len(selection) ({example}) if you mean to delete them all."
        )
    return check_int("max_deletions", value, 0)


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
    valid: set[str] = set()
    bad: dict[tuple[str, str], Any] = {}  # (type, repr) -> the entry: invalid entries, once each
    for raw in selection_ids(tasks):
        if isinstance(raw, str) and 1 <= len(raw) <= ID_MAX_LEN:
            if raw not in valid:
                valid.add(raw)
                out.ids.append(raw)
        else:
            bad.setdefault((type(raw).__name__, repr(raw)), raw)
    # Invalid entries are shown by a text that never equals a valid id of the selection, nor
    # another invalid entry (the ledger keys the plan by it): 42 and "42" are two entries.
    taken = set(valid)
    for (kind, _), raw in bad.items():
        shown = _shown(raw, kind, taken)
        taken.add(shown)
        reason = (
            f"task id must be a str of 1 to {ID_MAX_LEN} characters "
            f"(got {kind} of length {len(raw) if isinstance(raw, str) else '-'})"
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
            if isinstance(tid, str) and tid in valid
        }
    return out


def _shown(raw: Any, kind: str, taken: set[str]) -> str:
    """How an invalid entry appears in the plan: its text (a str) or ``repr``, cut to
    :data:`ID_MAX_LEN`; marked with its type (then numbered) when that text is taken."""
    text = raw if isinstance(raw, str) else repr(raw)
    base = text[:ID_MAX_LEN] if text else "''"
    shown, n = base, 1
    while shown in taken:
        mark = f" [invalid {kind}{f' #{n}' if n > 1 else ''}]"
        shown = base[: ID_MAX_LEN - len(mark)] + mark
        n += 1
    return shown


def _optional_strs(column: pd.Series) -> list[str | None]:
    """A column as Python ``str`` values, missing ones (NaN, None, NA) as ``None``."""
    values = column.astype(object).where(column.notna(), None).tolist()
    return [None if v is None else str(v) for v in values]


def _chunks(ids: Sequence[str], size: int) -> list[list[str]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


# --- fingerprints: what an executable plan compares before it is executed -----------------------

#: Listed fields compared between a plan and a fresh listing. ``next_execution_time`` is left
#: out: it moves on by itself every time a task runs (its schedule is not in the listing).
LISTED_FIELDS: Final = (
    "task_name",
    "task_type",
    "scheduled_type",
    "life_cycle_type",
    "last_status",
    "enable",
    "expire_time",
    "time_zone",
    "description",
    "priority",
    "wait_time",
    "life_cycle_exec_period",
    "extra_params",
)
#: The listed fields a ``get_task`` definition carries too (a selection of bare ids is
#: fingerprinted from its snapshots on these).
DETAIL_FIELDS: Final = (
    "task_name",
    "task_type",
    "scheduled_type",
    "life_cycle_type",
    "expire_time",
    "time_zone",
    "description",
    "extra_params",
)
#: Server-side filters a plan's tasks may share (narrowing the listing that checks them).
SHARED_FILTERS: Final = ("task_type", "scheduled_type")


def _plain(value: Any) -> Any:
    """A frame cell as JSON: missing -> None, times as ISO text, numpy scalars as Python."""
    if value is None or (not isinstance(value, str | bytes) and bool(pd.isna(value))):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    return value if isinstance(value, bool | int | float | str) else str(value)


def fingerprints(
    frame: pd.DataFrame, ids: Iterable[str], fields: Sequence[str] = LISTED_FIELDS
) -> dict[str, dict[str, Any]]:
    """``id -> {field: value}`` for ``ids`` found in ``frame`` (a tasks frame, index
    ``task_id``), on the ``fields`` it has. Values are JSON-plain, so a stored fingerprint and one
    taken now compare equal exactly when the listed fields are equal."""
    present = [f for f in fields if f in frame.columns]
    if not present:
        return {}
    sub = frame.loc[~frame.index.duplicated(), present]
    wanted = set(ids)
    rows = sub[sub.index.isin(list(wanted))]
    return {
        str(tid): {f: _plain(v) for f, v in zip(present, values, strict=True)}
        for tid, values in zip(rows.index.tolist(), rows.itertuples(index=False), strict=True)
    }


def detail_fingerprints(definitions: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Any]:
    """Fingerprints of ``get_task`` definitions on :data:`DETAIL_FIELDS` (None ones left out)."""
    from wsnb.frames import tasks_to_frame

    items = [{**d, "id": tid} for tid, d in definitions.items() if d is not None]
    if not items:
        return {}
    return fingerprints(tasks_to_frame(items), [str(i["id"]) for i in items], DETAIL_FIELDS)


def shared_filters(prints: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The :data:`SHARED_FILTERS` every fingerprint has the same (non-empty) value of."""
    out: dict[str, str] = {}
    for name in SHARED_FILTERS:
        values = {p.get(name) for p in prints.values()}
        if len(values) == 1:
            (value,) = values
            if isinstance(value, str) and value:
                out[name] = value
    return out


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The fields of ``old`` (a stored fingerprint) whose value differs in ``new``."""
    return [f for f, v in old.items() if f in new and new[f] != v]
