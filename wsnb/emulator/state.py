"""The emulator's shared state: how it behaves (:class:`EmulatorConfig`) and what it holds.

:class:`EmulatorState` is the one object the API pipeline, the handlers and the control plane all
work on (config, store, throttle, faults, request log); this module imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from ._items import ListItems
from .faults import Faults, Limiter, RequestLog, Throttle
from .profile import Profile, as_profile
from .store import Store

AuthMode = Literal["strict", "loose"]
UnknownIds = Literal["ignore", "reject"]


@dataclass
class EmulatorConfig:
    """How an emulator behaves. Secrets (``keys``, ``tokens``) never appear in its repr.

    ``keys`` maps AK → SK for SDK-HMAC-SHA256; ``tokens`` are accepted ``X-Auth-Token`` values.
    ``project_id`` is the default project (the control plane's, and the one handed to clients);
    ``None`` reuses the one a file db remembers, else picks a random one. Any project id in a
    path works; data stays separate per project. ``auth="loose"`` accepts any request.
    ``unknown_ids`` is the batch-delete policy for ids that do not exist. ``profile`` picks the
    variant of the service's answers (a :class:`~wsnb.emulator.profile.Profile` or a preset
    name: ``"documented"``, ``"live"``). ``clock`` is the wall clock (tests freeze it).
    """

    project_id: str | None = None
    db: str | Path | None = None
    auth: AuthMode = "strict"
    keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    tokens: frozenset[str] = field(default_factory=frozenset, repr=False)
    unknown_ids: UnknownIds = "ignore"
    throttle: Throttle | None = None
    fault_seed: int = 0
    max_body_bytes: int = 12 * 1024 * 1024
    max_skew: timedelta = timedelta(minutes=15)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), repr=False)
    control_from_anywhere: bool = False
    profile: Profile | str = "documented"
    #: The IAM endpoint (``GET /v3/auth/projects``) names every project after this region;
    #: ``iam_projects`` adds projects (id -> name) that hold no task yet.
    region: str = "cn-north-4"
    iam_projects: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.auth not in ("strict", "loose"):
            raise ValueError(f"auth must be 'strict' or 'loose', not {self.auth!r}")
        if self.unknown_ids not in ("ignore", "reject"):
            raise ValueError(f"unknown_ids must be 'ignore' or 'reject', not {self.unknown_ids!r}")
        self.profile = as_profile(self.profile)


@dataclass(frozen=True)
class Denial:
    """An IAM denial of one task id (set through the control plane): the error answered to any
    call naming it, with an ``encoded_authorization_message`` (DEF ``BaseResponse``)."""

    status: int = 403
    error_code: str = "WKS.0004"
    error_msg: str = "Policy doesn't allow workspace:scheduledTasks:{action} to be performed."

    def __post_init__(self) -> None:
        if not 400 <= self.status <= 499:
            raise ValueError(f"a denial's status must be a 4xx, not {self.status!r}")


class EmulatorState:
    """Everything a running app holds: config, store, throttle, faults and the request log."""

    def __init__(self, config: EmulatorConfig, store: Store | None = None) -> None:
        self.config = config
        self.store = store or Store(config.db)
        self.project_id = self.store.default_project(config.project_id)
        config.project_id = self.project_id
        self.limiter = Limiter(config.throttle)
        self.faults = Faults(config.fault_seed)
        self.log = RequestLog()
        self.initial_unknown_ids: UnknownIds = config.unknown_ids
        self.profile: Profile = as_profile(config.profile)
        self.initial_profile = self.profile
        #: task id -> its denial; replaced whole (never mutated), so readers need no lock
        self.denials: dict[str, Denial] = {}
        #: list items remembered per stored definition (a page's cost was laying them out)
        self.list_items = ListItems()

    def now(self) -> datetime:
        return self.config.clock()


__all__ = ["AuthMode", "Denial", "EmulatorConfig", "EmulatorState", "UnknownIds"]
