"""Emulator throughput over a real socket: list pages and batch-deletes per second.

Each figure is measured with plain httpx (AK/SK signed by ``wsnb.auth.WorkspaceAuth``) and with
the official SDK doing the same calls; the SDK is the baseline. No throttle, in-memory db.
"""

from __future__ import annotations

from typing import Any

import httpx

from bench._harness import Result, timer
from wsnb.auth import WorkspaceAuth
from wsnb.emulator import Emulator

BENCH = "emulator"


def _sdk(emu: Emulator) -> Any:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkworkspace.v2 import WorkspaceClient

    creds = BasicCredentials(emu.ak, emu.sk, emu.project_id)
    return (
        WorkspaceClient.new_builder().with_credentials(creds).with_endpoints([emu.endpoint]).build()
    )


def _list_pages(emu: Emulator, calls: int) -> tuple[float, float]:
    """(httpx pages/s, SDK pages/s) for 50-task pages at varying offsets."""
    from huaweicloudsdkworkspace.v2 import model as m

    base = f"/v2/{emu.project_id}/scheduled-tasks"
    with httpx.Client(base_url=emu.endpoint, auth=WorkspaceAuth(emu.credentials)) as http:
        http.get(base, params={"offset": 0, "limit": 50}).raise_for_status()  # warm up
        with timer() as t_httpx:
            for i in range(calls):
                r = http.get(base, params={"offset": (i * 50) % 5000, "limit": 50})
                r.raise_for_status()
    sdk = _sdk(emu)
    sdk.list_scheduled_tasks(m.ListScheduledTasksRequest(offset=0, limit=50))
    with timer() as t_sdk:
        for i in range(calls):
            sdk.list_scheduled_tasks(m.ListScheduledTasksRequest(offset=(i * 50) % 5000, limit=50))
    return calls / t_httpx[0], calls / t_sdk[0]


def _batch_deletes(emu: Emulator, calls: int, chunk: int) -> tuple[float, float]:
    """(httpx calls/s, SDK calls/s) deleting ``chunk`` existing tasks per call."""
    from huaweicloudsdkworkspace.v2 import model as m

    url = f"/v2/{emu.project_id}/scheduled-tasks/batch-delete"
    emu.control.reset()
    ids = emu.control.seed(calls * chunk * 2, seed=1)
    mine, theirs = ids[: calls * chunk], ids[calls * chunk :]
    auth = WorkspaceAuth(emu.credentials)
    with httpx.Client(base_url=emu.endpoint, auth=auth) as http, timer() as t_httpx:
        for i in range(calls):
            ids_ = mine[i * chunk : (i + 1) * chunk]
            http.post(url, json={"task_ids": ids_}).raise_for_status()
    sdk = _sdk(emu)
    with timer() as t_sdk:
        for i in range(calls):
            body = m.DeleteScheduledTasksReq(task_ids=theirs[i * chunk : (i + 1) * chunk])
            sdk.batch_delete_scheduled_tasks(m.BatchDeleteScheduledTasksRequest(body=body))
    assert emu.control.task_ids() == [], "every seeded task should be gone"
    return calls / t_httpx[0], calls / t_sdk[0]


def run(quick: bool = False) -> list[Result]:
    """Measure list-page and batch-delete throughput against a fresh emulator."""
    pages = 100 if quick else 600
    deletes = 20 if quick else 100
    chunk = 100
    with Emulator(tasks=5000, seed=0) as emu:
        with timer() as seeding:
            emu.control.seed(20_000, seed=42, project_id="seed-timing")
        list_httpx, list_sdk = _list_pages(emu, pages)
        del_httpx, del_sdk = _batch_deletes(emu, deletes, chunk)
    return [
        Result(BENCH, "list page (50 tasks), httpx", list_httpx, "req/s", list_sdk, "SDK"),
        Result(BENCH, f"batch-delete ({chunk} ids), httpx", del_httpx, "req/s", del_sdk, "SDK"),
        Result(
            BENCH,
            "seed 20k tasks (control plane)",
            seeding[0],
            "s",
            higher_is_better=False,
            target=3.0,
            target_kind="value",
            note="bulk insert incl. records and details; shared 2-core box",
        ),
    ]


if __name__ == "__main__":
    from bench._harness import print_table

    print_table(run(quick=True))
