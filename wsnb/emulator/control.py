"""``Control``: the Python face of the emulator's ``/_emulator/`` control plane.

Works against any running emulator (in-process via :class:`~wsnb.emulator.Emulator`, or one
started with ``wsnb emulator serve``), because it only speaks HTTP.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Literal, Self

import httpx

from .faults import FaultRule, Throttle
from .profile import Profile


class ControlError(RuntimeError):
    """The control plane refused a request (bad settings, clashing seed ids…)."""


class Control:
    """Reset, seed, inspect and steer an emulator at ``endpoint``."""

    def __init__(self, endpoint: str, *, timeout: float = 30.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._http = httpx.Client(base_url=f"{self.endpoint}/_emulator/", timeout=timeout)

    def __repr__(self) -> str:
        return f"Control({self.endpoint!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        response = self._http.request(method, path, json=body, params=query)
        if response.status_code >= 400:
            try:
                message = response.json().get("error_msg", response.text)
            except ValueError:
                message = response.text
            raise ControlError(f"{method} /_emulator/{path}: {response.status_code} {message}")
        return response.json()

    def health(self) -> dict[str, Any]:
        """Default project id, auth mode, policy and row counts."""
        result: dict[str, Any] = self._call("GET", "health")
        return result

    def reset(self) -> None:
        """Forget all tasks, requests and faults; restore the initial throttle."""
        self._call("POST", "reset")

    def seed(self, n: int, seed: int = 0, *, project_id: str | None = None) -> list[str]:
        """Add ``n`` realistic tasks (deterministic for ``seed``); returns their ids."""
        body = {"n": n, "seed": seed, "project_id": project_id}
        ids: list[str] = self._call("POST", "seed", body)["task_ids"]
        return ids

    def dump(self, project_id: str | None = None) -> dict[str, Any]:
        """Every stored task and record (of one project, or all)."""
        result: dict[str, Any] = self._call("GET", "dump", project_id=project_id)
        return result

    def task_ids(self, project_id: str | None = None) -> list[str]:
        """Ids of the project's tasks, LIFE_CYCLE ones included, newest first."""
        ids: list[str] = self._call("GET", "task-ids", project_id=project_id)["task_ids"]
        return ids

    def set_throttle(self, throttle: Throttle | None = None, **settings: Any) -> None:
        """Throttle with ``throttle`` or ``Throttle(**settings)``; neither turns it off."""
        if throttle is None and settings:
            throttle = Throttle(**settings)
        self._call("PUT", "throttle", throttle.to_dict() if throttle else {})

    def add_fault(self, rule: FaultRule | None = None, **settings: Any) -> int:
        """Arm a fault (``FaultRule`` or its fields); returns the rule's id."""
        rule = rule or FaultRule(**settings)
        fault_id: int = self._call("POST", "faults", rule.to_dict())["id"]
        return fault_id

    def faults(self) -> list[dict[str, Any]]:
        """Armed rules with how often each fired."""
        rules: list[dict[str, Any]] = self._call("GET", "faults")["faults"]
        return rules

    def clear_faults(self, seed: int | None = None) -> None:
        """Disarm every fault (and reseed their RNG when ``seed`` is given)."""
        self._call("DELETE", "faults", {"seed": seed})

    def set_policy(self, *, unknown_ids: Literal["ignore", "reject"]) -> None:
        """How batch-delete treats unknown ids."""
        self._call("PUT", "policy", {"unknown_ids": unknown_ids})

    def set_profile(self, profile: Profile | str | None = None, **knobs: Any) -> dict[str, Any]:
        """Switch the profile: a preset name or a :class:`Profile`, then ``knobs`` changed
        (without ``profile``, the knobs change the current one). Returns the new profile."""
        body: dict[str, Any] = dict(knobs)
        if isinstance(profile, Profile):  # every knob, on top of the documented preset
            body = {**profile.to_dict(), **knobs, "preset": "documented"}
        elif profile is not None:
            body["preset"] = profile
        result: dict[str, Any] = self._call("PUT", "profile", body)["profile"]
        return result

    def profile(self) -> dict[str, Any]:
        """The active profile: ``{"name": "documented" | "live" | "custom", <knob>: value…}``."""
        result: dict[str, Any] = self._call("GET", "profile")["profile"]
        return result

    def deny(
        self,
        task_ids: list[str],
        *,
        status: int = 403,
        error_code: str | None = None,
        error_msg: str | None = None,
    ) -> None:
        """IAM-deny ``task_ids``: any call naming one (show, update, delete, records, export, a
        batch-delete holding one) answers ``status`` with ``encoded_authorization_message``."""
        body: dict[str, Any] = {"task_ids": list(task_ids), "status": status}
        if error_code is not None:
            body["error_code"] = error_code
        if error_msg is not None:
            body["error_msg"] = error_msg
        self._call("PUT", "denials", body)

    def denials(self) -> list[dict[str, Any]]:
        """The denied ids with their status, code and message."""
        rows: list[dict[str, Any]] = self._call("GET", "denials")["denials"]
        return rows

    def clear_denials(self) -> None:
        self._call("DELETE", "denials")

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The request log (entries after sequence number ``since``)."""
        entries: list[dict[str, Any]] = self._call("GET", "requests", since=since)["requests"]
        return entries

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def tick(
        self,
        *,
        task_ids: list[str] | None = None,
        status: str | None = None,
        seed: int = 0,
        project_id: str | None = None,
    ) -> int:
        """Make one execution record per enabled task (or per named task); returns the count."""
        body = {"task_ids": task_ids, "status": status, "seed": seed, "project_id": project_id}
        made: int = self._call("POST", "tick", body)["records"]
        return made
