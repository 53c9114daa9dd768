"""Request validation with the API's limits; every failure is a 400 ``WKS.0001`` naming the field.

Limits come from the API definitions (reference §4–§8, §11). Rules the documents leave open are
marked "assumed" in the README's fidelity table. Hostile input is a client mistake too: a body
nested past :data:`MAX_DEPTH`, a lone surrogate anywhere in a body (SQLite and UTF-8 cannot hold
one), or a query integer outside Java's ``int`` is a 400, never a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, Final

from wsnb.models import (
    BATCH_DELETE_MAX,
    CREATE_FIELDS,
    CREATE_TASK_TYPES,
    ID_MAX_LEN,
    LIFE_CYCLE_CONFIG_TYPES,
    LIST_PAGE_MAX,
    NOT_LIFE_CYCLE_TASK_TYPES,
    RECORDS_PAGE_MAX,
    SCHEDULE_FIELDS,
    UPDATE_FIELDS,
    ApplyObjectUpdateType,
    LastStatus,
    LifeCycleType,
    ObjectType,
    ScheduledType,
    TaskType,
)

from ._errors import ApiError, bad_request
from ._schedule import resolve_zone

#: (min, max) of integer fields.
INT_RANGES: Final[dict[str, tuple[int, int]]] = {
    "day_interval": (1, 31),
    "gray_count": (0, 1000),
    "gray_fail_threshold": (1, 1000),
    "wait_time": (0, 43200),
    "life_cycle_exec_period": (1, 10080),
    "priority": (1, 50),
}
#: (min, max) lengths of string fields.
STR_LENGTHS: Final[dict[str, tuple[int, int]]] = {
    "task_name": (1, 255),
    "scheduled_type": (1, 255),
    "week_list": (0, 255),
    "month_list": (0, 255),
    "date_list": (0, 255),
    "scheduled_date": (0, 255),
    "scheduled_time": (0, 255),
    "expire_time": (0, 255),
    "life_cycle_type": (0, 255),
    "time_zone": (0, 2000),
    "description": (0, 255),
    "task_type": (1, 255),
    "apply_object_update_type": (0, 255),
}
EXTRA_PARAMS_MAX: Final = {"create": 2000, "update": 1024}
BOOL_FIELDS: Final = frozenset({"force_execute", "enable", "is_gray"})
LIST_MAX: Final = 1000  # apply_objects, gray_desktop_ids
_LIST_FILTERS: Final[dict[str, frozenset[str]]] = {
    "task_type": frozenset(TaskType),
    "scheduled_type": frozenset(ScheduledType),
    "life_cycle_type": frozenset(LifeCycleType),
    "last_status": frozenset(LastStatus),
}
_NUMBER_LIST = re.compile(r"^\s*\w+(\s*,\s*\w+)*\s*$")
#: Deepest nesting a body may have (the API's own bodies nest 3 levels; assumed limit).
MAX_DEPTH: Final = 64
#: Query integers are Java ``int``s upstream (assumed): ASCII digits, optional sign, ≤ 2**31-1.
INT_MAX: Final = 2**31 - 1
_QUERY_INT = re.compile(r"[+-]?[0-9]{1,12}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NESTED_MSG: Final = f"The request body is nested too deeply (at most {MAX_DEPTH} levels)."


def _lone_surrogate(name: str) -> ApiError:
    """400 for a string or key holding a lone surrogate; the name is made printable first."""
    shown = name.encode("utf-8", "backslashreplace").decode("utf-8")[:100]
    return bad_request(f"Invalid parameter {shown}: not valid Unicode (a lone surrogate).")


def _check_text(body: Any) -> None:
    """400 when the body nests deeper than :data:`MAX_DEPTH` or any string or key holds a lone
    surrogate (JSON's ``"\\ud800"``), naming the field (``apply_objects[1].object_id``)."""
    stack: list[tuple[Any, str, int]] = [(body, "body", 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise _lone_surrogate(where)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_DEPTH:
            raise bad_request(_NESTED_MSG)
        if isinstance(value, dict):
            for key, item in reversed(value.items()):
                name = key if depth == 0 else f"{where}.{key}"
                if _SURROGATE.search(key):
                    raise _lone_surrogate(name)
                stack.append((item, name, depth + 1))
        else:
            for i in reversed(range(len(value))):
                stack.append((value[i], f"{where}[{i}]", depth + 1))


def parse_json_body(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, else 400: empty, malformed, not an object, nested too deeply,
    or holding a lone surrogate."""
    if not raw.strip():
        raise bad_request("The request body is empty.")
    try:
        body = json.loads(raw)
    except RecursionError:
        raise bad_request(_NESTED_MSG) from None
    except ValueError:
        raise bad_request("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    _check_text(body)
    return body


def _check_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"Invalid parameter {name}: must be an integer.")
    low, high = INT_RANGES[name]
    if not low <= value <= high:
        raise bad_request(f"Invalid parameter {name}: must be between {low} and {high}.")


def _check_str(name: str, value: Any, low: int, high: int) -> str:
    if not isinstance(value, str):
        raise bad_request(f"Invalid parameter {name}: must be a string.")
    if not low <= len(value) <= high:
        raise bad_request(f"Invalid parameter {name}: length must be between {low} and {high}.")
    return value


def _check_enum(name: str, value: str, allowed: frozenset[str] | set[str]) -> None:
    if value not in allowed:
        raise bad_request(f"Invalid parameter {name}: must be one of {', '.join(sorted(allowed))}.")


def _check_number_list(name: str, value: str, low: int, high: int, *, last: bool = False) -> None:
    if not _NUMBER_LIST.match(value):
        raise bad_request(f"Invalid parameter {name}: must be comma separated numbers.")
    for item in (x.strip() for x in value.split(",")):
        if last and item == "L":
            continue
        if not item.isdigit() or not low <= int(item) <= high:
            extra = " or L" if last else ""
            raise bad_request(f"Invalid parameter {name}: items must be {low}-{high}{extra}.")


def _check_format(name: str, value: str, fmt: str, example: str) -> None:
    try:
        if fmt == "time":
            if len(value) != 8:
                raise ValueError(value)
            time.fromisoformat(value)
        elif fmt == "date":
            if len(value) != 10:
                raise ValueError(value)
            date.fromisoformat(value)
        else:
            datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise bad_request(f"Invalid parameter {name}: must look like {example}.") from None


def _check_apply_objects(value: Any) -> None:
    if not isinstance(value, list):
        raise bad_request("Invalid parameter apply_objects: must be an array.")
    if len(value) > LIST_MAX:
        raise bad_request(f"Invalid parameter apply_objects: at most {LIST_MAX} items.")
    for item in value:
        if not isinstance(item, dict):
            raise bad_request("Invalid parameter apply_objects: items must be objects.")
        kind = _check_str("apply_objects.object_type", item.get("object_type"), 1, 255)
        _check_enum("apply_objects.object_type", kind, frozenset(ObjectType))
        # the schema requires no field (DEF ApplyObject); ALL_DESKTOPS names no desktop
        if kind != ObjectType.ALL_DESKTOPS or item.get("object_id") is not None:
            _check_str("apply_objects.object_id", item.get("object_id"), 1, 255)
        if "object_name" in item and item["object_name"] is not None:
            _check_str("apply_objects.object_name", item["object_name"], 0, 255)


def _check_field(name: str, value: Any, mode: str) -> None:
    """Type, range, length and format of one present field."""
    if name in INT_RANGES:
        _check_int(name, value)
    elif name in BOOL_FIELDS:
        if not isinstance(value, bool):
            raise bad_request(f"Invalid parameter {name}: must be a boolean.")
    elif name == "extra_params":
        _check_str(name, value, 0, EXTRA_PARAMS_MAX[mode])
        if value:
            try:
                json.loads(value)
            except (ValueError, RecursionError):
                raise bad_request(
                    "Invalid parameter extra_params: must be a JSON document in a string."
                ) from None
    elif name == "apply_objects":
        _check_apply_objects(value)
    elif name == "gray_desktop_ids":
        if not isinstance(value, list) or len(value) > LIST_MAX:
            raise bad_request(f"Invalid parameter gray_desktop_ids: array of at most {LIST_MAX}.")
        for item in value:
            _check_str("gray_desktop_ids", item, 1, 255)
    elif name in STR_LENGTHS:
        low, high = STR_LENGTHS[name]
        text = _check_str(name, value, low, high)
        if name == "scheduled_type":
            _check_enum(name, text, frozenset(ScheduledType))
        elif name == "task_type":
            _check_enum(name, text, CREATE_TASK_TYPES)
        elif name == "apply_object_update_type":
            _check_enum(name, text, frozenset(ApplyObjectUpdateType))
        elif name == "week_list" and text:
            _check_number_list(name, text, 1, 7)
        elif name == "month_list" and text:
            _check_number_list(name, text, 1, 12)
        elif name == "date_list" and text:
            _check_number_list(name, text, 1, 31, last=True)
        elif name == "scheduled_time" and text:
            _check_format(name, text, "time", "HH:mm:ss")
        elif name == "scheduled_date" and text:
            _check_format(name, text, "date", "yyyy-MM-dd")
        elif name == "expire_time" and text:
            _check_format(name, text, "datetime", "yyyy-MM-dd HH:mm:ss")
        elif name == "time_zone" and text and resolve_zone(text) is None:
            raise bad_request(f"Invalid parameter time_zone: unknown time zone {text[:64]!r}.")


def check_schedule_rules(cfg: Mapping[str, Any], task_type: str | None) -> None:
    """The conditional rules: which fields each ``scheduled_type`` needs, and LIFE_CYCLE limits."""
    kind = cfg.get("scheduled_type")
    if not kind:
        raise bad_request("Invalid parameter scheduled_type: required.")
    needs = {
        "DAY": ("day_interval",),
        "WEEK": ("week_list",),
        "MONTH": ("month_list", "date_list"),
        "FIXED_TIME": ("scheduled_date",),
    }.get(str(kind), ())
    if kind != "LIFE_CYCLE":
        needs = (*needs, "scheduled_time")
    for name in needs:
        if cfg.get(name) in (None, ""):
            raise bad_request(f"Invalid parameter {name}: required when scheduled_type is {kind}.")
    if kind == "LIFE_CYCLE":
        life = cfg.get("life_cycle_type")
        if not life:
            raise bad_request("Invalid parameter life_cycle_type: required for LIFE_CYCLE.")
        _check_enum("life_cycle_type", str(life), frozenset(LifeCycleType))
        if task_type in NOT_LIFE_CYCLE_TASK_TYPES:
            raise bad_request(
                f"Invalid parameter task_type: {task_type} is not allowed for LIFE_CYCLE."
            )


def _present(body: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Known fields that are present and not null (null means "not given", as in the SDK)."""
    return {k: body[k] for k in fields if k in body and body[k] is not None}


def validate_create(body: Mapping[str, Any]) -> dict[str, Any]:
    """A create body → the accepted fields; unknown fields are ignored."""
    fields = _present(body, CREATE_FIELDS)
    for name in ("task_name", "task_type"):
        if name not in fields:
            raise bad_request(f"Invalid parameter {name}: required.")
    for name, value in fields.items():
        _check_field(name, value, "create")
    check_schedule_rules(fields, fields["task_type"])
    return fields


def validate_update(body: Mapping[str, Any]) -> dict[str, Any]:
    """An update body → the fields to change (the caller checks the merged task's rules)."""
    if body.get("task_type") is not None:
        raise bad_request("Invalid parameter task_type: the task type cannot be updated.")
    fields = _present(body, UPDATE_FIELDS)
    for name, value in fields.items():
        _check_field(name, value, "update")
    return fields


def validate_schedule(body: Mapping[str, Any]) -> dict[str, Any]:
    """A future-executions body (schedule fields only)."""
    fields = _present(body, SCHEDULE_FIELDS)
    for name, value in fields.items():
        _check_field(name, value, "create")
    check_schedule_rules(fields, None)
    return fields


def _int_param(query: Mapping[str, str], name: str, low: int, high: int | None) -> int | None:
    """A query integer: ASCII digits (Python's ``int()`` would also take ``1_0``, `` 5`` and
    other scripts' digits), within ``low``..``high`` (``None``: :data:`INT_MAX`)."""
    raw = query.get(name)
    if raw is None:
        return None
    top = INT_MAX if high is None else high
    if not _QUERY_INT.fullmatch(raw):
        if re.fullmatch(r"[+-]?[0-9]+", raw):  # digits, but more than any int holds
            raise bad_request(f"Invalid parameter {name}: must be between {low} and {top}.")
        raise bad_request(f"Invalid parameter {name}: must be an integer.")
    value = int(raw)
    if not low <= value <= top:
        raise bad_request(f"Invalid parameter {name}: must be between {low} and {top}.")
    return value


def list_query(query: Mapping[str, str]) -> tuple[int, int, dict[str, str]]:
    """``offset`` and ``limit`` (both required) and the exact/substring filters of the task list."""
    offset = _int_param(query, "offset", 0, None)
    limit = _int_param(query, "limit", 0, LIST_PAGE_MAX)
    if offset is None:
        raise bad_request("Invalid parameter offset: required.")
    if limit is None:
        raise bad_request("Invalid parameter limit: required.")
    filters: dict[str, str] = {}
    for name in ("task_name", *_LIST_FILTERS):
        value = query.get(name)
        if value is None or value == "":
            continue
        _check_str(name, value, 0, 255)
        if name in _LIST_FILTERS:
            _check_enum(name, value, _LIST_FILTERS[name])
        filters[name] = value
    return offset, limit, filters


def page_query(query: Mapping[str, str], *, required: bool = False) -> tuple[int, int]:
    """``offset`` and ``limit`` (0–100) of records (optional: default 0 and 10) and of record
    details (``required``: mandatory in DOC Details and the SDK)."""
    offset = _int_param(query, "offset", 0, None)
    limit = _int_param(query, "limit", 0, RECORDS_PAGE_MAX)
    if required:
        for name, value in (("offset", offset), ("limit", limit)):
            if value is None:
                raise bad_request(f"Invalid parameter {name}: required.")
    return offset or 0, 10 if limit is None else limit


def task_ids(body: Mapping[str, Any]) -> list[str]:
    """The ``task_ids`` of a batch-delete: 1–5000 strings of 1–255 characters."""
    ids = body.get("task_ids")
    if not isinstance(ids, list):
        raise bad_request("Invalid parameter task_ids: required, an array of task ids.")
    if not 1 <= len(ids) <= BATCH_DELETE_MAX:
        raise bad_request(f"Invalid parameter task_ids: must hold 1 to {BATCH_DELETE_MAX} ids.")
    for item in ids:
        if not isinstance(item, str) or not 1 <= len(item) <= ID_MAX_LEN:
            raise bad_request(
                f"Invalid parameter task_ids: each id must be a string of 1 to {ID_MAX_LEN} chars."
            )
    return ids


def life_cycle_type_param(value: str | None) -> str | None:
    """The ``type`` filter of the life-cycle configuration endpoint."""
    if value:
        _check_enum("type", value, frozenset(LIFE_CYCLE_CONFIG_TYPES))
    return value or None
