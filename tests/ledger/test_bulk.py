"""The ledger's bulk paths on both backends: a schema migrated in one transaction (all of it or
none), and id lists bound as one parameter (PostgreSQL: binary ``text[]``) whatever the ids hold."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest

from wsnb.ledger import SCHEMA_VERSION, Ledger


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new ledger's location, on each backend: a SQLite file, a PostgreSQL database URL."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "ledger.sqlite")


def _sql(location: str, statement: str) -> list[tuple[object, ...]]:
    """Run one statement on its own connection (committed)."""
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as con:
            cur = con.execute(statement)
            return cur.fetchall() if cur.description else []
    with sqlite3.connect(location) as con:
        return con.execute(statement).fetchall()


def _tables(location: str) -> set[str]:
    if location.startswith("postgresql://"):
        rows = _sql(location, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    else:
        rows = _sql(location, "SELECT name FROM sqlite_master WHERE type = 'table'")
    return {str(row[0]) for row in rows}


def test_a_failing_migration_step_leaves_nothing_behind(location: str) -> None:
    # the last step (fleets) finds its table taken: the earlier steps are undone with it
    _sql(location, "CREATE TABLE fleet_runs (x INTEGER)")
    with pytest.raises(sqlite3.OperationalError):
        Ledger(location)
    assert _tables(location) <= {"fleet_runs", "wsnb_schema_version"}
    if location.startswith("postgresql://"):
        assert "wsnb_schema_version" not in _tables(location)
    else:
        assert _sql(location, "PRAGMA user_version") == [(0,)]
    _sql(location, "DROP TABLE fleet_runs")
    with Ledger(location) as book:  # now every step, at once
        assert book.runs().empty
    assert {"runs", "plan", "calls", "leases", "plans", "quarantine", "fleet_members"} <= _tables(
        location
    )
    if location.startswith("postgresql://"):
        assert _sql(location, "SELECT version FROM wsnb_schema_version") == [(SCHEMA_VERSION,)]
    else:
        assert _sql(location, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


#: ids a text array must quote or escape: separators, quotes, braces, backslashes, the word NULL,
#: blanks, non-ASCII
ODD_IDS = [
    "plain",
    "with,comma",
    'with"quote',
    "with'apostrophe",
    "{braced}",
    "back\\slash",
    "NULL",
    "null",
    " padded ",
    "tab\tand\nnewline",
    "ünïcödé-任务",
    "%s?%%",
]


def test_odd_ids_are_matched_exactly(location: str) -> None:
    decoys = [f"{i}x" for i in ODD_IDS] + ["NULL ", "{braced", "back\\\\slash"]
    with Ledger(location) as book:
        run_id = book.create_run(
            endpoint="http://127.0.0.1:1",
            project_id="p",
            params={},
            dry_run=False,
            plan=[(i, None, None, "pending", None) for i in [*ODD_IDS, *decoys]],
        )
        book.record_snapshots(run_id, {i: {"id": i, "task_name": f"n-{i}"} for i in ODD_IDS})
        book.set_chunks(run_id, [ODD_IDS[:6], ODD_IDS[6:]])
        call = book.call_started(run_id, "batch_delete", 0, 1, ODD_IDS[:6])
        book.call_succeeded(call, run_id, ODD_IDS[:6], "deleted", http_status=200)
        call = book.call_started(run_id, "batch_delete", 1, 1, ODD_IDS[6:])
        book.call_finished(call, "error", http_status=500)
        book.set_outcomes(run_id, ODD_IDS[6:], "failed", error_msg="refused")
        book.set_outcomes(run_id, [], "failed")  # an empty list matches nothing
        frame = book.outcomes(run_id)
    outcomes = dict(zip(frame["task_id"], frame["outcome"], strict=True))
    assert {i: outcomes[i] for i in ODD_IDS} == {
        **{i: "deleted" for i in ODD_IDS[:6]},
        **{i: "failed" for i in ODD_IDS[6:]},
    }
    assert {outcomes[i] for i in decoys} == {"pending"}  # near misses are never touched
    names = dict(zip(frame["task_id"], frame["task_name"], strict=True))
    assert all(names[i] == f"n-{i}" for i in ODD_IDS)
    assert all(pd.isna(names[i]) for i in decoys)
    chunks = dict(zip(frame["task_id"], frame["chunk"], strict=True))
    assert [chunks[i] for i in ODD_IDS] == [0] * 6 + [1] * 6


def test_most_updates_of_a_run_stay_on_their_pages(pg_url: str) -> None:
    """PostgreSQL: the write-ahead and outcome updates of a run's ids are mostly HOT updates (a
    new row version on the row's own page, no index entry), because the plan table leaves two
    thirds of each page free (``fillfactor=33``; with half free, 74 % here were HOT, now 96 %:
    a row grows at each update, so some still move)."""
    import psycopg

    ids = [f"{i:08x}-0000-4000-8000-000000000000" for i in range(2000)]
    with Ledger(pg_url) as book:
        run_id = book.create_run(
            endpoint="http://127.0.0.1:1",
            project_id="p",
            params={},
            dry_run=False,
            plan=[(i, None, None, "pending", None) for i in ids],
        )
        for number, chunk in enumerate([ids[:1000], ids[1000:]]):
            call = book.call_started(run_id, "batch_delete", number, 1, chunk)
            book.call_succeeded(call, run_id, chunk, "deleted", http_status=200, request_id="r")
    # the counters arrive when the ledger's server process ends (its connection closed)
    with psycopg.connect(pg_url, autocommit=True) as con:
        query = "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'plan'"
        for _ in range(100):
            counts = con.execute(query).fetchone()
            if counts is not None and counts[0] >= 2 * len(ids):
                break
            time.sleep(0.05)
    assert counts is not None and counts[0] == 2 * len(ids)
    assert counts[1] >= 0.85 * counts[0], counts


def test_one_statement_writes_after_a_dropped_connection(pg_url: str) -> None:
    """PostgreSQL: the writes that are one statement (autocommit, no BEGIN/COMMIT) fail once when
    the server dropped the connection, then run on a new one; an outcome is all or nothing."""
    import psycopg

    from wsnb._ledger_db import PostgresError

    with Ledger(pg_url) as book:
        run_id = book.create_run(
            endpoint="http://127.0.0.1:1",
            project_id="p",
            params={},
            dry_run=False,
            plan=[(i, None, None, "pending", None) for i in ("a", "b", "c")],
        )
        call = book.call_started(run_id, "batch_delete", 0, 1, ["a", "b"])
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        with pytest.raises(PostgresError):  # the statement that finds the connection gone
            book.call_succeeded(call, run_id, ["a", "b"], "deleted", http_status=200)
        assert book.pending(run_id) == ["a", "b", "c"]  # nothing of it was written
        assert list(book.calls(run_id)["state"]) == ["in_flight"]
        book.call_succeeded(call, run_id, ["a", "b"], "deleted", http_status=200)
        book.add_event(run_id, "note", n=1)
        assert book.pending(run_id) == ["c"]
        assert list(book.calls(run_id)["state"]) == ["ok"]
        assert [e["kind"] for e in book.events(run_id)][-1] == "note"
