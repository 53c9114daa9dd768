"""The IAM projects endpoint (``GET /v3/auth/projects``): the projects a credential may use.

Contract: answers IAM's shape, ``{"projects": [{"id", "name", "domain_id", "enabled",
"is_domain", "parent_id", "description", "links"}], "links": {"self", "previous", "next"}}``,
after the same authentication as the API (401 ``APIG.0301``). The projects are the emulator's
default project, every project holding tasks and ``config.iam_projects`` (id -> name), named
after ``config.region`` unless ``iam_projects`` names them, plus IAM's ``MOS`` project (not a
region: a fleet's region filter must leave it out). Calls go to the request log as
``iam_list_projects``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ._errors import ApiError
from .pipeline import authenticate, error_response, json_response, new_request_id
from .state import EmulatorState

__all__ = ["IAM_PROJECTS_PATH", "iam_projects", "iam_routes"]

IAM_PROJECTS_PATH: Final = "/v3/auth/projects"


def _hex(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def iam_projects(state: EmulatorState, base_url: str) -> list[dict[str, Any]]:
    """The project list IAM would answer (see the module docstring)."""
    domain = _hex(f"domain:{state.project_id}")
    names: dict[str, str] = {state.project_id: state.config.region}
    for pid in state.store.project_ids():
        names.setdefault(pid, state.config.region)
    names.update(state.config.iam_projects)
    names[_hex(f"mos:{domain}")] = "MOS"
    return [
        {
            "id": pid,
            "name": name,
            "domain_id": domain,
            "enabled": True,
            "is_domain": False,
            "parent_id": domain,
            "description": "",
            "links": {"self": f"{base_url}/v3/projects/{pid}"},
        }
        for pid, name in names.items()
    ]


def iam_routes(state: EmulatorState) -> list[BaseRoute]:
    """The IAM route(s) the app mounts next to the API."""

    async def list_projects(request: Request) -> Response:
        request_id = new_request_id()
        try:
            authenticate(state, request, await request.body())
            base = str(request.base_url).rstrip("/")
            payload = {
                "projects": iam_projects(state, base),
                "links": {"self": f"{base}{IAM_PROJECTS_PATH}", "previous": None, "next": None},
            }
            response = json_response(200, payload, request_id)
        except ApiError as error:
            response = error_response(error, request_id, state.profile)
        state.log.add(
            {
                "time": datetime.now(UTC).isoformat(),
                "method": request.method,
                "path": request.url.path,
                "operation": "iam_list_projects",
                "status": response.status_code,
                "project_id": "",
                "request_id": request_id,
                "task_ids": None,
                "fault": None,
            }
        )
        return response

    return [Route(IAM_PROJECTS_PATH, list_projects, methods=["GET"], name="iam_list_projects")]
