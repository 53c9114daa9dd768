"""wsnb.ledger: a run's plan read in selection order (schema version 6's ``plan_seq`` index) and
:meth:`Ledger.outcomes` built from one JSON text per row for the columns a call's ids share,
checked against a plain read of every column, on both backends."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from wsnb.ledger import OUTCOMES, SCHEMA_VERSION, Ledger

COLUMNS = [
    "task_id", "task_name", "task_type", "outcome", "chunk", "attempts",
    "http_status", "error_code", "error_msg", "request_id", "started", "finished",
]  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new ledger's location, on each backend: a SQLite file, a PostgreSQL database URL."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "ledger.sqlite")


def _plain_outcomes(book: Ledger, run_id: int) -> pd.DataFrame:
    """The outcomes frame the simple way: every column of every row, converted column by
    column (what ``outcomes()`` did before version 6)."""
    rows = book._db.query(
        f"SELECT {', '.join(COLUMNS)} FROM plan WHERE run_id = ? ORDER BY seq", (run_id,)
    )
    values = list(zip(*[tuple(r) for r in rows], strict=True)) if rows else [()] * len(COLUMNS)
    data: dict[str, Any] = {}
    for name, column in zip(COLUMNS, values, strict=True):
        if name == "outcome":
            data[name] = pd.Categorical(column, categories=list(OUTCOMES))
        elif name in ("chunk", "attempts", "http_status"):
            data[name] = pd.array(column, dtype="Int64")
        elif name in ("started", "finished"):
            data[name] = pd.to_datetime(pd.Series(column, dtype=object), utc=True, format="ISO8601")
        else:
            data[name] = pd.array(column, dtype="string")
    return pd.DataFrame(data, columns=COLUMNS)


def _busy_run(book: Ledger) -> tuple[int, list[str]]:
    """A run whose rows differ in every column: names (odd text, none), invalid and skipped ids
    settled at creation, several chunks, a retried chunk, a refused one, an ambiguous one."""
    ids = [f"id-{n:03d}" for n in range(60)]
    plan: list[tuple[str, str | None, str | None, Any, str | None]] = [
        (tid, None if n % 7 == 0 else f'naam «{n}»\t"q"', "STOP" if n % 2 else None, *rest)
        for n, tid in enumerate(ids)
        for rest in [("pending", None)]
    ]
    plan += [("", None, None, "invalid", "empty id"), ("x y", "n", "t", "skipped", "no 'x'")]
    run_id = book.create_run(
        endpoint="http://127.0.0.1:1", project_id="p", params={}, dry_run=False, plan=plan
    )
    call = book.call_started(run_id, "batch_delete", 0, 1, ids[:20])
    book.call_succeeded(call, run_id, ids[:20], "deleted", http_status=200, request_id="r-0")
    call = book.call_started(run_id, "batch_delete", 1, 1, ids[20:40])
    book.call_finished(call, "unknown", http_status=504, error_code="APIG.0504")
    call = book.call_started(run_id, "batch_delete", 1, 2, ids[20:30])
    book.call_succeeded(call, run_id, ids[20:30], "deleted", http_status=200, request_id="r-1")
    book.set_outcomes(run_id, ids[30:35], "already_absent")
    call = book.call_started(run_id, "batch_delete", 2, 1, ids[40:50])
    book.call_finished(call, "error", http_status=400, error_code="WKS.0001")
    book.set_outcomes(
        run_id, ids[40:45], "failed", http_status=400, error_code="WKS.0001", error_msg="bad ✗"
    )
    book.set_outcomes(run_id, ids[45:50], "forbidden", http_status=403, error_msg=None)
    return run_id, ids


def test_outcomes_read_like_every_column_of_every_row(location: str) -> None:
    with Ledger(location) as book:
        run_id, ids = _busy_run(book)
        frame = book.outcomes(run_id)
        pd.testing.assert_frame_equal(frame, _plain_outcomes(book, run_id))
        assert list(frame["task_id"]) == [*ids, "", "x y"]  # selection order
        assert frame["outcome"].value_counts()["deleted"] == 30
        assert frame.set_index("task_id").loc["id-025", "attempts"] == 2
        assert frame.set_index("task_id")["started"].isna()["id-055"]
        empty = book.create_run(
            endpoint="http://127.0.0.1:1", project_id="p", params={}, dry_run=True, plan=[]
        )
        pd.testing.assert_frame_equal(book.outcomes(empty), _plain_outcomes(book, empty))
        assert book.outcomes(empty).empty


def test_pending_is_in_selection_order(location: str) -> None:
    with Ledger(location) as book:
        run_id, ids = _busy_run(book)
        assert book.pending(run_id) == ids[35:40] + ids[50:]


def test_plan_reads_walk_the_seq_index_without_a_sort(tmp_path: Path) -> None:
    """SQLite: the statements of ``outcomes()`` and ``pending()`` read the run's rows through
    ``plan_seq`` in order (before version 6: the key's index, then a sort of every row)."""
    with Ledger(tmp_path / "l.sqlite") as book:
        run_id, _ = _busy_run(book)
        seen: list[str] = []
        book._con.set_trace_callback(seen.append)
        book.outcomes(run_id)
        book.pending(run_id)
        book._con.set_trace_callback(None)
        reads = [s for s in seen if s.startswith("SELECT") and "FROM plan" in s]
        assert len(reads) == 2
        for statement in reads:
            plan = [r[3] for r in book._con.execute(f"EXPLAIN QUERY PLAN {statement}")]
            assert any("USING INDEX plan_seq" in step for step in plan), plan
            assert not any("TEMP B-TREE" in step for step in plan), plan


def _drop_to_version_5(location: str) -> None:
    """Make the ledger at ``location`` look like one made by a version-5 wsnb."""
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as con:
            con.execute("UPDATE wsnb_schema_version SET version = 5")
        return
    with sqlite3.connect(location, isolation_level=None) as con:
        con.execute("DROP INDEX plan_seq")
        con.execute("PRAGMA user_version = 5")


def _has_plan_seq(location: str) -> bool:
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as con:
            query = "SELECT indexdef FROM pg_indexes WHERE indexname = 'plan_seq'"
            return bool(con.execute(query).fetchall())
    with sqlite3.connect(location) as con:
        rows = con.execute("SELECT sql FROM sqlite_master WHERE name = 'plan_seq'").fetchall()
    return len(rows) == 1 and "plan(run_id, seq)" in str(rows[0][0])


def test_a_version_5_ledger_is_migrated_to_6(location: str) -> None:
    """SQLite gains ``plan_seq``; PostgreSQL's step 6 is empty (its sort of a run's rows is
    cheap, and the index slowed its bulk insert): the version moves on, nothing else."""
    with Ledger(location) as book:
        run_id, ids = _busy_run(book)
        before = book.outcomes(run_id)
    _drop_to_version_5(location)
    assert not _has_plan_seq(location)
    with Ledger(location) as book:
        assert _has_plan_seq(location) == (book.backend == "sqlite")
        assert book._db.version() == SCHEMA_VERSION == 6
        pd.testing.assert_frame_equal(book.outcomes(run_id), before)
        assert book.pending(run_id) == ids[35:40] + ids[50:]
