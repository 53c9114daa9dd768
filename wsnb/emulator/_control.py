"""The control plane under ``/_emulator/``: no auth, loopback only, JSON in and out.

It lets tests and notebooks reset and seed the data, read the request log, and switch throttling,
faults, the batch-delete policy, the profile (``documented``/``live`` and each knob) and per-id
IAM denials while the emulator runs. ``wsnb.emulator.Control`` wraps it.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .faults import FaultRule, Throttle
from .profile import Profile
from .seed import seed_store, tick
from .state import Denial, EmulatorState

_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})
Endpoint = Callable[[Request], Awaitable[Response]]


def _json(payload: Any, status: int = 200) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    response = Response(body, status_code=status, headers={"X-Request-Id": uuid.uuid4().hex})
    response.headers["Content-Type"] = "application/json;charset=UTF-8"
    return response


def _fail(status: int, message: str) -> Response:
    return _json({"error_code": f"EMU.{status}", "error_msg": message}, status)


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw.strip() else {}
    except RecursionError:
        raise ValueError("the body is nested too deeply") from None


def control_routes(state: EmulatorState) -> list[BaseRoute]:
    """The ``/_emulator/*`` routes bound to ``state``."""

    def guarded(fn: Callable[[Request], Awaitable[Any]]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            host = request.client.host if request.client else ""
            if host not in _LOOPBACK and not state.config.control_from_anywhere:
                return _fail(403, "the control plane answers loopback clients only")
            try:
                result = await fn(request)
            except (ValueError, TypeError, KeyError) as error:
                return _fail(400, str(error))
            except sqlite3.IntegrityError:
                return _fail(409, "ids clash: reset first or seed with another seed")
            return result if isinstance(result, Response) else _json(result)

        return endpoint

    def project(request: Request, body: Any = None) -> str:
        if isinstance(body, dict) and body.get("project_id"):
            return str(body["project_id"])
        return request.query_params.get("project_id") or state.project_id

    async def health(request: Request) -> Any:
        return {
            "project_id": state.project_id,
            "auth": state.config.auth,
            "unknown_ids": state.config.unknown_ids,
            "profile": state.profile.name,
            "counts": state.store.counts(),
        }

    async def reset(request: Request) -> Any:
        state.store.reset()
        state.log.clear()
        state.faults.clear(seed=state.config.fault_seed)
        state.limiter.configure(state.config.throttle)
        state.config.unknown_ids = state.initial_unknown_ids
        state.profile = state.initial_profile
        state.denials = {}
        return {"ok": True}

    async def seed(request: Request) -> Any:
        body = await _body(request)
        n = int(body.get("n", 0))
        if not 0 <= n <= 1_000_000:
            raise ValueError("n must be between 0 and 1000000")
        ids = seed_store(
            state.store, project(request, body), n, seed=int(body.get("seed", 0)), now=state.now()
        )
        return {"created": len(ids), "task_ids": ids}

    async def dump(request: Request) -> Any:
        return state.store.dump(request.query_params.get("project_id"))

    async def task_ids(request: Request) -> Any:
        return {"task_ids": state.store.task_ids(project(request))}

    async def throttle(request: Request) -> Any:
        if request.method == "PUT":
            body = await _body(request)
            state.limiter.configure(Throttle.from_dict(body) if body else None)
        current = state.limiter.throttle
        return {"throttle": current.to_dict() if current else None}

    async def faults(request: Request) -> Any:
        if request.method == "POST":
            return {"id": state.faults.add(FaultRule.from_dict(await _body(request)))}
        if request.method == "DELETE":
            body = await _body(request)
            state.faults.clear(seed=body.get("seed"))
        return {"faults": state.faults.describe()}

    async def policy(request: Request) -> Any:
        if request.method == "PUT":
            body = await _body(request)
            value = body.get("unknown_ids", state.config.unknown_ids)
            if value not in ("ignore", "reject"):
                raise ValueError("unknown_ids must be 'ignore' or 'reject'")
            state.config.unknown_ids = value
        return {"unknown_ids": state.config.unknown_ids}

    async def profile(request: Request) -> Any:
        if request.method == "PUT":
            body = await _body(request)
            if not isinstance(body, dict):
                raise ValueError("the profile must be a JSON object")
            state.profile = Profile.from_dict(body, base=state.profile)
        return {"profile": state.profile.to_dict()}

    async def denials(request: Request) -> Any:
        if request.method == "DELETE":
            state.denials = {}
        elif request.method == "PUT":
            body = await _body(request)
            if not isinstance(body, dict):
                raise ValueError("the denial must be a JSON object")
            ids = body.get("task_ids")
            if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
                raise ValueError("task_ids must be a list of task ids")
            settings = {k: body[k] for k in ("status", "error_code", "error_msg") if k in body}
            denial = Denial(**settings)
            state.denials = {**state.denials, **dict.fromkeys(ids, denial)}  # replaced whole
        return {
            "denials": [
                {"task_id": task_id, **vars(denial)} for task_id, denial in state.denials.items()
            ]
        }

    async def requests(request: Request) -> Any:
        if request.method == "DELETE":
            state.log.clear()
            return {"requests": []}
        return {"requests": state.log.since(int(request.query_params.get("since", 0)))}

    async def run_tick(request: Request) -> Any:
        body = await _body(request)
        made = tick(
            state.store,
            project(request, body),
            task_ids=body.get("task_ids"),
            status=body.get("status"),
            seed=int(body.get("seed", 0)),
            now=state.now(),
        )
        return {"records": made}

    table: list[tuple[str, Callable[[Request], Awaitable[Any]], list[str]]] = [
        ("health", health, ["GET"]),
        ("reset", reset, ["POST"]),
        ("seed", seed, ["POST"]),
        ("dump", dump, ["GET"]),
        ("task-ids", task_ids, ["GET"]),
        ("throttle", throttle, ["GET", "PUT"]),
        ("faults", faults, ["GET", "POST", "DELETE"]),
        ("policy", policy, ["GET", "PUT"]),
        ("profile", profile, ["GET", "PUT"]),
        ("denials", denials, ["GET", "PUT", "DELETE"]),
        ("requests", requests, ["GET", "DELETE"]),
        ("tick", run_tick, ["POST"]),
    ]
    return [
        Route(f"/_emulator/{name}", guarded(fn), methods=methods) for name, fn, methods in table
    ]
