"""``Emulator``: the app served by uvicorn on 127.0.0.1 in a background thread.

The server runs its own event loop in its own thread, so it works from plain scripts, pytest and
Jupyter alike (where the caller's thread already runs a loop).
"""

from __future__ import annotations

import logging
import secrets
import socket
import string
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

import uvicorn

from .control import Control
from .faults import Throttle
from .profile import Profile
from .routes import create_app
from .seed import seed_store
from .state import AuthMode, EmulatorConfig, EmulatorState, UnknownIds
from .store import Store

if TYPE_CHECKING:
    from wsnb.auth import Credentials
    from wsnb.client import AsyncClient, Client

_AK_ALPHABET = string.ascii_uppercase + string.digits


class _QuietDrops(logging.Filter):
    """Hide uvicorn's complaint about the unfinished answers "drop" faults make on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


def random_ak() -> str:
    """A fresh, Huawei-looking access key id (20 upper-case alphanumerics)."""
    return "".join(secrets.choice(_AK_ALPHABET) for _ in range(20))


def random_sk() -> str:
    """A fresh secret key (40 characters)."""
    return secrets.token_urlsafe(30)[:40]


#: Where a key came from: minted now (and stored), read from the db, or given by the caller.
KeyOrigin = Literal["new", "stored", "given"]


def _pick(
    store: Store,
    given: dict[str, str] | None,
    mint: Callable[[], dict[str, str]],
) -> tuple[dict[str, str], KeyOrigin]:
    """Given values win (never stored); else the stored ones; else minted ones, stored now."""
    if given is not None:
        return given, "given"
    names = list(mint())
    stored = store.recall(*names)
    if len(stored) == len(names):
        return stored, "stored"
    fresh = mint()
    kept = store.remember(fresh)  # another process on the same file may have been first
    return kept, "new" if kept == fresh else "stored"


def _resolve_keys(
    store: Store, ak: str | None, sk: str | None, token: str | None
) -> tuple[str, str, str, dict[str, KeyOrigin]]:
    """(ak, sk, token, origins) for an emulator on ``store`` (see :class:`Emulator`)."""
    pair, pair_origin = _pick(
        store,
        {"ak": ak, "sk": sk} if ak and sk else None,
        lambda: {"ak": random_ak(), "sk": random_sk()},
    )
    tok, tok_origin = _pick(
        store,
        {"token": token} if token else None,
        lambda: {"token": secrets.token_urlsafe(32)},
    )
    return pair["ak"], pair["sk"], tok["token"], {"aksk": pair_origin, "token": tok_origin}


class Emulator:
    """A running scheduled-tasks emulator. Use as a context manager, or call ``stop()``.

    Keys: given ``ak``/``sk`` (together) and ``token`` win and are never stored; otherwise the
    ones stored in the db are reused, else fresh random ones are minted and stored, so a restart
    on the same file ``db`` keeps clients working (``keys_origin`` says which happened:
    ``{"aksk": "new" | "stored" | "given", "token": ...}``). ``credentials`` hands them to
    wsnb's client, ``endpoint`` and ``project_id`` say where to point it. ``tasks=N`` seeds N
    demo tasks (RNG ``seed``) into an empty project. ``profile`` picks the variant of the
    service's answers: ``"documented"`` (default), ``"live"`` or a
    :class:`~wsnb.emulator.profile.Profile`. A full ``config`` replaces ``db``, ``project_id``,
    ``auth``, ``unknown_ids``, ``throttle`` and ``profile``.
    """

    def __init__(
        self,
        db: str | Path | None = None,
        seed: int = 0,
        tasks: int = 0,
        project_id: str | None = None,
        auth: AuthMode = "strict",
        unknown_ids: UnknownIds = "ignore",
        throttle: Throttle | None = None,
        *,
        ak: str | None = None,
        sk: str | None = None,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        config: EmulatorConfig | None = None,
        profile: Profile | str = "documented",
    ) -> None:
        if bool(ak) != bool(sk):
            raise ValueError("the emulator's ak and sk go together: give both or neither")
        if config is None:
            config = EmulatorConfig(
                db=db, auth=auth, unknown_ids=unknown_ids, throttle=throttle, profile=profile
            )
            if project_id:
                config.project_id = project_id
        self.config = config
        self.state = EmulatorState(config)
        try:
            self.ak, self._sk, self.token, self.keys_origin = _resolve_keys(
                self.state.store, ak, sk, token
            )
        except BaseException:
            self.state.store.close()
            raise
        config.keys = {**config.keys, self.ak: self._sk}
        config.tokens = config.tokens | {self.token}
        self.project_id = self.state.project_id
        self.app = create_app(state=self.state)
        self._host = host
        self._port = port
        self._log_level = log_level
        self._seed = seed
        self._tasks = tasks
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._control: Control | None = None
        self.endpoint = ""

    def __repr__(self) -> str:
        where = self.endpoint or "not started"
        return (
            f"Emulator({where}, project_id={self.project_id!r}, auth={self.config.auth!r},"
            f" profile={self.state.profile.name!r})"
        )

    @property
    def sk(self) -> str:
        """The secret key (kept out of repr)."""
        return self._sk

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Seed (if asked), bind a port and serve in a daemon thread; returns when ready."""
        if self._thread is not None:
            return self
        if self._tasks and not self.state.store.task_ids(self.project_id):  # not on a restart
            seed_store(
                self.state.store,
                self.project_id,
                self._tasks,
                seed=self._seed,
                now=self.state.now(),
            )
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        # proto must be IPPROTO_TCP, or asyncio skips TCP_NODELAY and every call waits ~40 ms
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level=self._log_level, lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="wsnb-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator's server did not start")
            time.sleep(0.005)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self.endpoint = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Stop serving and close the database (a file db keeps its data).

        An emulator is not restartable: make a new one on the same ``db`` file instead.
        """
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
        self.state.store.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- handles ---------------------------------------------------------------------------

    @property
    def control(self) -> Control:
        """The control-plane wrapper (reset, seed, throttle, faults, request log…)."""
        if not self.endpoint:
            raise RuntimeError("start the emulator first")
        if self._control is None:
            self._control = Control(self.endpoint)
        return self._control

    @property
    def credentials(self) -> Credentials:
        """This emulator's AK/SK and project id as ``wsnb.auth.Credentials``."""
        from wsnb.auth import Credentials

        return Credentials(ak=self.ak, sk=self._sk, project_id=self.project_id)

    def client(self, **kw: Any) -> Client:
        """A ``wsnb.Client`` pointed at this emulator (keyword arguments override)."""
        from wsnb.client import Client

        kw.setdefault("endpoint", self.endpoint)
        kw.setdefault("project_id", self.project_id)
        kw.setdefault("credentials", self.credentials)
        return Client(**kw)

    def async_client(self, **kw: Any) -> AsyncClient:
        """A ``wsnb.AsyncClient`` pointed at this emulator."""
        from wsnb.client import AsyncClient

        kw.setdefault("endpoint", self.endpoint)
        kw.setdefault("project_id", self.project_id)
        kw.setdefault("credentials", self.credentials)
        return AsyncClient(**kw)
