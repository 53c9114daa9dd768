"""The scheduled-tasks API's vocabulary: enums, field sets, limits and response shapes.

Everything here mirrors the official SDK's models (``huaweicloudsdkworkspace.v2.model``) so the
client, the emulator and the frames agree on one set of names. Responses are plain JSON objects;
the ``TypedDict`` classes only describe them for type checkers.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final, Literal, TypedDict


class TaskType(StrEnum):
    """What a scheduled task does. ``DELETE_BLACK_ECS`` appears in lists only (system made)."""

    START = "START"
    STOP = "STOP"
    REBOOT = "REBOOT"
    HIBERNATE = "HIBERNATE"
    REBUILD = "REBUILD"
    EXECUTE_SCRIPT = "EXECUTE_SCRIPT"
    CREATE_SNAPSHOT = "CREATE_SNAPSHOT"
    DELETE_BLACK_ECS = "DELETE_BLACK_ECS"


#: Task types accepted by create (``DELETE_BLACK_ECS`` is output only).
CREATE_TASK_TYPES: Final = frozenset(t for t in TaskType if t is not TaskType.DELETE_BLACK_ECS)
#: Task types that a ``LIFE_CYCLE`` task may not have.
NOT_LIFE_CYCLE_TASK_TYPES: Final = frozenset({TaskType.START, TaskType.REBUILD})


class ScheduledType(StrEnum):
    """The execution cycle."""

    FIXED_TIME = "FIXED_TIME"
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    LIFE_CYCLE = "LIFE_CYCLE"


class LifeCycleType(StrEnum):
    """The trigger of a ``LIFE_CYCLE`` task."""

    POST_CREATE_DESKTOP_SUCCESS = "POST_CREATE_DESKTOP_SUCCESS"
    POST_REBUILD_DESKTOP_SUCCESS = "POST_REBUILD_DESKTOP_SUCCESS"
    POST_REATTACH_DESKTOP_SUCCESS = "POST_REATTACH_DESKTOP_SUCCESS"
    POST_DESKTOP_DISCONNECTED = "POST_DESKTOP_DISCONNECTED"


#: Extra trigger known only to the life-cycle configuration endpoint.
LIFE_CYCLE_CONFIG_TYPES: Final = (*(t.value for t in LifeCycleType), "POST_DESKTOP_CANNOT_CONNECT")


class LastStatus(StrEnum):
    """Outcome of a task's last run (absent when it never ran)."""

    SUCCESS = "SUCCESS"
    SKIP = "SKIP"
    FAIL = "FAIL"


class ObjectType(StrEnum):
    """Kind of target an ``ApplyObject`` names."""

    DESKTOP = "DESKTOP"
    DESKTOP_POOL = "DESKTOP_POOL"
    ALL_DESKTOPS = "ALL_DESKTOPS"
    DESKTOP_TAG = "DESKTOP_TAG"


class ApplyObjectUpdateType(StrEnum):
    """How an update applies ``apply_objects``."""

    FULL_COVERAGE = "FULL_COVERAGE"
    CLEAR_ALL = "CLEAR_ALL"


# --- operations --------------------------------------------------------------------------------

Operation = Literal[
    "list_tasks",
    "create_task",
    "get_task",
    "update_task",
    "delete_task",
    "batch_delete",
    "list_records",
    "list_record_details",
    "export_records",
    "future_executions",
    "life_cycle_configurations",
    "time_zones",
]

#: Read operations count against the read throttle, the rest against the write throttle.
READ_OPERATIONS: Final[frozenset[str]] = frozenset(
    {
        "list_tasks",
        "get_task",
        "list_records",
        "list_record_details",
        "future_executions",
        "life_cycle_configurations",
        "time_zones",
    }
)
WRITE_OPERATIONS: Final[frozenset[str]] = frozenset(
    {"create_task", "update_task", "delete_task", "batch_delete", "export_records"}
)

# --- limits (from the API definitions) ---------------------------------------------------------

LIST_PAGE_MAX: Final = 50
RECORDS_PAGE_MAX: Final = 100
BATCH_DELETE_MAX: Final = 5000
ID_MAX_LEN: Final = 255
DEFAULT_READS_PER_MINUTE: Final = 200
DEFAULT_WRITES_PER_MINUTE: Final = 100
#: Most ids one deletion run deletes unless ``max_deletions`` says otherwise (a typo guard, not a
#: limit of the API; there is no "no cap"). Here, not in :mod:`wsnb.deletion`, so the CLI's
#: option defaults import without pandas.
DEFAULT_MAX_DELETIONS: Final = 1000
#: Grace periods (:mod:`wsnb.quarantine`): the default and the longest, in whole days. Here so
#: the notebook parameters and the CLI's options import without pandas.
DEFAULT_GRACE_DAYS: Final = 7
GRACE_DAYS_MAX: Final = 365

# --- field sets (ordered as the SDK models order them) -----------------------------------------

TASK_FIELDS: Final = (
    "id",
    "task_name",
    "task_type",
    "scheduled_type",
    "life_cycle_type",
    "life_cycle_exec_period",
    "last_status",
    "next_execution_time",
    "expire_time",
    "enable",
    "description",
    "priority",
    "time_zone",
    "wait_time",
    "extra_params",
)

SCHEDULE_FIELDS: Final = (
    "scheduled_type",
    "day_interval",
    "week_list",
    "month_list",
    "date_list",
    "scheduled_date",
    "scheduled_time",
    "expire_time",
    "gray_count",
    "gray_desktop_ids",
    "gray_fail_threshold",
    "life_cycle_type",
    "time_zone",
)

CREATE_FIELDS: Final = (
    *SCHEDULE_FIELDS,
    "task_type",
    "task_name",
    "force_execute",
    "description",
    "extra_params",
    "apply_objects",
    "wait_time",
    "life_cycle_exec_period",
)

UPDATE_FIELDS: Final = (
    *SCHEDULE_FIELDS,
    "task_name",
    "force_execute",
    "description",
    "enable",
    "extra_params",
    "apply_object_update_type",
    "apply_objects",
    "priority",
    "is_gray",
    "wait_time",
    "life_cycle_exec_period",
)

TASK_DETAIL_FIELDS: Final = (
    "id",
    "task_type",
    "task_name",
    "force_execute",
    "scheduled_type",
    "life_cycle_type",
    "life_cycle_exec_period",
    "day_interval",
    "week_list",
    "month_list",
    "date_list",
    "scheduled_date",
    "scheduled_time",
    "expire_time",
    "description",
    "extra_params",
    "apply_objects",
    "gray_count",
    "gray_desktop_ids",
    "gray_fail_threshold",
    "time_zone",
    "wait_time",
)

RECORD_FIELDS: Final = (
    "id",
    "start_time",
    "task_type",
    "scheduled_type",
    "life_cycle_type",
    "status",
    "success_num",
    "failed_num",
    "skip_num",
    "time_zone",
    "execute_task_id",
    "execute_object_type",
    "expire_time",
    "extra_params",
)

RECORD_DETAIL_FIELDS: Final = (
    "id",
    "record_id",
    "desktop_id",
    "desktop_name",
    "exec_status",
    "exec_script_id",
    "result_code",
    "fail_reason",
    "start_time",
    "end_time",
    "time_zone",
)


# --- response shapes ---------------------------------------------------------------------------


class ApplyObject(TypedDict, total=False):
    object_id: str
    object_type: str
    object_name: str


class Task(TypedDict, total=False):
    """An item of ``ListScheduledTasks``."""

    id: str
    task_name: str
    task_type: str
    scheduled_type: str
    life_cycle_type: str
    life_cycle_exec_period: int
    last_status: str
    next_execution_time: str
    expire_time: str
    enable: bool
    description: str
    priority: int
    time_zone: str
    wait_time: int
    extra_params: str


class TaskDetail(TypedDict, total=False):
    """The body of ``ShowScheduledTasks``: the full definition, enough to re-create a task."""

    id: str
    task_type: str
    task_name: str
    force_execute: bool
    scheduled_type: str
    life_cycle_type: str
    life_cycle_exec_period: int
    day_interval: int
    week_list: str
    month_list: str
    date_list: str
    scheduled_date: str
    scheduled_time: str
    expire_time: str
    description: str
    extra_params: str
    apply_objects: list[ApplyObject]
    gray_count: int
    gray_desktop_ids: list[str]
    gray_fail_threshold: int
    time_zone: str
    wait_time: int


class TaskPage(TypedDict):
    """One page of ``ListScheduledTasks``; ``total_count`` is ``None`` when the answer has none.

    The total is a hint, not a count to page by: the live service may count LIFE_CYCLE tasks it
    does not list, and a total can change between pages. Only a short page ends a listing.
    """

    scheduled_tasks: list[Task]
    total_count: int | None


class Record(TypedDict, total=False):
    """An execution record of a task."""

    id: str
    start_time: str
    task_type: str
    scheduled_type: str
    life_cycle_type: str
    status: str
    success_num: int
    failed_num: int
    skip_num: int
    time_zone: str
    execute_task_id: str
    execute_object_type: str
    expire_time: str
    extra_params: str


class RecordDetail(TypedDict, total=False):
    """The per-desktop result of one execution record."""

    id: str
    record_id: str
    desktop_id: str
    desktop_name: str
    exec_status: str
    exec_script_id: str
    result_code: str
    fail_reason: str
    start_time: str
    end_time: str
    time_zone: str


class TimeZoneInfo(TypedDict, total=False):
    time_zone: str
    time_zone_name: str
    time_zone_desc: str
    time_zone_desc_us: str
    time_zone_desc_cn: str


JSON = dict[str, Any]
