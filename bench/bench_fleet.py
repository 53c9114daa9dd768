"""A fleet: list and delete every task of 8 projects x 5,000 tasks at once, each project within
its own quota.

Two emulator processes stand for two regions, four projects each (the emulator throttles per
project, as the service does). Every project is throttled at the real per-project quota (200
reads and 100 writes a minute), time-scaled like ``bench_deletion``: a "minute" lasts
``60*SCALE`` s, and each target's client gets its own :class:`~wsnb.RateLimit` with that window.
The job is ``tasks_frame(fleet)`` then ``delete_tasks(fleet, frame, snapshot=False,
precheck=False)`` (as in ``bench_deletion``'s throttled figure).

Baseline, per project: its *floor*, the least time its own calls take at its quota's sustained
pace, ``(reads - 1) * window / 200 + (writes - 1) * window / 100`` (the calls counted in the
emulator's request log). Target: the fleet's wall time is at most 1.25 x the slowest project's
floor (ratio >= 0.8), i.e. the projects really run side by side, each at its own pace, instead
of one after another (8 x). One project run alone is measured too, for reference. Failed calls
(any answer that is not 2xx, 429s included) are counted and must be 0.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

from bench._harness import Result, emulator_process

BENCH = "fleet"
AK = "BENCHAK0000000000002"
SK = "bench-secret-key-not-a-real-one-00000001"
SCALE = 1.0  # the real quota, unscaled: 200 reads a minute per project (see the docstring)
READS, WRITES = 200, 100
REGIONS = 2


def _emulator() -> AbstractContextManager[str]:
    return emulator_process(ak=AK, sk=SK)


def _project(region: int, n: int) -> str:
    return f"{region:02d}{n:02d}" + "f" * 28


def _seed(targets: list[tuple[str, str]], tasks: int) -> None:
    from wsnb.emulator import Control

    for endpoint in dict.fromkeys(e for e, _ in targets):
        with Control(endpoint, timeout=600) as control:
            control.reset()
            control.set_throttle(None)
            control.clear_faults()
    for n, (endpoint, pid) in enumerate(targets):
        with Control(endpoint, timeout=600) as control:
            control.seed(tasks, seed=n, project_id=pid)
    for endpoint in dict.fromkeys(e for e, _ in targets):
        with Control(endpoint, timeout=600) as control:
            control.set_throttle(reads_per_minute=READS, writes_per_minute=WRITES, time_scale=SCALE)
            control.clear_requests()


def _fleet(targets: list[tuple[str, str]]) -> Any:
    from wsnb import Credentials
    from wsnb._retry import RateLimit, RetryPolicy
    from wsnb.fleet import Fleet, Target

    window = 60 * SCALE
    creds = Credentials(ak=AK, sk=SK)
    return Fleet(
        [
            Target(
                project_id=pid,
                region=f"region-{endpoint[-5:]}",
                endpoint=endpoint,
                credentials=creds,
            )
            for endpoint, pid in targets
        ],
        client_options={
            "rate_limit": lambda: RateLimit(READS, WRITES, window=window),
            "retry": RetryPolicy(throttle_wait=2.0 * SCALE),
        },
    )


def _job(targets: list[tuple[str, str]], ledger: Path) -> dict[str, Any]:
    from wsnb.deletion import delete_fleet
    from wsnb.frames import tasks_frame

    fleet = _fleet(targets)
    start = time.perf_counter()
    frame = tasks_frame(fleet)
    listed = time.perf_counter()
    report = delete_fleet(
        fleet,
        frame,
        chunk_size=5000,
        max_deletions=len(frame),
        ledger=ledger,
        progress=False,
        snapshot=False,
        precheck=False,
    )
    end = time.perf_counter()
    return {
        "listed": len(frame),
        "list_s": listed - start,
        "delete_s": end - listed,
        "total_s": end - start,
        "ok": report.ok,
        "deleted": report.summary["deleted"],
    }


def _calls(targets: list[tuple[str, str]]) -> tuple[dict[str, dict[str, int]], int]:
    """Per project: reads and writes the emulators logged; and the calls that failed."""
    from wsnb.emulator import Control
    from wsnb.models import READ_OPERATIONS

    per = {pid: {"reads": 0, "writes": 0} for _, pid in targets}
    failed = 0
    for endpoint in dict.fromkeys(e for e, _ in targets):
        with Control(endpoint, timeout=600) as control:
            for entry in control.requests():
                if entry["project_id"] not in per:
                    continue
                kind = "reads" if entry["operation"] in READ_OPERATIONS else "writes"
                per[entry["project_id"]][kind] += 1
                if entry["status"] is None or not 200 <= int(entry["status"]) < 300:
                    failed += 1
    return per, failed


def _floor(calls: dict[str, int]) -> float:
    window = 60 * SCALE
    return max(calls["reads"] - 1, 0) * window / READS + max(calls["writes"] - 1, 0) * window / (
        WRITES
    )


def run(quick: bool = False) -> list[Result]:
    projects, tasks = (4, 1_000) if quick else (8, 5_000)
    tmp = Path(tempfile.mkdtemp(prefix="wsnb-bench-fleet-"))
    results: list[Result] = []
    import wsnb.deletion  # imports before any timing
    import wsnb.frames  # noqa: F401

    with ExitStack() as stack:
        endpoints = [stack.enter_context(_emulator()) for _ in range(REGIONS)]
        targets = [
            (endpoints[n % REGIONS], _project(n % REGIONS, n // REGIONS)) for n in range(projects)
        ]
        # one project alone, for reference
        _seed(targets[:1], tasks)
        solo = _job(targets[:1], tmp / "solo.sqlite")
        solo_calls, solo_failed = _calls(targets[:1])
        assert solo["ok"] and solo["deleted"] == tasks, solo
        # the fleet
        _seed(targets, tasks)
        fleet = _job(targets, tmp / "fleet.sqlite")
        per, failed = _calls(targets)
        assert fleet["ok"] and fleet["deleted"] == projects * tasks, fleet
    floors = {pid: _floor(calls) for pid, calls in per.items()}
    slowest = max(floors.values())
    reads = sorted({c["reads"] for c in per.values()})
    results.append(
        Result(
            BENCH,
            f"fleet {projects}x{tasks:,} list+delete throttled x{SCALE}",
            fleet["total_s"],
            "s",
            baseline=slowest,
            baseline_name="slowest project's floor",
            higher_is_better=False,
            target=0.8,
            note=f"{failed} failed call(s); list {fleet['list_s']:.1f}s, delete "
            f"{fleet['delete_s']:.1f}s; reads per project {reads}, writes 1 each; "
            f"{REGIONS} emulators",
        )
    )
    results.append(
        Result(
            BENCH,
            f"one project {tasks:,} list+delete throttled x{SCALE}",
            solo["total_s"],
            "s",
            baseline=_floor(solo_calls[targets[0][1]]),
            baseline_name="its floor",
            higher_is_better=False,
            note=f"{solo_failed} failed call(s); list {solo['list_s']:.1f}s, delete "
            f"{solo['delete_s']:.1f}s; the fleet took "
            f"{fleet['total_s'] / solo['total_s']:.2f}x this for {projects}x the work",
        )
    )
    results.append(
        Result(
            BENCH,
            f"fleet {projects}x{tasks:,} failed calls",
            float(failed),
            "calls",
            higher_is_better=False,
            target=0.0,
            target_kind="value",
        )
    )
    return results
