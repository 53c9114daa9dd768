"""The parameters of ``scheduled_cleanup.ipynb``: their schema, validation and the secrets rule.

:func:`cleanup_params` turns papermill's raw values (or ``wsnb run -p`` text, read by
:func:`parse_parameter`) into a validated :class:`CleanupParams`, so ``wsnb run``, ``wsnb demo``
and a plain ``papermill`` call share one definition of every parameter; errors
(:class:`ParameterError`) name the parameter and the limit. Secrets never travel as parameters
(papermill writes parameters into the output notebook): :func:`check_no_secrets` refuses
secret-looking names without ever showing the value; credentials come from the environment or
the SDK credentials file. Which tasks the filters select is :mod:`wsnb.selection`'s job.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from wsnb._checks import check_int
from wsnb._ledger_db import has_password, is_database_url
from wsnb.models import (
    BATCH_DELETE_MAX,
    DEFAULT_GRACE_DAYS,
    DEFAULT_MAX_DELETIONS,
    GRACE_DAYS_MAX,
    LastStatus,
    TaskType,
)
from wsnb.selection import TaskFilters

if TYPE_CHECKING:
    from wsnb.client import Client
    from wsnb.fleet import Fleet

__all__ = [
    "CLEANUP_PARAMETERS",
    "MODES",
    "CleanupParams",
    "ParameterError",
    "SecretParameterError",
    "check_no_secrets",
    "cleanup_client",
    "cleanup_fleet",
    "cleanup_params",
    "parse_parameter",
]

_SECRET_WORDS: Final = ("secret", "token", "password", "passwd", "credential", "private_key")
_SECRET_NAMES: Final = frozenset(
    {"ak", "sk", "access_key", "secret_key", "accesskey", "secretkey", "access_key_id"}
)


class ParameterError(ValueError):
    """A notebook parameter is unknown, of the wrong type, or out of range."""


class SecretParameterError(ParameterError):
    """A secret was passed as a parameter (papermill would write it into the output notebook)."""


# --- secrets --------------------------------------------------------------------------------------


def _looks_secret(name: str) -> bool:
    low = name.lower().lstrip("_")
    if low in _SECRET_NAMES or low.endswith(("_ak", "_sk")) or low.startswith(("ak_", "sk_")):
        return True
    return any(word in low for word in _SECRET_WORDS) or low.startswith("huaweicloud_sdk_")


def check_no_secrets(names: Mapping[str, Any] | Sequence[str]) -> None:
    """Refuse parameter names that look like credentials (ak, sk, token, ...); never the value."""
    bad = sorted(n for n in names if isinstance(n, str) and _looks_secret(n))
    if bad:
        raise SecretParameterError(
            f"refusing secret-looking parameter(s) {bad}: credentials must come from the "
            "environment (HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK / WSNB_AUTH_TOKEN) or the SDK "
            "credentials file, never from notebook parameters, which papermill writes into the "
            "output notebook. If one was passed, delete that output notebook and rotate the key."
        )


# --- the cleanup parameters -----------------------------------------------------------------------


@dataclass(frozen=True)
class CleanupParams:
    """The validated parameters of ``scheduled_cleanup.ipynb`` (and ``wsnb run cleanup``).

    Filters combine with AND. Times are ``pd.Timestamp`` in UTC (naive input is UTC).
    """

    endpoint: str | None = None
    region: str | None = None
    project_id: str | None = None
    #: a fleet file path, or ``region:project_id`` targets; empty: the single project above
    fleet: str | tuple[str, ...] = ()
    name_pattern: str | None = None
    task_types: tuple[str, ...] = ()
    last_statuses: tuple[str, ...] = ()
    expired_only: bool = False
    disabled_only: bool = False
    next_run_before: pd.Timestamp | None = None
    next_run_after: pd.Timestamp | None = None
    expire_before: pd.Timestamp | None = None
    expire_after: pd.Timestamp | None = None
    all_tasks: bool = False
    chunk_size: int | None = None
    dry_run: bool = True
    plan_run: int | None = None
    max_deletions: int = DEFAULT_MAX_DELETIONS
    mode: str = "delete"
    grace_days: int = DEFAULT_GRACE_DAYS
    fail_on_error: bool = True
    output_dir: Path = field(default_factory=lambda: Path("wsnb-report"))
    ledger_path: Path | str | None = None  # str: a PostgreSQL URL (without its password)
    reads_per_minute: float | None = 200.0
    writes_per_minute: float | None = 100.0

    def task_filters(self) -> TaskFilters:
        """The filter parameters, for :func:`wsnb.selection.select_tasks`."""
        return TaskFilters(**{name: getattr(self, name) for name in _FILTERS})

    def filters(self) -> dict[str, Any]:
        """The filters that are set, for display (names as in the notebook)."""
        return self.task_filters().active()

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly values (paths and times as text)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, pd.Timestamp):
                out[key] = value.isoformat()
            elif isinstance(value, Path):
                out[key] = str(value)
            elif isinstance(value, tuple):
                out[key] = list(value)
        return out


#: Every parameter name of the cleanup notebook, in order.
CLEANUP_PARAMETERS: Final = tuple(f.name for f in fields(CleanupParams))

#: The filter parameters (a subset of :class:`~wsnb.selection.TaskFilters`' fields).
_FILTERS: Final = (
    "name_pattern",
    "task_types",
    "last_statuses",
    "expired_only",
    "disabled_only",
    "next_run_before",
    "next_run_after",
    "expire_before",
    "expire_after",
)


def _text(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ParameterError(f"{name} must be a string, got {type(value).__name__} {value!r}")
    return value


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ParameterError(f"{name} must be True or False, got {value!r}")


def _int(name: str, value: Any, low: int, high: int | None, *, none_ok: bool) -> int | None:
    if value is None or value == "":
        if none_ok:
            return None
        raise ParameterError(f"{name} is required")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ParameterError(f"{name} must be an integer, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise ParameterError(f"{name} must be an integer, got {value!r}") from None
    try:
        return check_int(name, number, low, high)
    except ValueError as error:
        raise ParameterError(str(error)) from None


def _cap(value: Any) -> int:
    """``max_deletions``: every deletion is capped, so ``None``/empty is refused."""
    if value is None or value == "":
        raise ParameterError(
            "max_deletions must be a number >= 0, not None: every deletion is capped. Pass an "
            "explicit number such as the size of the selection if you mean to delete them all."
        )
    number = _int("max_deletions", value, 0, None, none_ok=False)
    assert number is not None
    return number


#: ``mode``: delete at once, or quarantine first and delete after ``grace_days`` (wsnb.quarantine).
MODES: Final = ("delete", "quarantine")


def _mode(value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in MODES:
        raise ParameterError(f"mode must be one of {list(MODES)}, got {value!r}")
    return value.strip().lower()


def _grace_days(value: Any) -> int:
    """``grace_days``: a whole number of days, 0 to :data:`~wsnb.models.GRACE_DAYS_MAX`."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | str) or value in ("", None):
        raise ParameterError(
            f"grace_days must be a whole number of days from 0 to {GRACE_DAYS_MAX}, got {value!r}"
        )
    try:
        number = int(value)
    except ValueError:
        raise ParameterError(
            f"grace_days must be a whole number of days from 0 to {GRACE_DAYS_MAX}, got {value!r}"
        ) from None
    if not 0 <= number <= GRACE_DAYS_MAX:
        raise ParameterError(f"grace_days must be from 0 to {GRACE_DAYS_MAX} days, got {number}")
    return number


def _rate(name: str, value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(f"{name} must be a number > 0 or None, got {value!r}")
    if not value > 0:
        raise ParameterError(f"{name} must be > 0 or None (no limit), got {value!r}")
    return float(value)


def _choices(name: str, value: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
        raise ParameterError(f"{name} must be a list of strings, got {value!r}")
    cleaned = tuple(dict.fromkeys(v.strip().upper() for v in items if v.strip()))
    unknown = [v for v in cleaned if v not in allowed]
    if unknown:
        raise ParameterError(f"{name}: unknown value(s) {unknown}; allowed: {list(allowed)}")
    return cleaned


def _time(name: str, value: Any) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            f"{name} must be a date/time such as '2026-01-31' or '2026-01-31T22:00:00+08:00', "
            f"got {value!r} ({exc})"
        ) from None
    if pd.isna(stamp):
        raise ParameterError(f"{name} must be a date/time, got {value!r}")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _path(value: Any, env_name: str, default: Path | None) -> Path | None:
    if value is None or value == "":
        from_env = os.environ.get(env_name)
        return Path(from_env).expanduser() if from_env else default
    if not isinstance(value, str | os.PathLike):
        raise ParameterError(f"path parameter must be a string, got {value!r}")
    return Path(value).expanduser()


def _ledger_path(value: Any) -> Path | str | None:
    """A file path, or a PostgreSQL URL kept as text. A URL with a password is refused (papermill
    writes parameters into the output notebook); ``WSNB_LEDGER`` holding a URL gives None: the
    deleter opens ``WSNB_LEDGER`` itself, so its password stays out of the parameters."""
    if isinstance(value, str) and is_database_url(value):
        if has_password(value):
            raise ParameterError(
                "ledger_path: a PostgreSQL URL must not carry its password in a notebook "
                "parameter (papermill writes it into the output notebook); put it in PGPASSWORD "
                "or ~/.pgpass, or the whole URL in WSNB_LEDGER"
            )
        return value
    if (value is None or value == "") and is_database_url(os.environ.get("WSNB_LEDGER", "")):
        return None
    return _path(value, "WSNB_LEDGER", None)


def _fleet(value: Any) -> str | tuple[str, ...]:
    """A fleet file path (it must exist), or ``region:project_id`` targets (a list or
    comma-separated text); empty: no fleet."""
    from wsnb.fleet import FleetFileError, Target

    if value is None or value == "" or (isinstance(value, list | tuple) and not value):
        return ()
    if (
        isinstance(value, str)
        and "," not in value
        and (value.strip().endswith(".toml") or Path(value.strip()).expanduser().exists())
    ):
        path = Path(value.strip()).expanduser()
        if not path.is_file():
            raise ParameterError(f"fleet: the fleet file {path} does not exist")
        return str(path)
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ParameterError(
            f"fleet must be a fleet file path or a list of 'region:project_id', not {value!r}"
        )
    targets = tuple(str(item).strip() for item in items if str(item).strip())
    for item in targets:
        try:
            Target.parse(item)
        except (FleetFileError, ValueError) as exc:
            raise ParameterError(f"fleet: {exc}") from None
    return targets


def _ordered(low_name: str, low: Any, high_name: str, high: Any) -> None:
    if low is not None and high is not None and not low < high:
        raise ParameterError(f"{low_name} ({low}) must be earlier than {high_name} ({high})")


def cleanup_params(**kw: Any) -> CleanupParams:
    """Validate the cleanup notebook's parameters; errors name the parameter and the limit.

    Lists may be given as lists or comma-separated text (``"STOP,REBOOT"``). Empty text means
    "not set". ``output_dir`` "" uses ``$WSNB_OUTPUT_DIR`` else ``./wsnb-report``;
    ``ledger_path`` "" uses wsnb's default ledger (``$WSNB_LEDGER`` ...). At least one filter
    is required unless ``all_tasks=True`` (filters that are set still apply). ``plan_run``
    (a dry run's run id, with ``dry_run=False``) executes that plan instead: the filters are
    not used.
    """
    check_no_secrets(kw)
    unknown = sorted(set(kw) - set(CLEANUP_PARAMETERS))
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown}; known: {list(CLEANUP_PARAMETERS)}")
    d = CleanupParams()
    get = kw.get
    params = CleanupParams(
        endpoint=_text("endpoint", get("endpoint")),
        region=_text("region", get("region")),
        project_id=_text("project_id", get("project_id")),
        fleet=_fleet(get("fleet")),
        name_pattern=_text("name_pattern", get("name_pattern")),
        task_types=_choices("task_types", get("task_types"), [t.value for t in TaskType]),
        last_statuses=_choices(
            "last_statuses", get("last_statuses"), [s.value for s in LastStatus]
        ),
        expired_only=_flag("expired_only", get("expired_only", d.expired_only)),
        disabled_only=_flag("disabled_only", get("disabled_only", d.disabled_only)),
        next_run_before=_time("next_run_before", get("next_run_before")),
        next_run_after=_time("next_run_after", get("next_run_after")),
        expire_before=_time("expire_before", get("expire_before")),
        expire_after=_time("expire_after", get("expire_after")),
        all_tasks=_flag("all_tasks", get("all_tasks", d.all_tasks)),
        chunk_size=_int("chunk_size", get("chunk_size"), 1, BATCH_DELETE_MAX, none_ok=True),
        dry_run=_flag("dry_run", get("dry_run", d.dry_run)),
        plan_run=_int("plan_run", get("plan_run"), 1, None, none_ok=True),
        max_deletions=_cap(get("max_deletions", d.max_deletions)),
        mode=_mode(get("mode", d.mode)),
        grace_days=_grace_days(get("grace_days", d.grace_days)),
        fail_on_error=_flag("fail_on_error", get("fail_on_error", d.fail_on_error)),
        output_dir=_path(get("output_dir"), "WSNB_OUTPUT_DIR", d.output_dir) or d.output_dir,
        ledger_path=_ledger_path(get("ledger_path")),
        reads_per_minute=_rate("reads_per_minute", get("reads_per_minute", d.reads_per_minute)),
        writes_per_minute=_rate("writes_per_minute", get("writes_per_minute", d.writes_per_minute)),
    )
    if params.endpoint and params.region:
        raise ParameterError("set endpoint or region, not both")
    if params.fleet and (params.endpoint or params.region or params.project_id):
        raise ParameterError("set fleet or endpoint/region/project_id, not both")
    if params.fleet and params.mode == "quarantine":
        raise ParameterError(
            'mode="quarantine" works on one project: leave fleet empty (run the notebook once '
            "per project, e.g. with Airflow's fan-out)"
        )
    if params.fleet and params.plan_run is not None:
        raise ParameterError(
            "plan_run executes one project's dry run: leave fleet empty (a fleet run is resumed "
            "with 'wsnb runs resume RUN --fleet FILE')"
        )
    _ordered("next_run_after", params.next_run_after, "next_run_before", params.next_run_before)
    _ordered("expire_after", params.expire_after, "expire_before", params.expire_before)
    if params.plan_run is not None:
        if params.dry_run:
            raise ParameterError(
                f"plan_run={params.plan_run} executes that dry run's plan (its ids, its "
                "snapshots): pass dry_run=False as well to approve the deletion"
            )
        return params  # the plan decides what is deleted: the filters are not used
    if not params.all_tasks and not params.filters():
        raise ParameterError(
            f"no filter set: set at least one of {list(_FILTERS)}, "
            "or all_tasks=True to select every task"
        )
    return params


def cleanup_client(params: CleanupParams) -> Client:
    """A client for the parameters' endpoint/region/project, credentials from the environment."""
    from wsnb._retry import RateLimit
    from wsnb.client import Client

    kw: dict[str, Any] = {
        "rate_limit": RateLimit(params.reads_per_minute, params.writes_per_minute)
        if params.reads_per_minute or params.writes_per_minute
        else None
    }
    if params.endpoint:
        kw["endpoint"] = params.endpoint
    if params.region:
        kw["region"] = params.region
    if params.project_id:
        kw["project_id"] = params.project_id
    return Client.from_env(**kw)


def cleanup_fleet(params: CleanupParams) -> Fleet | None:
    """The parameters' fleet (None: a single project, see :func:`cleanup_client`); each
    target's client gets its own rate limit at the parameters' rates."""
    from wsnb._retry import RateLimit
    from wsnb.fleet import Fleet

    if not params.fleet:
        return None
    fleet = Fleet.parse(params.fleet if isinstance(params.fleet, str) else list(params.fleet))
    if fleet is None:
        return None
    reads, writes = params.reads_per_minute, params.writes_per_minute

    def limit() -> RateLimit | None:
        return RateLimit(reads, writes) if reads or writes else None

    fleet.client_options["rate_limit"] = limit
    return fleet


# --- papermill's reading of -p values ----------------------------------------------------------


def parse_parameter(text: str) -> Any:
    """A ``-p`` value as papermill reads it: True/False/None, int, float, JSON list, else text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text.strip().startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text
