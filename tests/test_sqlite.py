"""wsnb._sqlite: the connection settings and the transaction helper shared by the ledger and the
emulator's store, on real SQLite files."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from wsnb._sqlite import connect, transaction


def _table(path: Path) -> sqlite3.Connection:
    con = connect(str(path), synchronous="NORMAL")
    con.execute("CREATE TABLE t (x INTEGER)")
    return con


def test_switching_to_wal_waits_for_another_connections_write(tmp_path: Path) -> None:
    """SQLite answers the switch to WAL with "database is locked" at once, without its busy
    timeout, while another connection writes to a file not in WAL yet (two processes opening a
    new ledger together): connect() waits for the lock like any statement."""
    path = tmp_path / "new.sqlite"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE t (x INTEGER)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    threading.Timer(0.5, other.execute, ("COMMIT",)).start()
    con = connect(str(path), synchronous="FULL")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
    con.close()
    other.close()


@pytest.mark.parametrize(("level", "code"), [("FULL", 2), ("NORMAL", 1)])
def test_file_connection_settings(tmp_path: Path, level: str, code: int) -> None:
    con = connect(str(tmp_path / "a.sqlite"), synchronous=level, foreign_keys=True)  # type: ignore[arg-type]
    assert con.isolation_level is None  # autocommit: no hidden transactions
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA synchronous").fetchone()[0] == code
    assert con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert con.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    # usable from another thread (callers serialize access with their lock)
    box: list[int] = []
    worker = threading.Thread(target=lambda: box.append(con.execute("SELECT 7").fetchone()[0]))
    worker.start()
    worker.join()
    assert box == [7]
    con.close()
    plain = connect(str(tmp_path / "b.sqlite"), synchronous="FULL")
    assert plain.execute("PRAGMA foreign_keys").fetchone()[0] == 0
    plain.close()


def test_memory_connection_has_no_wal() -> None:
    con = connect(":memory:", synchronous="FULL")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "memory"
    con.close()


def test_transaction_commits(tmp_path: Path) -> None:
    con = _table(tmp_path / "db.sqlite")
    with transaction(con) as inside:
        assert inside is con and con.in_transaction
        con.execute("INSERT INTO t VALUES (1)")
    assert not con.in_transaction
    other = sqlite3.connect(tmp_path / "db.sqlite")
    assert other.execute("SELECT x FROM t").fetchall() == [(1,)]
    other.close()
    con.close()


@pytest.mark.parametrize("error", [ValueError("boom"), KeyboardInterrupt()])
def test_transaction_rolls_back_and_reraises(tmp_path: Path, error: BaseException) -> None:
    con = _table(tmp_path / "db.sqlite")
    with pytest.raises(type(error)), transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
        raise error
    assert not con.in_transaction
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    con.close()


def test_transaction_takes_the_write_lock_at_once(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: another writer is kept out from the start, before any write."""
    con = _table(tmp_path / "db.sqlite")
    other = sqlite3.connect(tmp_path / "db.sqlite", timeout=0, isolation_level=None)
    with transaction(con):
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        assert other.execute("SELECT count(*) FROM t").fetchone()[0] == 0  # readers still read
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()
    con.close()


def test_transaction_holds_the_lock_throughout(tmp_path: Path) -> None:
    con = _table(tmp_path / "db.sqlite")
    lock = threading.Lock()
    with transaction(con, lock):
        assert lock.locked()
    assert not lock.locked()
    with pytest.raises(RuntimeError), transaction(con, lock):
        raise RuntimeError
    assert not lock.locked()
    con.close()
