"""Demo data: deterministic, varied (every type, schedule and status), with records."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from wsnb._time import parse_api_time
from wsnb.emulator.handlers import list_item
from wsnb.emulator.seed import seed_store, tick
from wsnb.emulator.store import Store
from wsnb.models import CREATE_TASK_TYPES, LifeCycleType, ScheduledType

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = Store(), Store(), Store()
    assert seed_store(a, "p", 50, seed=3, now=NOW) == seed_store(b, "p", 50, seed=3, now=NOW)
    assert a.dump() == b.dump()
    assert seed_store(c, "p", 50, seed=4, now=NOW) != seed_store(Store(), "p", 50, seed=3, now=NOW)


def test_seeded_tasks_cover_the_vocabulary() -> None:
    store = Store()
    ids = seed_store(store, "p", 2000, seed=1, now=NOW)
    assert len(ids) == len(set(ids)) == 2000
    assert all(
        re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", i)
        for i in ids
    )
    tasks = store.dump()["tasks"]
    types = Counter(t["task_type"] for t in tasks)
    assert set(types) == {*CREATE_TASK_TYPES, "DELETE_BLACK_ECS"}
    assert 0 < types["DELETE_BLACK_ECS"] < 100  # a few
    assert {t["scheduled_type"] for t in tasks} == set(ScheduledType)
    life = [t for t in tasks if t["scheduled_type"] == "LIFE_CYCLE"]
    assert {t["life_cycle_type"] for t in life} == set(LifeCycleType)
    assert not any(t["task_type"] in {"START", "REBUILD"} for t in life)
    assert Counter(t.get("last_status") for t in tasks).keys() == {"SUCCESS", "SKIP", "FAIL", None}
    assert any(t["enable"] is False for t in tasks)
    expired = [t for t in tasks if t.get("expire_time", "9999") < NOW.strftime("%Y-%m-%d")]
    assert expired
    names = " ".join(t["task_name"] for t in tasks)
    for script in (
        r"[\u4e00-\u9fff]",
        r"[äöüéè]",
        r"[\u3040-\u30ff]",
        r"[\uac00-\ud7af]",
        r"[а-я]",
    ):
        assert re.search(script, names), script
    next_times = {list_item(row, NOW).get("next_execution_time") for row in store.tasks("p")}
    assert None in next_times and len(next_times) > 100  # spread out, some never


def test_tasks_that_ran_have_records_and_details() -> None:
    store = Store()
    seed_store(store, "p", 300, seed=2, now=NOW)
    dump = store.dump()
    ran = {t["id"]: t["last_status"] for t in dump["tasks"] if t.get("last_status")}
    with_records = {r["task_id"] for r in dump["records"]}
    assert with_records == set(ran)
    newest = {tid: store.list_records("p", tid, 0, 1)[0][0] for tid in list(ran)[:20]}
    assert all(newest[tid]["status"] == ran[tid] for tid in newest)
    assert dump["details_count"] >= len(dump["records"])


def test_tick_records_runs_for_enabled_tasks_only() -> None:
    store = Store()
    seed_store(store, "p", 100, seed=5, now=NOW)
    enabled = [t for t in store.tasks("p") if t.data["enable"]]
    before = store.counts()["records"]
    assert tick(store, "p", status="FAIL", now=NOW) == len(enabled)
    assert store.counts()["records"] == before + len(enabled)
    assert all(t.data["last_status"] == "FAIL" for t in store.tasks("p") if t.data["enable"])


def test_tick_start_time_is_local_to_the_task_zone() -> None:
    """A record's ``start_time`` is wall time in its ``time_zone``: parsed back, it is the tick."""
    from wsnb.frames import records_to_frame

    store = Store()
    seed_store(store, "p", 40, seed=2, now=NOW)
    tick(store, "p", status="SUCCESS", now=NOW)
    ticked = [t for t in store.tasks("p") if t.data["enable"]]
    newest = [store.list_records("p", t.id, 0, 1)[0][0] for t in ticked]
    zones = {r["time_zone"] for r in newest}
    assert {"Asia/Shanghai", "America/Sao_Paulo"} <= zones  # offsets on both sides of UTC
    starts = records_to_frame(newest)["start_time"]
    assert starts.notna().all()
    assert (starts == NOW).all()


def test_seeded_times_are_wall_clock_in_the_tasks_zone() -> None:
    """Seeded times are ``now`` plus whole days (expire) or minutes (records), written in the
    task's own zone: parsed back in that zone they land on the same instants."""
    store = Store()
    seed_store(store, "p", 400, seed=6, now=NOW)
    dump = store.dump()
    zones = {t["id"]: t["time_zone"] for t in dump["tasks"]}
    expiring = [t for t in dump["tasks"] if t.get("expire_time")]
    assert {t["time_zone"] for t in expiring} >= {"Asia/Shanghai", "America/Sao_Paulo"}
    for task in expiring:
        moment = parse_api_time(task["expire_time"], task["time_zone"])
        assert moment is not None and (moment - NOW) % timedelta(days=1) == timedelta(0), task
    for record in dump["records"]:
        start = parse_api_time(record["start_time"], zones[record["task_id"]])
        assert start is not None and start <= NOW - timedelta(days=1)
        assert (NOW - start) % timedelta(minutes=1) == timedelta(0)


def test_tick_records_now_in_the_tasks_zone_with_expire_and_script_ids() -> None:
    store = Store()
    seed_store(store, "p", 300, seed=7, now=NOW)
    rows = {row.id: row.data for row in store.tasks("p")}
    script = next(
        i for i, d in rows.items() if d["task_type"] == "EXECUTE_SCRIPT" and d.get("expire_time")
    )
    berlin = next(
        i
        for i, d in rows.items()
        if d["time_zone"] == "Europe/Berlin" and d["task_type"] != "EXECUTE_SCRIPT"
    )
    tick(store, "p", task_ids=[script, berlin], status="FAIL", now=NOW)
    for task_id in (script, berlin):
        record = store.list_records("p", task_id, 0, 1)[0][0]
        zone = rows[task_id]["time_zone"]
        assert parse_api_time(record["start_time"], zone) == NOW, (zone, record)
        assert record.get("expire_time") == rows[task_id].get("expire_time")
        details = store.list_details("p", task_id, record["id"], 0, 100)
        assert details is not None
        for detail in details[0]:
            assert parse_api_time(detail["start_time"], zone) == NOW
            end = parse_api_time(detail["end_time"], zone)
            assert end is not None and end > NOW
            assert ("exec_script_id" in detail) == (task_id == script)
    record = store.list_records("p", script, 0, 1)[0][0]
    assert record["execute_task_id"] and record["execute_object_type"] == "DESKTOP"
