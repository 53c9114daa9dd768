"""SQLite the way wsnb's stores use it: explicit transactions on one shared connection.

Contract: :func:`connect` opens a connection in autocommit mode (``isolation_level=None``, so no
statement opens a hidden transaction), usable from any thread (the caller serializes access with a
lock), waiting up to 30 s for another process's write lock (also when switching a new file to
WAL, which SQLite itself does not wait for); a file database gets the WAL journal and the
``synchronous`` level asked for. :func:`transaction` is one ``BEGIN IMMEDIATE`` … ``COMMIT``
(``ROLLBACK`` on any exception, re-raised): the write lock is taken at the start, so two writers
never deadlock upgrading a read. Used by :mod:`wsnb.ledger` and the emulator's store
(the emulator imports wsnb; never the other way round).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Literal

__all__ = ["connect", "transaction"]

#: Seconds a statement waits for another connection's lock before ``database is locked``.
BUSY_TIMEOUT = 30.0


def connect(
    path: str, *, synchronous: Literal["FULL", "NORMAL"], foreign_keys: bool = False
) -> sqlite3.Connection:
    """A connection to ``path`` (``":memory:"`` for a private in-memory database)."""
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT)
    if path != ":memory:":
        _wal(con)
        con.execute(f"PRAGMA synchronous={synchronous}")
    if foreign_keys:
        con.execute("PRAGMA foreign_keys=ON")
    return con


def _wal(con: sqlite3.Connection) -> None:
    """Switch to the WAL journal. SQLite refuses the switch at once ("database is locked",
    without its busy timeout) while another connection writes to a file not yet in WAL (two
    processes creating one ledger): wait for it like for any lock, up to :data:`BUSY_TIMEOUT`."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            con.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


@contextmanager
def transaction(
    con: sqlite3.Connection, lock: AbstractContextManager[object] | None = None
) -> Iterator[sqlite3.Connection]:
    """One write transaction on ``con``, holding ``lock`` (if given) throughout."""
    with lock if lock is not None else nullcontext():
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
