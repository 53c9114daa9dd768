"""One async face over :class:`~wsnb.client.Client` and :class:`~wsnb.client.AsyncClient`.

The listing, deletion and restore algorithms are written once, as coroutines, against
:class:`Api`. A sync client's blocking calls run in the client's own worker threads
(``Client._in_thread``: as many as its connection pool, where ``asyncio.to_thread``'s default
executor has 6 on two cores; httpx's sync client and wsnb's rate limiter are thread-safe), an
async client's are awaited directly.
:func:`run_sync` drives such a coroutine from plain code, including inside Jupyter, whose thread
already runs an event loop (the coroutine then runs on a fresh loop in a helper thread).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from wsnb.client import AsyncClient, Client
from wsnb.models import LIST_PAGE_MAX, Record, Task, TaskDetail

__all__ = ["Api", "run_sync"]

T = TypeVar("T")


class Api:
    """Awaitable versions of the client calls the algorithms need."""

    def __init__(self, client: Client | AsyncClient) -> None:
        if not isinstance(client, Client | AsyncClient):
            raise TypeError(f"expected a wsnb Client or AsyncClient, got {type(client).__name__}")
        self.client = client

    @property
    def endpoint(self) -> str:
        return self.client.endpoint

    @property
    def project_id(self) -> str:
        return self.client.project_id

    def stats(self) -> dict[str, Any]:
        return self.client.stats.snapshot()

    async def list_page(
        self, offset: int, filters: Mapping[str, Any], limit: int = LIST_PAGE_MAX
    ) -> tuple[list[Task], int | None]:
        """One page of tasks and the total the server reported with it (``None``: none)."""
        if isinstance(self.client, AsyncClient):
            page = await self.client.list_tasks_page(offset, limit, **filters)
        else:
            page = await self.client._in_thread(
                self.client.list_tasks_page, offset, limit, **filters
            )
        return page["scheduled_tasks"], page["total_count"]

    async def get_task(self, task_id: str) -> TaskDetail:
        if isinstance(self.client, AsyncClient):
            return await self.client.get_task(task_id)
        return await self.client._in_thread(self.client.get_task, task_id)

    async def list_records(self, task_id: str, offset: int, limit: int) -> list[Record]:
        """One page of a task's execution records (newest first)."""
        if isinstance(self.client, AsyncClient):
            return await self.client.list_records(task_id, offset=offset, limit=limit)
        return await asyncio.to_thread(
            self.client.list_records, task_id, offset=offset, limit=limit
        )

    async def batch_delete(self, task_ids: Sequence[str]) -> str | None:
        """Delete ``task_ids``; the ``X-Request-Id`` of the answer (``None`` without one)."""
        if isinstance(self.client, AsyncClient):
            return await self.client.batch_delete(task_ids)
        return await self.client._in_thread(self.client.batch_delete, task_ids)

    async def create_task(self, body: Mapping[str, Any]) -> str:
        if isinstance(self.client, AsyncClient):
            return await self.client.create_task(body)
        return await self.client._in_thread(self.client.create_task, body)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code, even when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="wsnb-run-sync", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value
