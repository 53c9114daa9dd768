"""nbval runs of these notebooks: never against a real cloud, never into the user's files.

nbval starts one kernel per notebook (in the notebook's folder) when its first cell is set up;
the kernel inherits this process's environment at that moment (nbval has no way to hand it an
environment, unlike ``wsnb.runner.execute_notebook``). So around that setup only, with
``pytest.MonkeyPatch``:

* every notebook gets a throwaway ``HOME`` (no ``~/.huaweicloud/credentials``), no credential
  variables, and ``WSNB_LEDGER`` / ``WSNB_OUTPUT_DIR`` in a temporary folder, so
  ``demo.ipynb`` and ``select_and_delete.ipynb`` start their embedded emulator;
* ``scheduled_cleanup.ipynb`` (which never falls back to an emulator: a scheduled job must not
  silently "succeed" without credentials) gets the endpoint and keys of an emulator started
  here with 300 demo tasks, through the environment as in production.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wsnb.auth import CREDENTIAL_ENV_VARS

_NEEDS_SERVER = {"scheduled_cleanup.ipynb"}
_state: dict[str, Any] = {}


def _scratch(config: pytest.Config) -> Path:
    if "scratch" not in _state:
        folder = Path(tempfile.mkdtemp(prefix="wsnb-nbval-"))
        (folder / "home").mkdir()
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
        _state["scratch"] = folder
    scratch: Path = _state["scratch"]
    return scratch


def _server_env(config: pytest.Config) -> dict[str, str | None]:
    if "emulator" not in _state:
        from wsnb.emulator import Emulator

        emu = Emulator(tasks=300, seed=0).start()
        config.add_cleanup(emu.stop)
        _state["emulator"] = emu
    emu = _state["emulator"]
    return {
        "WSNB_ENDPOINT": emu.endpoint,
        "HUAWEICLOUD_SDK_AK": emu.ak,
        "HUAWEICLOUD_SDK_SK": emu.sk,
        "HUAWEICLOUD_SDK_PROJECT_ID": emu.project_id,
    }


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every nbval cell is ``slow``: a notebook starts a kernel and runs as a whole, so
    ``-m "not slow"`` (``make test-fast``) leaves the notebooks out entirely."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Give the kernel that nbval starts for this notebook its environment (see above)."""
    if item.path.suffix != ".ipynb":
        yield
        return
    scratch = _scratch(item.config)
    env: dict[str, str | None] = {name: None for name in CREDENTIAL_ENV_VARS}
    env.update(
        HOME=str(scratch / "home"),
        WSNB_LEDGER=str(scratch / "ledger.sqlite"),
        WSNB_OUTPUT_DIR=str(scratch / "reports"),
        WSNB_ENDPOINT=None,
        WSNB_REGION=None,
        HUAWEICLOUD_SDK_PROJECT_ID=None,
    )
    if item.path.name in _NEEDS_SERVER:
        env.update(_server_env(item.config))
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            if value is None:
                patch.delenv(key, raising=False)
            else:
                patch.setenv(key, value)
        yield
