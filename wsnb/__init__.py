"""wsnb — clean up Huawei Cloud Workspace scheduled tasks from Jupyter.

The public API is re-exported here and loaded lazily, so ``import wsnb`` stays cheap (the grid
pulls in ipywidgets, the frames pandas) until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Credentials": "wsnb.auth",
    "CredentialsError": "wsnb.auth",
    "WorkspaceAuth": "wsnb.auth",
    "Client": "wsnb.client",
    "ClientStats": "wsnb.client",
    "AsyncClient": "wsnb.client",
    "RateLimit": "wsnb._retry",
    "RetryPolicy": "wsnb._retry",
    "WorkspaceError": "wsnb.errors",
    "BadRequestError": "wsnb.errors",
    "AuthenticationError": "wsnb.errors",
    "ForbiddenError": "wsnb.errors",
    "NotFoundError": "wsnb.errors",
    "ThrottledError": "wsnb.errors",
    "ServerError": "wsnb.errors",
    "TransportError": "wsnb.errors",
    "OutcomeUnknownError": "wsnb.errors",
    "ClockSkewError": "wsnb.errors",
    "RequestTooLargeError": "wsnb.errors",
    "ServiceNotEnabledError": "wsnb.errors",
    "UnexpectedResponseError": "wsnb.errors",
    "doctor": "wsnb.checkup",
    "DoctorReport": "wsnb.checkup",
    "tasks_frame": "wsnb.frames",
    "atasks_frame": "wsnb.frames",
    "records_frame": "wsnb.frames",
    "enrich": "wsnb.history",
    "aenrich": "wsnb.history",
    "failed_last": "wsnb.history",
    "delete_tasks": "wsnb.deletion",
    "adelete_tasks": "wsnb.deletion",
    "resume": "wsnb.deletion",
    "aresume": "wsnb.deletion",
    "DeletionCapError": "wsnb.deletion",
    "LedgerError": "wsnb.deletion",
    "restore_tasks": "wsnb.deletion",
    "Plan": "wsnb.deletion",
    "PlanError": "wsnb.deletion",
    "plan_deletion": "wsnb.deletion",
    "Ledger": "wsnb.ledger",
    "DeletionReport": "wsnb.report",
    "TaskGrid": "wsnb.grid",
    "quarantine_tasks": "wsnb.quarantine",
    "delete_quarantined": "wsnb.quarantine",
    "unquarantine": "wsnb.quarantine",
    "run_grace": "wsnb.quarantine",
    "Fleet": "wsnb.fleet",
    "Target": "wsnb.fleet",
    "FleetError": "wsnb.fleet",
    "FleetReport": "wsnb._fleet_report",
}

__all__ = [
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ClientStats",
    "ClockSkewError",
    "Credentials",
    "CredentialsError",
    "DeletionCapError",
    "DeletionReport",
    "DoctorReport",
    "Fleet",
    "FleetError",
    "FleetReport",
    "ForbiddenError",
    "Ledger",
    "LedgerError",
    "NotFoundError",
    "OutcomeUnknownError",
    "Plan",
    "PlanError",
    "RateLimit",
    "RequestTooLargeError",
    "RetryPolicy",
    "ServerError",
    "ServiceNotEnabledError",
    "Target",
    "TaskGrid",
    "ThrottledError",
    "TransportError",
    "UnexpectedResponseError",
    "WorkspaceAuth",
    "WorkspaceError",
    "adelete_tasks",
    "aenrich",
    "aresume",
    "atasks_frame",
    "delete_quarantined",
    "delete_tasks",
    "doctor",
    "enrich",
    "failed_last",
    "plan_deletion",
    "quarantine_tasks",
    "records_frame",
    "restore_tasks",
    "resume",
    "run_grace",
    "tasks_frame",
    "unquarantine",
]

if TYPE_CHECKING:
    from wsnb._fleet_report import FleetReport
    from wsnb._retry import RateLimit, RetryPolicy
    from wsnb.auth import Credentials, CredentialsError, WorkspaceAuth
    from wsnb.checkup import DoctorReport, doctor
    from wsnb.client import AsyncClient, Client, ClientStats
    from wsnb.deletion import (
        DeletionCapError,
        LedgerError,
        Plan,
        PlanError,
        adelete_tasks,
        aresume,
        delete_tasks,
        plan_deletion,
        restore_tasks,
        resume,
    )
    from wsnb.errors import (
        AuthenticationError,
        BadRequestError,
        ClockSkewError,
        ForbiddenError,
        NotFoundError,
        OutcomeUnknownError,
        RequestTooLargeError,
        ServerError,
        ServiceNotEnabledError,
        ThrottledError,
        TransportError,
        UnexpectedResponseError,
        WorkspaceError,
    )
    from wsnb.fleet import Fleet, FleetError, Target
    from wsnb.frames import atasks_frame, records_frame, tasks_frame
    from wsnb.grid import TaskGrid
    from wsnb.history import aenrich, enrich, failed_last
    from wsnb.ledger import Ledger
    from wsnb.quarantine import delete_quarantined, quarantine_tasks, run_grace, unquarantine
    from wsnb.report import DeletionReport


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wsnb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
