"""The PostgreSQL ledger on a real server: its schema version, migrations run once by processes
opening it together, lease takers serialised by row locks, a connection opened again after the
server dropped it, and the URL's password kept out of everything shown. (The behaviour shared
with SQLite runs on both backends in tests/test_ledger.py.)"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests._postgres import Cluster, unavailable_module

try:
    import psycopg
except ImportError:  # without the postgres extra: skipped (failed under CI=true)
    unavailable_module("psycopg is not installed (pip install 'wsnb[postgres]')")
from wsnb._ledger_db import PostgresError, _pg_sql, has_password, redact_url
from wsnb.cli import cli
from wsnb.deletion import LedgerError, delete_tasks, restore_tasks
from wsnb.emulator import Emulator
from wsnb.ledger import (
    SCHEMA_VERSION,
    Ledger,
    RunLeasedError,
    default_ledger,
    default_ledger_path,
)
from wsnb.params import ParameterError, cleanup_params
from wsnb.report import DeletionReport, undo_command


def _password(url: str) -> str:
    return url.split(":")[2].split("@")[0]


def _run(book: Ledger, ids: list[str]) -> int:
    return book.create_run(
        endpoint="http://127.0.0.1:1",
        project_id="p",
        params={},
        dry_run=False,
        plan=[(i, None, None, "pending", None) for i in ids],
    )


def test_redact_url() -> None:
    assert redact_url("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact_url("postgres://u:s3cret@h/db", keep_marker=False) == "postgres://u@h/db"
    assert redact_url("postgresql://h/db?user=u&password=s3cret&sslmode=require") == (
        "postgresql://h/db?user=u&password=***&sslmode=require"
    )
    assert redact_url("postgresql://h/db?password=s3cret&sslmode=require", keep_marker=False) == (
        "postgresql://h/db?sslmode=require"
    )
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact_url("/tmp/a:b@c.sqlite") == "/tmp/a:b@c.sqlite"  # a path is a path
    assert has_password("postgresql://u:x@h/db") and not has_password("postgresql://u@h/db")
    assert not has_password("/x:y@z")


def test_sql_is_translated_for_psycopg() -> None:
    assert _pg_sql("SELECT ? WHERE a = '?' AND b LIKE 'x%'") == (
        "SELECT %s WHERE a = '?' AND b LIKE 'x%%'"
    )


def test_the_schema_version_lives_in_a_table(pg_url: str) -> None:
    with Ledger(pg_url) as book:
        assert book.backend == "postgresql"
        run_id = _run(book, ["a"])
    with psycopg.connect(pg_url) as con:
        assert con.execute("SELECT version FROM wsnb_schema_version").fetchone() == (
            SCHEMA_VERSION,
        )
        # the SQLite-style schema, translated: identity keys, BIGINT columns
        kinds: dict[str, str] = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'calls'"
            ).fetchall()
        )
        assert kinds["id"] == kinds["run_id"] == "bigint"
        options = con.execute("SELECT reloptions FROM pg_class WHERE relname = 'plan'").fetchone()
        assert options == (["fillfactor=33"],)  # room for in-place (HOT) updates
        con.execute("UPDATE wsnb_schema_version SET version = version + 1")
    with pytest.raises(RuntimeError, match="newer than this wsnb"):
        Ledger(pg_url)
    with psycopg.connect(pg_url) as con:
        con.execute("UPDATE wsnb_schema_version SET version = version - 1")
    with Ledger(pg_url) as book:  # opened again: nothing migrated twice, the run is there
        assert list(book.runs().index) == [run_id]


def test_processes_opening_a_new_ledger_at_once_migrate_it_once(postgres: Cluster) -> None:
    errors: list[BaseException] = []
    for _trial in range(3):
        url = postgres.create_database()
        gate = threading.Barrier(6)

        def open_it(url: str = url, gate: threading.Barrier = gate) -> None:
            gate.wait()
            try:
                Ledger(url).close()
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with psycopg.connect(url) as con:
            assert con.execute("SELECT version FROM wsnb_schema_version").fetchall() == [
                (SCHEMA_VERSION,)
            ]
    assert errors == []


def test_one_of_two_takers_gets_a_lapsed_lease(pg_url: str) -> None:
    """Two processes take over a dead holder's run at the same moment: the row locks let one
    through; the other is refused (it sees the winner's live lease), never both."""
    with Ledger(pg_url, lease_ttl=0.2) as dead:
        run_id = _run(dead, ["a"])
    time.sleep(0.3)
    for _trial in range(5):
        books = [Ledger(pg_url, lease_ttl=30) for _ in range(4)]
        gate = threading.Barrier(len(books))
        won: list[str] = []
        refused: list[str] = []

        def take(
            book: Ledger,
            gate: threading.Barrier = gate,
            won: list[str] = won,
            refused: list[str] = refused,
        ) -> None:
            gate.wait()
            try:
                with book._tx() as con:
                    book._take(con, run_id, 30)
                won.append(book.holder)
            except RunLeasedError:
                refused.append(book.holder)

        threads = [threading.Thread(target=take, args=(b,)) for b in books]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1 and len(refused) == len(books) - 1
        assert (books[0].lease_holder(run_id) or {}).get("holder") == won[0]
        with books[0]._tx() as con:  # let it lapse for the next trial
            con.execute("UPDATE leases SET released = 't' WHERE run_id = ?", (run_id,))
        for book in books:
            book.close()


def test_a_dropped_connection_is_opened_again(pg_url: str) -> None:
    with Ledger(pg_url) as book:
        run_id = _run(book, ["a", "b"])
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        with pytest.raises(PostgresError):  # the statement that finds the connection gone
            book.pending(run_id)
        assert book.pending(run_id) == ["a", "b"]  # then a new connection
        book.set_outcomes(run_id, ["a"], "deleted")
        assert book.pending(run_id) == ["b"]


def test_the_password_is_never_shown(pg_url: str, emulator: Emulator, tmp_path: Path) -> None:
    secret = _password(pg_url)
    with Ledger(pg_url) as book:
        assert secret not in repr(book) and secret not in book.path
        assert book.path.startswith("postgresql://wsnb:***@127.0.0.1:")
    wrong = pg_url.replace(secret, secret + "-wrong")
    with pytest.raises(PostgresError) as failed:
        Ledger(wrong)
    assert "password authentication failed" in str(failed.value)
    assert secret not in str(failed.value)  # nor the wrong one, which starts with it
    ids = emulator.control.seed(3, seed=5)
    with emulator.client(rate_limit=None) as client:
        with pytest.raises(LedgerError) as opening:
            delete_tasks(client, ids, ledger=wrong, progress=False)
        assert secret not in str(opening.value) and "wsnb:***@" in str(opening.value)
        report = delete_tasks(client, ids, ledger=pg_url, progress=False)
    assert report.ok and report.summary["ledger"] == redact_url(pg_url)
    # the undo command names the ledger without the password (libpq: PGPASSWORD, ~/.pgpass)
    command = undo_command(report.summary) or ""
    assert redact_url(pg_url, keep_marker=False) in command and secret not in command
    paths = report.write(tmp_path / "report")
    for path in paths.values():
        assert secret not in path.read_text()
    with Ledger(pg_url) as book:
        again = DeletionReport.from_ledger(book, 1)
        assert secret not in repr(again.summary) and secret not in again._repr_html_()
    runner = CliRunner()
    for url in (pg_url, wrong):
        done = runner.invoke(cli, ["runs", "list", "--ledger", url])
        assert secret not in done.output
    assert done.exit_code == 5 and "wsnb:***@" in done.output


def test_the_url_as_default_and_as_notebook_parameter(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WSNB_LEDGER", pg_url)
    monkeypatch.setenv("XDG_DATA_HOME", "/data")
    assert default_ledger() == pg_url
    # the local file (the history cache) is not the URL mangled into a path
    assert default_ledger_path() == Path("/data/wsnb/ledger.sqlite")
    with Ledger() as book:
        assert book.backend == "postgresql"
    # the notebook: the URL from the environment stays there (None: the default ledger)
    params = cleanup_params(all_tasks=True)
    assert params.ledger_path is None
    bare = redact_url(pg_url, keep_marker=False)
    assert cleanup_params(all_tasks=True, ledger_path=bare).ledger_path == bare
    with pytest.raises(ParameterError, match="PGPASSWORD") as refused:
        cleanup_params(all_tasks=True, ledger_path=pg_url)
    assert _password(pg_url) not in str(refused.value)


def test_a_run_is_restored_through_another_connection(pg_url: str, emulator: Emulator) -> None:
    """Deleted through one ledger object (one machine), restored through another: the snapshots
    and the restore's write-ahead rows live in the shared database."""
    seeded = emulator.control.seed(12, seed=9)
    with emulator.client(rate_limit=None) as client:
        # tasks the API lets one create again (not every seeded type is creatable)
        creatable = {"CREATE_SNAPSHOT", "EXECUTE_SCRIPT", "HIBERNATE", "REBOOT", "REBUILD"}
        creatable |= {"START", "STOP"}
        ids = [i for i in seeded if client.get_task(i)["task_type"] in creatable][:4]
        assert len(ids) == 4
        with Ledger(pg_url) as here:
            report = delete_tasks(client, ids[:3], ledger=here, progress=False)
        assert report.ok and ids[3] in emulator.control.task_ids()
        assert not set(ids[:3]) & set(emulator.control.task_ids())
        with Ledger(pg_url) as there:
            assert set(there.snapshots(1)) == set(ids[:3])
            restored = restore_tasks(client, there, 1)
            assert set(restored.index) == set(ids[:3])
            assert (there.restores(1)["state"] == "ok").all()
    assert len(emulator.control.task_ids()) == 12


def test_psycopg_is_imported_only_for_a_postgresql_ledger(tmp_path: Path) -> None:
    code = (
        "import sys, wsnb.ledger, wsnb.deletion, wsnb.cli\n"
        f"wsnb.ledger.Ledger({str(tmp_path / 'l.sqlite')!r}).close()\n"
        "assert 'psycopg' not in sys.modules, 'psycopg imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
