"""The deletion ledger: a durable SQLite record of every deletion run.

Each call of :func:`wsnb.deletion.delete_tasks` is one *run*. The ledger keeps the run's
parameters, its plan (one row per selected id, with the outcome once known), a snapshot of each
task's full definition taken before anything is deleted (so :func:`~wsnb.deletion.restore_tasks`
can re-create it), and a write-ahead row for every write call: written *before* the request goes
out ("in flight") and completed after. A run killed mid-way therefore leaves enough behind for
:func:`~wsnb.deletion.resume` to finish it without resending anything already settled.

Durability: WAL journal, ``synchronous=FULL``, explicit ``BEGIN IMMEDIATE``/``COMMIT`` on a
connection opened with ``isolation_level=None`` (both from :mod:`wsnb._sqlite`). One connection
is shared by the threads of a run behind a lock. The schema is versioned with
``PRAGMA user_version`` and upgraded by :func:`migrate`.

Default location (when no ledger is given): ``$WSNB_LEDGER``, else
``$XDG_DATA_HOME/wsnb/ledger.sqlite``, else ``~/.local/share/wsnb/ledger.sqlite``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, Self

import pandas as pd

from wsnb._sqlite import connect, transaction

__all__ = [
    "OUTCOMES",
    "SCHEMA_VERSION",
    "TERMINAL_OUTCOMES",
    "Ledger",
    "default_ledger_path",
    "migrate",
]

#: Per-id outcomes. ``pending`` is the only one that is not final.
OUTCOMES: Final = (
    "pending",
    "deleted",
    "already_absent",
    "invalid",
    "failed",
    "skipped",
    "planned",
    "forbidden",
)
TERMINAL_OUTCOMES: Final = frozenset(OUTCOMES) - {"pending"}

Outcome = Literal[
    "pending", "deleted", "already_absent", "invalid", "failed", "skipped", "planned", "forbidden"
]
RunStatus = Literal["running", "done", "interrupted", "cancelled"]

SCHEMA_VERSION: Final = 1

_SCHEMA_V1: Final = """
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created     TEXT NOT NULL,
    finished    TEXT,
    endpoint    TEXT NOT NULL,
    project_id  TEXT NOT NULL,
    params      TEXT NOT NULL,
    dry_run     INTEGER NOT NULL,
    status      TEXT NOT NULL,
    stats       TEXT
);
CREATE TABLE plan (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    seq         INTEGER NOT NULL,
    task_id     TEXT NOT NULL,
    task_name   TEXT,
    task_type   TEXT,
    chunk       INTEGER,
    outcome     TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    http_status INTEGER,
    error_code  TEXT,
    error_msg   TEXT,
    request_id  TEXT,
    started     TEXT,
    finished    TEXT,
    PRIMARY KEY (run_id, task_id)
);
CREATE TABLE snapshots (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    task_id     TEXT NOT NULL,
    taken       TEXT NOT NULL,
    definition  TEXT,
    PRIMARY KEY (run_id, task_id)
);
CREATE TABLE calls (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    operation   TEXT NOT NULL,
    chunk       INTEGER,
    attempt     INTEGER NOT NULL,
    task_ids    TEXT NOT NULL,
    state       TEXT NOT NULL,
    http_status INTEGER,
    error_code  TEXT,
    error_msg   TEXT,
    request_id  TEXT,
    started     TEXT NOT NULL,
    finished    TEXT
);
CREATE INDEX calls_run ON calls(run_id, state);
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    time        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE TABLE restores (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    old_id      TEXT NOT NULL,
    new_id      TEXT,
    state       TEXT NOT NULL,
    error_msg   TEXT,
    time        TEXT NOT NULL,
    PRIMARY KEY (run_id, old_id)
);
"""

#: ``user_version`` -> the script that upgrades from it to the next version.
_MIGRATIONS: Final[dict[int, str]] = {0: _SCHEMA_V1}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def default_ledger_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$WSNB_LEDGER``, else ``$XDG_DATA_HOME/wsnb/ledger.sqlite`` (``~/.local/share``)."""
    env = os.environ if environ is None else environ
    if env.get("WSNB_LEDGER"):
        return Path(env["WSNB_LEDGER"]).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "wsnb" / "ledger.sqlite"


def migrate(con: sqlite3.Connection) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION` (each step in its own transaction)."""
    version: int = con.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"ledger schema version {version} is newer than this wsnb understands "
            f"({SCHEMA_VERSION}); upgrade wsnb"
        )
    while version < SCHEMA_VERSION:
        script = _MIGRATIONS[version]
        with transaction(con):
            for statement in script.split(";"):
                if statement.strip():
                    con.execute(statement)
            con.execute(f"PRAGMA user_version = {version + 1:d}")
        version += 1
    return version


#: The ids of a statement, passed as one JSON array (``?``) and expanded by SQLite itself: one
#: set-based UPDATE touches them all with no per-id statement and no temp table to fill.
_IDS: Final = "task_id IN (SELECT value FROM json_each(?))"


def _ids_json(task_ids: Iterable[str]) -> str:
    return json.dumps(list(task_ids), ensure_ascii=False)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class Ledger:
    """A ledger file (created on first use). Thread-safe; use as a context manager or ``close()``.

    ``path`` may be ``":memory:"`` for a throwaway ledger.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        target = default_ledger_path() if path is None else path
        self.path = str(target)
        if self.path != ":memory:":
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._con = connect(self.path, synchronous="FULL", foreign_keys=True)
        self._con.row_factory = sqlite3.Row
        with self._lock:
            migrate(self._con)

    def __repr__(self) -> str:
        return f"Ledger({self.path!r})"

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._con, self._lock)

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._con.execute(sql, args).fetchall()

    # --- writing a run -------------------------------------------------------------------------

    def create_run(
        self,
        *,
        endpoint: str,
        project_id: str,
        params: Mapping[str, Any],
        dry_run: bool,
        plan: Iterable[tuple[str, str | None, str | None, Outcome, str | None]],
    ) -> int:
        """Record a new run and its plan ``(task_id, task_name, task_type, outcome, error_msg)``
        in one transaction; returns the run id."""
        now = _now()
        with self._tx() as con:
            cur = con.execute(
                "INSERT INTO runs (created, endpoint, project_id, params, dry_run, status) "
                "VALUES (?, ?, ?, ?, ?, 'running')",
                (now, endpoint, project_id, _dumps(params), int(dry_run)),
            )
            run_id = cur.lastrowid
            assert run_id is not None
            con.executemany(
                "INSERT INTO plan (run_id, seq, task_id, task_name, task_type, outcome, "
                "error_msg, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        run_id,
                        seq,
                        tid,
                        name,
                        ttype,
                        outcome,
                        msg,
                        None if outcome == "pending" else now,
                    )
                    for seq, (tid, name, ttype, outcome, msg) in enumerate(plan)
                ),
            )
        return run_id

    def record_snapshots(
        self, run_id: int, snapshots: Mapping[str, Mapping[str, Any] | None]
    ) -> None:
        """Store task definitions (``None``: the task did not exist when looked up); fills in
        the plan's name and type from the definition."""
        now = _now()
        with self._tx() as con:
            con.executemany(
                "INSERT OR REPLACE INTO snapshots (run_id, task_id, taken, definition) "
                "VALUES (?, ?, ?, ?)",
                (
                    (run_id, tid, now, None if d is None else _dumps(dict(d)))
                    for tid, d in snapshots.items()
                ),
            )
            con.executemany(
                "UPDATE plan SET task_name = coalesce(?, task_name), "
                "task_type = coalesce(?, task_type) WHERE run_id = ? AND task_id = ?",
                (
                    (d.get("task_name"), d.get("task_type"), run_id, tid)
                    for tid, d in snapshots.items()
                    if d is not None
                ),
            )

    def set_chunks(self, run_id: int, chunks: Sequence[Sequence[str]], first: int = 0) -> None:
        """Number the chunks of pending ids (``first``, ``first + 1``, …)."""
        with self._tx() as con:
            con.executemany(
                f"UPDATE plan SET chunk = ? WHERE run_id = ? AND {_IDS}",
                ((first + n, run_id, _ids_json(chunk)) for n, chunk in enumerate(chunks)),
            )

    def call_started(
        self, run_id: int, operation: str, chunk: int | None, attempt: int, task_ids: Sequence[str]
    ) -> int:
        """Write-ahead: a write call is about to be sent (its ids get ``chunk`` and one more
        attempt). Returns the call id."""
        now = _now()
        ids = _ids_json(task_ids)
        with self._tx() as con:
            cur = con.execute(
                "INSERT INTO calls (run_id, operation, chunk, attempt, task_ids, state, started) "
                "VALUES (?, ?, ?, ?, ?, 'in_flight', ?)",
                (run_id, operation, chunk, attempt, ids, now),
            )
            con.execute(
                "UPDATE plan SET attempts = attempts + 1, started = coalesce(started, ?), "
                f"chunk = coalesce(?, chunk) WHERE run_id = ? AND {_IDS}",
                (now, chunk, run_id, ids),
            )
            call_id = cur.lastrowid
        assert call_id is not None
        return call_id

    def call_finished(
        self,
        call_id: int,
        state: Literal["ok", "error", "unknown"],
        *,
        http_status: int | None = None,
        error_code: str | None = None,
        error_msg: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Complete a write-ahead row: ``ok``, ``error`` (refused) or ``unknown`` (ambiguous)."""
        with self._tx() as con:
            con.execute(
                "UPDATE calls SET state = ?, http_status = ?, error_code = ?, error_msg = ?, "
                "request_id = ?, finished = ? WHERE id = ?",
                (state, http_status, error_code, error_msg, request_id, _now(), call_id),
            )

    def call_succeeded(
        self,
        call_id: int,
        run_id: int,
        task_ids: Sequence[str],
        outcome: Outcome,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        """Complete a write-ahead row as ``ok`` and settle its ids, in one transaction.

        ``http_status`` and ``request_id`` (the call's answer) go on the call and on each of its
        ids: the API has no per-id result, so every id carries its chunk's (what support asks
        for)."""
        now = _now()
        with self._tx() as con:
            con.execute(
                "UPDATE calls SET state = 'ok', http_status = ?, error_code = NULL, "
                "error_msg = NULL, request_id = ?, finished = ? WHERE id = ?",
                (http_status, request_id, now, call_id),
            )
            con.execute(
                "UPDATE plan SET outcome = ?, http_status = coalesce(?, http_status), "
                "error_code = NULL, error_msg = NULL, request_id = coalesce(?, request_id), "
                f"finished = ? WHERE run_id = ? AND {_IDS}",
                (outcome, http_status, request_id, now, run_id, _ids_json(task_ids)),
            )

    def set_outcomes(
        self,
        run_id: int,
        task_ids: Iterable[str],
        outcome: Outcome,
        *,
        http_status: int | None = None,
        error_code: str | None = None,
        error_msg: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Settle ids (or, with ``pending``, re-open them for another attempt)."""
        finished = None if outcome == "pending" else _now()
        with self._tx() as con:
            con.execute(
                "UPDATE plan SET outcome = ?, http_status = coalesce(?, http_status), "
                "error_code = ?, error_msg = ?, request_id = coalesce(?, request_id), "
                f"finished = ? WHERE run_id = ? AND {_IDS}",
                (
                    outcome,
                    http_status,
                    error_code,
                    error_msg,
                    request_id,
                    finished,
                    run_id,
                    _ids_json(task_ids),
                ),
            )

    def add_event(self, run_id: int, kind: str, **detail: Any) -> None:
        """Log a notable step (a bisection split, an ambiguity check, a resume…)."""
        with self._tx() as con:
            con.execute(
                "INSERT INTO events (run_id, time, kind, detail) VALUES (?, ?, ?, ?)",
                (run_id, _now(), kind, _dumps(detail)),
            )

    def finish_run(
        self, run_id: int, status: RunStatus, stats: Mapping[str, Any] | None = None
    ) -> None:
        """Close a run (``done``, ``interrupted`` or ``cancelled``) and keep the client's call
        statistics."""
        with self._tx() as con:
            con.execute(
                "UPDATE runs SET status = ?, finished = ?, stats = ? WHERE id = ?",
                (status, _now(), _dumps(dict(stats or {})), run_id),
            )

    def reopen_run(self, run_id: int) -> None:
        """Mark a run as running again (for resume)."""
        with self._tx() as con:
            con.execute(
                "UPDATE runs SET status = 'running', finished = NULL WHERE id = ?", (run_id,)
            )

    def record_restore(
        self,
        run_id: int,
        old_id: str,
        state: Literal["in_flight", "ok", "failed", "unknown"],
        new_id: str | None = None,
        error_msg: str | None = None,
    ) -> None:
        """Write-ahead and outcome of re-creating one task from its snapshot."""
        with self._tx() as con:
            con.execute(
                "INSERT OR REPLACE INTO restores (run_id, old_id, new_id, state, error_msg, time) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, old_id, new_id, state, error_msg, _now()),
            )

    # --- reading -------------------------------------------------------------------------------

    def runs(self) -> pd.DataFrame:
        """All runs, newest first, with outcome counts."""
        rows = self._query(
            "SELECT r.id AS run_id, r.created, r.finished, r.endpoint, r.project_id, "
            "r.dry_run, r.status, count(p.task_id) AS ids, "
            "sum(p.outcome = 'deleted') AS deleted, sum(p.outcome = 'failed') AS failed, "
            "sum(p.outcome = 'pending') AS pending "
            "FROM runs r LEFT JOIN plan p ON p.run_id = r.id GROUP BY r.id ORDER BY r.id DESC"
        )
        columns = [
            "run_id", "created", "finished", "endpoint", "project_id", "dry_run", "status",
            "ids", "deleted", "failed", "pending",
        ]  # fmt: skip
        frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        frame["dry_run"] = frame["dry_run"].astype(bool)
        for name in ("ids", "deleted", "failed", "pending"):
            frame[name] = frame[name].fillna(0).astype("int64")
        return frame.set_index("run_id")

    def run(self, run_id: int) -> dict[str, Any]:
        """One run's row, with ``params`` and ``stats`` decoded; ``KeyError`` if unknown."""
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise KeyError(f"no run {run_id} in ledger {self.path}")
        data = dict(rows[0])
        data["params"] = json.loads(data["params"])
        data["stats"] = json.loads(data["stats"]) if data["stats"] else {}
        data["dry_run"] = bool(data["dry_run"])
        return data

    def outcomes(self, run_id: int) -> pd.DataFrame:
        """The plan of a run, one row per id, in selection order."""
        columns = [
            "task_id", "task_name", "task_type", "outcome", "chunk", "attempts",
            "http_status", "error_code", "error_msg", "request_id", "started", "finished",
        ]  # fmt: skip
        with self._lock:
            cur = self._con.cursor()
            cur.row_factory = None  # plain tuples: no sqlite3.Row per row
            rows = cur.execute(
                f"SELECT {', '.join(columns)} FROM plan WHERE run_id = ? ORDER BY seq", (run_id,)
            ).fetchall()
        values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
        data: dict[str, Any] = {}
        for name, column in zip(columns, values, strict=True):
            if name == "outcome":
                data[name] = pd.Categorical(column, categories=list(OUTCOMES))
            elif name in ("chunk", "attempts", "http_status"):
                data[name] = pd.array(column, dtype="Int64")
            elif name in ("started", "finished"):
                data[name] = pd.to_datetime(
                    pd.Series(column, dtype=object), utc=True, format="ISO8601"
                )
            else:
                data[name] = pd.array(column, dtype="string")
        return pd.DataFrame(data, columns=columns)

    def pending(self, run_id: int) -> list[str]:
        """Ids of a run whose outcome is not settled yet, in plan order."""
        rows = self._query(
            "SELECT task_id FROM plan WHERE run_id = ? AND outcome = 'pending' ORDER BY seq",
            (run_id,),
        )
        return [r[0] for r in rows]

    def snapshots(self, run_id: int) -> dict[str, dict[str, Any] | None]:
        """Task definitions taken before deletion (``None``: absent when looked up)."""
        rows = self._query("SELECT task_id, definition FROM snapshots WHERE run_id = ?", (run_id,))
        return {r[0]: (json.loads(r[1]) if r[1] is not None else None) for r in rows}

    def calls(self, run_id: int) -> pd.DataFrame:
        """Every write call of a run (write-ahead rows), oldest first."""
        rows = self._query(
            "SELECT id AS call_id, operation, chunk, attempt, task_ids, state, http_status, "
            "error_code, error_msg, request_id, started, finished FROM calls WHERE run_id = ? "
            "ORDER BY id",
            (run_id,),
        )
        columns = [
            "call_id", "operation", "chunk", "attempt", "task_ids", "state", "http_status",
            "error_code", "error_msg", "request_id", "started", "finished",
        ]  # fmt: skip
        frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        frame["task_ids"] = [json.loads(v) for v in frame["task_ids"]]
        return frame

    def sent_ids(self, run_id: int) -> set[str]:
        """Ids named by any write call of the run (in flight, answered or not)."""
        rows = self._query("SELECT task_ids FROM calls WHERE run_id = ?", (run_id,))
        return {tid for r in rows for tid in json.loads(r[0])}

    def events(self, run_id: int) -> list[dict[str, Any]]:
        """The run's event log (splits, checks, resumes), oldest first."""
        rows = self._query(
            "SELECT time, kind, detail FROM events WHERE run_id = ? ORDER BY id", (run_id,)
        )
        return [{"time": r[0], "kind": r[1], **json.loads(r[2])} for r in rows]

    def restores(self, run_id: int) -> pd.DataFrame:
        """Re-created tasks of a run: ``old_id`` -> ``new_id`` with state."""
        rows = self._query(
            "SELECT old_id, new_id, state, error_msg, time FROM restores WHERE run_id = ? "
            "ORDER BY time",
            (run_id,),
        )
        frame = pd.DataFrame(
            [tuple(r) for r in rows], columns=["old_id", "new_id", "state", "error_msg", "time"]
        )
        for name in ("old_id", "new_id", "state", "error_msg"):
            frame[name] = frame[name].astype("string")
        return frame.set_index("old_id")
