"""Listing every task that matches the API filters, written once over :class:`wsnb._aio.Api`.

Contract: :func:`list_all` returns each matching task once (de-duplicated by id), or raises.
The first page gives ``total_count``; the other pages are then fetched concurrently (the
client's rate limiter keeps the pace within the read limit). Every page is fetched once per pass;
if the server's ``total_count`` changes mid-listing (someone created or deleted tasks), the pass
is thrown away and the listing restarts, because offsets have shifted (at most
:data:`MAX_RESTARTS` times, then ``RuntimeError``). API filters are pushed down to the server;
unknown filter names raise ``TypeError`` before any call. Without a ``scheduled_type`` filter,
``include_life_cycle`` adds a second pass for LIFE_CYCLE tasks, which the API hides unless asked.

Callers: :mod:`wsnb.frames` (``tasks_frame``/``atasks_frame``) and :mod:`wsnb.deletion` (existence
checks by listing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final

from wsnb._aio import Api
from wsnb.models import LIST_PAGE_MAX, ScheduledType, Task

__all__ = ["DEFAULT_CONCURRENCY", "MAX_RESTARTS", "list_all"]

#: How often a listing restarts because the task count changed before giving up.
MAX_RESTARTS: Final = 5
#: Pages fetched at once (the rate limiter sets the pace). On the emulator with 20k tasks,
#: 1/2/4/8 at once listed in 6.6/5.1/3.8/4.8 s: past 4 the server is the bottleneck.
DEFAULT_CONCURRENCY: Final = 4

_FILTERS: Final = ("task_name", "task_type", "scheduled_type", "life_cycle_type", "last_status")


class _Changed(Exception):
    """The listing shifted under us (total changed or a page came back short)."""


def _progress(enabled: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=0, desc=desc, unit="task", disable=not enabled, leave=False)


async def _list_pass(
    api: Api, filters: Mapping[str, Any], concurrency: int, bar: Any
) -> list[Task]:
    first, total = await api.list_page(0, filters)
    bar.total = (bar.total or 0) + total
    bar.update(len(first))
    offsets = (
        list(range(LIST_PAGE_MAX, total, LIST_PAGE_MAX)) if len(first) >= LIST_PAGE_MAX else []
    )
    gate = asyncio.Semaphore(concurrency)

    shifted = asyncio.Event()

    async def fetch(offset: int) -> list[Task]:
        async with gate:
            if shifted.is_set():  # the pass is void: send nothing more
                raise _Changed
            items, seen_total = await api.list_page(offset, filters)
        expected = min(LIST_PAGE_MAX, total - offset)
        if seen_total != total or len(items) != expected:
            shifted.set()
            raise _Changed
        bar.update(len(items))
        return items

    tasks = [asyncio.ensure_future(fetch(o)) for o in offsets]
    try:
        pages = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return [item for page in (first, *pages) for item in page]


async def list_all(
    api: Api,
    filters: Mapping[str, Any],
    *,
    include_life_cycle: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: bool = False,
) -> list[Task]:
    """Every task matching ``filters`` (plus LIFE_CYCLE ones, see :func:`tasks_frame`)."""
    unknown = sorted(set(filters) - set(_FILTERS))
    if unknown:
        raise TypeError(f"unknown task filter(s) {unknown}; the filters are {list(_FILTERS)}")
    clean = {k: v for k, v in filters.items() if v is not None}
    passes = [clean]
    if include_life_cycle and "scheduled_type" not in clean:
        passes.append({**clean, "scheduled_type": ScheduledType.LIFE_CYCLE.value})
    seen: dict[str, Task] = {}
    with _progress(progress, "listing tasks") as bar:
        for pass_filters in passes:
            for _ in range(MAX_RESTARTS):
                try:
                    items = await _list_pass(api, pass_filters, concurrency, bar)
                    break
                except _Changed:
                    bar.reset(total=0)
                    continue
            else:
                raise RuntimeError(
                    f"the task list kept changing while it was read ({MAX_RESTARTS} attempts); "
                    "try again when no one else is creating or deleting tasks"
                )
            for item in items:
                seen.setdefault(str(item.get("id")), item)
    return list(seen.values())
