"""Which tasks a set of filters selects: one definition for the notebooks and the CLI.

:class:`TaskFilters` names the filters (all set ones must match: AND); :func:`select_tasks`
lists the tasks once, letting the server apply what it can (the name substring and single-valued
type, status and schedule filters), then applies *every* filter again on the frame, so the
selection is exactly what the filters say whatever the server's matching rules are.
``scheduled_cleanup.ipynb`` (through :class:`wsnb.params.CleanupParams`) and ``wsnb tasks
list/delete`` both select through here. Filters are not validated here: ``cleanup_params`` and
the CLI's option types do that.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

if TYPE_CHECKING:
    from wsnb.client import Client
    from wsnb.fleet import Fleet

__all__ = ["TaskFilters", "select_tasks"]


@dataclass(frozen=True)
class TaskFilters:
    """Task filters; unset ones (None, False, empty) do not filter. Times are UTC Timestamps.

    Multi-valued filters (``task_types`` ...) match any of their values.
    """

    name_pattern: str | None = None
    task_types: tuple[str, ...] = ()
    last_statuses: tuple[str, ...] = ()
    scheduled_types: tuple[str, ...] = ()
    life_cycle_types: tuple[str, ...] = ()
    expired_only: bool = False
    disabled_only: bool = False
    next_run_before: pd.Timestamp | None = None
    next_run_after: pd.Timestamp | None = None
    expire_before: pd.Timestamp | None = None
    expire_after: pd.Timestamp | None = None

    def active(self) -> dict[str, Any]:
        """The filters that are set, by name (times as ISO text), for display and checks."""
        shown: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value not in (None, False, ()):
                shown[item.name] = value.isoformat() if isinstance(value, pd.Timestamp) else value
        return shown


class SupportsTaskFilters(Protocol):
    """Anything that can say which filters it holds (e.g. ``CleanupParams``)."""

    def task_filters(self) -> TaskFilters: ...


def _server_filters(filters: TaskFilters) -> dict[str, Any]:
    """The filters the list API applies itself: the name substring and single values."""
    api: dict[str, Any] = {}
    if filters.name_pattern:
        api["task_name"] = filters.name_pattern
    for values, name in (
        (filters.task_types, "task_type"),
        (filters.last_statuses, "last_status"),
        (filters.scheduled_types, "scheduled_type"),
        (filters.life_cycle_types, "life_cycle_type"),
    ):
        if len(values) == 1:
            api[name] = values[0]
    return api


def _isin(frame: pd.DataFrame, column: str, values: tuple[str, ...]) -> pd.Series:
    return frame[column].isin(values).fillna(False).astype(bool)


def select_tasks(
    client: Client | Fleet,
    filters: TaskFilters | SupportsTaskFilters,
    *,
    frame: pd.DataFrame | None = None,
    include_life_cycle: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """The tasks the filters select (AND), from ``frame`` or from one listing of ``client``.

    ``include_life_cycle`` and ``progress`` go to :func:`wsnb.frames.tasks_frame` when listing
    (``client`` may be a :class:`~wsnb.fleet.Fleet`: the fleet frame, filtered the same way).
    """
    from wsnb import frames

    if not isinstance(filters, TaskFilters):
        filters = filters.task_filters()
    if frame is None:
        frame = frames.tasks_frame(
            client,
            include_life_cycle=include_life_cycle,
            progress=progress,
            **_server_filters(filters),
        )
    mask = pd.Series(True, index=frame.index)
    if filters.name_pattern:
        mask &= frames.name_matches(frame, filters.name_pattern)
    if filters.task_types:
        mask &= frames.of_type(frame, *filters.task_types)
    if filters.last_statuses:
        mask &= _isin(frame, "last_status", filters.last_statuses)
    if filters.scheduled_types:
        mask &= _isin(frame, "scheduled_type", filters.scheduled_types)
    if filters.life_cycle_types:
        mask &= _isin(frame, "life_cycle_type", filters.life_cycle_types)
    if filters.expired_only:
        mask &= frames.expired(frame)
    if filters.disabled_only:
        mask &= frames.disabled(frame)
    if filters.next_run_before is not None or filters.next_run_after is not None:
        mask &= frames.next_run_between(frame, filters.next_run_after, filters.next_run_before)
    expire = frame["expire_time"]
    if filters.expire_before is not None:
        mask &= (expire < filters.expire_before).fillna(False).astype(bool)
    if filters.expire_after is not None:
        mask &= (expire >= filters.expire_after).fillna(False).astype(bool)
    return frame[mask]
