"""List N tasks into a frame and delete them all: wsnb against the official SDK, same emulator.

The emulator runs in its own process (so server and client do not share one GIL), seeded with
the same N tasks before each contender. The SDK does what a typical user writes: page through
``ListScheduledTasks`` (both the normal and the LIFE_CYCLE listing, 50 a page) one call after
another, then ``BatchDeleteScheduledTasks`` in chunks of 5000, sleeping ``Retry-After`` on a 429.
wsnb does ``tasks_frame`` and ``delete_tasks(..., snapshot=False, precheck=False)`` - the same
calls plus its ledger and a verification listing. (The full-safety default, one ``get_task``
snapshot per id, is timed separately unthrottled: it is not the same work.)

Unthrottled is measured twice: on the bare loopback (round trip ~0, so the emulator's own
per-call cost decides) and with a simulated network round trip of ``RTT`` s (a latency fault on
every operation, the same rule for both contenders; the emulator awaits it, so calls in flight
overlap). The real service is tens of ms away, which is where concurrent paging pays off.

Throttled: the emulator's per-minute limits are time-scaled (a "minute" of ``60*SCALE`` s) and
wsnb's client limiter is set to match. The *floor* is the least time the emulator's
sliding-window throttle allows for the calls the job needs (every list page, then one delete per
5000 ids): ``(ceil(pages/limit_r) - 1 + ceil(deletes/limit_w) - 1)`` windows. wsnb's share of
the floor is ``floor / wsnb time`` (1.0 = as fast as allowed). With ``quick`` the job fits in one
window (floor 0), so that figure has no ratio there.

Also: N=100k list items JSON -> DataFrame (``tasks_to_frame``).
"""

from __future__ import annotations

import math
import multiprocessing as mp
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench._harness import Result, timer

BENCH = "deletion"
AK = "BENCHAK0000000000001"
SK = "bench-secret-key-not-a-real-one-00000000"
PROJECT = "0123456789abcdef0123456789abcdef"
SCALE = 0.1  # throttled runs: a "minute" lasts 6 s (33 reads/s: below what the emulator serves)
READS, WRITES = 200, 100
RTT = 0.030  # simulated network round trip for the second unthrottled comparison


def _serve(queue: Any, stop: Any) -> None:
    from wsnb.emulator import Emulator

    with Emulator(ak=AK, sk=SK, project_id=PROJECT) as emu:
        queue.put(emu.endpoint)
        stop.wait()


@contextmanager
def _emulator() -> Iterator[str]:
    ctx = mp.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=_serve, args=(queue, stop), daemon=True)
    proc.start()
    try:
        yield str(queue.get(timeout=60))
    finally:
        stop.set()
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()


def _sdk(endpoint: str) -> Any:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkworkspace.v2 import WorkspaceClient

    return (
        WorkspaceClient.new_builder()
        .with_credentials(BasicCredentials(AK, SK, PROJECT))
        .with_endpoints([endpoint])
        .build()
    )


def _sdk_call(fn: Any, request: Any) -> Any:
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    while True:
        try:
            return fn(request)
        except ClientRequestException as exc:
            if exc.status_code != 429:
                raise
            time.sleep(2.0 * SCALE)  # Huawei advises 2-5 s; time-scaled like the throttle


def sdk_cleanup(endpoint: str) -> tuple[int, int]:
    """The SDK way: list every page sequentially, then batch-delete in chunks of 5000."""
    from huaweicloudsdkworkspace.v2 import (
        BatchDeleteScheduledTasksRequest,
        DeleteScheduledTasksReq,
        ListScheduledTasksRequest,
    )

    client = _sdk(endpoint)
    ids: list[str] = []
    calls = 0
    for scheduled_type in (None, "LIFE_CYCLE"):
        offset = 0
        while True:
            request = ListScheduledTasksRequest(
                offset=offset, limit=50, scheduled_type=scheduled_type
            )
            page = _sdk_call(client.list_scheduled_tasks, request)
            calls += 1
            items = page.scheduled_tasks or []
            ids += [t.id for t in items]
            offset += 50
            if len(items) < 50:  # a short page ends the list (total_count is only a hint)
                break
    for start in range(0, len(ids), 5000):
        body = DeleteScheduledTasksReq(task_ids=ids[start : start + 5000])
        _sdk_call(client.batch_delete_scheduled_tasks, BatchDeleteScheduledTasksRequest(body=body))
        calls += 1
    return len(ids), calls


def wsnb_cleanup(
    endpoint: str, ledger: Path, *, throttled: bool, snapshot: bool = False
) -> dict[str, Any]:
    """The wsnb way: ``tasks_frame`` then ``delete_tasks`` (defaults otherwise)."""
    from wsnb import Credentials
    from wsnb._retry import RateLimit
    from wsnb.client import Client
    from wsnb.deletion import delete_tasks
    from wsnb.frames import tasks_frame

    rate: RateLimit | None = None
    if throttled:
        # The server counts calls in a sliding window of 60*SCALE s; a token bucket lets through
        # at most burst + rate*window calls in any window, so keep that below the limit.
        # One call of margin: at most burst + (limit - burst - 1) = limit - 1 calls per window.
        window, burst = 60 * SCALE, 3
        rate = RateLimit(
            reads_per_minute=(READS - burst - 1) * 60 / window,
            writes_per_minute=(WRITES - burst - 1) * 60 / window,
            burst=burst,
        )
    creds = Credentials(ak=AK, sk=SK, project_id=PROJECT)
    with Client(endpoint=endpoint, credentials=creds, rate_limit=rate) as client:
        start = time.perf_counter()
        frame = tasks_frame(client)
        listed = time.perf_counter()
        report = delete_tasks(
            client,
            frame,
            chunk_size=5000,
            max_deletions=len(frame),
            ledger=ledger,
            progress=False,
            snapshot=snapshot,
            precheck=False,
        )
    return {
        "listed": len(frame),
        "list_s": listed - start,
        "delete_s": time.perf_counter() - listed,
        "list_calls": client.stats.by_operation.get("list_tasks", 0),
        **report.summary,
    }


def _seed(endpoint: str, n: int, *, throttled: bool, rtt: float = 0.0) -> None:
    from wsnb.emulator import Control

    with Control(endpoint, timeout=600) as control:
        control.reset()
        control.set_throttle(None)
        control.clear_faults()
        control.seed(n, seed=7)
        if rtt:
            control.add_fault(operation="*", kind="latency", latency=rtt)
        if throttled:
            control.set_throttle(reads_per_minute=READS, writes_per_minute=WRITES, time_scale=SCALE)


def _floor(n: int, endpoint: str) -> float:
    """The least time the emulator's sliding-window throttle allows for the calls the job needs
    (every list page, then one delete per 5000 ids): ``limit`` calls may go at once, the next
    ``limit`` a window later, and so on; the delete phase starts after the listing."""
    from wsnb.emulator import Control

    with Control(endpoint) as control:
        tasks = control.dump(PROJECT).get("tasks", [])
    life = sum(1 for t in tasks if t.get("scheduled_type") == "LIFE_CYCLE")
    pages = max(1, math.ceil((n - life) / 50)) + max(1, math.ceil(life / 50))
    deletes = math.ceil(n / 5000)
    window = 60 * SCALE
    return ((math.ceil(pages / READS) - 1) + (math.ceil(deletes / WRITES) - 1)) * window


def _warm_up() -> None:
    """Import both contenders' modules before any timing."""
    import huaweicloudsdkworkspace.v2  # noqa: F401
    import tqdm.auto  # noqa: F401

    import wsnb.deletion
    import wsnb.frames  # noqa: F401


def _frame_conversion(n: int) -> float:
    from wsnb.frames import tasks_to_frame

    rng = random.Random(1)
    zones = ["Asia/Shanghai", "Europe/Paris", "UTC", "America/New_York", "GMT+08:00"]
    items = []
    for i in range(n):
        item: dict[str, Any] = {
            "id": f"{i:08x}-0000-4000-8000-000000000000",
            "task_name": f"task-{i}",
            "task_type": rng.choice(["STOP", "REBOOT", "EXECUTE_SCRIPT"]),
            "scheduled_type": rng.choice(["DAY", "WEEK", "MONTH", "FIXED_TIME"]),
            "enable": rng.random() < 0.8,
            "next_execution_time": f"2026-12-{rng.randint(1, 28):02d} 0{rng.randint(0, 9)}:00:00",
            "time_zone": rng.choice(zones),
            "priority": 1,
            "wait_time": 0,
            "extra_params": "{}",
        }
        if i % 5 == 0:
            item["expire_time"] = "2027-01-01 00:00:00"
        if i % 3 == 0:
            item["last_status"] = "FAIL"
        items.append(item)
    best = math.inf
    for _ in range(3):
        with timer() as t:
            tasks_to_frame(items)
        best = min(best, t[0])
    return best


def _unthrottled(endpoint: str, n: int, tmp: Path, rtt: float) -> Result:
    """wsnb against the SDK, both with ``rtt`` s of injected latency on every call."""
    _seed(endpoint, n, throttled=False, rtt=rtt)
    with timer() as t_sdk:
        deleted, sdk_calls = sdk_cleanup(endpoint)
    assert deleted == n, (deleted, n)
    _seed(endpoint, n, throttled=False, rtt=rtt)
    with timer() as t_wsnb:
        summary = wsnb_cleanup(endpoint, tmp / f"u{rtt}.sqlite", throttled=False)
    assert summary["deleted"] == n and summary["failed"] == 0, summary
    _seed(endpoint, 0, throttled=False)  # drop the latency rule
    label = f"RTT {rtt * 1000:.0f} ms" if rtt else "loopback"
    return Result(
        BENCH,
        f"list+delete {n} unthrottled, {label}",
        n / t_wsnb[0],
        "tasks/s",
        baseline=n / t_sdk[0],
        baseline_name="SDK",
        target=3.0,
        note=f"{label}: wsnb {t_wsnb[0]:.2f}s (list {summary['list_s']:.2f}s in "
        f"{summary['list_calls']} calls, delete {summary['delete_s']:.2f}s in "
        f"{summary['calls']} calls), SDK {t_sdk[0]:.2f}s ({sdk_calls} calls)",
    )


def run(quick: bool = False) -> list[Result]:
    n = 2_000 if quick else 20_000
    results: list[Result] = []
    tmp = Path(tempfile.mkdtemp(prefix="wsnb-bench-"))
    _warm_up()
    with _emulator() as endpoint:
        # unthrottled: wsnb vs SDK, on the bare loopback and with a simulated round trip
        for rtt in (0.0, RTT):
            results.append(_unthrottled(endpoint, n, tmp, rtt))
        # the full-safety default (a snapshot per id) for reference
        snap_n = min(n, 2_000)
        _seed(endpoint, snap_n, throttled=False)
        with timer() as t_snap:
            snap = wsnb_cleanup(endpoint, tmp / "s.sqlite", throttled=False, snapshot=True)
        assert snap["deleted"] == snap_n, snap
        results.append(
            Result(
                BENCH,
                f"list+snapshot+delete {snap_n} unthrottled",
                snap_n / t_snap[0],
                "tasks/s",
                note="default snapshot=True: one get_task per id (not the SDK's work)",
            )
        )
        # throttled: wsnb vs the floor (and the SDK for reference)
        _seed(endpoint, n, throttled=True)
        floor = _floor(n, endpoint)
        with timer() as t_thr:
            summary = wsnb_cleanup(endpoint, tmp / "b.sqlite", throttled=True)
        assert summary["deleted"] == n, summary
        results.append(
            Result(
                BENCH,
                f"list+delete {n} throttled x{SCALE}",
                t_thr[0],
                "s",
                baseline=floor,
                baseline_name="floor",
                higher_is_better=False,
                target=0.9,
                note=f"{summary['throttled_calls']} throttled call(s), {summary['failed']} failed; "
                f"list {summary['list_s']:.2f}s, delete {summary['delete_s']:.2f}s",
            )
        )
        _seed(endpoint, n, throttled=True)
        with timer() as t_sdk_thr:
            deleted, _ = sdk_cleanup(endpoint)
        assert deleted == n, (deleted, n)
        results.append(
            Result(
                BENCH,
                f"SDK list+delete {n} throttled x{SCALE}",
                t_sdk_thr[0],
                "s",
                baseline=t_thr[0],
                baseline_name="wsnb",
                higher_is_better=False,
                note="sequential SDK, sleeping on 429",
            )
        )
    conv_n = 20_000 if quick else 100_000
    seconds = _frame_conversion(conv_n)
    results.append(
        Result(
            BENCH,
            f"{conv_n} tasks JSON -> DataFrame",
            seconds,
            "s",
            higher_is_better=False,
            target=1.0,
            target_kind="value",
        )
    )
    return results


if __name__ == "__main__":
    from bench._harness import print_table

    print_table(run(quick=True))
