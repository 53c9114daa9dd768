"""Listing every task that matches the API filters, written once over :class:`wsnb._aio.Api`.

Contract: :func:`list_all` returns each matching task once (de-duplicated by id), or raises;
:func:`stream_all` hands the same tasks, in the same order, to a sink as soon as every page
before them is in (a caller converts them while later pages are on the wire).
A pass pages until a short (or empty) page, as the Terraform provider does; ``total_count`` is
only a hint, for concurrency and progress. The live service's total may count LIFE_CYCLE tasks
it hides, may be absent, or may change between pages, and the result is complete whatever it says:

* the first page gives the hint; the pages it promises are fetched ``concurrency`` at a time
  (the client's rate limiter keeps the pace within the read limit), and no new page is started
  past the first short page seen, so a hint that is too large costs at most ``concurrency``
  extra calls;
* when the pages within the hint are all full (the hint was absent or too small), the listing
  carries on one page at a time until a short page.

A full page that brings no new id means the server ignores ``offset``: ``WorkspaceError``
instead of an endless loop. API filters are pushed down to the server; unknown filter names
raise ``TypeError`` before any call. Without a ``scheduled_type`` filter, ``include_life_cycle``
adds a second pass for LIFE_CYCLE tasks, which the API hides unless asked.

A listing is a snapshot only while no one writes: tasks created meanwhile may or may not appear
(each appears once), and a task deleted meanwhile can move another across a page boundary.

Callers: :mod:`wsnb.frames` (``tasks_frame``/``atasks_frame``) and :mod:`wsnb.deletion` (existence
checks by listing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Final

from wsnb._aio import Api
from wsnb.errors import WorkspaceError
from wsnb.models import LIST_PAGE_MAX, ScheduledType, Task

__all__ = ["DEFAULT_CONCURRENCY", "list_all", "list_fleet", "stream_all"]

#: Where a listing hands on its items, a batch at a time, in the listing's order.
Sink = Callable[[list[Task]], None]

#: Pages fetched at once (the rate limiter sets the pace under the quota). The real service is
#: tens of ms away: at a 30 ms round trip on the emulator 16 in flight list faster than the
#: SDK's 8-thread pool, 4 only about two thirds as fast (``bench/bench_deletion.py``).
DEFAULT_CONCURRENCY: Final = 16

_FILTERS: Final = ("task_name", "task_type", "scheduled_type", "life_cycle_type", "last_status")


def _progress(enabled: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=0, desc=desc, unit="task", disable=not enabled, leave=False)


class _Pass:
    """One pass over the pages of one filter set; ``items()`` in offset order."""

    def __init__(self, api: Api, filters: Mapping[str, Any], bar: Any, emit: Sink) -> None:
        self.api = api
        self.filters = filters
        self.bar = bar
        self.emit = emit
        self.pages: dict[int, list[Task]] = {}  # answered, not handed on yet
        self.next = 0  # the offset to hand on next: pages go on in offset order
        self.last = 0  # the largest offset answered
        self.ids: set[str] = set()  # this pass's ids: a full page of none new means a loop
        self.end: int | None = None  # offset of the first short page seen

    async def fetch(self, offset: int) -> None:
        items, _hint = await self.api.list_page(offset, self.filters)
        self.take(offset, items)

    def take(self, offset: int, items: list[Task]) -> None:
        self.pages[offset] = items
        if len(items) < LIST_PAGE_MAX:
            self.end = offset if self.end is None else min(self.end, offset)
        keys = [item.get("id") for item in items]
        named = {k for k in keys if isinstance(k, str)}
        fresh = len(named - self.ids) + sum(not isinstance(k, str) for k in keys)
        self.ids |= named
        self.bar.update(fresh)
        if offset and not fresh and len(items) >= LIST_PAGE_MAX:
            raise WorkspaceError(
                f"the listing repeated a whole page at offset {offset}; "
                "the server seems to ignore offset, so paging cannot finish",
                operation="list_tasks",
            )
        self.last = max(self.last, offset)
        while self.next in self.pages:  # hand on what is complete from the start
            self.emit(self.pages.pop(self.next))
            self.next += LIST_PAGE_MAX

    async def run(self, concurrency: int) -> None:
        first, hint = await self.api.list_page(0, self.filters)
        self.bar.total = (self.bar.total or 0) + max(hint or 0, len(first))
        self.take(0, first)
        if self.end is None and hint is not None and hint > LIST_PAGE_MAX:
            await self._within(hint, concurrency)
        offset = self.last + LIST_PAGE_MAX
        while self.end is None:  # the hint was absent or too small: one page at a time
            await self.fetch(offset)
            offset += LIST_PAGE_MAX

    async def _within(self, hint: int, concurrency: int) -> None:
        """The pages the hint promises, ``concurrency`` at a time, none past a short page."""
        offsets = iter(range(LIST_PAGE_MAX, hint, LIST_PAGE_MAX))

        async def worker() -> None:
            for offset in offsets:  # one shared iterator: each offset goes to one worker
                if self.end is not None and offset > self.end:
                    return
                await self.fetch(offset)

        count = min(concurrency, -(-(hint - LIST_PAGE_MAX) // LIST_PAGE_MAX))
        workers = [asyncio.ensure_future(worker()) for _ in range(count)]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise

    def finish(self) -> None:
        """Hand on the pages left (past a gap: a page skipped after the short page was seen)."""
        for offset in sorted(self.pages):
            self.emit(self.pages.pop(offset))


async def list_all(
    api: Api,
    filters: Mapping[str, Any],
    *,
    include_life_cycle: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: bool = False,
) -> list[Task]:
    """Every task matching ``filters`` (plus LIFE_CYCLE ones, see :func:`tasks_frame`)."""
    found: list[Task] = []
    await stream_all(
        api,
        filters,
        found.extend,
        include_life_cycle=include_life_cycle,
        concurrency=concurrency,
        progress=progress,
    )
    return found


async def stream_all(
    api: Api,
    filters: Mapping[str, Any],
    sink: Sink,
    *,
    include_life_cycle: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: bool = False,
) -> int:
    """:func:`list_all`, handing the tasks to ``sink`` as soon as the pages before them are in
    (in the same order, each once) instead of keeping them all: a caller converts them while
    later pages are on the wire. Returns how many there were."""
    unknown = sorted(set(filters) - set(_FILTERS))
    if unknown:
        raise TypeError(f"unknown task filter(s) {unknown}; the filters are {list(_FILTERS)}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive int, got {concurrency!r}")
    clean = {k: v for k, v in filters.items() if v is not None}
    passes = [clean]
    if include_life_cycle and "scheduled_type" not in clean:
        passes.append({**clean, "scheduled_type": ScheduledType.LIFE_CYCLE.value})
    seen: set[str] = set()  # every pass's ids: the first sighting of an id is the one kept

    def emit(items: list[Task]) -> None:
        fresh = []
        for item in items:
            key = str(item.get("id"))
            if key not in seen:
                seen.add(key)
                fresh.append(item)
        if fresh:
            sink(fresh)

    with _progress(progress, "listing tasks") as bar:
        for pass_filters in passes:
            one = _Pass(api, pass_filters, bar, emit)
            await one.run(concurrency)
            one.finish()
        bar.total = bar.n
        bar.refresh()
    return len(seen)


async def list_fleet(
    apis: Mapping[str, Api],
    filters: Mapping[str, Any],
    *,
    include_life_cycle: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> dict[str, list[Task] | Exception]:
    """:func:`list_all` for every project of a fleet at once (project id -> its tasks, or the
    exception that stopped its listing: one failing project does not stop the others). Each
    ``Api`` wraps that project's own client, so each listing keeps within its own quota."""

    async def one(api: Api) -> list[Task]:
        return await list_all(
            api, filters, include_life_cycle=include_life_cycle, concurrency=concurrency
        )

    results = await asyncio.gather(*(one(api) for api in apis.values()), return_exceptions=True)
    out: dict[str, list[Task] | Exception] = {}
    for pid, result in zip(apis, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, Exception):
            raise result  # cancelled, interrupted: not a project's failure
        out[pid] = result
    return out
