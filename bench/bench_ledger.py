"""The PostgreSQL ledger against the SQLite one: the same deletion run, side by side.

One emulator in its own process, one client (unthrottled, ``rate_limit=None``), N ids (20,000;
2,000 with ``quick``) deleted by :func:`wsnb.deletion.delete_tasks` with the ledger in a SQLite
file (the baseline: WAL, ``synchronous=FULL``) or in a PostgreSQL database of a throwaway local
server started by ``tests/_postgres.py`` with PostgreSQL's durable defaults (``fsync``,
``synchronous_commit`` on). The runs alternate (SQLite, PostgreSQL, SQLite, ...) so both see the
same machine (after one untimed warm-up run each); each figure is the median of ``ROUNDS``
runs. Two shapes of run:

* *lean*: ``snapshot=False, precheck=False``: a listing, four 5,000-id batch deletes and a
  verification listing; the ledger's share of the time is at its largest here;
* *default*: snapshots on (one ``get_task`` per id, each definition stored in the ledger), on
  N/10 ids (2,000: a 20,000-id run of this shape takes minutes per contender).

Target: PostgreSQL adds at most 15 % (``SQLite time / PostgreSQL time >= 0.87``). Also the
ledger alone (no server): a run's ledger writes and reads for N ids, per backend.
Skipped (no figure) where PostgreSQL or psycopg is missing.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._harness import Result
from bench.bench_deletion import _emulator, _seed

BENCH = "ledger"
ROUNDS = 3
TARGET = 1 / 1.15  # SQLite time / PostgreSQL time: PostgreSQL adds at most 15 %


def _delete(endpoint: str, ledger: str, n: int, *, snapshot: bool) -> float:
    """Seconds for one deletion run of ``n`` seeded ids with ``ledger``."""
    from bench.bench_deletion import AK, PROJECT, SK
    from wsnb.auth import Credentials
    from wsnb.client import Client
    from wsnb.deletion import delete_tasks
    from wsnb.emulator import Control

    _seed(endpoint, n, throttled=False)
    with Control(endpoint, timeout=600) as control:
        ids = control.task_ids()
    credentials = Credentials(ak=AK, sk=SK, project_id=PROJECT)
    with Client(endpoint=endpoint, credentials=credentials, rate_limit=None) as client:
        start = time.perf_counter()
        report = delete_tasks(
            client,
            ids,
            ledger=ledger,
            progress=False,
            max_deletions=n,
            snapshot=snapshot,
            precheck=False,
        )
        seconds = time.perf_counter() - start
    assert report.ok and report.summary["deleted"] == n, report.summary
    return seconds


def _ledger_only(ledger: str, n: int) -> float:
    """Seconds for the ledger writes and reads of an n-id run (no server)."""
    from wsnb.ledger import Ledger

    ids = [f"{i:08x}-0000-4000-8000-000000000000" for i in range(n)]
    chunks = [ids[i : i + 5000] for i in range(0, n, 5000)]
    start = time.perf_counter()
    with Ledger(ledger) as book:
        run_id = book.create_run(
            endpoint="http://bench",
            project_id=PROJECT_ID,
            params={},
            dry_run=False,
            plan=[(i, None, None, "pending", None) for i in ids],
        )
        book.record_snapshots(run_id, {i: {"id": i, "task_name": f"t-{i}"} for i in ids})
        book.set_chunks(run_id, chunks)
        for number, chunk in enumerate(chunks):
            call = book.call_started(run_id, "batch_delete", number, 1, chunk)
            book.call_succeeded(call, run_id, chunk, "deleted", http_status=200)
        book.finish_run(run_id, "done", {})
        assert len(book.outcomes(run_id)) == n
    return time.perf_counter() - start


PROJECT_ID = "0123456789abcdef0123456789abcdef"


def _compare(name: str, n: int, sqlite: list[float], postgres: list[float], note: str) -> Result:
    return Result(
        BENCH,
        name,
        statistics.median(postgres),
        "s",
        baseline=statistics.median(sqlite),
        baseline_name="SQLite",
        higher_is_better=False,
        target=TARGET,
        samples=postgres,
        note=f"{note}: SQLite runs {', '.join(f'{s:.2f}' for s in sqlite)} s; PostgreSQL "
        f"{', '.join(f'{s:.2f}' for s in postgres)} s",
    )


def run(quick: bool = False) -> list[Result]:
    from tests._postgres import Cluster, missing

    reason = missing()
    if reason is not None:
        print(f"bench_ledger skipped: {reason}")
        return []
    n = 2_000 if quick else 20_000
    results: list[Result] = []
    cluster = Cluster(durable=True)
    try:
        with tempfile.TemporaryDirectory() as tmp, _emulator() as endpoint:
            # warm-up, not timed: imports, the first connection, the emulator's first calls
            _delete(endpoint, str(Path(tmp) / "warm.sqlite"), 500, snapshot=True)
            _delete(endpoint, cluster.create_database(), 500, snapshot=True)
            times: dict[tuple[str, str], list[float]] = {}
            for shape, snapshot in (("lean", False), ("default", True)):
                for round_ in range(ROUNDS):
                    targets: dict[str, Any] = {
                        "sqlite": str(Path(tmp) / f"{shape}{round_}.sqlite"),
                        "postgresql": cluster.create_database(),
                    }
                    size = n if shape == "lean" else n // 10
                    for backend, ledger in targets.items():
                        seconds = _delete(endpoint, ledger, size, snapshot=snapshot)
                        print(f"  {shape} {size} ids, {backend}: {seconds:.2f} s", file=sys.stderr)
                        times.setdefault((shape, backend), []).append(seconds)
                results.append(
                    _compare(
                        f"delete {n if shape == 'lean' else n // 10} ids unthrottled, {shape}",
                        n,
                        times[(shape, "sqlite")],
                        times[(shape, "postgresql")],
                        "snapshots off, no precheck" if shape == "lean" else "snapshots on",
                    )
                )
            only: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
            for round_ in range(ROUNDS):
                only["sqlite"].append(_ledger_only(str(Path(tmp) / f"only{round_}.sqlite"), n))
                only["postgresql"].append(_ledger_only(cluster.create_database(), n))
            result = _compare(
                f"ledger writes+reads of a {n}-id run",
                n,
                only["sqlite"],
                only["postgresql"],
                "no server",
            )
            result.target = None  # a breakdown, not the target
            results.append(result)
    finally:
        cluster.stop()
    return results
