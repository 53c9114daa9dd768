"""wsnb.ledger: schema, durability settings, write-ahead rows and queries."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from wsnb.ledger import (
    _SCHEMA_V1,
    SCHEMA_VERSION,
    LeaseLostError,
    Ledger,
    RunLeasedError,
    default_ledger_path,
    migrate,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new ledger's location, on each backend: a SQLite file, a PostgreSQL database URL."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "ledger.sqlite")


def _run(book: Ledger, ids: list[str]) -> int:
    return book.create_run(
        endpoint="http://127.0.0.1:1",
        project_id="p",
        params={"chunk_size": 2},
        dry_run=False,
        plan=[(i, f"name-{i}", "STOP", "pending", None) for i in ids]
        + [("", None, None, "invalid", "empty id")],
    )


def test_file_ledger_is_durable_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "ledger.sqlite"
    with Ledger(path) as book:
        con = book._con
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert con.isolation_level is None
        run_id = _run(book, ["a", "b"])
    # committed rows are visible to a fresh connection, and re-opening does not migrate again
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert (
            raw.execute("SELECT count(*) FROM plan WHERE run_id = ?", (run_id,)).fetchone()[0] == 3
        )
    with Ledger(path) as book:
        assert list(book.runs().index) == [run_id]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer than this wsnb"):
        Ledger(path)


def test_migrate_is_idempotent() -> None:
    con = sqlite3.connect(":memory:", isolation_level=None)
    assert migrate(con) == SCHEMA_VERSION
    assert migrate(con) == SCHEMA_VERSION
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "plan", "snapshots", "calls", "events", "restores"} <= tables
    assert {"leases", "restore_passes"} <= tables


def test_processes_opening_a_new_ledger_at_once_migrate_it_once(tmp_path: Path) -> None:
    """Two `wsnb` commands started together on a fresh machine: each opens the ledger and
    migrates; the second must see the first one's work, not create the tables again."""
    errors: list[BaseException] = []
    for trial in range(5):
        path = tmp_path / f"l{trial}.sqlite"
        gate = threading.Barrier(6)

        def open_it(path: Path = path, gate: threading.Barrier = gate) -> None:
            gate.wait()
            try:
                Ledger(path).close()
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with Ledger(path) as book:
            assert book._con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert errors == []


def test_a_version_1_ledger_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path, isolation_level=None) as raw:
        raw.executescript(_SCHEMA_V1)
        raw.execute("PRAGMA user_version = 1")
        raw.execute(
            "INSERT INTO runs (created, endpoint, project_id, params, dry_run, status) "
            "VALUES ('t', 'e', 'p', '{}', 0, 'running')"
        )
        raw.execute(
            "INSERT INTO restores (run_id, old_id, new_id, state, time) "
            "VALUES (1, 'a', NULL, 'in_flight', 't')"
        )
    with Ledger(path) as book:
        assert book._con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert book.restores(1).loc["a", "state"] == "in_flight"
        assert book.restore_passes(1) == {"a": None}  # made before watermarks existed
        assert book.lease_holder(1) is None  # a v1 run has no lease: anyone may take it
        with book.lease(1):
            assert (book.lease_holder(1) or {}).get("holder") == book.holder


def test_write_ahead_and_outcomes(location: str) -> None:
    with Ledger(location) as book:
        run_id = _run(book, ["a", "b", "c"])
        assert book.pending(run_id) == ["a", "b", "c"]
        book.record_snapshots(
            run_id, {"a": {"id": "a", "task_name": "real-a", "task_type": "REBOOT"}, "c": None}
        )
        book.set_chunks(run_id, [["a", "b"]], first=4)
        call = book.call_started(run_id, "batch_delete", 4, 1, ["a", "b"])
        assert book.calls(run_id).loc[0, "state"] == "in_flight"
        assert book.sent_ids(run_id) == {"a", "b"}
        book.call_finished(call, "unknown", http_status=504, error_code="APIG.0504")
        book.set_outcomes(run_id, ["a"], "deleted")
        book.set_outcomes(run_id, ["c"], "already_absent")
        book.add_event(run_id, "split", size=2)
        frame = book.outcomes(run_id).set_index("task_id")
        assert frame.loc["a", "outcome"] == "deleted"
        assert frame.loc["a", "task_name"] == "real-a"  # from the snapshot
        assert frame.loc["a", "task_type"] == "REBOOT"
        assert frame.loc["a", "chunk"] == 4
        assert frame.loc["a", "attempts"] == 1
        assert frame.loc["c", "attempts"] == 0
        assert frame.loc["", "outcome"] == "invalid"
        assert str(frame["started"].dtype).startswith("datetime64")
        assert book.pending(run_id) == ["b"]
        assert book.snapshots(run_id) == {
            "a": {"id": "a", "task_name": "real-a", "task_type": "REBOOT"},
            "c": None,
        }
        calls = book.calls(run_id)
        assert calls.loc[0, "task_ids"] == ["a", "b"]
        assert calls.loc[0, "http_status"] == 504
        assert book.events(run_id)[0]["kind"] == "split"
        second = book.call_started(run_id, "batch_delete", 5, 2, ["b"])
        book.call_succeeded(second, run_id, ["b"], "deleted")
        assert book.calls(run_id).loc[1, "state"] == "ok"
        b = book.outcomes(run_id).set_index("task_id").loc["b"]
        assert (b["outcome"], b["chunk"], b["attempts"]) == ("deleted", 5, 2)
        assert book.pending(run_id) == []
        book.finish_run(run_id, "done", {"calls": 3})
        runs = book.runs()
        assert runs.loc[run_id, "status"] == "done"
        assert runs.loc[run_id, "deleted"] == 2
        assert runs.loc[run_id, "pending"] == 0
        assert book.run(run_id)["stats"] == {"calls": 3}
        with pytest.raises(KeyError, match="no run 99"):
            book.run(99)


def test_restores_are_recorded(location: str) -> None:
    with Ledger(location) as book:
        run_id = _run(book, ["a", "b"])
        watermark = book.start_restore_pass(run_id, ["x", "y"])
        assert book.restore_watermark(watermark) == {"x", "y"}
        book.record_restore(run_id, "a", "in_flight", pass_id=watermark)
        book.record_restore(run_id, "a", "ok", new_id="a2")
        book.record_restore(run_id, "b", "failed", error_msg="no snapshot was taken")
        frame = book.restores(run_id)
        assert frame.loc["a", "new_id"] == "a2"
        assert frame.loc["a", "state"] == "ok"
        # the pass of the create is kept with its outcome: a later restore resolves against it
        assert book.restore_passes(run_id) == {"a": watermark, "b": None}
        assert book.restored_ids() == {"a2"}


# --- leases --------------------------------------------------------------------------------------


def test_a_run_is_leased_to_its_creator_and_refused_to_others(location: str) -> None:
    path = location
    with Ledger(path, lease_ttl=0.6) as mine, Ledger(path) as other:
        assert mine.holder != other.holder and mine.holder.split(":")[1] == str(os.getpid())
        run_id = _run(mine, ["a"])  # held from its first moment
        with pytest.raises(RunLeasedError) as refused, other.lease(run_id):
            pass
        text = str(refused.value)
        assert f"pid {os.getpid()}" in text and mine.holder in text and "expires" in text
        assert (refused.value.run_id, refused.value.holder) == (run_id, mine.holder)
        with mine.lease(run_id) as lease:
            time.sleep(1.5)  # 2.5 lease times: the heartbeat keeps it alive
            with pytest.raises(RunLeasedError), other.lease(run_id):
                pass
            assert not lease.lost
            with pytest.raises(RunLeasedError), mine.lease(run_id):  # nor twice in one process
                pass
            assert (other.lease_holder(run_id) or {}).get("holder") == mine.holder
        assert other.lease_holder(run_id) is None  # released at the end: free at once
        with other.lease(run_id):
            assert (mine.lease_holder(run_id) or {}).get("holder") == other.holder
        with pytest.raises(KeyError, match="no run 99"), other.lease(99):
            pass


def test_a_dead_holders_lease_lapses_and_fences_its_writes(location: str) -> None:
    path = location
    with Ledger(path, lease_ttl=0.3) as dead, Ledger(path) as heir:
        run_id = _run(dead, ["a", "b"])
        dead.call_started(run_id, "batch_delete", 0, 1, ["a"])  # its own lease: allowed
        time.sleep(0.5)  # no heartbeat: it lapses
        with heir.lease(run_id):
            taken = [e for e in heir.events(run_id) if e["kind"] == "lease_expired"]
            assert [e["holder"] for e in taken] == [dead.holder]
            # the old holder, come back to life, can no longer write ahead: nothing is sent
            with pytest.raises(LeaseLostError, match="lost the lease"):
                dead.call_started(run_id, "batch_delete", 1, 1, ["b"])
            with pytest.raises(LeaseLostError):
                dead.record_restore(run_id, "a", "in_flight")
            assert len(heir.calls(run_id)) == 1 and heir.restores(run_id).empty
            dead.finish_run(run_id, "interrupted")  # nor close the run under its new holder
            assert heir.run(run_id)["status"] == "running"


def test_lease_ttl_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSNB_LEASE_TTL", "2.5")
    with Ledger(":memory:") as book:
        assert book.lease_ttl == 2.5
    for bad in ("0", "-1", "soon", "nan"):
        monkeypatch.setenv("WSNB_LEASE_TTL", bad)
        with pytest.raises(ValueError, match="WSNB_LEASE_TTL"):
            Ledger(":memory:")
    monkeypatch.delenv("WSNB_LEASE_TTL")
    with Ledger(":memory:") as book:
        assert book.lease_ttl == 30.0


def test_default_path(tmp_path: Path) -> None:
    assert default_ledger_path({"WSNB_LEDGER": str(tmp_path / "x.db")}) == tmp_path / "x.db"
    assert (
        default_ledger_path({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "wsnb" / "ledger.sqlite"
    )
    assert default_ledger_path({}).parts[-3:] == ("share", "wsnb", "ledger.sqlite")


def test_call_succeeded_records_the_answer_on_call_and_ids_at_once(location: str) -> None:
    with Ledger(location) as book:
        run_id = book.create_run(
            endpoint="e",
            project_id="p",
            params={},
            dry_run=False,
            plan=[(t, None, None, "pending", None) for t in ("x", "y", "z")],
        )
        call = book.call_started(run_id, "batch_delete", 0, 1, ["x", "y"])
        in_flight = book.calls(run_id).loc[0]
        assert (in_flight["state"], in_flight["finished"]) == ("in_flight", None)
        book.call_succeeded(call, run_id, ["x", "y"], "deleted", http_status=200, request_id="r1")
        done = book.calls(run_id).loc[0]
        assert (done["state"], done["http_status"], done["request_id"]) == ("ok", 200, "r1")
        frame = book.outcomes(run_id).set_index("task_id")
        assert list(frame.loc[["x", "y"], "request_id"]) == ["r1", "r1"]
        assert list(frame.loc[["x", "y"], "http_status"]) == [200, 200]
        assert frame.loc["z", "outcome"] == "pending" and frame["request_id"].isna()["z"]
