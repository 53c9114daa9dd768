"""Emulator throughput over a real socket: list pages and batch-deletes per second.

Capacity: the emulator serves in its own process while ``CLIENTS`` threads of this process (one
``httpx.Client`` each, AK/SK signed) ask for 50-task pages at varying offsets as fast as answers
come, for ``SECONDS`` s: pages/s, the median of ``REPEAT`` interleaved runs. The baseline is the
emulator as it was before it served requests concurrently (``BASELINE_REF``, default the commit
before that change, or ``WSNB_BENCH_BASELINE=<git ref>``; extracted with ``git archive``, served
with uvicorn's pure-Python h11 parser as it was then), on the same machine at the same moment.

Then, in-process: each figure measured with plain httpx and with the official SDK doing the
same calls one after another; the SDK is the baseline. No throttle, in-memory db.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench._harness import Result, median, timer
from wsnb.auth import Credentials, WorkspaceAuth
from wsnb.emulator import Emulator

BENCH = "emulator"
#: The last commit whose emulator served one request at a time (one connection under a lock).
BASELINE_REF = os.environ.get("WSNB_BENCH_BASELINE", "e13a6e8")
CLIENTS = 8
SECONDS = 3.0
REPEAT = 3
TASKS = 5000
AK = "BENCHAK0000000000002"
SK = "bench-secret-key-not-a-real-one-00000002"
PROJECT = "0123456789abcdef0123456789abcdef"

_SERVE = """
import sys
if {old!r}:
    sys.modules["httptools"] = None  # as it was served then: uvicorn's h11
from wsnb.emulator import Emulator
emu = Emulator(ak={ak!r}, sk={sk!r}, project_id={project!r}, tasks={tasks})
emu.start()
print(emu.endpoint, flush=True)
sys.stdin.read()
emu.stop()
"""


def _baseline_tree(ref: str) -> Path | None:
    """``wsnb/`` at ``ref`` in a temporary folder (None when git cannot give it)."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", ref, "wsnb"], capture_output=True, check=False
    )
    if archive.returncode:
        return None
    folder = Path(tempfile.mkdtemp(prefix="wsnb-baseline-"))
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


@contextmanager
def _served(source: Path | None) -> Iterator[str]:
    """An emulator with ``TASKS`` tasks in a subprocess (from ``source``, else this tree)."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    code = _SERVE.format(old=source is not None, ak=AK, sk=SK, project=PROJECT, tasks=TASKS)
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _capacity(endpoint: str, clients: int, seconds: float) -> float:
    """Pages/s answered to ``clients`` threads asking back to back for ``seconds``."""
    auth = WorkspaceAuth(Credentials(ak=AK, sk=SK, project_id=PROJECT))
    url = f"/v2/{PROJECT}/scheduled-tasks"
    done = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop = threading.Event()

    def ask(k: int) -> None:
        with httpx.Client(base_url=endpoint, auth=auth) as http:
            http.get(url, params={"offset": 0, "limit": 50}).raise_for_status()  # connect
            start.wait()
            i = k
            while not stop.is_set():
                offset = (i * 50) % (TASKS - 50)
                http.get(url, params={"offset": offset, "limit": 50}).raise_for_status()
                i += clients
                with lock:
                    done[0] += 1

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    with lock:
        count = done[0]
    elapsed = time.perf_counter() - began
    for thread in threads:
        thread.join()
    return count / elapsed


def capacity_results(quick: bool) -> list[Result]:
    """List-page capacity with 1 and ``CLIENTS`` clients, now and at ``BASELINE_REF``."""
    seconds, times = (1.0, 1) if quick else (SECONDS, REPEAT)
    baseline = _baseline_tree(BASELINE_REF)
    rates: dict[tuple[str, int], list[float]] = {}
    with _served(None) as now_at, _served(baseline) as then_at:
        for _ in range(times):  # interleaved: a busy moment of the machine hits both alike
            for clients in (1, CLIENTS):
                for label, endpoint in (("now", now_at), ("then", then_at)):
                    rate = _capacity(endpoint, clients, seconds)
                    rates.setdefault((label, clients), []).append(rate)
    results = []
    for clients in (1, CLIENTS):
        now, then = rates[("now", clients)], rates[("then", clients)]
        results.append(
            Result(
                BENCH,
                f"list-page capacity ({TASKS} tasks), {clients} client(s)",
                median(now),
                "pages/s",
                baseline=median(then),
                baseline_name=f"before ({BASELINE_REF})",
                target=3.0 if clients > 1 else None,
                samples=now,
                note=f"before: {', '.join(f'{r:.0f}' for r in then)} pages/s",
            )
        )
    return results


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
    """Measure list-page capacity, then list-page and batch-delete throughput."""
    results = capacity_results(quick)
    pages = 100 if quick else 600
    deletes = 20 if quick else 100
    chunk = 100
    with Emulator(tasks=5000, seed=0) as emu:
        with timer() as seeding:
            emu.control.seed(20_000, seed=42, project_id="seed-timing")
        list_httpx, list_sdk = _list_pages(emu, pages)
        del_httpx, del_sdk = _batch_deletes(emu, deletes, chunk)
    return [
        *results,
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
