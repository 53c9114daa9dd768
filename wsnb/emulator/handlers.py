"""The twelve API operations: one handler per operation, and the shapes of what they answer.

A handler takes a :class:`~wsnb.emulator.pipeline.Call` (the pipeline has already read the body,
authenticated and throttled it) and returns a :class:`~wsnb.emulator.pipeline.Reply`; it raises
:class:`~wsnb.emulator._errors.ApiError` for the service's 400s and for IAM denials of task ids
(``state.denials``, set through the control plane). ``list_item``, ``detail``, ``record`` and
``record_detail`` shape stored data like the service does, in the active profile's variant
(:mod:`wsnb.emulator.profile`); ``named_task_ids`` tells the request log which ids a call named.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from wsnb.models import RECORD_FIELDS, TASK_DETAIL_FIELDS

from . import _validation as v
from ._errors import RECORD_MISSING, TASK_MISSING, ApiError, bad_request
from ._items import list_item_of
from ._reference import LIFE_CYCLE_CONFIGURATIONS, TIME_ZONES
from ._schedule import PREVIEW_COUNT, executions
from .pipeline import Call, Reply
from .profile import Profile
from .store import TaskRow

_DOCUMENTED: Final = Profile()


# --- presentation ------------------------------------------------------------------------------


def list_item(row: TaskRow, now: datetime, profile: Profile = _DOCUMENTED) -> dict[str, Any]:
    """A stored task as a ``ScheduledTask`` list item (absent values left out)."""
    return list_item_of(row.id, row.created_at, row.data, now, profile)


def detail(row: TaskRow) -> dict[str, Any]:
    """A stored task as the show response (``object_name`` filled in)."""
    out: dict[str, Any] = {"id": row.id}
    for name in TASK_DETAIL_FIELDS[1:]:
        value = row.data.get(name)
        if name == "apply_objects":
            value = [_named(obj) for obj in value or []]
        if value is not None:
            out[name] = value
    return out


def _named(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An apply object with ``object_name`` filled in (none for an object without an id, such
    as ``ALL_DESKTOPS``: there is nothing to name)."""
    if obj.get("object_name") or not obj.get("object_id"):
        return dict(obj)
    return {**obj, "object_name": f"desktop-{obj['object_id'][:8]}"}


def record(stored: Mapping[str, Any], profile: Profile) -> dict[str, Any]:
    """A stored execution record as the service writes it (``start_time`` per profile)."""
    out = dict(stored)
    if "start_time" in out:
        out["start_time"] = profile.record_time(out["start_time"], out.get("time_zone"))
    return out


def record_detail(stored: Mapping[str, Any], profile: Profile) -> dict[str, Any]:
    """A stored record detail as the service writes it (its times per profile)."""
    out = dict(stored)
    for name in ("start_time", "end_time"):
        if name in out:
            out[name] = profile.detail_time(out[name], out.get("time_zone"))
    return out


# --- IAM denials -------------------------------------------------------------------------------


def _check_denied(call: Call, task_ids: Iterable[str], action: str) -> None:
    """Refuse the whole call when it names a denied id, as a resource-level IAM check does
    (DEF: ``@WksIamAuthMeta(resourceField="taskIds")`` on batch-delete)."""
    denials = call.state.denials
    if not denials:
        return
    for task_id in task_ids:
        denial = denials.get(task_id)
        if denial is None:
            continue
        raw = json.dumps({"action": f"workspace:scheduledTasks:{action}", "resource": task_id})
        encoded = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        raise ApiError(
            denial.status,
            denial.error_code,
            denial.error_msg.replace("{action}", action),
            extra={"encoded_authorization_message": encoded},
        )


# --- handlers ----------------------------------------------------------------------------------


def list_tasks(call: Call) -> Reply:
    offset, limit, filters = v.list_query(call.query)
    profile = call.state.profile
    rows, total = call.state.store.list_raw(
        call.project_id,
        offset,
        limit,
        filters,
        count_hidden=profile.total_count == "with_life_cycle",
    )
    now = call.state.now()
    items = call.state.list_items
    payload: dict[str, Any] = {
        "scheduled_tasks": [items.item(i, created, raw, now, profile) for i, created, raw in rows]
    }
    if profile.total_count != "omit":
        payload["total_count"] = total
    return Reply(payload)


def create_task(call: Call) -> Reply:
    fields = v.validate_create(call.json())
    data = {"enable": True, "force_execute": False, **fields}
    if data["scheduled_type"] == "LIFE_CYCLE":
        data = {"wait_time": 0, "life_cycle_exec_period": 1440, **data}
    data.setdefault("time_zone", "Asia/Shanghai")
    task_id = call.state.store.create_task(call.project_id, data, call.state.now().isoformat())
    return Reply({"task_id": task_id})


def _task_row(call: Call) -> TaskRow:
    _check_denied(call, [call.params["task_id"]], "get")
    row = call.state.store.get_task(call.project_id, call.params["task_id"])
    if row is None:
        raise bad_request(TASK_MISSING)
    return row


def get_task(call: Call) -> Reply:
    return Reply(detail(_task_row(call)))


def update_task(call: Call) -> Reply:
    changes = v.validate_update(call.json())
    _check_denied(call, [call.params["task_id"]], "update")

    def change(row: TaskRow) -> dict[str, Any]:
        data = dict(row.data)
        mode = changes.pop("apply_object_update_type", None)
        data.update(changes)
        if mode == "CLEAR_ALL":
            data["apply_objects"] = []
        v.check_schedule_rules(data, data["task_type"])
        return data

    call.state.store.update_task(call.project_id, call.params["task_id"], change)
    return Reply()


def delete_task(call: Call) -> Reply:
    _check_denied(call, [call.params["task_id"]], "delete")
    call.state.store.delete_task(call.project_id, call.params["task_id"])
    return Reply()


def batch_delete(call: Call) -> Reply:
    ids = v.task_ids(call.json())
    _check_denied(call, ids, "delete")
    reject = call.state.config.unknown_ids == "reject"
    call.state.store.batch_delete(call.project_id, ids, reject_unknown=reject)
    return Reply()


def list_records(call: Call) -> Reply:
    offset, limit = v.page_query(call.query)
    _check_denied(call, [call.params["task_id"]], "listRecords")
    rows, total = call.state.store.list_records(
        call.project_id, call.params["task_id"], offset, limit
    )
    profile = call.state.profile
    return Reply({"tasks_records": [record(r, profile) for r in rows], "total_count": total})


def list_record_details(call: Call) -> Reply:
    offset, limit = v.page_query(call.query, required=True)
    _check_denied(call, [call.params["task_id"]], "listRecords")
    found = call.state.store.list_details(
        call.project_id, call.params["task_id"], call.params["record_id"], offset, limit
    )
    if found is None:
        raise bad_request(RECORD_MISSING)
    rows, total = found
    profile = call.state.profile
    details = [record_detail(r, profile) for r in rows]
    return Reply({"tasks_records_details": details, "total_count": total})


def export_records(call: Call) -> Reply:
    _check_denied(call, [call.params["task_id"]], "exportRecords")
    records = call.state.store.all_records(call.project_id, call.params["task_id"])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(RECORD_FIELDS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    name = f"scheduled-task-records-{call.params['task_id']}.csv"
    return Reply(
        raw=("\ufeff" + out.getvalue()).encode(),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def future_executions(call: Call) -> Reply:
    cfg = v.validate_schedule(call.json())
    return Reply({"future_executions": executions(cfg, call.state.now(), count=PREVIEW_COUNT)})


def life_cycle_configurations(call: Call) -> Reply:
    wanted = v.life_cycle_type_param(call.query.get("type"))
    if wanted:
        return Reply({wanted: LIFE_CYCLE_CONFIGURATIONS[wanted]})
    return Reply(dict(LIFE_CYCLE_CONFIGURATIONS))


def time_zones(call: Call) -> Reply:
    name = call.query.get("time_zone_name") if call.state.profile.time_zone_filter else None
    zones = [z for z in TIME_ZONES if not name or z["time_zone_name"] == name]
    return Reply({"time_zones": zones})


def named_task_ids(operation: str, call: Call) -> list[str] | None:
    """The ids a delete or batch-delete names, for the request log (best effort, pre-validation)."""
    if operation == "delete_task":
        return [call.params["task_id"]]
    if operation == "batch_delete":
        try:  # the handler's own parser: hostile bodies (deep, lone surrogates) log no ids
            ids = v.parse_json_body(call.body).get("task_ids")
        except ApiError:
            return None
        return [str(i) for i in ids] if isinstance(ids, list) else None
    return None


__all__ = [
    "batch_delete",
    "create_task",
    "delete_task",
    "detail",
    "export_records",
    "future_executions",
    "get_task",
    "life_cycle_configurations",
    "list_item",
    "list_record_details",
    "list_records",
    "list_tasks",
    "named_task_ids",
    "record",
    "record_detail",
    "time_zones",
    "update_task",
]
