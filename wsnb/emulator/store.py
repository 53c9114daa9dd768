"""The emulator's state in SQLite: tasks, execution records and their per-desktop details.

Each public method is one explicit transaction (``isolation_level=None``): ``BEGIN IMMEDIATE``
… ``COMMIT`` for a write, a deferred ``BEGIN`` … ``COMMIT`` for a read (so a page and its total
come from one snapshot). Every row belongs to a project; no query crosses projects.

Concurrency (the server runs handlers in worker threads): each thread gets its own connection.
A file database uses WAL, so readers run side by side and never wait for a writer (they see the
last commit); writers take an in-process lock, then ``BEGIN IMMEDIATE`` (other processes on the
same file wait up to ``busy_timeout``). A restarted emulator on the same file sees the same
tasks. The in-memory database is one ``memdb`` per store, shared by its connections; it has no
WAL, so a read/write lock lets readers run side by side and gives a writer the database alone.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wsnb._sqlite import transaction

from ._errors import TASK_MISSING, bad_request

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY,
    project_id TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    task_name TEXT NOT NULL,
    task_type TEXT NOT NULL,
    scheduled_type TEXT,
    life_cycle_type TEXT,
    last_status TEXT,
    data TEXT NOT NULL,
    UNIQUE (project_id, id)
);
CREATE INDEX IF NOT EXISTS tasks_order ON tasks (project_id, seq);
-- covers the exact-match list filters, so counting and skipping a page's offset do not read
-- each task's data (10 ms -> 3 ms a page at 20k tasks)
CREATE INDEX IF NOT EXISTS tasks_list ON tasks (
    project_id, seq, scheduled_type, task_type, last_status, life_cycle_type
);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    project_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_task ON records (project_id, task_id, seq);
CREATE TABLE IF NOT EXISTS details (
    seq INTEGER PRIMARY KEY,
    project_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS details_record ON details (project_id, record_id, seq);
-- the tasks' version: bumped in the same transaction as any change to a task, so a reader sees
-- the version of the snapshot it reads (whoever writes: this process or another on the file)
INSERT OR IGNORE INTO meta (key, value) VALUES ('tasks_version', '0');
CREATE TRIGGER IF NOT EXISTS tasks_inserted AFTER INSERT ON tasks BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tasks_version';
END;
CREATE TRIGGER IF NOT EXISTS tasks_updated AFTER UPDATE ON tasks BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tasks_version';
END;
CREATE TRIGGER IF NOT EXISTS tasks_deleted AFTER DELETE ON tasks BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tasks_version';
END;
"""
_CHUNK = 500  # ids per IN (...) clause
_LISTINGS = 32  # listings remembered (order and total per filter and version of the tasks)
_MMAP_BYTES = 256 * 1024 * 1024  # per connection, address space only


@dataclass(frozen=True)
class TaskRow:
    """A stored task: its definition (``data``) plus bookkeeping."""

    project_id: str
    id: str
    created_at: str  # UTC, ISO 8601
    data: dict[str, Any]


def new_id() -> str:
    """A fresh task / record id: a lowercase UUIDv4, like the service's."""
    return str(uuid.uuid4())


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _dumps(value: Mapping[str, Any]) -> str:
    return _ENCODER.encode(value)


def _columns(data: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        data["task_name"],
        data["task_type"],
        data.get("scheduled_type"),
        data.get("life_cycle_type"),
        data.get("last_status"),
    )


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class _ReadWriteLock:
    """Many readers or one writer; a waiting writer holds back new readers (no starvation)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writing or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class Store:
    """SQLite-backed state, safe from any thread; ``path=None`` keeps it in memory."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        # in memory: a named memdb that every connection of this store opens (and nobody else)
        self._target = self.path or f"file:/wsnb-emulator-{uuid.uuid4().hex}?vfs=memdb"
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._closed = False
        self._rw = None if self.path else _ReadWriteLock()
        self._write_lock = threading.Lock()  # file db: one writer of this process at a time
        #: (tasks version, filter) -> (seqs newest first, total): replaced whole, never mutated
        self._listings: dict[tuple[Any, ...], tuple[list[int], int]] = {}
        con = self._connection()  # also keeps the memdb alive until close()
        if self.path:
            con.execute("PRAGMA journal_mode = WAL")
        with self._write_lock:
            con.executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is not None:
            return con
        with self._connections_lock:
            if self._closed:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            con = sqlite3.connect(
                self._target,
                uri=self.path is None,
                isolation_level=None,
                check_same_thread=False,  # close() closes every thread's connection
                timeout=30,
            )
            self._connections.append(con)
        con.execute("PRAGMA busy_timeout = 30000")
        # read pages in place (the file's OS cache, or the memdb itself) instead of copying
        # them into a page cache per connection: faster, and no per-thread copy of the data
        con.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
        if self.path:
            con.execute("PRAGMA synchronous = NORMAL")
        self._local.con = con
        return con

    def close(self) -> None:
        """Close every connection (a file keeps the data; the memory database is gone)."""
        with self._connections_lock:
            self._closed = True
            connections, self._connections = self._connections, []
        with self._write_lock, self._rw.write() if self._rw else nullcontext():
            for con in connections:
                con.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: serialized across threads (and, by SQLite, processes)."""
        con = self._connection()
        with (
            self._write_lock,
            self._rw.write() if self._rw else nullcontext(),
            transaction(con) as tx,
        ):
            yield tx

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot, side by side with other readers."""
        con = self._connection()
        with self._rw.read() if self._rw else nullcontext():
            con.execute("BEGIN")
            try:
                yield con
            finally:
                if con.in_transaction:  # a read has nothing to undo: end it either way
                    con.execute("COMMIT")

    def default_project(self, proposed: str | None) -> str:
        """The default project id: remembered in the db, so a restart on a file finds its tasks.

        An explicit ``proposed`` id wins (and is remembered if none was); else the remembered
        one, else a fresh random one.
        """
        with self._tx() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'project_id'").fetchone()
            chosen = proposed or (row[0] if row else uuid.uuid4().hex)
            if row is None:
                con.execute("INSERT INTO meta (key, value) VALUES ('project_id', ?)", (chosen,))
        return str(chosen)

    def remember(self, values: Mapping[str, str]) -> dict[str, str]:
        """Store ``values`` in the db's meta table unless already there (one transaction);
        returns what the table holds for those keys now (another process may have won)."""
        with self._tx() as con:
            con.executemany(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", list(values.items())
            )
            return {
                key: str(con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])
                for key in values
            }

    def recall(self, *keys: str) -> dict[str, str]:
        """The meta values stored for ``keys`` (absent keys are left out)."""
        with self._tx() as con:
            rows = [
                con.execute("SELECT key, value FROM meta WHERE key = ?", (key,)).fetchone()
                for key in keys
            ]
        return {str(row[0]): str(row[1]) for row in rows if row is not None}

    # --- tasks -----------------------------------------------------------------------------

    def create_task(self, project_id: str, data: dict[str, Any], created_at: str) -> str:
        """Insert a task and return its new id."""
        task_id = new_id()
        with self._tx() as con:
            con.execute(
                "INSERT INTO tasks (project_id, id, created_at, task_name, task_type,"
                " scheduled_type, life_cycle_type, last_status, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (project_id, task_id, created_at, *_columns(data), _dumps(data)),
            )
        return task_id

    def _get(self, con: sqlite3.Connection, project_id: str, task_id: str) -> TaskRow | None:
        row = con.execute(
            "SELECT created_at, data FROM tasks WHERE project_id = ? AND id = ?",
            (project_id, task_id),
        ).fetchone()
        if row is None:
            return None
        return TaskRow(project_id, task_id, row[0], json.loads(row[1]))

    def get_task(self, project_id: str, task_id: str) -> TaskRow | None:
        """The task, or ``None`` when it does not exist in this project."""
        with self._read() as con:
            return self._get(con, project_id, task_id)

    def update_task(
        self,
        project_id: str,
        task_id: str,
        change: Callable[[TaskRow], dict[str, Any]],
    ) -> None:
        """Read, change (``change`` returns the new data or raises) and write back, atomically."""
        with self._tx() as con:
            row = self._get(con, project_id, task_id)
            if row is None:
                raise bad_request(TASK_MISSING)
            data = change(row)
            con.execute(
                "UPDATE tasks SET task_name = ?, task_type = ?, scheduled_type = ?,"
                " life_cycle_type = ?, last_status = ?, data = ? WHERE project_id = ? AND id = ?",
                (*_columns(data), _dumps(data), project_id, task_id),
            )

    def _delete(self, con: sqlite3.Connection, project_id: str, ids: Sequence[str]) -> int:
        deleted = 0
        for part in _chunks(ids):
            marks = ",".join("?" * len(part))
            cur = con.execute(
                f"DELETE FROM tasks WHERE project_id = ? AND id IN ({marks})", (project_id, *part)
            )
            deleted += cur.rowcount
            con.execute(
                "DELETE FROM details WHERE project_id = ? AND record_id IN (SELECT id FROM records"
                f" WHERE project_id = ? AND task_id IN ({marks}))",
                (project_id, project_id, *part),
            )
            con.execute(
                f"DELETE FROM records WHERE project_id = ? AND task_id IN ({marks})",
                (project_id, *part),
            )
        return deleted

    def delete_task(self, project_id: str, task_id: str) -> None:
        """Delete one task and its records; 400 "does not exist" when unknown."""
        with self._tx() as con:
            if self._delete(con, project_id, [task_id]) == 0:
                raise bad_request(TASK_MISSING)

    def batch_delete(
        self, project_id: str, task_ids: Sequence[str], *, reject_unknown: bool
    ) -> int:
        """Delete all named tasks in one transaction; returns how many existed.

        With ``reject_unknown`` an unknown id fails the whole call (400) and nothing is deleted.
        Duplicate ids are accepted.
        """
        ids = list(dict.fromkeys(task_ids))
        with self._tx() as con:
            if reject_unknown:
                found = 0
                for part in _chunks(ids):
                    marks = ",".join("?" * len(part))
                    found += con.execute(
                        f"SELECT count(*) FROM tasks WHERE project_id = ? AND id IN ({marks})",
                        (project_id, *part),
                    ).fetchone()[0]
                if found != len(ids):
                    raise bad_request(TASK_MISSING)
            return self._delete(con, project_id, ids)

    def list_tasks(
        self,
        project_id: str,
        offset: int,
        limit: int,
        filters: Mapping[str, str],
        *,
        count_hidden: bool = False,
    ) -> tuple[list[TaskRow], int]:
        """A page, newest first, and the total matching ``filters`` (see :meth:`list_raw`)."""
        rows, total = self.list_raw(project_id, offset, limit, filters, count_hidden=count_hidden)
        return [TaskRow(project_id, r[0], r[1], json.loads(r[2])) for r in rows], total

    def list_raw(
        self,
        project_id: str,
        offset: int,
        limit: int,
        filters: Mapping[str, str],
        *,
        count_hidden: bool = False,
    ) -> tuple[list[tuple[str, str, str]], int]:
        """A page, newest first, as stored: ``(id, created_at, definition JSON)`` rows; and the
        total matching ``filters``.

        ``task_name`` is a case-sensitive substring; the other filters match exactly. LIFE_CYCLE
        tasks are left out unless ``scheduled_type=LIFE_CYCLE`` is asked for; ``count_hidden``
        counts them in the total anyway (what the live service is evidenced to do).
        """
        where = ["project_id = ?"]
        args: list[Any] = [project_id]
        for name, value in filters.items():
            if name == "task_name":
                where.append("instr(task_name, ?) > 0")
            else:
                where.append(f"{name} = ?")
            args.append(value)
        counted = " AND ".join(where)
        if filters.get("scheduled_type") != "LIFE_CYCLE":
            where.append("scheduled_type IS NOT 'LIFE_CYCLE'")
        clause = " AND ".join(where)
        with self._read() as con:
            version = con.execute("SELECT value FROM meta WHERE key = 'tasks_version'").fetchone()[
                0
            ]
            # the listing's order and total, found once per version of the tasks: a page is
            # then a slice (skipping an offset and counting were most of a page's cost)
            key = (version, clause, counted if count_hidden else None, *args)
            found = self._listings.get(key)
            if found is None:
                seqs = [
                    r[0]
                    for r in con.execute(
                        f"SELECT seq FROM tasks INDEXED BY tasks_list WHERE {clause}"
                        " ORDER BY seq DESC",
                        args,
                    )
                ]
                total = len(seqs)
                if count_hidden:
                    total = con.execute(
                        f"SELECT count(*) FROM tasks INDEXED BY tasks_list WHERE {counted}", args
                    ).fetchone()[0]
                found = (seqs, int(total))
                if len(self._listings) >= _LISTINGS:
                    self._listings.clear()
                self._listings[key] = found
            seqs, total = found
            page = seqs[offset : offset + limit]
            rows = (
                con.execute(
                    f"SELECT id, created_at, data FROM tasks WHERE seq IN ({_marks(len(page))})"
                    " ORDER BY seq DESC",
                    page,
                ).fetchall()
                if page
                else []
            )
        return [(r[0], r[1], r[2]) for r in rows], total

    def task_ids(self, project_id: str) -> list[str]:
        """Every task id of the project (LIFE_CYCLE included), newest first."""
        with self._read() as con:
            rows = con.execute(
                "SELECT id FROM tasks WHERE project_id = ? ORDER BY seq DESC", (project_id,)
            ).fetchall()
        return [r[0] for r in rows]

    def project_ids(self) -> list[str]:
        """Every project id that holds tasks (the IAM endpoint lists them), sorted."""
        with self._read() as con:
            rows = con.execute(
                "SELECT DISTINCT project_id FROM tasks ORDER BY project_id"
            ).fetchall()
        return [r[0] for r in rows]

    # --- records ---------------------------------------------------------------------------

    def list_records(
        self, project_id: str, task_id: str, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of a task's records, newest first; 400 when the task does not exist."""
        with self._read() as con:
            if self._get(con, project_id, task_id) is None:
                raise bad_request(TASK_MISSING)
            where = "project_id = ? AND task_id = ?"
            total = con.execute(
                f"SELECT count(*) FROM records WHERE {where}", (project_id, task_id)
            ).fetchone()[0]
            rows = con.execute(
                f"SELECT data FROM records WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                (project_id, task_id, limit, offset),
            ).fetchall()
        return [json.loads(r[0]) for r in rows], int(total)

    def list_details(
        self, project_id: str, task_id: str, record_id: str, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int] | None:
        """A page of a record's details; ``None`` when the record is not the task's."""
        with self._read() as con:
            if self._get(con, project_id, task_id) is None:
                raise bad_request(TASK_MISSING)
            known = con.execute(
                "SELECT 1 FROM records WHERE project_id = ? AND task_id = ? AND id = ?",
                (project_id, task_id, record_id),
            ).fetchone()
            if known is None:
                return None
            where = "project_id = ? AND record_id = ?"
            total = con.execute(
                f"SELECT count(*) FROM details WHERE {where}", (project_id, record_id)
            ).fetchone()[0]
            rows = con.execute(
                f"SELECT data FROM details WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",
                (project_id, record_id, limit, offset),
            ).fetchall()
        return [json.loads(r[0]) for r in rows], int(total)

    def all_records(self, project_id: str, task_id: str) -> list[dict[str, Any]]:
        """Every record of a task (for export), newest first."""
        return self.list_records(project_id, task_id, 0, -1)[0]

    # --- bulk and control ------------------------------------------------------------------

    def insert_many(
        self,
        project_id: str,
        tasks: Iterable[tuple[str, str, dict[str, Any]]],
        records: Iterable[tuple[str, dict[str, Any]]] = (),
        details: Iterable[tuple[str, str, dict[str, Any]]] = (),
    ) -> None:
        """Bulk insert: ``tasks`` as (id, created_at, data), oldest first; ``records`` as
        (task_id, data); ``details`` as (task_id, record_id, data)."""
        with self._tx() as con:
            con.executemany(
                "INSERT INTO tasks (project_id, id, created_at, task_name, task_type,"
                " scheduled_type, life_cycle_type, last_status, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((project_id, i, c, *_columns(d), _dumps(d)) for i, c, d in tasks),
            )
            con.executemany(
                "INSERT INTO records (project_id, task_id, id, data) VALUES (?, ?, ?, ?)",
                ((project_id, t, d["id"], _dumps(d)) for t, d in records),
            )
            con.executemany(
                "INSERT INTO details (project_id, task_id, record_id, data) VALUES (?, ?, ?, ?)",
                ((project_id, t, r, _dumps(d)) for t, r, d in details),
            )

    def tasks(self, project_id: str) -> list[TaskRow]:
        """Every task of the project, oldest first."""
        with self._read() as con:
            rows = con.execute(
                "SELECT id, created_at, data FROM tasks WHERE project_id = ? ORDER BY seq",
                (project_id,),
            ).fetchall()
        return [TaskRow(project_id, r[0], r[1], json.loads(r[2])) for r in rows]

    def record_runs(
        self,
        project_id: str,
        runs: Sequence[tuple[str, dict[str, Any], Sequence[dict[str, Any]]]],
    ) -> int:
        """Store runs (task_id, record, details) and set each task's ``last_status``; returns
        how many were stored (tasks deleted meanwhile are skipped)."""
        stored = 0
        with self._tx() as con:
            for task_id, record, details in runs:
                row = self._get(con, project_id, task_id)
                if row is None:
                    continue
                data = {**row.data, "last_status": record["status"]}
                con.execute(
                    "UPDATE tasks SET last_status = ?, data = ? WHERE project_id = ? AND id = ?",
                    (record["status"], _dumps(data), project_id, task_id),
                )
                con.execute(
                    "INSERT INTO records (project_id, task_id, id, data) VALUES (?, ?, ?, ?)",
                    (project_id, task_id, record["id"], _dumps(record)),
                )
                con.executemany(
                    "INSERT INTO details (project_id, task_id, record_id, data)"
                    " VALUES (?, ?, ?, ?)",
                    ((project_id, task_id, record["id"], _dumps(d)) for d in details),
                )
                stored += 1
        return stored

    def reset(self, project_id: str | None = None) -> None:
        """Forget every task (of one project, or of all)."""
        with self._tx() as con:
            for table in ("details", "records", "tasks"):
                if project_id is None:
                    con.execute(f"DELETE FROM {table}")
                else:
                    con.execute(f"DELETE FROM {table} WHERE project_id = ?", (project_id,))

    def dump(self, project_id: str | None = None) -> dict[str, Any]:
        """Everything stored (optionally one project), oldest first, as plain JSON."""
        cond, args = ("WHERE project_id = ?", (project_id,)) if project_id else ("", ())
        with self._read() as con:
            tasks = [
                {"project_id": p, "id": i, "created_at": c, **json.loads(d)}
                for p, i, c, d in con.execute(
                    f"SELECT project_id, id, created_at, data FROM tasks {cond} ORDER BY seq", args
                )
            ]
            records = [
                {"project_id": p, "task_id": t, **json.loads(d)}
                for p, t, d in con.execute(
                    f"SELECT project_id, task_id, data FROM records {cond} ORDER BY seq", args
                )
            ]
            details = con.execute(f"SELECT count(*) FROM details {cond}", args).fetchone()[0]
        return {"tasks": tasks, "records": records, "details_count": int(details)}

    def counts(self) -> dict[str, int]:
        """Rows per table (for health checks and tests)."""
        with self._read() as con:
            return {
                table: int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in ("tasks", "records", "details")
            }
