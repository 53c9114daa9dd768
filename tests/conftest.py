"""Shared fixtures: a running emulator over a real socket, an in-process app, SDK clients.

See docs/internals.md, section "Emulator", for what each fixture gives.
"""

from __future__ import annotations

import signal
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what the project uses
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from wsnb.emulator import Emulator, EmulatorConfig, create_app
from wsnb.emulator.state import EmulatorState

# Tests that interrupt themselves (SIGINT -> KeyboardInterrupt) and the wsnb children they stop
# with SIGINT need Python's own SIGINT handler. A runner started in the background by a shell
# without job control (`make test &`, nohup, some CI agents) hands pytest SIGINT ignored, so
# Python installs no handler and those tests hang until their timeout.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

#: ``postgres`` / ``pg_url``: a throwaway PostgreSQL server for the ledger tests.
pytest_plugins = ("tests._postgres",)

#: The emulator's profile presets; a module runs its tests under both by overriding ``profile``:
#: ``profile = both_profiles()`` (see ``emulator``).
PROFILE_NAMES = ("documented", "live")


def both_profiles() -> Any:
    """A ``profile`` fixture parametrized over :data:`PROFILE_NAMES` (assign it in a module)."""

    @pytest.fixture(params=PROFILE_NAMES)
    def profile(request: pytest.FixtureRequest) -> str:
        return str(request.param)

    return profile


@pytest.fixture(scope="session")
def _shared_emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def profile() -> str:
    """The profile the ``emulator`` fixture answers with: ``documented`` unless a module
    overrides this fixture (``profile = both_profiles()`` runs its tests under each preset)."""
    return "documented"


@pytest.fixture
def emulator(_shared_emulator: Emulator, profile: str) -> Iterator[Emulator]:
    """A running emulator (strict auth, in-memory db) on 127.0.0.1, reset before each test.

    One server serves the whole session; ``control.reset()`` wipes tasks, the request log,
    faults, throttle and denials, and restores the batch-delete policy and the profile, which
    is then set to the ``profile`` fixture's.
    """
    _shared_emulator.control.reset()
    if profile != "documented":
        _shared_emulator.control.set_profile(profile)
    yield _shared_emulator
    _shared_emulator.control.reset()


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Factory for a dedicated, started ``Emulator(**kw)`` (stopped after the test)."""
    started: list[Emulator] = []

    def make(**kw: Any) -> Emulator:
        emu = Emulator(**kw).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def app_state() -> EmulatorState:
    """The state of a fresh in-process emulator with ``auth="loose"`` (for ``api``)."""
    return EmulatorState(EmulatorConfig(auth="loose"))


@pytest.fixture
def api(app_state: EmulatorState) -> Iterator[TestClient]:
    """A Starlette ``TestClient`` on a fresh loose-auth app; ``api.pid`` is its project id."""
    with TestClient(create_app(state=app_state)) as client:
        client.pid = app_state.config.project_id  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def sdk_client() -> Callable[..., Any]:
    """Factory: the official SDK ``WorkspaceClient`` for an emulator (its keys unless given)."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkworkspace.v2 import WorkspaceClient

    def make(emu: Emulator, *, ak: str | None = None, sk: str | None = None) -> Any:
        credentials = BasicCredentials(ak or emu.ak, sk or emu.sk, emu.project_id)
        return (
            WorkspaceClient.new_builder()
            .with_credentials(credentials)
            .with_endpoints([emu.endpoint])
            .build()
        )

    return make


def task_body(**overrides: Any) -> dict[str, Any]:
    """A valid create body (a daily 22:00 STOP), with ``overrides`` applied."""
    body: dict[str, Any] = {
        "task_name": "nightly-stop",
        "task_type": "STOP",
        "scheduled_type": "DAY",
        "day_interval": 1,
        "scheduled_time": "22:00:00",
        "time_zone": "Asia/Shanghai",
        "apply_objects": [{"object_type": "DESKTOP", "object_id": "d-1"}],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, str]]:
    """``wsnb demo`` once per session, with known emulator keys (for the secrets scan)."""
    from click.testing import CliRunner

    import wsnb.emulator.server as server
    from wsnb.cli import cli

    keys = {"ak": "DEMOAKVISIBLEINTEST0001", "sk": "demo-sk-never-in-output-0123456789abcdef"}
    out = tmp_path_factory.getbasetemp() / "notebook-runs" / "demo"
    log = out / "demo.log"
    if not log.exists():
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(server, "random_ak", lambda: keys["ak"])
            mp.setattr(server, "random_sk", lambda: keys["sk"])
            result = CliRunner().invoke(cli, ["demo", "-o", str(out), "--tasks", "300"])
        assert result.exit_code == 0, result.output
        log.write_text(result.output, encoding="utf-8")
    return out, log.read_text(encoding="utf-8"), keys
