"""Discovering an account's projects through IAM (``GET /v3/auth/projects``).

Contract: :func:`discover_projects` returns the enabled projects IAM lists for the credentials
whose name is the region (``cn-east-3``) or one of its sub-projects (``cn-east-3_dev``), in
IAM's order. The answer's shape is ``{"projects": [{"id", "name", "domain_id", "enabled", …}],
"links": {"self", "next", "previous"}}``; a ``links.next`` URL is followed. The request is
signed like every other call (AK/SK, or ``X-Auth-Token``) but carries no project id. Errors are
the client's :class:`~wsnb.errors.WorkspaceError` classes, scrubbed of secrets.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import httpx

from wsnb._retry import transport_error
from wsnb.auth import Credentials, WorkspaceAuth
from wsnb.errors import UnexpectedResponseError, error_from_response

__all__ = ["IAM_PROJECTS_PATH", "discover_projects", "in_region"]

IAM_PROJECTS_PATH: Final = "/v3/auth/projects"
#: Pages followed at most (IAM answers in one page; a loop of ``next`` links ends here).
_MAX_PAGES: Final = 100


def in_region(name: str, region: str) -> bool:
    """Whether a project named ``name`` belongs to ``region`` (itself or a sub-project)."""
    return name == region or name.startswith(region + "_")


def discover_projects(
    region: str,
    *,
    credentials: Credentials,
    iam_endpoint: str,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 10.0,
) -> list[dict[str, Any]]:
    """The enabled projects of ``region`` IAM lists for ``credentials``."""
    auth = WorkspaceAuth(dataclasses.replace(credentials, project_id=None))
    url: str | None = iam_endpoint.rstrip("/") + IAM_PROJECTS_PATH
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    secrets = [
        v
        for v in (credentials.ak, credentials.sk, credentials.security_token, credentials.token)
        if v
    ]
    with httpx.Client(auth=auth, transport=transport, timeout=timeout) as http:
        for _ in range(_MAX_PAGES):
            if url is None:
                break
            try:
                response = http.get(url)
            except httpx.TransportError as exc:
                raise transport_error("list_projects", exc, exc.request, secrets) from None
            if response.status_code >= 400:
                raise error_from_response(response, "list_projects")
            try:
                body = response.json()
                projects = body["projects"]
                assert isinstance(projects, list)
            except (ValueError, KeyError, TypeError, AssertionError):
                raise UnexpectedResponseError(
                    f"IAM at {iam_endpoint} answered without a 'projects' list", transient=False
                ) from None
            for project in projects:
                if not isinstance(project, dict) or not isinstance(project.get("id"), str):
                    continue
                if project["id"] in seen or project.get("enabled") is False:
                    continue
                if in_region(str(project.get("name", "")), region):
                    seen.add(project["id"])
                    found.append(project)
            links = body.get("links") or {}
            nxt = links.get("next") if isinstance(links, dict) else None
            url = nxt if isinstance(nxt, str) and nxt else None
    return found
