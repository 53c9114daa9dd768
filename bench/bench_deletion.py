"""Listing and deleting N tasks: wsnb against the official SDK, same emulator; wsnb's pipelined
default against its own floor; a dry run's plan executed later against one run; wsnb's ETA
against every measured time.

The emulator runs in its own process (so server and client do not share one GIL), seeded with
the same N tasks before each contender. The SDK does what a user writes: the *loop* pages through
``ListScheduledTasks`` (the normal and the LIFE_CYCLE listing, 50 a page) one call after another;
the *pool* reads the first page for the total, then the other pages on 8 threads (a
``ThreadPoolExecutor(8)``, the usual way to go faster). Deleting is ``BatchDeleteScheduledTasks``
in chunks of 5000, sleeping 2-5 s (time-scaled) on a 429. wsnb does ``tasks_frame`` and
``delete_tasks``.

Rows (each timed ``REPEAT`` times, interleaved with its baseline: the value is the median, "best"
the best run). Each deletion scenario also has an ETA row: the estimate ``delete_tasks`` makes
after the listing and before its first call (what the CLI, the notebook and the grid show; it
learns the server's pace from what the client has seen), against the time the deleter then
took:

* listing at a simulated ``RTT`` (a latency fault on every call; the emulator awaits it, so calls
  in flight overlap): wsnb at its default (16 pages in flight) and at the old default 4, against
  the SDK pool; the SDK pool against the SDK loop;
* list + delete ``snapshot=False`` unthrottled at ``RTT``, against the SDK loop and the SDK pool;
* list + delete ``snapshot=False`` under the time-scaled throttle (a "minute" of ``60*SCALE`` s;
  wsnb's RateLimit is told the same quota and window) against the SDK loop;
* the default (snapshots, pipelined, sampled verification) of ``SNAP_N`` tasks under the throttle
  against its *floor*: every read it must make (list pages + one snapshot per id) at the quota;
* the same as a dry run (``plan_deletion``) followed by ``plan.execute()``, against one run.
"""

from __future__ import annotations

import math
import random
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from bench._harness import Result, emulator_process, median, timer

BENCH = "deletion"
AK = "BENCHAK0000000000001"
SK = "bench-secret-key-not-a-real-one-00000000"
PROJECT = "0123456789abcdef0123456789abcdef"
SCALE = 0.05  # throttled runs: a "minute" lasts 3 s (67 reads/s: below what the emulator serves)
READS, WRITES = 200, 100
RTT = 0.030  # simulated network round trip
SDK_WORKERS = 8  # the SDK pool's threads
OLD_LIST_CONCURRENCY = 4  # the listing's default before this measurement
REPEAT = 3
SNAP_N = 2_000  # tasks of the throttled snapshot=True rows


def _emulator() -> AbstractContextManager[str]:
    return emulator_process(ak=AK, sk=SK, project_id=PROJECT)


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


def _list_request(offset: int, scheduled_type: str | None) -> Any:
    from huaweicloudsdkworkspace.v2 import ListScheduledTasksRequest

    return ListScheduledTasksRequest(offset=offset, limit=50, scheduled_type=scheduled_type)


def sdk_list_loop(client: Any) -> tuple[list[str], int]:
    """The SDK loop: every page of both listings, one call after another; (ids, calls)."""
    ids: list[str] = []
    calls = 0
    for scheduled_type in (None, "LIFE_CYCLE"):
        offset = 0
        while True:
            page = _sdk_call(client.list_scheduled_tasks, _list_request(offset, scheduled_type))
            calls += 1
            got = page.scheduled_tasks or []
            ids += [t.id for t in got]
            offset += 50
            if len(got) < 50:  # a short page ends the list (total_count is only a hint)
                break
    return ids, calls


def sdk_list_pool(client: Any, workers: int = SDK_WORKERS) -> tuple[list[str], int]:
    """The SDK pool: the first page gives the total, the other pages go to ``workers`` threads."""
    ids: list[str] = []
    calls = 0
    with ThreadPoolExecutor(workers) as pool:
        for scheduled_type in (None, "LIFE_CYCLE"):
            first = _sdk_call(client.list_scheduled_tasks, _list_request(0, scheduled_type))
            calls += 1
            ids += [t.id for t in first.scheduled_tasks or []]
            offsets = range(50, first.total_count or 0, 50)
            pages = pool.map(
                lambda o, st=scheduled_type: _sdk_call(
                    client.list_scheduled_tasks, _list_request(o, st)
                ),
                offsets,
            )
            for page in pages:
                calls += 1
                ids += [t.id for t in page.scheduled_tasks or []]
    return ids, calls


def sdk_cleanup(endpoint: str, *, pool: bool = False) -> tuple[int, int]:
    """The SDK way: list every page (the loop, or the pool), then batch-delete in chunks of
    5000, one call after another."""
    from huaweicloudsdkworkspace.v2 import (
        BatchDeleteScheduledTasksRequest,
        DeleteScheduledTasksReq,
    )

    client = _sdk(endpoint)
    ids, calls = sdk_list_pool(client) if pool else sdk_list_loop(client)
    for start in range(0, len(ids), 5000):
        body = DeleteScheduledTasksReq(task_ids=ids[start : start + 5000])
        _sdk_call(client.batch_delete_scheduled_tasks, BatchDeleteScheduledTasksRequest(body=body))
        calls += 1
    return len(ids), calls


def _client(endpoint: str, rate: Any = None) -> Any:
    from wsnb import Credentials
    from wsnb._retry import RetryPolicy
    from wsnb.client import Client

    creds = Credentials(ak=AK, sk=SK, project_id=PROJECT)
    retry = RetryPolicy(throttle_wait=2.0 * SCALE)  # the 2-5 s after a 429, time-scaled
    return Client(endpoint=endpoint, credentials=creds, rate_limit=rate, retry=retry)


def _rate_limit() -> Any:
    """wsnb's limiter told the emulator's quota and (time-scaled) window."""
    from wsnb._retry import RateLimit

    return RateLimit(reads_per_minute=READS, writes_per_minute=WRITES, window=60 * SCALE)


def wsnb_list(endpoint: str, concurrency: int | None) -> int:
    """``tasks_frame`` (no rate limit): how many tasks it listed."""
    from wsnb.frames import tasks_frame

    with _client(endpoint) as client:
        if concurrency is None:
            return len(tasks_frame(client))
        return len(tasks_frame(client, concurrency=concurrency))


def wsnb_cleanup(
    endpoint: str, ledger: Path, *, throttled: bool, snapshot: bool = False, plan: bool = False
) -> dict[str, Any]:
    """The wsnb way: ``tasks_frame`` then ``delete_tasks`` (with ``snapshot=False`` the frame,
    listed moments ago, is the existence pre-check); with ``plan``, ``plan_deletion`` then
    ``plan.execute()`` (a dry run, then its plan executed)."""
    from wsnb.deletion import delete_tasks, plan_deletion
    from wsnb.frames import tasks_frame

    rate = _rate_limit() if throttled else None
    with _client(endpoint, rate) as client:
        start = time.perf_counter()
        frame = tasks_frame(client)
        listed = time.perf_counter()
        dry_eta = 0.0
        if plan:
            planned = plan_deletion(
                client, frame, max_deletions=len(frame), ledger=ledger, progress=False
            )
            dry_eta = float(planned.report().summary.get("eta_s") or 0.0)
            report = planned.execute(progress=False)
        else:
            report = delete_tasks(
                client,
                frame,
                max_deletions=len(frame),
                ledger=ledger,
                progress=False,
                snapshot=snapshot,  # precheck left at its default: the fresh frame is it
            )
    return {
        "listed": len(frame),
        "list_s": listed - start,
        "delete_s": time.perf_counter() - listed,
        "list_calls": client.stats.by_operation.get("list_tasks", 0),
        "reads": sum(client.stats.by_operation.get(op, 0) for op in ("list_tasks", "get_task")),
        **report.summary,
        # the deleter's own estimates, made before its first call (a dry run's, then its plan's)
        "eta_s": dry_eta + float(report.summary.get("eta_s") or 0.0),
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


def _pages(endpoint: str) -> tuple[int, int]:
    """(list pages of both listings, tasks) in the seeded project."""
    from wsnb.emulator import Control

    with Control(endpoint) as control:
        tasks = control.dump(PROJECT).get("tasks", [])
    life = sum(1 for t in tasks if t.get("scheduled_type") == "LIFE_CYCLE")
    pages = max(1, math.ceil((len(tasks) - life) / 50)) + max(1, math.ceil(life / 50))
    return pages, len(tasks)


def _floor(pages: int, n: int) -> float:
    """``snapshot=False``: the least time the emulator's sliding-window throttle allows for the
    calls the job needs (every list page, then one delete per 5000 ids): ``limit`` calls may go
    at once, the next ``limit`` a window later, and so on; the delete phase starts after the
    listing."""
    deletes = math.ceil(n / 5000)
    window = 60 * SCALE
    return ((math.ceil(pages / READS) - 1) + (math.ceil(deletes / WRITES) - 1)) * window


def _snapshot_floor(pages: int, n: int) -> float:
    """The default's own floor: the reads it cannot do without (every list page and one
    snapshot per id) at the read quota; the writes overlap them (their own quota)."""
    return (pages + n) / READS * 60 * SCALE


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


def _eta_row(label: str, runs: list[dict[str, Any]]) -> Result:
    """The deleter's own estimate (made after the listing, before its first call: what the CLI,
    the notebook and the grid show) against the time it then took."""
    took = [r["delete_s"] for r in runs]
    return Result(
        BENCH,
        f"{label}: delete_tasks' ETA vs its time",
        median(took),
        "s",
        higher_is_better=False,
        samples=took,
        estimate=median([r["eta_s"] for r in runs]),
    )


def _timed(prepare: Callable[[], object], action: Callable[[], object], times: int) -> list[float]:
    """Seconds ``action`` took, ``times`` times, each after an untimed ``prepare``."""
    seconds = []
    for _ in range(times):
        prepare()
        with timer() as took:
            action()
        seconds.append(took[0])
    return seconds


def _interleaved(
    prepare: Callable[[], object], actions: dict[str, Callable[[], object]], times: int
) -> dict[str, list[float]]:
    """Each action ``times`` times, taking turns (a busy moment of the machine hits all alike),
    each after an untimed ``prepare``."""
    seconds: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(times):
        for name, action in actions.items():
            seconds[name] += _timed(prepare, action, 1)
    return seconds


def _listing(endpoint: str, n: int, times: int) -> list[Result]:
    """Listing at ``RTT``: wsnb (its default and the old default) vs the SDK pool and loop."""
    import inspect

    from wsnb.frames import tasks_frame

    default = inspect.signature(tasks_frame).parameters["concurrency"].default
    _seed(endpoint, n, throttled=False, rtt=RTT)
    pages, _ = _pages(endpoint)
    sdk = _sdk(endpoint)
    contenders: dict[str, Callable[[], object]] = {
        "wsnb": lambda: wsnb_list(endpoint, None),
        "wsnb old": lambda: wsnb_list(endpoint, OLD_LIST_CONCURRENCY),
        "SDK pool": lambda: sdk_list_pool(sdk),
        "SDK loop": lambda: sdk_list_loop(sdk),
    }
    for action in contenders.values():  # warm up connections and imports
        action()
    seconds = _interleaved(lambda: None, contenders, times)
    _seed(endpoint, 0, throttled=False)  # drop the latency rule

    def rate(name: str) -> list[float]:
        return [pages / t for t in seconds[name]]

    label = f"list {n} tasks ({pages} pages), RTT {RTT * 1000:.0f} ms"
    return [
        Result(
            BENCH,
            f"{label}, wsnb default x{default}",
            median(rate("wsnb")),
            "pages/s",
            baseline=median(rate("SDK pool")),
            baseline_name=f"SDK pool x{SDK_WORKERS}",
            target=1.0,
            samples=rate("wsnb"),
            note=f"SDK loop {median(rate('SDK loop')):.0f} pages/s",
        ),
        Result(
            BENCH,
            f"{label}, wsnb old default x{OLD_LIST_CONCURRENCY}",
            median(rate("wsnb old")),
            "pages/s",
            baseline=median(rate("SDK pool")),
            baseline_name=f"SDK pool x{SDK_WORKERS}",
            samples=rate("wsnb old"),
        ),
        Result(
            BENCH,
            f"{label}, SDK pool x{SDK_WORKERS}",
            median(rate("SDK pool")),
            "pages/s",
            baseline=median(rate("SDK loop")),
            baseline_name="SDK loop",
            samples=rate("SDK pool"),
        ),
    ]


def _unthrottled(endpoint: str, n: int, tmp: Path, times: int) -> list[Result]:
    """list + delete (snapshot=False) at ``RTT``: wsnb against the SDK loop and the SDK pool."""
    runs: list[dict[str, Any]] = []

    def prepare() -> None:
        _seed(endpoint, n, throttled=False, rtt=RTT)

    def ours() -> None:
        runs.append(wsnb_cleanup(endpoint, tmp / f"u-{len(runs)}.sqlite", throttled=False))
        assert runs[-1]["deleted"] == n and runs[-1]["failed"] == 0, runs[-1]

    def sdk(pool: bool) -> Callable[[], None]:
        def go() -> None:
            deleted, _ = sdk_cleanup(endpoint, pool=pool)
            assert deleted == n, (deleted, n)

        return go

    prepare()
    seconds = _interleaved(
        prepare, {"wsnb": ours, "SDK loop": sdk(False), "SDK pool": sdk(True)}, times
    )
    _seed(endpoint, 0, throttled=False)  # drop the latency rule
    last = runs[-1]
    label = f"list+delete {n} snapshot=False unthrottled, RTT {RTT * 1000:.0f} ms"
    note = (
        f"wsnb {median(seconds['wsnb']):.2f}s (list {last['list_s']:.2f}s in "
        f"{last['list_calls']} calls, delete+verify {last['delete_s']:.2f}s), SDK loop "
        f"{median(seconds['SDK loop']):.2f}s, SDK pool {median(seconds['SDK pool']):.2f}s"
    )
    return [
        Result(
            BENCH,
            f"{label} vs SDK loop",
            median(seconds["wsnb"]),
            "s",
            baseline=median(seconds["SDK loop"]),
            baseline_name="SDK loop",
            higher_is_better=False,
            target=3.0,
            samples=seconds["wsnb"],
            note=note,
        ),
        Result(
            BENCH,
            f"{label} vs SDK pool",
            median(seconds["wsnb"]),
            "s",
            baseline=median(seconds["SDK pool"]),
            baseline_name=f"SDK pool x{SDK_WORKERS}",
            higher_is_better=False,
            target=1.2,
            samples=seconds["wsnb"],
        ),
        _eta_row(label, runs),
    ]


def _throttled(endpoint: str, n: int, tmp: Path, times: int) -> list[Result]:
    """list + delete (snapshot=False) under the time-scaled throttle: wsnb vs the SDK loop."""
    runs: list[dict[str, Any]] = []

    def prepare() -> None:
        _seed(endpoint, n, throttled=True)

    def ours() -> None:
        runs.append(wsnb_cleanup(endpoint, tmp / f"t-{len(runs)}.sqlite", throttled=True))
        assert runs[-1]["deleted"] == n, runs[-1]

    def theirs() -> None:
        deleted, _ = sdk_cleanup(endpoint)
        assert deleted == n, (deleted, n)

    prepare()
    pages, _ = _pages(endpoint)
    seconds = _interleaved(prepare, {"wsnb": ours, "SDK loop": theirs}, times)
    throttled = sum(r["throttled_calls"] for r in runs)
    label = f"list+delete {n} snapshot=False, throttled x{SCALE}"
    main = Result(
        BENCH,
        label,
        median(seconds["wsnb"]),
        "s",
        baseline=median(seconds["SDK loop"]),
        baseline_name="SDK loop",
        higher_is_better=False,
        target=1.0,
        samples=seconds["wsnb"],
        note=f"{throttled} throttled call(s) in {times} runs; floor {_floor(pages, n):.1f}s; "
        f"list {runs[-1]['list_s']:.2f}s, delete+verify {runs[-1]['delete_s']:.2f}s",
    )
    return [main, _eta_row(label, runs)]


def _throttled_snapshots(endpoint: str, n: int, tmp: Path, times: int) -> list[Result]:
    """The default (snapshots, pipelined) under the throttle: one run against its floor, and a
    dry run followed by the execution of its plan against one run."""
    runs: list[dict[str, Any]] = []
    plans: list[dict[str, Any]] = []

    def prepare() -> None:
        _seed(endpoint, n, throttled=True)

    def ours() -> None:
        ledger = tmp / f"ts-{len(runs)}.sqlite"
        runs.append(wsnb_cleanup(endpoint, ledger, throttled=True, snapshot=True))
        assert runs[-1]["deleted"] == n and runs[-1]["failed"] == 0, runs[-1]

    def planned() -> None:
        ledger = tmp / f"tp-{len(plans)}.sqlite"
        plans.append(wsnb_cleanup(endpoint, ledger, throttled=True, snapshot=True, plan=True))
        assert plans[-1]["deleted"] == n, plans[-1]

    prepare()
    pages, _ = _pages(endpoint)
    floor = _snapshot_floor(pages, n)
    seconds = _interleaved(prepare, {"one run": ours, "plan+execute": planned}, times)
    one = median(seconds["one run"])
    label = f"list+snapshot+delete {n} (the default), throttled x{SCALE}"
    return [
        Result(
            BENCH,
            f"{label} vs its floor",
            one,
            "s",
            baseline=floor,
            baseline_name="floor",
            higher_is_better=False,
            target=1 / 1.1,
            samples=seconds["one run"],
            note=f"floor: {pages} list pages + {n} snapshots at {READS} reads per "
            f"{60 * SCALE:g} s; {runs[-1]['reads']} reads made (verification sample included); "
            f"{sum(r['throttled_calls'] for r in runs)} throttled call(s) in {times} runs",
        ),
        Result(
            BENCH,
            f"{label}: dry run, then its plan executed",
            median(seconds["plan+execute"]),
            "s",
            baseline=one,
            baseline_name="one run",
            higher_is_better=False,
            target=1 / 1.15,
            samples=seconds["plan+execute"],
            note=f"{plans[-1]['reads']} reads in the execution's client (listing, dry run, check,"
            " verification)",
        ),
        _eta_row(label, runs),
        _eta_row(f"{label}: dry run, then its plan executed", plans),
    ]


def run(quick: bool = False) -> list[Result]:
    n = 2_000 if quick else 20_000
    list_n = 2_000 if quick else 10_000
    snap_n = 500 if quick else SNAP_N
    times = 1 if quick else REPEAT
    results: list[Result] = []
    tmp = Path(tempfile.mkdtemp(prefix="wsnb-bench-"))
    _warm_up()
    with _emulator() as endpoint:
        results.extend(_listing(endpoint, list_n, times))
        results.extend(_unthrottled(endpoint, n, tmp, times))
        results.extend(_throttled(endpoint, n, tmp, times))
        results.extend(_throttled_snapshots(endpoint, snap_n, tmp, times))
    conv_n = 20_000 if quick else 100_000
    results.append(
        Result(
            BENCH,
            f"{conv_n} tasks JSON -> DataFrame",
            _frame_conversion(conv_n),
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
