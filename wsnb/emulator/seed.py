"""Realistic demo data: tasks of every type and schedule, with execution records and details.

Deterministic for a given RNG seed (ids included), and bulk inserted so 20 000 tasks take about a
second. Every time is written as the API documents it: ``yyyy-MM-dd HH:mm:ss`` wall clock in the
task's own ``time_zone`` (never UTC wall clock labelled with the zone). Records carry the task's
``expire_time`` when it has one; EXECUTE_SCRIPT records and details carry their script ids.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from wsnb._time import zone as api_zone
from wsnb.models import CREATE_TASK_TYPES, NOT_LIFE_CYCLE_TASK_TYPES, LifeCycleType

from .store import Store

_NAMES: Final = (
    "nightly-stop",
    "weekend shutdown",
    "morning start",
    "patch-reboot",
    "month-end snapshot",
    "hibernate idle desktops",
    "rebuild lab pool",
    "run cleanup script",
    "夜间关机",
    "每周重启",
    "月末快照",
    "早上开机",
    "Nachtabschaltung",
    "Wöchentlicher Neustart",
    "arrêt du soir",
    "redémarrage hebdo",
    "apagado nocturno",
    "夜間シャットダウン",
    "야간 종료",
    "ночное выключение",
)
_ZONES: Final = ("Asia/Shanghai", "Asia/Shanghai", "Europe/Berlin", "America/Sao_Paulo", "UTC")
_TIMES: Final = ("00:30:00", "06:00:00", "08:00:00", "12:15:00", "20:00:00", "22:00:00")
_OBJECT_TYPES: Final = ("DESKTOP", "DESKTOP", "DESKTOP_POOL", "ALL_DESKTOPS", "DESKTOP_TAG")
_FMT: Final = "%Y-%m-%d %H:%M:%S"
_TYPES: Final = sorted(CREATE_TASK_TYPES)
_LIFE_CYCLE_TYPES: Final = tuple(t.value for t in LifeCycleType)
_LIFE_TYPES: Final = sorted(t for t in CREATE_TASK_TYPES if t not in NOT_LIFE_CYCLE_TASK_TYPES)


def _int(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint`` without its overhead (seeding 20 000 tasks calls it ~10⁵ times)."""
    return low + int(rng.random() * (high - low + 1))


def _choice(rng: random.Random, items: Any) -> Any:
    seq = items if isinstance(items, (list, tuple)) else list(items)
    return seq[int(rng.random() * len(seq))]


def _local(moment: datetime, zone: str | None, fmt: str = _FMT) -> str:
    """``moment`` (aware) as the wall clock of the zone ``zone``, in the API's format."""
    return moment.astimezone(api_zone(zone)).strftime(fmt)


def _aware(now: datetime | None) -> datetime:
    """``now`` (default: the current time); a naive one is UTC."""
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _script_id(task_id: str) -> str:
    """The id of the script an EXECUTE_SCRIPT task runs (stable per task, no RNG draw)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"wsnb-emulator:script:{task_id}"))


def _uuid(rng: random.Random) -> str:
    """A UUIDv4-shaped id from ``rng`` (deterministic; formatted by hand, it is hot)."""
    h = f"{rng.getrandbits(124):031x}"
    return f"{h[:8]}-{h[8:12]}-4{h[12:15]}-{'89ab'[int(h[15], 16) & 3]}{h[16:19]}-{h[19:31]}"


def _schedule(rng: random.Random, kind: str, now: datetime, zone: str) -> dict[str, Any]:
    if kind == "LIFE_CYCLE":
        return {
            "life_cycle_type": _choice(rng, _LIFE_CYCLE_TYPES),
            "wait_time": _choice(rng, (0, 5, 30, 60)),
            "life_cycle_exec_period": _choice(rng, (60, 720, 1440, 10080)),
            "priority": _int(rng, 1, 50),
        }
    out: dict[str, Any] = {"scheduled_time": _choice(rng, _TIMES)}
    if kind == "FIXED_TIME":
        day = now + timedelta(days=_int(rng, -60, 120))
        out["scheduled_date"] = _local(day, zone, "%Y-%m-%d")
    elif kind == "DAY":
        out["day_interval"] = _choice(rng, (1, 1, 2, 7, 14, 31))
    elif kind == "WEEK":
        out["week_list"] = ",".join(map(str, sorted(rng.sample(range(1, 8), _int(rng, 1, 5)))))
    elif kind == "MONTH":
        out["month_list"] = ",".join(map(str, sorted(rng.sample(range(1, 13), _int(rng, 1, 12)))))
        days = [str(d) for d in sorted(rng.sample(range(1, 32), _int(rng, 1, 3)))]
        out["date_list"] = ",".join(["L"] if rng.random() < 0.2 else days)
    return out


def make_task(rng: random.Random, now: datetime, index: int) -> dict[str, Any]:
    """One task definition (stored shape: detail fields plus enable / last_status / priority)."""
    roll = rng.random()
    kind = (
        "LIFE_CYCLE"
        if roll < 0.08
        else _choice(rng, ("FIXED_TIME", "DAY", "DAY", "WEEK", "WEEK", "MONTH"))
    )
    if rng.random() < 0.02:
        task_type = "DELETE_BLACK_ECS"  # system made; appears in lists only
    else:
        task_type = _choice(rng, _LIFE_TYPES if kind == "LIFE_CYCLE" else _TYPES)
    zone = _choice(rng, _ZONES)
    data: dict[str, Any] = {
        "task_name": f"{_choice(rng, _NAMES)} {index:05d}",
        "task_type": task_type,
        "scheduled_type": kind,
        "time_zone": zone,
        "force_execute": rng.random() < 0.3,
        "enable": rng.random() > 0.15,
        "description": _choice(rng, ("", "created by ops", "临时任务", "ticket #4711")),
        "extra_params": json.dumps({"notify_message": "Desktop will be stopped in 5 minutes"})
        if rng.random() < 0.3
        else "",
        "apply_objects": [
            {
                "object_type": t,
                "object_id": _uuid(rng),
                "object_name": f"desktop-{_int(rng, 1, 999):03d}",
            }
            for t in rng.sample(_OBJECT_TYPES, _int(rng, 0, 3))
        ],
        **_schedule(rng, kind, now, zone),
    }
    if task_type == "EXECUTE_SCRIPT":
        data.update(gray_count=_int(rng, 0, 5), gray_fail_threshold=_int(rng, 1, 3))
    if kind != "LIFE_CYCLE" and rng.random() < 0.25:
        # some expired long ago, some soon, some far away
        data["expire_time"] = _local(now + timedelta(days=_int(rng, -90, 365)), zone)
    status = rng.choices(("SUCCESS", "SKIP", "FAIL", None), weights=(5, 1, 2, 3))[0]
    if status:
        data["last_status"] = status
    return data


def make_records(
    rng: random.Random,
    task_id: str,
    task: dict[str, Any],
    now: datetime,
    *,
    last_at: datetime | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """A few records of a task that has run (the last one matching ``last_status``, and
    starting at ``last_at`` when given: a run that happens now)."""
    records: list[dict[str, Any]] = []
    details: list[tuple[str, dict[str, Any]]] = []
    runs = 1 if rng.random() < 0.8 else 2
    zone = task["time_zone"]
    for n in range(runs):
        status = task["last_status"] if n == runs - 1 else _choice(rng, ("SUCCESS", "FAIL", "SKIP"))
        record_id = _uuid(rng)
        size = 1 if rng.random() < 0.8 else 2
        outcomes = [
            status if i == 0 else _choice(rng, ("SUCCESS", "SUCCESS", "FAIL")) for i in range(size)
        ]
        start = now - timedelta(days=(runs - n) * _int(rng, 1, 7), minutes=_int(rng, 0, 600))
        if last_at is not None and n == runs - 1:
            start = last_at
        record = {
            "id": record_id,
            "start_time": _local(start, zone),
            "task_type": task["task_type"],
            "scheduled_type": task["scheduled_type"],
            "status": status,
            "success_num": outcomes.count("SUCCESS"),
            "failed_num": outcomes.count("FAIL"),
            "skip_num": outcomes.count("SKIP"),
            "time_zone": task["time_zone"],
            "extra_params": task.get("extra_params", ""),
        }
        if task.get("life_cycle_type"):
            record["life_cycle_type"] = task["life_cycle_type"]
        if task.get("expire_time"):
            record["expire_time"] = task["expire_time"]
        script = task["task_type"] == "EXECUTE_SCRIPT"
        if script:
            record.update(execute_task_id=_uuid(rng), execute_object_type="DESKTOP")
        records.append(record)
        for outcome in outcomes:
            detail = make_detail(rng, record_id, outcome, start, zone)
            if script:
                detail["exec_script_id"] = _script_id(task_id)
            details.append((record_id, detail))
    return records, details


def make_detail(
    rng: random.Random, record_id: str, outcome: str, start: datetime, zone: str
) -> dict[str, Any]:
    """The per-desktop result of one run (``start``: an aware instant)."""
    detail: dict[str, Any] = {
        "id": _uuid(rng),
        "record_id": record_id,
        "desktop_id": _uuid(rng),
        "desktop_name": f"desktop-{_int(rng, 1, 999):03d}",
        "exec_status": outcome,
        "start_time": _local(start, zone),
        "end_time": _local(start + timedelta(seconds=_int(rng, 5, 600)), zone),
        "time_zone": zone,
    }
    if outcome != "SUCCESS":
        detail["result_code"] = "WKS.00010032" if outcome == "FAIL" else "WKS.00170001"
        detail["fail_reason"] = "task conflict" if outcome == "FAIL" else "desktop in use"
    return detail


def seed_store(
    store: Store, project_id: str, n: int, *, seed: int = 0, now: datetime | None = None
) -> list[str]:
    """Insert ``n`` generated tasks (with records) into ``project_id``; returns their ids."""
    rng = random.Random(seed)
    now = _aware(now)
    tasks: list[tuple[str, str, dict[str, Any]]] = []
    records: list[tuple[str, dict[str, Any]]] = []
    details: list[tuple[str, str, dict[str, Any]]] = []
    for index in range(n):
        task_id = _uuid(rng)
        data = make_task(rng, now, index)
        created = now - timedelta(days=400) + timedelta(seconds=index * 30)
        tasks.append((task_id, created.isoformat(), data))
        if data.get("last_status"):
            recs, dets = make_records(rng, task_id, data, now)
            records.extend((task_id, r) for r in recs)
            details.extend((task_id, rid, d) for rid, d in dets)
    store.insert_many(project_id, tasks, records, details)
    return [t[0] for t in tasks]


def tick(
    store: Store,
    project_id: str,
    *,
    task_ids: list[str] | None = None,
    status: str | None = None,
    seed: int = 0,
    now: datetime | None = None,
) -> int:
    """Pretend the scheduler ran: one record (with details) for each enabled task, or for the
    named ones; ``status`` forces the outcome. Returns how many records were made."""
    rng = random.Random(seed)
    now = _aware(now)
    wanted = None if task_ids is None else set(task_ids)
    runs: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
    for row in store.tasks(project_id):
        if wanted is None and row.data.get("enable", True) is False:
            continue
        if wanted is not None and row.id not in wanted:
            continue
        outcome = status or _choice(rng, ("SUCCESS", "SUCCESS", "SKIP", "FAIL"))
        task = {**row.data, "last_status": outcome}
        task.setdefault("time_zone", None)
        records, details = make_records(rng, row.id, task, now, last_at=now)
        record = records[-1]
        runs.append((row.id, record, [d for rid, d in details if rid == record["id"]]))
    return store.record_runs(project_id, runs)
