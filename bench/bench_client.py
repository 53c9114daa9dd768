"""Client throughput against the local emulator (no throttle), with the official SDK as baseline.

Figures: pages listed per second by ``Client.list_tasks`` vs the SDK paging the same list, and
``get_task`` calls per second from ``AsyncClient`` (8 in flight) vs the sync ``Client``. The
emulator and both clients share this machine, so only the ratios mean anything.
"""

from __future__ import annotations

import asyncio
import logging

from bench._harness import Result, timer
from wsnb.emulator import Emulator


def _sdk_list_all(emu: Emulator) -> int:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkworkspace.v2 import ListScheduledTasksRequest, WorkspaceClient

    creds = emu.credentials
    sdk = (
        WorkspaceClient.new_builder()
        .with_credentials(BasicCredentials(creds.ak, creds.sk, emu.project_id))
        .with_endpoints([emu.endpoint])
        .build()
    )
    offset, pages = 0, 0
    while True:
        page = sdk.list_scheduled_tasks(ListScheduledTasksRequest(offset=offset, limit=50))
        pages += 1
        got = len(page.scheduled_tasks or [])
        offset += got
        if got < 50:
            return pages


def run(quick: bool) -> list[Result]:
    logging.getLogger("HttpClient").setLevel(logging.WARNING)
    tasks, rounds, gets = (300, 2, 100) if quick else (2000, 3, 400)
    results: list[Result] = []
    with Emulator(tasks=tasks, seed=0) as emu:
        with emu.client(rate_limit=None) as client:
            client.list_tasks()  # warm up the connection
            with timer() as ours:
                for _ in range(rounds):
                    client.list_tasks()
            pages = client.stats.by_operation["list_tasks"] // (rounds + 1)
            _sdk_list_all(emu)
            with timer() as theirs:
                for _ in range(rounds):
                    _sdk_list_all(emu)
            results.append(
                Result(
                    "client",
                    f"list_tasks pages/s ({pages} pages)",
                    pages * rounds / ours[0],
                    "pages/s",
                    baseline=pages * rounds / theirs[0],
                    baseline_name="official SDK",
                    target=1.0,
                )
            )
            ids = [t["id"] for t in client.list_tasks()][:gets]
            with timer() as sync_time:
                for task_id in ids:
                    client.get_task(task_id)

        async def fetch_all() -> None:
            limit = asyncio.Semaphore(8)
            async with emu.async_client(rate_limit=None) as aclient:

                async def one(task_id: str) -> None:
                    async with limit:
                        await aclient.get_task(task_id)

                await asyncio.gather(*(one(task_id) for task_id in ids))

        with timer() as async_time:
            asyncio.run(fetch_all())
        results.append(
            Result(
                "client",
                "get_task calls/s, AsyncClient x8",
                len(ids) / async_time[0],
                "calls/s",
                baseline=len(ids) / sync_time[0],
                baseline_name="sync Client",
                note="one emulator process on a shared 2-core box; the server is the bottleneck",
            )
        )
    return results
