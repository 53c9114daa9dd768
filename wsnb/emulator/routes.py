"""The emulator as a Starlette app: the API route table, the control plane, 404/500 in JSON.

Each row of :data:`OPERATIONS` becomes a route whose endpoint runs the per-call pipeline
(``pipeline``) around its handler (``handlers``); ``/_emulator/*`` comes from ``_control``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ._control import control_routes
from ._errors import INTERNAL, NO_SUCH_API, NO_SUCH_API_MSG, ApiError
from ._iam import iam_routes
from .handlers import (
    batch_delete,
    create_task,
    delete_task,
    export_records,
    future_executions,
    get_task,
    life_cycle_configurations,
    list_record_details,
    list_records,
    list_tasks,
    named_task_ids,
    time_zones,
    update_task,
)
from .pipeline import Handler, _Operation, error_response, new_request_id
from .state import EmulatorConfig, EmulatorState

_TASKS: Final = "/v2/{project_id}/scheduled-tasks"
#: (path, method, operation, handler); literal segments come before ``{task_id}``.
OPERATIONS: Final[tuple[tuple[str, str, str, Handler], ...]] = (
    (_TASKS, "GET", "list_tasks", list_tasks),
    (_TASKS, "POST", "create_task", create_task),
    (f"{_TASKS}/batch-delete", "POST", "batch_delete", batch_delete),
    (f"{_TASKS}/future-executions", "POST", "future_executions", future_executions),
    (
        f"{_TASKS}/life-cycle-type/configurations",
        "GET",
        "life_cycle_configurations",
        life_cycle_configurations,
    ),
    (f"{_TASKS}/{{task_id}}", "GET", "get_task", get_task),
    (f"{_TASKS}/{{task_id}}", "PUT", "update_task", update_task),
    (f"{_TASKS}/{{task_id}}", "DELETE", "delete_task", delete_task),
    (f"{_TASKS}/{{task_id}}/records", "GET", "list_records", list_records),
    (f"{_TASKS}/{{task_id}}/records/export", "POST", "export_records", export_records),
    (
        f"{_TASKS}/{{task_id}}/records/{{record_id}}",
        "GET",
        "list_record_details",
        list_record_details,
    ),
    ("/v2/{project_id}/common/timezones", "GET", "time_zones", time_zones),
)


async def _server_error(request: Request, exc: Exception) -> Response:
    return error_response(ApiError(500, INTERNAL, "Internal server error."), new_request_id())


def create_app(
    config: EmulatorConfig | None = None, *, state: EmulatorState | None = None
) -> Starlette:
    """The emulator as an ASGI app (use :class:`wsnb.emulator.Emulator` to serve it)."""
    state = state or EmulatorState(config or EmulatorConfig())
    routes: list[BaseRoute] = [
        Route(path, _Operation(state, name, handler, named_task_ids), methods=[method], name=name)
        for path, method, name, handler in OPERATIONS
    ]
    routes.extend(iam_routes(state))
    routes.extend(control_routes(state))

    async def _no_such_api(request: Request, exc: Exception) -> Response:
        """404 / 405 from routing → the gateway's 404 ``APIG.0101`` (``APIGW.`` per profile)."""
        error = ApiError(404, NO_SUCH_API, NO_SUCH_API_MSG)
        return error_response(error, new_request_id(), state.profile)

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        404: _no_such_api,
        405: _no_such_api,
        500: _server_error,
    }
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.emulator = state
    return app


__all__ = ["OPERATIONS", "create_app"]
