"""The deletion ledger: a durable record of every deletion run, in SQLite or PostgreSQL.

Each call of :func:`wsnb.deletion.delete_tasks` is one *run*. The ledger keeps the run's
parameters, its plan (one row per selected id, with the outcome once known), a snapshot of each
task's full definition taken before anything is deleted (so :func:`~wsnb.deletion.restore_tasks`
can re-create it), and a write-ahead row for every write call: written *before* the request goes
out ("in flight") and completed after. A run killed mid-way therefore leaves enough behind for
:func:`~wsnb.deletion.resume` to finish it without resending anything already settled.

Backends (:mod:`wsnb._ledger_db`): a file path (or ``":memory:"``) is SQLite, the embedded
default: WAL journal, ``synchronous=FULL``, explicit ``BEGIN IMMEDIATE``/``COMMIT`` (from
:mod:`wsnb._sqlite`). A ``postgresql://`` URL is a shared PostgreSQL database (psycopg 3, the
``postgres`` extra), so runs can be resumed and restored from any machine: the same schema, the
same SQL (written in the SQLite style, translated), committed transactions, row locks for the
leases. One connection is shared by the threads of a run behind a lock. The schema is versioned
(SQLite: ``PRAGMA user_version``; PostgreSQL: a ``wsnb_schema_version`` table) and upgraded by
:func:`migrate` (version 2 added leases and restore watermarks, version 3 executable plans:
:meth:`Ledger.record_plan`, :meth:`Ledger.create_execution`; version 6 an index that reads a
run's plan in selection order). A URL's password is never shown:
:attr:`Ledger.path` is the URL with it redacted (:func:`redact_url`).

Ownership: a run is driven by one process at a time. That process holds the run's *lease* (a
holder ``host:pid:random``, one per :class:`Ledger` object; a heartbeat; an expiry):
:meth:`Ledger.create_run` takes it, :meth:`Ledger.lease` (a context manager) takes or keeps it,
renews it from a timer thread and releases it. Another holder is refused with
:class:`RunLeasedError` (who holds it, since when, when it expires) while the lease is live; a
dead holder's lease lapses after its time-to-live (``WSNB_LEASE_TTL`` seconds, default
:data:`DEFAULT_LEASE_TTL`) and may then be taken over. Writes that precede a request to the server
(:meth:`Ledger.call_started`, an ``in_flight`` restore) are fenced: once another holder took the
run over they raise :class:`LeaseLostError`, so a process that comes back from the dead cannot
send anything; they also count as heartbeats.

Default location (when no ledger is given, :func:`default_ledger`): ``$WSNB_LEDGER`` (a path or a
URL), else ``$XDG_DATA_HOME/wsnb/ledger.sqlite``, else ``~/.local/share/wsnb/ledger.sqlite``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import socket
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, Self

import pandas as pd

from wsnb._ledger_db import (
    Database,
    Row,
    is_database_url,
    open_database,
    redact_url,
    sqlite_database,
)

__all__ = [
    "DEFAULT_LEASE_TTL",
    "OUTCOMES",
    "SCHEMA_VERSION",
    "TERMINAL_OUTCOMES",
    "Lease",
    "LeaseError",
    "LeaseLostError",
    "Ledger",
    "RunLeasedError",
    "default_ledger",
    "default_ledger_path",
    "is_database_url",
    "migrate",
    "redact_url",
]

_log = logging.getLogger(__name__)

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

SCHEMA_VERSION: Final = 6

#: Seconds a run's lease stays live after its last heartbeat (``WSNB_LEASE_TTL`` overrides).
DEFAULT_LEASE_TTL: Final = 30.0
#: Heartbeats per lease time-to-live (30 s: one every 5 s).
_HEARTBEATS_PER_TTL: Final = 6

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

#: Version 2: a run's lease (one row per run, kept after release: the last holder) and the
#: listing watermark of each restore pass (the ids that existed before it created anything).
_SCHEMA_V2: Final = """
CREATE TABLE leases (
    run_id      INTEGER PRIMARY KEY REFERENCES runs(id),
    holder      TEXT NOT NULL,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    acquired    TEXT NOT NULL,
    heartbeat   TEXT NOT NULL,
    expires     TEXT NOT NULL,
    released    TEXT
);
CREATE TABLE restore_passes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    started     TEXT NOT NULL,
    holder      TEXT NOT NULL,
    existing    TEXT NOT NULL
);
ALTER TABLE restores ADD COLUMN pass_id INTEGER REFERENCES restore_passes(id);
"""

#: Version 3 (executable plans, issue 11): a dry run's plan as something to execute later. One
#: ``plans`` row per dry run: when the listing it came from was taken, where its fingerprints came
#: from (``selection``: the listed frame; ``snapshots``: the definitions read; ``none``), the
#: server-side filters every planned task shares (to narrow the re-listing) and the run that
#: executed it (claimed once). ``plan_listings``: each planned id's listed fields (JSON), compared
#: with a fresh listing before the plan is executed.
_SCHEMA_PLANS: Final = """
CREATE TABLE plans (
    run_id      INTEGER PRIMARY KEY REFERENCES runs(id),
    listed      TEXT NOT NULL,
    source      TEXT NOT NULL,
    filters     TEXT NOT NULL,
    executed_by INTEGER REFERENCES runs(id),
    executed    TEXT
);
CREATE TABLE plan_listings (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    task_id     TEXT NOT NULL,
    listed      TEXT NOT NULL,
    PRIMARY KEY (run_id, task_id)
);
"""

#: Version 4, quarantine (grace periods, :mod:`wsnb.quarantine`): one row per task a quarantine
#: run selected, with its state, the definition it had before it was disabled (``prior``: the show
#: response plus the listing's ``enable``/``priority``, written *before* the disabling update goes
#: out), when it was quarantined and for how many days, and the deletion run that finally deleted
#: it. The updates themselves are write-ahead rows in ``calls`` (operation ``update_task``).
_SCHEMA_QUARANTINE: Final = """
CREATE TABLE quarantine (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    task_id     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    task_name   TEXT,
    task_type   TEXT,
    state       TEXT NOT NULL,
    grace_days  INTEGER NOT NULL,
    prior       TEXT,
    quarantined TEXT,
    updated     TEXT NOT NULL,
    reason      TEXT,
    delete_run  INTEGER REFERENCES runs(id),
    PRIMARY KEY (run_id, task_id)
);
CREATE INDEX quarantine_state ON quarantine(state, task_id)
"""

#: Version 5, fleet runs (issue 12): a fleet run is a parent row grouping one ordinary run per
#: project of the fleet (each child run keeps its own endpoint and project id); ``fleet_members``
#: links them, with the target's region label and the error that stopped that project's run.
_SCHEMA_FLEET: Final = """
CREATE TABLE fleet_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created     TEXT NOT NULL,
    finished    TEXT,
    params      TEXT NOT NULL,
    dry_run     INTEGER NOT NULL,
    status      TEXT NOT NULL
);
CREATE TABLE fleet_members (
    fleet_run_id INTEGER NOT NULL REFERENCES fleet_runs(id),
    seq          INTEGER NOT NULL,
    run_id       INTEGER NOT NULL UNIQUE REFERENCES runs(id),
    region       TEXT,
    error        TEXT,
    PRIMARY KEY (fleet_run_id, seq)
);
"""

#: Version 6 (issue 11): a run's plan in selection order without a sort. The primary key's index
#: (``run_id, task_id``) reads a run's rows in random order and sorts them: a report's
#: :meth:`Ledger.outcomes` and :meth:`Ledger.pending` of 20,000 ids spent more than half their
#: time there. The plan rows of a run are inserted in ``seq`` order, so this index also visits the
#: table's pages in order. (``IF NOT EXISTS``: a ledger that an older wsnb's tests or tools took
#: back to an earlier version without dropping it.) SQLite only: PostgreSQL sorts a run's rows
#: in memory at little cost, and the index cost its bulk insert (``COPY``) more than it saved
#: (+50 ms for 20,000 ids, -10 ms of reads); its step 6 is empty.
_SCHEMA_PLAN_ORDER: Final = """
CREATE INDEX IF NOT EXISTS plan_seq ON plan(run_id, seq)
"""

#: ``user_version`` -> the script that upgrades from it to the next version (one per backend
#: where they differ).
_MIGRATIONS: Final[dict[int, str | Mapping[str, str]]] = {
    0: _SCHEMA_V1,
    1: _SCHEMA_V2,
    2: _SCHEMA_PLANS,
    3: _SCHEMA_QUARANTINE,
    4: _SCHEMA_FLEET,
    5: {"sqlite": _SCHEMA_PLAN_ORDER, "postgresql": ""},
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _lease_ttl(value: float | None, environ: Mapping[str, str] | None = None) -> float:
    """``value``, else ``$WSNB_LEASE_TTL``, else :data:`DEFAULT_LEASE_TTL` (positive seconds)."""
    if value is None:
        raw = (os.environ if environ is None else environ).get("WSNB_LEASE_TTL")
        if not raw:
            return DEFAULT_LEASE_TTL
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"WSNB_LEASE_TTL must be a number of seconds, not {raw!r}") from None
        name = "WSNB_LEASE_TTL"
    else:
        name = "lease_ttl"
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


class LeaseError(RuntimeError):
    """A run's lease stands in the way (:class:`RunLeasedError`, :class:`LeaseLostError`)."""


class RunLeasedError(LeaseError):
    """Another process holds the run's lease, and it is live: it is running that run now."""

    def __init__(self, run_id: int, lease: Mapping[str, Any]) -> None:
        self.run_id = run_id
        self.holder: str = lease["holder"]
        self.host: str = lease["host"]
        self.pid: int = lease["pid"]
        self.since: str = lease["acquired"]
        self.heartbeat: str = lease["heartbeat"]
        self.expires: str = lease["expires"]
        left = (datetime.fromisoformat(self.expires) - datetime.now(UTC)).total_seconds()
        super().__init__(
            f"run {run_id} is held by another process: pid {self.pid} on host {self.host} "
            f"(lease holder {self.holder}) since {self.since}, last heartbeat {self.heartbeat}; "
            f"its lease expires at {self.expires} (in {max(left, 0):.0f} s) unless renewed. "
            "Wait for that process to finish; if it died, try again once the lease expired."
        )


class LeaseLostError(LeaseError):
    """This process no longer holds the run's lease: another one took the run over."""


class Lease:
    """A held run lease (from :meth:`Ledger.lease`): renewed by a timer thread until released.

    ``lost`` turns true when a renewal finds that another holder took the run over (only after
    this one lapsed, e.g. the process was suspended for longer than the time-to-live).
    """

    def __init__(self, ledger: Ledger, run_id: int, ttl: float) -> None:
        self.ledger = ledger
        self.run_id = run_id
        self.ttl = ttl
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"wsnb-lease-{run_id}", daemon=True)

    @property
    def holder(self) -> str:
        return self.ledger.holder

    def __repr__(self) -> str:
        state = "lost" if self.lost else "held"
        return f"Lease(run {self.run_id}, {self.holder}, ttl {self.ttl:g} s, {state})"

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / _HEARTBEATS_PER_TTL):
            try:
                kept = self.ledger._renew(self.run_id, self.ttl)
            except sqlite3.Error:  # closed or locked: retried; a lapsed lease fences the writes
                _log.warning("could not renew the lease of run %s", self.run_id, exc_info=True)
                continue
            if not kept:
                self.lost = True
                _log.error("lost the lease of run %s to another process", self.run_id)
                return

    def _start(self) -> None:
        self._thread.start()

    def _end(self) -> None:
        self._stop.set()
        self._thread.join()


def default_ledger_path(environ: Mapping[str, str] | None = None) -> Path:
    """The default SQLite ledger file: ``$WSNB_LEDGER`` when it names a file, else
    ``$XDG_DATA_HOME/wsnb/ledger.sqlite`` (``~/.local/share``). (With ``WSNB_LEDGER`` a
    PostgreSQL URL, this is still the local file: the history cache lives there.)"""
    env = os.environ if environ is None else environ
    if env.get("WSNB_LEDGER") and not is_database_url(env["WSNB_LEDGER"]):
        return Path(env["WSNB_LEDGER"]).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "wsnb" / "ledger.sqlite"


def default_ledger(environ: Mapping[str, str] | None = None) -> str:
    """The ledger used when none is given: ``$WSNB_LEDGER`` (a file path or a ``postgresql://``
    URL), else :func:`default_ledger_path`. Show it with :func:`redact_url`."""
    env = os.environ if environ is None else environ
    value = env.get("WSNB_LEDGER") or ""
    return value if is_database_url(value) else str(default_ledger_path(env))


def _version(db: Database) -> int:
    version = db.version()
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"ledger schema version {version} is newer than this wsnb understands "
            f"({SCHEMA_VERSION}); upgrade wsnb"
        )
    return version


def migrate(con: sqlite3.Connection | Database) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION` (every missing step in one transaction).

    A current schema costs one read of the version. Otherwise the version is read again inside
    the transaction, which no other process migrates at the same time (SQLite's write lock; a
    PostgreSQL advisory lock): processes opening a new ledger at once each find the schema as
    the one before them left it, never half-made (both backends' DDL is transactional: a step
    that fails leaves the version it found). The same scripts serve both backends (PostgreSQL
    translates them, see :mod:`wsnb._ledger_db`)."""
    db = con if isinstance(con, Database) else sqlite_database(con)
    version = _version(db)
    if version < SCHEMA_VERSION:
        with db.migration():
            version = _version(db)
            while version < SCHEMA_VERSION:
                step = _MIGRATIONS[version]
                db.run_script(step if isinstance(step, str) else step[db.kind])
                version += 1
            db.set_version(version)
    return version


#: The columns :meth:`Ledger.create_run` fills for each id of a new plan.
_PLAN_COLUMNS: Final = (
    "run_id", "seq", "task_id", "task_name", "task_type", "outcome", "error_msg", "finished",
)  # fmt: skip


def _plan_rows(
    run_id: int, now: str, plan: Iterable[tuple[str, str | None, str | None, Outcome, str | None]]
) -> Iterator[tuple[Any, ...]]:
    """The :data:`_PLAN_COLUMNS` of each id of a new plan (a settled id ``finished`` at ``now``)."""
    for seq, (tid, name, ttype, outcome, msg) in enumerate(plan):
        yield (run_id, seq, tid, name, ttype, outcome, msg, None if outcome == "pending" else now)


def _ids_json(task_ids: Iterable[str]) -> str:
    return json.dumps(list(task_ids), ensure_ascii=False)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


#: The columns of :meth:`Ledger.outcomes`, and those of them that a call's ids share.
_OUTCOME_COLUMNS: Final = (
    "task_id", "task_name", "task_type", "outcome", "chunk", "attempts",
    "http_status", "error_code", "error_msg", "request_id", "started", "finished",
)  # fmt: skip
_SHARED_COLUMNS: Final = _OUTCOME_COLUMNS[3:]


def _outcome_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """:meth:`Ledger.outcomes`' frame from SQLite's ``(task_id, task_name, task_type, shared)``
    rows, ``shared`` a JSON array of the :data:`_SHARED_COLUMNS`' values: each distinct text is
    decoded and converted once, then taken by position."""
    ids, names, types, shared = zip(*rows, strict=True) if rows else ((), (), (), ())
    codes, distinct = pd.factorize(pd.Series(shared, dtype=object), use_na_sentinel=False)
    values = list(zip(*(json.loads(text) for text in distinct), strict=True))
    if not values:
        values = [()] * len(_SHARED_COLUMNS)
    data = {
        "task_id": pd.array(ids, dtype="string"),
        "task_name": pd.array(names, dtype="string"),
        "task_type": pd.array(types, dtype="string"),
    }
    for name, column in zip(_SHARED_COLUMNS, values, strict=True):
        data[name] = _outcome_column(name, column).take(codes)
    return pd.DataFrame(data, columns=list(_OUTCOME_COLUMNS))


def _plain_outcome_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """:meth:`Ledger.outcomes`' frame from rows of every column (PostgreSQL)."""
    values = list(zip(*rows, strict=True)) if rows else [()] * len(_OUTCOME_COLUMNS)
    data: dict[str, Any] = {}
    for name, column in zip(_OUTCOME_COLUMNS, values, strict=True):
        if name in ("started", "finished"):  # (a Series, as before: measurably cheaper here)
            data[name] = pd.to_datetime(pd.Series(column, dtype=object), utc=True, format="ISO8601")
        else:
            data[name] = _outcome_column(name, column)
    return pd.DataFrame(data, columns=list(_OUTCOME_COLUMNS))


def _outcome_column(name: str, column: Sequence[Any]) -> Any:
    """One column of :meth:`Ledger.outcomes`' frame, as a pandas array of its dtype."""
    if name == "outcome":
        return pd.Categorical(column, categories=list(OUTCOMES))
    if name in ("chunk", "attempts", "http_status"):
        return pd.array(column, dtype="Int64")
    if name in ("started", "finished"):
        return pd.to_datetime(pd.Series(column, dtype=object), utc=True, format="ISO8601").array
    return pd.array(column, dtype="string")


class Ledger:
    """A ledger (created on first use). Thread-safe; use as a context manager or ``close()``.

    ``path``: a SQLite file, ``":memory:"`` for a throwaway ledger, or a PostgreSQL URL
    (``postgresql://user:password@host/db``; shown as :attr:`path` without the password).
    ``lease_ttl``: seconds a run's lease outlives its last heartbeat (else ``$WSNB_LEASE_TTL``,
    else :data:`DEFAULT_LEASE_TTL`).
    ``holder`` names this object as a lease holder (``host:pid:random``).
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, lease_ttl: float | None = None
    ) -> None:
        target = default_ledger() if path is None else os.fspath(path)
        self.path = str(target)
        self.lease_ttl = _lease_ttl(lease_ttl)
        self.host = socket.gethostname()
        self.holder = f"{self.host}:{os.getpid()}:{secrets.token_hex(4)}"
        self._leases: dict[int, Lease] = {}
        #: SQLite: run id -> {task_id: seq} of the runs this object created (see _rows)
        self._order: dict[int, dict[str, int]] = {}
        if is_database_url(target):
            self.path = redact_url(str(target))  # shown everywhere: never the password
            self._db = open_database(str(target))
        else:
            if self.path != ":memory:":
                Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self._db = open_database(self.path)
        self.backend = self._db.kind
        self._lock = self._db.lock
        self._con: Any = self._db.con  # type: ignore[attr-defined]  # the raw connection
        with self._lock:
            try:
                migrate(self._db)
            except BaseException:
                self._db.close()
                raise

    def __repr__(self) -> str:
        return f"Ledger({self.path!r})"

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _tx(self) -> AbstractContextManager[Database]:
        return self._db.transaction()

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self._db.query(sql, args)

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
        in one transaction; returns the run id. The run is leased to this ledger from its first
        moment (for :attr:`lease_ttl`; :meth:`lease` then keeps it)."""
        now = _now()
        with self._tx() as con:
            run_id = con.insert_id(
                "INSERT INTO runs (created, endpoint, project_id, params, dry_run, status) "
                "VALUES (?, ?, ?, ?, ?, 'running')",
                (now, endpoint, project_id, _dumps(params), int(dry_run)),
            )
            self._take(con, run_id, self.lease_ttl)
            rows = self._insert_plan(con, run_id, now, plan)
        self._remember_order(run_id, rows)
        return run_id

    @staticmethod
    def _insert_plan(
        con: Database,
        run_id: int,
        now: str,
        plan: Iterable[tuple[str, str | None, str | None, Outcome, str | None]],
    ) -> list[tuple[str, str | None, str | None, Outcome, str | None]]:
        """In a transaction: the plan rows of a new run, ``seq`` numbering them in order (a
        settled id is ``finished`` at ``now``). SQLite: one ``INSERT … SELECT`` from
        ``json_each`` of the rows as one JSON array (a statement and three parameters instead of
        eight binds per row; ``json_each`` walks the array in order, so rowids follow ``seq``); a
        plan JSON cannot carry exactly (``NaN``, bytes…) is inserted row by row. PostgreSQL:
        ``COPY`` straight from ``plan``. Returns the rows (SQLite; PostgreSQL keeps none)."""
        if con.kind != "sqlite":
            con.insert_rows("plan", _PLAN_COLUMNS, _plan_rows(run_id, now, plan))
            return []
        rows = [(tid, name, ttype, outcome, msg) for tid, name, ttype, outcome, msg in plan]
        try:
            text = json.dumps(rows, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            con.insert_rows("plan", _PLAN_COLUMNS, _plan_rows(run_id, now, rows))
            return rows
        con.execute(
            "INSERT INTO plan (run_id, seq, task_id, task_name, task_type, outcome, error_msg, "
            "finished) SELECT ?, key, value ->> 0, value ->> 1, value ->> 2, value ->> 3, "
            "value ->> 4, CASE WHEN value ->> 3 = 'pending' THEN NULL ELSE ? END "
            "FROM json_each(?)",
            (run_id, now, text),
        )
        return rows

    def _remember_order(self, run_id: int, rows: Sequence[Sequence[Any]]) -> None:
        """SQLite: keep the ``seq`` of each id of a plan just committed (its rows, in order, the
        id first), for :meth:`_rows`. A plan row's ``task_id`` and ``seq`` never change after its
        insert, so the map stays true for the run's life."""
        if self._db.kind == "sqlite" and all(isinstance(row[0], str) for row in rows):
            self._order[run_id] = {row[0]: seq for seq, row in enumerate(rows)}

    def _rows(
        self, con: Database, run_id: int, task_ids: Iterable[str], listed: str | None = None
    ) -> tuple[str, tuple[Any, ...]]:
        """SQL and its arguments for "the plan rows of ``task_ids``" (ANDed with ``run_id =
        ?``). For a SQLite run this object created, by the ids' ``seq`` numbers through
        ``plan_seq`` instead of a probe of the key's index by text (half the look-up time of a
        5,000-id update): ``seq BETWEEN`` when they are consecutive (a chunk of a fresh run;
        every ``seq`` of the run is one of its ids), else ``seq IN``. Ids not in the plan match
        nothing, either way. ``listed``: the ids as JSON already (SQLite's argument)."""
        order = self._order.get(run_id)
        if order is not None:
            task_ids = task_ids if isinstance(task_ids, list | tuple) else list(task_ids)
            if all(isinstance(tid, str) for tid in task_ids):  # (else: SQL's own comparison)
                seqs = [seq for seq in map(order.get, task_ids) if seq is not None]
                if seqs and seqs == list(range(seqs[0], seqs[0] + len(seqs))):
                    return "seq BETWEEN ? AND ?", (seqs[0], seqs[-1])
                return "seq IN (SELECT value FROM json_each(?))", (json.dumps(seqs),)
        if listed is not None and con.kind == "sqlite":
            return con.ids(), (listed,)
        return con.ids(), (con.ids_arg(task_ids),)

    def record_snapshots(
        self, run_id: int, snapshots: Mapping[str, Mapping[str, Any] | None]
    ) -> None:
        """Store task definitions (``None``: the task did not exist when looked up); fills in
        the plan's name and type from the definition."""
        now = _now()
        if self._db.kind == "postgresql":  # set-based: one statement, not two per id
            with self._db.statement() as con:
                self._record_snapshots_at_once(con, run_id, now, snapshots)
            return
        with self._tx() as con:
            con.executemany(
                "INSERT INTO snapshots (run_id, task_id, taken, definition) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (run_id, task_id) DO UPDATE SET taken = excluded.taken, "
                "definition = excluded.definition",
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

    @staticmethod
    def _record_snapshots_at_once(
        con: Database, run_id: int, now: str, snapshots: Mapping[str, Mapping[str, Any] | None]
    ) -> None:
        """:meth:`record_snapshots` as one set-based statement over arrays (PostgreSQL: a
        statement per id is a round trip per id; SQLite's per-row statements are cheaper than
        its join of a JSON table, which has no index): the insert of the definitions and,
        in the same statement (a data-modifying ``WITH``), the update of the plan's names."""
        columns = ("task_id", "definition")
        insert = (
            "INSERT INTO snapshots (run_id, task_id, taken, definition) "
            f"SELECT ?, t.task_id, ?, t.definition FROM {con.text_rows(columns)} "
            "ON CONFLICT (run_id, task_id) DO UPDATE SET taken = excluded.taken, "
            "definition = excluded.definition"
        )
        insert_args = (
            run_id,
            now,
            *con.text_rows_args(
                ((tid, None if d is None else _dumps(dict(d))) for tid, d in snapshots.items()),
                len(columns),
            ),
        )
        found = [(tid, d) for tid, d in snapshots.items() if d is not None]
        if not found:
            con.execute(insert, insert_args)
            return
        named = ("task_id", "task_name", "task_type")
        con.execute(
            f"WITH stored AS ({insert}) "
            "UPDATE plan SET task_name = coalesce(t.task_name, plan.task_name), "
            "task_type = coalesce(t.task_type, plan.task_type) "
            f"FROM {con.text_rows(named)} "
            "WHERE plan.run_id = ? AND plan.task_id = t.task_id",
            (
                *insert_args,
                *con.text_rows_args(
                    (
                        (tid, _text(d.get("task_name")), _text(d.get("task_type")))
                        for tid, d in found
                    ),
                    len(named),
                ),
                run_id,
            ),
        )

    def set_chunks(self, run_id: int, chunks: Sequence[Sequence[str]], first: int = 0) -> None:
        """Number the chunks of pending ids (``first``, ``first + 1``, …)."""
        with self._tx() as con:
            if run_id not in self._order:  # one batch (PostgreSQL: pipelined)
                con.executemany(
                    f"UPDATE plan SET chunk = ? WHERE run_id = ? AND {con.ids()}",
                    ((first + n, run_id, con.ids_arg(chunk)) for n, chunk in enumerate(chunks)),
                )
                return
            for n, chunk in enumerate(chunks):
                rows, args = self._rows(con, run_id, chunk)
                sql = f"UPDATE plan SET chunk = ? WHERE run_id = ? AND {rows}"
                con.execute(sql, (first + n, run_id, *args))

    def call_started(
        self, run_id: int, operation: str, chunk: int | None, attempt: int, task_ids: Sequence[str]
    ) -> int:
        """Write-ahead: a write call is about to be sent (its ids get ``chunk`` and one more
        attempt). Returns the call id."""
        now = _now()
        ids = _ids_json(task_ids)
        if self._db.kind == "postgresql":
            return self._call_started_at_once(run_id, operation, chunk, attempt, task_ids, ids, now)
        with self._tx() as con:
            self._fence(con, run_id)
            call_id = con.insert_id(
                "INSERT INTO calls (run_id, operation, chunk, attempt, task_ids, state, started) "
                "VALUES (?, ?, ?, ?, ?, 'in_flight', ?)",
                (run_id, operation, chunk, attempt, ids, now),
            )
            rows, args = self._rows(con, run_id, task_ids, ids)
            con.execute(
                "UPDATE plan SET attempts = attempts + 1, started = coalesce(started, ?), "
                f"chunk = coalesce(?, chunk) WHERE run_id = ? AND {rows}",
                (now, chunk, run_id, *args),
            )
        return call_id

    def _call_started_at_once(
        self,
        run_id: int,
        operation: str,
        chunk: int | None,
        attempt: int,
        task_ids: Sequence[str],
        ids: str,
        now: str,
    ) -> int:
        """:meth:`call_started` on PostgreSQL: the fence's read (the lease row locked), then
        the heartbeat, the write-ahead row and the plan's attempts in one statement (a
        data-modifying ``WITH``), committed before this returns: four round trips, not six."""
        with self._tx() as con:
            stamps = self._fence(con, run_id, beat=False)
            beat = ""
            beat_args: tuple[Any, ...] = ()
            if stamps is not None:
                beat = "beat AS (UPDATE leases SET heartbeat = ?, expires = ? WHERE run_id = ?), "
                beat_args = (*stamps, run_id)
            row = con.execute(
                f"WITH {beat}new AS (INSERT INTO calls (run_id, operation, chunk, attempt, "
                "task_ids, state, started) VALUES (?, ?, ?, ?, ?, 'in_flight', ?) RETURNING id), "
                "marked AS (UPDATE plan SET attempts = attempts + 1, "
                "started = coalesce(started, ?), chunk = coalesce(?, chunk) "
                f"WHERE run_id = ? AND {con.ids()}) SELECT id FROM new",
                (
                    *beat_args,
                    run_id,
                    operation,
                    chunk,
                    attempt,
                    ids,
                    now,
                    now,
                    chunk,
                    run_id,
                    con.ids_arg(task_ids),
                ),
            ).fetchone()
        return int(row[0])

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
        with self._db.statement() as con:
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
        """Complete a write-ahead row as ``ok`` and settle its ids, in one transaction (PostgreSQL:
        one statement).

        ``http_status`` and ``request_id`` (the call's answer) go on the call and on each of its
        ids: the API has no per-id result, so every id carries its chunk's (what support asks
        for)."""
        now = _now()
        call = (
            "UPDATE calls SET state = 'ok', http_status = ?, error_code = NULL, "
            "error_msg = NULL, request_id = ?, finished = ? WHERE id = ?"
        )
        call_args = (http_status, request_id, now, call_id)
        if self._db.kind == "postgresql":  # one statement (both updates), one round trip
            with self._db.statement() as con:
                con.execute(
                    f"WITH done AS ({call}) UPDATE plan SET outcome = ?, "
                    "http_status = coalesce(?, http_status), error_code = NULL, error_msg = NULL, "
                    "request_id = coalesce(?, request_id), finished = ? "
                    f"WHERE run_id = ? AND {con.ids()}",
                    (
                        *call_args,
                        outcome,
                        http_status,
                        request_id,
                        now,
                        run_id,
                        con.ids_arg(task_ids),
                    ),
                )
            return
        with self._tx() as con:
            con.execute(call, call_args)
            rows, args = self._rows(con, run_id, task_ids)
            con.execute(
                "UPDATE plan SET outcome = ?, http_status = coalesce(?, http_status), "
                "error_code = NULL, error_msg = NULL, request_id = coalesce(?, request_id), "
                f"finished = ? WHERE run_id = ? AND {rows}",
                (outcome, http_status, request_id, now, run_id, *args),
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
        with self._db.statement() as con:
            rows, args = self._rows(con, run_id, task_ids)
            con.execute(
                "UPDATE plan SET outcome = ?, http_status = coalesce(?, http_status), "
                "error_code = ?, error_msg = ?, request_id = coalesce(?, request_id), "
                f"finished = ? WHERE run_id = ? AND {rows}",
                (outcome, http_status, error_code, error_msg, request_id, finished, run_id, *args),
            )

    def add_event(self, run_id: int, kind: str, **detail: Any) -> None:
        """Log a notable step (a bisection split, an ambiguity check, a resume…)."""
        with self._db.statement() as con:
            con.execute(
                "INSERT INTO events (run_id, time, kind, detail) VALUES (?, ?, ?, ?)",
                (run_id, _now(), kind, _dumps(detail)),
            )

    def finish_run(
        self, run_id: int, status: RunStatus, stats: Mapping[str, Any] | None = None
    ) -> None:
        """Close a run (``done``, ``interrupted`` or ``cancelled``), keeping the call statistics.

        Not when another holder has taken the run over (this process lost its lease): the run is
        theirs to close."""
        with self._tx() as con:
            row = con.execute(
                "SELECT holder FROM leases WHERE run_id = ?" + con.for_update, (run_id,)
            ).fetchone()
            if row is not None and row["holder"] != self.holder:
                _log.warning("run %s was taken over by %s; not closing it", run_id, row["holder"])
                return
            con.execute(
                "UPDATE runs SET status = ?, finished = ?, stats = ? WHERE id = ?",
                (status, _now(), _dumps(dict(stats or {})), run_id),
            )
        self._order.pop(run_id, None)  # (a resumed run is matched by id text again)

    def reopen_run(self, run_id: int) -> None:
        """Mark a run as running again (for resume)."""
        with self._db.statement() as con:
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
        *,
        pass_id: int | None = None,
    ) -> None:
        """Write-ahead and outcome of re-creating one task from its snapshot.

        ``pass_id``: the restore pass (:meth:`start_restore_pass`) making the create; kept with the
        outcome. ``in_flight`` is fenced like :meth:`call_started`."""
        with self._tx() as con:
            if state == "in_flight":
                self._fence(con, run_id)
            con.execute(
                "INSERT INTO restores (run_id, old_id, new_id, state, error_msg, time, pass_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, old_id) DO UPDATE SET "
                "new_id = excluded.new_id, state = excluded.state, "
                "error_msg = excluded.error_msg, time = excluded.time, "
                "pass_id = coalesce(excluded.pass_id, restores.pass_id)",
                (run_id, old_id, new_id, state, error_msg, _now(), pass_id),
            )

    def start_restore_pass(self, run_id: int, existing: Iterable[str]) -> int:
        """Begin a restore pass: keep the ids that exist before it creates anything (its
        watermark: a task it made is one not among them). Returns the pass id."""
        with self._tx() as con:
            return con.insert_id(
                "INSERT INTO restore_passes (run_id, started, holder, existing) "
                "VALUES (?, ?, ?, ?)",
                (run_id, _now(), self.holder, _ids_json(sorted(set(existing)))),
            )

    # --- executable plans (a dry run executed later) -------------------------------------------

    def record_plan(
        self,
        run_id: int,
        *,
        listed: str,
        source: Literal["selection", "snapshots", "none"],
        filters: Mapping[str, Any],
        fingerprints: Mapping[str, Mapping[str, Any]],
    ) -> None:
        """Keep dry run ``run_id`` as an executable plan: when its listing was taken (ISO time),
        where the fingerprints came from, the filters its tasks share, and each planned id's
        listed fields (compared with a fresh listing before it is executed)."""
        with self._tx() as con:
            con.execute(
                "INSERT INTO plans (run_id, listed, source, filters) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (run_id) DO UPDATE SET listed = excluded.listed, "
                "source = excluded.source, filters = excluded.filters",
                (run_id, listed, source, _dumps(dict(filters))),
            )
            con.executemany(
                "INSERT INTO plan_listings (run_id, task_id, listed) VALUES (?, ?, ?) "
                "ON CONFLICT (run_id, task_id) DO UPDATE SET listed = excluded.listed",
                ((run_id, tid, _dumps(dict(f))) for tid, f in fingerprints.items()),
            )

    def plan_info(self, run_id: int) -> dict[str, Any] | None:
        """The ``plans`` row of dry run ``run_id`` (``filters`` decoded), or ``None`` (a dry run
        from before version 3, or not a dry run)."""
        rows = self._query("SELECT * FROM plans WHERE run_id = ?", (run_id,))
        if not rows:
            return None
        data = dict(rows[0])
        data["filters"] = json.loads(data["filters"])
        return data

    def plan_listing(self, run_id: int) -> dict[str, dict[str, Any]]:
        """Each planned id's listed fields, as :meth:`record_plan` kept them."""
        rows = self._query("SELECT task_id, listed FROM plan_listings WHERE run_id = ?", (run_id,))
        return {r[0]: json.loads(r[1]) for r in rows}

    def create_execution(
        self,
        plan_run: int,
        *,
        endpoint: str,
        project_id: str,
        params: Mapping[str, Any],
        plan: Iterable[tuple[str, str | None, str | None, Outcome, str | None]],
        fresh: Iterable[str] = (),
    ) -> int:
        """Record the run that executes dry run ``plan_run``, in one transaction: claim the plan
        (``ValueError`` naming the run that already did), create the run and its plan rows (as
        :meth:`create_run`), copy the dry run's snapshots of the ids left ``pending`` except
        ``fresh`` (re-read by the execution), and take the new run's lease. Returns its id."""
        now = _now()
        with self._tx() as con:
            row = con.execute(
                "SELECT executed_by FROM plans WHERE run_id = ?", (plan_run,)
            ).fetchone()
            if row is not None and row["executed_by"] is not None:
                raise ValueError(
                    f"plan {plan_run} was already executed by run {row['executed_by']}; "
                    f"see 'wsnb runs show {row['executed_by']}' (resume it if it stopped early)"
                )
            run_id = con.insert_id(
                "INSERT INTO runs (created, endpoint, project_id, params, dry_run, status) "
                "VALUES (?, ?, ?, ?, 0, 'running')",
                (now, endpoint, project_id, _dumps(params)),
            )
            if row is None:  # a dry run from before version 3: claim it all the same
                con.execute(
                    "INSERT INTO plans (run_id, listed, source, filters) VALUES (?, ?, 'none', ?)",
                    (plan_run, now, "{}"),
                )
            con.execute(
                "UPDATE plans SET executed_by = ?, executed = ? WHERE run_id = ?",
                (run_id, now, plan_run),
            )
            self._take(con, run_id, self.lease_ttl)
            rows = self._insert_plan(con, run_id, now, plan)
            con.execute(
                "INSERT INTO snapshots (run_id, task_id, taken, definition) "
                "SELECT ?, s.task_id, s.taken, s.definition FROM snapshots s "
                "JOIN plan p ON p.run_id = ? AND p.task_id = s.task_id AND p.outcome = 'pending' "
                "WHERE s.run_id = ?",
                (run_id, run_id, plan_run),
            )
            con.executemany(
                "DELETE FROM snapshots WHERE run_id = ? AND task_id = ?",
                ((run_id, tid) for tid in fresh),
            )
        self._remember_order(run_id, rows)
        return run_id

    # --- fleet runs (one parent row grouping one ordinary run per project) ---------------------

    def create_fleet_run(
        self,
        *,
        params: Mapping[str, Any],
        dry_run: bool,
        members: Sequence[Mapping[str, Any]],
    ) -> tuple[int, list[int]]:
        """Record a fleet run and its child runs in one transaction; returns the fleet run id and
        the child run ids (in ``members`` order). Each member holds ``endpoint``, ``project_id``,
        ``region`` (a label, may be None), ``params`` and ``plan`` (as :meth:`create_run`). Every
        child is leased to this ledger from its first moment, as by :meth:`create_run`."""
        now = _now()
        run_ids: list[int] = []
        plans: list[list[tuple[str, str | None, str | None, Outcome, str | None]]] = []
        with self._tx() as con:
            fleet_run_id = con.insert_id(
                "INSERT INTO fleet_runs (created, params, dry_run, status) "
                "VALUES (?, ?, ?, 'running')",
                (now, _dumps(params), int(dry_run)),
            )
            for seq, member in enumerate(members):
                run_id = con.insert_id(
                    "INSERT INTO runs (created, endpoint, project_id, params, dry_run, status) "
                    "VALUES (?, ?, ?, ?, ?, 'running')",
                    (
                        now,
                        member["endpoint"],
                        member["project_id"],
                        _dumps({**member["params"], "fleet_run": fleet_run_id}),
                        int(dry_run),
                    ),
                )
                self._take(con, run_id, self.lease_ttl)
                plans.append(self._insert_plan(con, run_id, now, member["plan"]))
                con.execute(
                    "INSERT INTO fleet_members (fleet_run_id, seq, run_id, region) "
                    "VALUES (?, ?, ?, ?)",
                    (fleet_run_id, seq, run_id, member.get("region")),
                )
                run_ids.append(run_id)
        for run_id, rows in zip(run_ids, plans, strict=True):
            self._remember_order(run_id, rows)
        return fleet_run_id, run_ids

    def set_member_error(self, fleet_run_id: int, run_id: int, error: str | None) -> None:
        """Note (or clear, with ``None``) the error that stopped one project's run."""
        with self._tx() as con:
            con.execute(
                "UPDATE fleet_members SET error = ? WHERE fleet_run_id = ? AND run_id = ?",
                (error, fleet_run_id, run_id),
            )

    def finish_fleet_run(self, fleet_run_id: int, status: RunStatus) -> None:
        """Close a fleet run (``done``: every child run is done)."""
        with self._tx() as con:
            con.execute(
                "UPDATE fleet_runs SET status = ?, finished = ? WHERE id = ?",
                (status, _now(), fleet_run_id),
            )

    def reopen_fleet_run(self, fleet_run_id: int) -> None:
        """Mark a fleet run as running again (for resume)."""
        with self._tx() as con:
            con.execute(
                "UPDATE fleet_runs SET status = 'running', finished = NULL WHERE id = ?",
                (fleet_run_id,),
            )

    def fleet_run(self, fleet_run_id: int) -> dict[str, Any]:
        """One fleet run's row with ``params`` decoded; ``KeyError`` if unknown."""
        rows = self._query("SELECT * FROM fleet_runs WHERE id = ?", (fleet_run_id,))
        if not rows:
            raise KeyError(f"no fleet run {fleet_run_id} in ledger {self.path}")
        data = dict(rows[0])
        data["params"] = json.loads(data["params"])
        data["dry_run"] = bool(data["dry_run"])
        return data

    def fleet_members(self, fleet_run_id: int) -> pd.DataFrame:
        """The child runs of a fleet run in fleet order: ``run_id``, ``endpoint``,
        ``project_id``, ``region``, ``status``, ``error`` (index ``seq``)."""
        rows = self._query(
            "SELECT m.seq, m.run_id, r.endpoint, r.project_id, m.region, r.status, m.error "
            "FROM fleet_members m JOIN runs r ON r.id = m.run_id "
            "WHERE m.fleet_run_id = ? ORDER BY m.seq",
            (fleet_run_id,),
        )
        columns = ["seq", "run_id", "endpoint", "project_id", "region", "status", "error"]
        return pd.DataFrame([tuple(r) for r in rows], columns=columns).set_index("seq")

    def fleet_runs(self) -> pd.DataFrame:
        """All fleet runs, newest first, with their project and outcome counts."""
        rows = self._query(
            "SELECT f.id AS fleet_run_id, f.created, f.finished, f.dry_run, f.status, "
            "count(DISTINCT m.run_id) AS projects, count(p.task_id) AS ids, "
            "sum(CASE WHEN p.outcome = 'deleted' THEN 1 ELSE 0 END) AS deleted, "
            "sum(CASE WHEN p.outcome = 'failed' THEN 1 ELSE 0 END) AS failed, "
            "sum(CASE WHEN p.outcome = 'pending' THEN 1 ELSE 0 END) AS pending "
            "FROM fleet_runs f LEFT JOIN fleet_members m ON m.fleet_run_id = f.id "
            "LEFT JOIN plan p ON p.run_id = m.run_id GROUP BY f.id ORDER BY f.id DESC"
        )
        columns = [
            "fleet_run_id", "created", "finished", "dry_run", "status", "projects", "ids",
            "deleted", "failed", "pending",
        ]  # fmt: skip
        frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        frame["dry_run"] = frame["dry_run"].astype(bool)
        for name in ("projects", "ids", "deleted", "failed", "pending"):
            frame[name] = frame[name].fillna(0).astype("int64")
        return frame.set_index("fleet_run_id")

    def fleet_of_runs(self) -> dict[int, int]:
        """Run id -> the fleet run it belongs to (runs outside any fleet run are absent)."""
        rows = self._query("SELECT run_id, fleet_run_id FROM fleet_members")
        return {int(r["run_id"]): int(r["fleet_run_id"]) for r in rows}

    # --- leases --------------------------------------------------------------------------------

    @contextmanager
    def lease(self, run_id: int, *, ttl: float | None = None) -> Iterator[Lease]:
        """Hold run ``run_id`` for the block: take its lease (:class:`RunLeasedError` when another
        holder's is live; ``KeyError`` for an unknown run), renew it every ``ttl / 6`` seconds
        from a timer thread, release it at the end. Not re-entrant: a second ``lease()`` of the
        same run through this ledger while the first is held (another thread of this process
        resuming it) is refused too."""
        seconds = _lease_ttl(ttl) if ttl is not None else self.lease_ttl
        with self._lock:  # check and register at once: two threads cannot both pass
            if run_id in self._leases:
                rows = self._query("SELECT * FROM leases WHERE run_id = ?", (run_id,))
                raise RunLeasedError(run_id, dict(rows[0]))
            with self._tx() as con:
                # the run's row lock (PostgreSQL) serialises lease takers, a lease row or not
                run = con.execute("SELECT 1 FROM runs WHERE id = ?" + con.for_update, (run_id,))
                if run.fetchone() is None:
                    raise KeyError(f"no run {run_id} in ledger {self.path}")
                self._take(con, run_id, seconds)
            lease = Lease(self, run_id, seconds)
            self._leases[run_id] = lease
        lease._start()
        try:
            yield lease
        finally:
            lease._end()
            del self._leases[run_id]
            now = _now()
            try:
                with self._tx() as con:
                    con.execute(
                        "UPDATE leases SET released = ?, expires = ? "
                        "WHERE run_id = ? AND holder = ? AND released IS NULL",
                        (now, now, run_id, self.holder),
                    )
            except sqlite3.Error:  # it lapses by itself
                _log.warning("could not release the lease of run %s", run_id, exc_info=True)

    def lease_holder(self, run_id: int) -> dict[str, Any] | None:
        """The run's live lease (``holder``, ``host``, ``pid``, ``acquired``, ``heartbeat``,
        ``expires``), or ``None`` when nobody holds it (released, lapsed or never taken)."""
        rows = self._query("SELECT * FROM leases WHERE run_id = ?", (run_id,))
        if not rows or not self._live(rows[0]):
            return None
        keys = ("holder", "host", "pid", "acquired", "heartbeat", "expires")
        return {k: rows[0][k] for k in keys}

    @staticmethod
    def _live(row: Row | sqlite3.Row) -> bool:
        expires = datetime.fromisoformat(row["expires"])
        return row["released"] is None and expires > datetime.now(UTC)

    def _take(self, con: Database, run_id: int, ttl: float) -> None:
        """In a transaction: make this ledger the run's holder, or raise RunLeasedError."""
        row = con.execute(
            "SELECT * FROM leases WHERE run_id = ?" + con.for_update, (run_id,)
        ).fetchone()
        now = datetime.now(UTC)
        mine = row is not None and row["holder"] == self.holder and row["released"] is None
        if row is not None and not mine and self._live(row):
            raise RunLeasedError(run_id, dict(row))
        if row is not None and row["released"] is None and not mine:
            con.execute(
                "INSERT INTO events (run_id, time, kind, detail) VALUES (?, ?, 'lease_expired', ?)",
                (
                    run_id,
                    _stamp(now),
                    _dumps(
                        {
                            "holder": row["holder"],
                            "host": row["host"],
                            "pid": row["pid"],
                            "heartbeat": row["heartbeat"],
                            "expired": row["expires"],
                            "taken_by": self.holder,
                        }
                    ),
                ),
            )
        con.execute(
            "INSERT INTO leases (run_id, holder, host, pid, acquired, heartbeat, expires, "
            "released) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (run_id) DO UPDATE SET "
            "holder = excluded.holder, host = excluded.host, pid = excluded.pid, "
            "acquired = excluded.acquired, heartbeat = excluded.heartbeat, "
            "expires = excluded.expires, released = NULL",
            (
                run_id,
                self.holder,
                self.host,
                os.getpid(),
                row["acquired"] if mine and row is not None else _stamp(now),
                _stamp(now),
                _stamp(now + timedelta(seconds=ttl)),
            ),
        )

    def _renew(self, run_id: int, ttl: float) -> bool:
        """Push the expiry of this ledger's lease on ``run_id`` on; False when it is not ours."""
        now = datetime.now(UTC)
        with self._db.statement() as con:
            cur = con.execute(
                "UPDATE leases SET heartbeat = ?, expires = ? "
                "WHERE run_id = ? AND holder = ? AND released IS NULL",
                (_stamp(now), _stamp(now + timedelta(seconds=ttl)), run_id, self.holder),
            )
        return cur.rowcount == 1

    def _fence(self, con: Database, run_id: int, *, beat: bool = True) -> tuple[str, str] | None:
        """In a write-ahead transaction: refuse when another holder has taken the run over, else
        count as a heartbeat of this ledger's lease. A run with no lease row (made before leases
        existed, or by hand) is not fenced. ``beat=False``: the heartbeat's new ``(heartbeat,
        expires)`` is returned for the caller's own statement to write (None: no heartbeat)."""
        row = con.execute(
            "SELECT holder, host, pid, released FROM leases WHERE run_id = ?" + con.for_update,
            (run_id,),
        ).fetchone()
        if row is None:
            return None
        if row["holder"] != self.holder:
            raise LeaseLostError(
                f"lost the lease of run {run_id} to pid {row['pid']} on host {row['host']} "
                f"(holder {row['holder']}); this process ({self.holder}) sends nothing more"
            )
        if row["released"] is None:
            held = self._leases.get(run_id)
            now = datetime.now(UTC)
            ttl = self.lease_ttl if held is None else held.ttl
            stamps = (_stamp(now), _stamp(now + timedelta(seconds=ttl)))
            if not beat:
                return stamps
            con.execute(
                "UPDATE leases SET heartbeat = ?, expires = ? WHERE run_id = ?", (*stamps, run_id)
            )
        return None

    # --- reading -------------------------------------------------------------------------------

    def runs(self) -> pd.DataFrame:
        """All runs, newest first, with outcome counts."""
        rows = self._query(
            "SELECT r.id AS run_id, r.created, r.finished, r.endpoint, r.project_id, "
            "r.dry_run, r.status, count(p.task_id) AS ids, "
            "sum(CASE WHEN p.outcome = 'deleted' THEN 1 ELSE 0 END) AS deleted, "
            "sum(CASE WHEN p.outcome = 'failed' THEN 1 ELSE 0 END) AS failed, "
            "sum(CASE WHEN p.outcome = 'pending' THEN 1 ELSE 0 END) AS pending, "
            "sum(CASE WHEN p.outcome = 'forbidden' THEN 1 ELSE 0 END) AS forbidden, "
            "sum(CASE WHEN p.outcome = 'skipped' THEN 1 ELSE 0 END) AS skipped "
            "FROM runs r LEFT JOIN plan p ON p.run_id = r.id GROUP BY r.id ORDER BY r.id DESC"
        )
        columns = [
            "run_id", "created", "finished", "endpoint", "project_id", "dry_run", "status",
            "ids", "deleted", "failed", "pending", "forbidden", "skipped",
        ]  # fmt: skip
        frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        frame["dry_run"] = frame["dry_run"].astype(bool)
        for name in ("ids", "deleted", "failed", "pending", "forbidden", "skipped"):
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
        """The plan of a run, one row per id, in selection order.

        SQLite reads the columns a whole call shares (outcome, chunk, attempts, answer, times:
        the same for the 5,000 ids of a chunk) as one JSON text per row (fewer Python objects),
        converts each distinct one once and spreads it by position (``plan_seq`` gives the order
        without a sort). PostgreSQL reads every column as it is (its ``json_build_array`` and a
        grouping in Python both cost more than they saved there)."""
        if self._db.kind == "postgresql":
            rows = self._db.query(
                f"SELECT {', '.join(_OUTCOME_COLUMNS)} FROM plan WHERE run_id = ? ORDER BY seq",
                (run_id,),
                plain=True,
            )
            return _plain_outcome_frame(rows)
        rows = self._db.query(  # plain tuples: no row object per row
            f"SELECT task_id, task_name, task_type, json_array({', '.join(_SHARED_COLUMNS)}) "
            "FROM plan WHERE run_id = ? ORDER BY seq",
            (run_id,),
            plain=True,
        )
        return _outcome_frame(rows)

    def pending(self, run_id: int) -> list[str]:
        """Ids of a run whose outcome is not settled yet, in plan order."""
        rows = self._db.query(
            "SELECT task_id FROM plan WHERE run_id = ? AND outcome = 'pending' ORDER BY seq",
            (run_id,),
            plain=True,
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

    def restore_passes(self, run_id: int) -> dict[str, int | None]:
        """``old_id`` -> the restore pass that last tried to create it (``None``: no create, or
        one recorded before watermarks existed)."""
        rows = self._query("SELECT old_id, pass_id FROM restores WHERE run_id = ?", (run_id,))
        return {r[0]: r[1] for r in rows}

    def restore_watermark(self, pass_id: int) -> set[str]:
        """The ids that existed when restore pass ``pass_id`` began."""
        rows = self._query("SELECT existing FROM restore_passes WHERE id = ?", (pass_id,))
        if not rows:
            raise KeyError(f"no restore pass {pass_id} in ledger {self.path}")
        return set(json.loads(rows[0][0]))

    def restored_ids(self) -> set[str]:
        """Every task id a restore (of any run) recorded as made."""
        rows = self._query("SELECT new_id FROM restores WHERE new_id IS NOT NULL")
        return {r[0] for r in rows}

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

    # --- quarantine (grace periods: wsnb.quarantine) ---------------------------------------------

    def add_quarantine(
        self,
        run_id: int,
        rows: Iterable[tuple[str, str | None, str | None, str, str | None]],
        grace_days: int,
    ) -> None:
        """Record the tasks a quarantine run selected, ``(task_id, task_name, task_type, state,
        reason)`` each (``pending``, ``planned`` for a dry run, ``skipped``…), in one
        transaction."""
        now = _now()
        with self._tx() as con:
            con.executemany(
                "INSERT INTO quarantine (run_id, task_id, seq, task_name, task_type, state, "
                "grace_days, updated, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (run_id, tid, seq, name, ttype, state, grace_days, now, reason)
                    for seq, (tid, name, ttype, state, reason) in enumerate(rows)
                ),
            )

    def quarantine_started(
        self,
        run_id: int,
        task_id: str,
        state: Literal["in_flight", "restoring"],
        *,
        prior: Mapping[str, Any] | None = None,
    ) -> int:
        """Write-ahead for one ``update_task`` of a quarantine run: in one transaction (fenced
        like :meth:`call_started`), a ``calls`` row ``in_flight`` and the task's new ``state``
        (``in_flight``: about to be disabled, with its ``prior`` definition; ``restoring``:
        about to be set back). Returns the call id."""
        now = _now()
        with self._tx() as con:
            self._fence(con, run_id)
            call_id = con.insert_id(
                "INSERT INTO calls (run_id, operation, chunk, attempt, task_ids, state, started) "
                "VALUES (?, 'update_task', NULL, 1, ?, 'in_flight', ?)",
                (run_id, _ids_json([task_id]), now),
            )
            con.execute(
                "UPDATE quarantine SET state = ?, updated = ?, "
                "prior = coalesce(?, prior) WHERE run_id = ? AND task_id = ?",
                (state, now, None if prior is None else _dumps(dict(prior)), run_id, task_id),
            )
        return call_id

    def set_quarantine(
        self,
        run_id: int,
        task_ids: Iterable[str],
        state: str,
        *,
        reason: str | None = None,
        prior: Mapping[str, Any] | None = None,
        quarantined: datetime | None = None,
        delete_run: int | None = None,
    ) -> None:
        """Move tasks of a quarantine run to ``state`` (``reason`` replaces the old one;
        ``prior``, ``quarantined`` (the moment the grace period starts) and ``delete_run`` are
        kept unless given)."""
        now = _now()
        when = None if quarantined is None else _stamp(quarantined.astimezone(UTC))
        snap = None if prior is None else _dumps(dict(prior))
        with self._tx() as con:
            con.executemany(
                "UPDATE quarantine SET state = ?, reason = ?, updated = ?, "
                "prior = coalesce(?, prior), quarantined = coalesce(?, quarantined), "
                "delete_run = coalesce(?, delete_run) WHERE run_id = ? AND task_id = ?",
                ((state, reason, now, snap, when, delete_run, run_id, tid) for tid in task_ids),
            )

    def quarantine(
        self,
        run_id: int | None = None,
        *,
        endpoint: str | None = None,
        project_id: str | None = None,
        states: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Quarantine records, oldest run first, in selection order: of one run, or of every run
        against ``endpoint``/``project_id``; only ``states`` when given. Columns ``run_id,
        task_id, task_name, task_type, state, grace_days, quarantined, due, updated, reason,
        delete_run, prior`` (``prior`` decoded; ``quarantined``/``due`` UTC timestamps, ``due``
        = quarantined + grace_days)."""
        where, args = [], []
        for column, value in (("q.run_id", run_id), ("r.endpoint", endpoint)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if project_id is not None:
            where.append("r.project_id = ?")
            args.append(project_id)
        if states is not None:
            where.append(f"q.state IN ({', '.join('?' * len(states))})" if states else "0 = 1")
            args.extend(states)
        rows = self._query(
            "SELECT q.run_id, q.task_id, q.task_name, q.task_type, q.state, q.grace_days, "
            "q.quarantined, q.updated, q.reason, q.delete_run, q.prior "
            "FROM quarantine q JOIN runs r ON r.id = q.run_id"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY q.run_id, q.seq",
            args,
        )
        columns = [
            "run_id", "task_id", "task_name", "task_type", "state", "grace_days", "quarantined",
            "updated", "reason", "delete_run", "prior",
        ]  # fmt: skip
        frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        for name in ("task_id", "task_name", "task_type", "state", "reason"):
            frame[name] = frame[name].astype("string")
        for name in ("run_id", "grace_days", "delete_run"):
            frame[name] = frame[name].astype("Int64")
        for name in ("quarantined", "updated"):
            frame[name] = pd.to_datetime(
                pd.Series(frame[name], dtype=object), utc=True, format="ISO8601"
            )
        frame["prior"] = [json.loads(v) if isinstance(v, str) else None for v in frame["prior"]]
        days = pd.to_timedelta(frame["grace_days"].astype("float64"), unit="D")
        frame.insert(7, "due", frame["quarantined"] + days)
        return frame
