"""The SQLite store: transactions, project isolation, persistence across restarts, concurrency."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import task_body
from wsnb.emulator import Emulator
from wsnb.emulator._errors import ApiError
from wsnb.emulator.store import Store, TaskRow

NOW = "2026-01-01T00:00:00+00:00"


def _data(name: str = "t", **kw: Any) -> dict[str, Any]:
    return {**task_body(task_name=name), "enable": True, **kw}


def test_crud_round_trip() -> None:
    store = Store()
    task_id = store.create_task("p", _data("a"), NOW)
    row = store.get_task("p", task_id)
    assert row is not None and row.data["task_name"] == "a" and row.created_at == NOW
    store.update_task("p", task_id, lambda r: {**r.data, "task_name": "b"})
    rows, total = store.list_tasks("p", 0, 10, {"task_name": "b"})
    assert total == 1 and rows[0].id == task_id
    store.delete_task("p", task_id)
    assert store.get_task("p", task_id) is None
    with pytest.raises(ApiError, match="does not exist"):
        store.delete_task("p", task_id)


def test_failed_update_rolls_back() -> None:
    store = Store()
    task_id = store.create_task("p", _data("keep"), NOW)

    def change(row: TaskRow) -> dict[str, Any]:
        raise ValueError("invalid")

    with pytest.raises(ValueError):
        store.update_task("p", task_id, change)
    row = store.get_task("p", task_id)
    assert row is not None and row.data["task_name"] == "keep"
    # the connection is usable again (no transaction left open)
    assert store.create_task("p", _data(), NOW)


def test_projects_never_mix() -> None:
    store = Store()
    a = store.create_task("pa", _data(), NOW)
    b = store.create_task("pb", _data(), NOW)
    assert store.get_task("pb", a) is None
    assert store.batch_delete("pb", [a], reject_unknown=False) == 0
    assert store.task_ids("pa") == [a] and store.task_ids("pb") == [b]
    store.reset("pa")
    assert store.task_ids("pa") == [] and store.task_ids("pb") == [b]


def test_batch_delete_policies_and_cascade() -> None:
    store = Store()
    ids = [store.create_task("p", _data(), NOW) for _ in range(3)]
    store.record_runs("p", [(ids[0], {"id": "r1", "status": "FAIL"}, [{"id": "d1"}])])
    with pytest.raises(ApiError):
        store.batch_delete("p", [ids[0], "ghost"], reject_unknown=True)
    assert len(store.task_ids("p")) == 3
    assert store.batch_delete("p", [ids[0], ids[0], ids[1], "ghost"], reject_unknown=False) == 2
    assert store.counts() == {"tasks": 1, "records": 0, "details": 0}


def test_batch_delete_beyond_one_sql_chunk() -> None:
    store = Store()
    store.insert_many("p", [(f"id-{i}", NOW, _data()) for i in range(1500)])
    assert store.batch_delete("p", [f"id-{i}" for i in range(1200)], reject_unknown=True) == 1200
    assert len(store.task_ids("p")) == 300


def test_file_db_survives_restart(tmp_path: Path) -> None:
    db = tmp_path / "emu.sqlite"
    with Emulator(db=db, tasks=25, seed=4, project_id="proj") as emu:
        before = emu.control.task_ids()
        http = httpx.Client(base_url=emu.endpoint, headers={"X-Auth-Token": emu.token})
        r = http.post("/v2/proj/scheduled-tasks/batch-delete", json={"task_ids": before[:5]})
        assert r.status_code == 200
        http.close()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Emulator(db=db, tasks=25, seed=4, project_id="proj") as again:
        assert again.control.task_ids() == before[5:]  # not seeded a second time
        assert again.control.health()["counts"]["tasks"] == 20


def test_file_db_remembers_its_default_project(tmp_path: Path) -> None:
    db = tmp_path / "emu.sqlite"
    with Emulator(db=db, tasks=3) as first:
        project, ids = first.project_id, first.control.task_ids()
    with Emulator(db=db) as second:
        assert second.project_id == project
        assert second.control.task_ids() == ids
    with Emulator() as memory:
        assert memory.project_id != project


def test_concurrent_creates_lists_and_deletes_lose_nothing(emulator: Emulator) -> None:
    """Threads create, list and delete at once over the socket: no loss, no duplicates."""
    base = f"/v2/{emulator.project_id}/scheduled-tasks"
    created: list[str] = []
    deleted: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        with httpx.Client(
            base_url=emulator.endpoint, headers={"X-Auth-Token": emulator.token}
        ) as http:
            mine: list[str] = []
            for i in range(10):
                r = http.post(base, json=task_body(task_name=f"w{n}-{i}"))
                assert r.status_code == 200, r.text
                mine.append(r.json()["task_id"])
                page = http.get(base, params={"offset": 0, "limit": 50})
                assert page.status_code == 200
                ids = [t["id"] for t in page.json()["scheduled_tasks"]]
                assert len(ids) == len(set(ids))
            gone = mine[::3]
            assert http.post(f"{base}/batch-delete", json={"task_ids": gone}).status_code == 200
            assert http.delete(f"{base}/{mine[1]}").status_code == 200
            with lock:
                created.extend(mine)
                deleted.extend([*gone, mine[1]])

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(worker, range(6)))
    remaining = emulator.control.task_ids()
    assert len(created) == len(set(created)) == 60
    assert sorted(remaining) == sorted(set(created) - set(deleted))
    names = [t["task_name"] for t in emulator.control.dump(emulator.project_id)["tasks"]]
    assert len(names) == len(set(names))


def test_store_is_safe_from_threads_directly() -> None:
    store = Store()

    def work(n: int) -> list[str]:
        return [store.create_task("p", _data(f"{n}-{i}"), NOW) for i in range(50)]

    with ThreadPoolExecutor(6) as pool:
        ids = [i for batch in pool.map(work, range(6)) for i in batch]
    assert sorted(store.task_ids("p")) == sorted(ids)
    assert len(set(ids)) == 300


# --- concurrency: a connection per thread, readers in parallel, writers serialized -------------


@pytest.fixture(params=["memory", "file"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    store = Store(None if request.param == "memory" else tmp_path / "emu.sqlite")
    yield store
    store.close()


def test_readers_run_side_by_side(any_store: Store) -> None:
    """Two threads are inside read transactions at the same time (one connection each)."""
    any_store.insert_many("p", [(f"id-{i}", NOW, _data()) for i in range(10)])
    both_inside = threading.Barrier(2, timeout=10)

    def read(_: int) -> int:
        with any_store._read() as con:
            both_inside.wait()  # broken (BrokenBarrierError) if the reads are serialized
            return int(con.execute("SELECT count(*) FROM tasks").fetchone()[0])

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(read, range(2))) == [10, 10]


def test_file_db_reader_sees_the_last_commit_while_a_write_is_open(tmp_path: Path) -> None:
    """WAL: a write transaction in progress blocks no reader, and its changes stay invisible
    to others until it commits."""
    store = Store(tmp_path / "emu.sqlite")
    task_id = store.create_task("p", _data("before"), NOW)
    inside, release = threading.Event(), threading.Event()

    def change(row: TaskRow) -> dict[str, Any]:
        inside.set()
        assert release.wait(10)
        return {**row.data, "task_name": "after"}

    with ThreadPoolExecutor(1) as pool:
        writing = pool.submit(store.update_task, "p", task_id, change)
        assert inside.wait(10)
        row = store.get_task("p", task_id)  # must not wait for the writer
        rows, total = store.list_tasks("p", 0, 10, {})
        release.set()
        writing.result(timeout=10)
    assert row is not None and row.data["task_name"] == "before"
    assert total == 1 and rows[0].data["task_name"] == "before"
    after = store.get_task("p", task_id)
    assert after is not None and after.data["task_name"] == "after"
    store.close()


def test_concurrent_readers_and_writers_see_whole_transactions(any_store: Store) -> None:
    """Writers create and delete tasks in pairs (one transaction each) while readers list:
    every read sees whole pairs and a total that matches its own page."""
    stop = threading.Event()
    errors: list[str] = []

    def writer(n: int) -> int:
        done = 0
        for i in range(60):
            ids = [f"w{n}-{i}-a", f"w{n}-{i}-b"]
            any_store.insert_many("p", [(task_id, NOW, _data(task_id)) for task_id in ids])
            if i % 2:
                assert any_store.batch_delete("p", ids, reject_unknown=True) == 2
            else:
                done += 2
        return done

    def reader(_: int) -> int:
        reads = 0
        while not stop.is_set() or reads == 0:
            rows, total = any_store.list_tasks("p", 0, 100_000, {})
            names = {r.id for r in rows}
            if total != len(rows):
                errors.append(f"total {total} but {len(rows)} rows")
            halves = {
                i[:-2] for i in names if i[:-2] + "-a" not in names or i[:-2] + "-b" not in names
            }
            if halves:
                errors.append(f"half a pair visible: {sorted(halves)[:3]}")
            reads += 1
        return reads

    with ThreadPoolExecutor(6) as pool:
        readers = [pool.submit(reader, k) for k in range(3)]
        kept = sum(pool.map(writer, range(3)))
        stop.set()
        assert all(r.result(timeout=30) > 0 for r in readers)
    assert errors == []
    assert len(any_store.task_ids("p")) == kept == 180


def test_close_closes_every_threads_connection(tmp_path: Path) -> None:
    store = Store(tmp_path / "emu.sqlite")
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: store.counts(), range(6)))
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        store.counts()


def _listed(store: Store, **filters: str) -> tuple[list[str], int]:
    rows, total = store.list_raw("p", 0, 1000, filters)
    return [r[0] for r in rows], total


def test_a_remembered_listing_follows_every_kind_of_write(tmp_path: Path) -> None:
    """Pages are slices of a listing remembered per version of the tasks: every write (create,
    update, delete, batch delete, bulk insert, reset), by this store or by another process's
    store on the same file, makes the next page see it."""
    store = Store(tmp_path / "emu.db")
    a = store.create_task("p", _data("a"), NOW)
    assert _listed(store) == ([a], 1)
    b = store.create_task("p", _data("b"), NOW)
    assert _listed(store) == ([b, a], 2)  # newest first
    assert _listed(store, task_name="a") == ([a], 1)
    store.update_task("p", a, lambda r: {**r.data, "task_name": "zzz"})
    assert _listed(store, task_name="a") == ([], 0)
    assert _listed(store, task_name="zzz") == ([a], 1)
    rows, _ = store.list_raw("p", 0, 10, {})
    assert '"zzz"' in dict((r[0], r[2]) for r in rows)[a]  # the data is read fresh
    store.delete_task("p", b)
    assert _listed(store) == ([a], 1)
    store.insert_many("p", [(f"id-{i}", NOW, _data()) for i in range(3)])
    assert _listed(store)[1] == 4
    other = Store(tmp_path / "emu.db")  # another writer on the same file
    try:
        other.batch_delete("p", ["id-0", "id-1"], reject_unknown=False)
        assert _listed(store) == (["id-2", a], 2)
        other.reset("p")
        assert _listed(store) == ([], 0)
    finally:
        other.close()
        store.close()


def test_a_page_is_a_slice_of_the_listing() -> None:
    store = Store()
    store.insert_many("p", [(f"id-{i:03d}", NOW, _data()) for i in range(120)])
    pages = [store.list_raw("p", offset, 50, {}) for offset in (0, 50, 100, 150)]
    ids = [r[0] for rows, _ in pages for r in rows]
    assert ids == [f"id-{i:03d}" for i in reversed(range(120))]
    assert [total for _, total in pages] == [120] * 4 and pages[3][0] == []
