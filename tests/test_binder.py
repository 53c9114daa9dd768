"""binder/postBuild and binder/start, run for real in a fresh, throwaway virtual environment.

The venv is made fast and offline: it sees the base interpreter's packages
(``--system-site-packages``) plus, through a ``.pth`` file, this venv's site-packages; pip runs
with ``PIP_NO_INDEX``/``PIP_NO_DEPS``/no build isolation, so ``pip install .`` installs only wsnb.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from wsnb.auth import CREDENTIAL_ENV_VARS

pytestmark = pytest.mark.slow  # every test needs the venv postBuild installs into

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (from the base interpreter) that can import this venv's packages."""
    root = tmp_path_factory.mktemp("binder") / "venv"
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    subprocess.run(
        [str(base), "-m", "venv", "--system-site-packages", "--without-pip", str(root)],
        check=True,
        timeout=60,
    )
    site = next((root / "lib").glob("python3*/site-packages"))
    (site / "_wsnb_test_parent.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return root


def venv_env(venv: Path, **extra: str) -> dict[str, str]:
    # no PYTHONPATH either: a source tree on it would shadow the copy postBuild installs
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "VIRTUAL_ENV")) and k != "PYTHONPATH"
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        PIP_NO_INDEX="1",
        PIP_NO_DEPS="1",
        PIP_IGNORE_INSTALLED="1",
        PIP_NO_BUILD_ISOLATION="0",  # pip's inverted spelling: *disables* build isolation
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_WARN_SCRIPT_LOCATION="1",
    )
    for name in (*CREDENTIAL_ENV_VARS, "WSNB_ENDPOINT"):
        env.pop(name, None)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def built(venv: Path) -> Path:
    """The venv after ``binder/postBuild`` ran in it (from the repository root)."""
    done = subprocess.run(
        [str(BINDER / "postBuild")],
        cwd=REPO,
        env=venv_env(venv),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


def test_post_build_installs_wsnb_into_the_venv(built: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [str(built / "bin" / "python"), "-c", "import wsnb, sys; print(wsnb.__file__)"],
        cwd=tmp_path,  # not the repository: the import must come from the install
        env=venv_env(built),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(built), where
    assert (built / "bin" / "wsnb").is_file()


def test_post_build_turns_off_the_news_pop_up(built: Path) -> None:
    config = built / "etc" / "jupyter" / "labconfig" / "page_config.json"
    disabled = json.loads(config.read_text())["disabledExtensions"]
    assert disabled["@jupyterlab/apputils-extension:announcements"] is True


CHECK = """
import os, sys
import wsnb
from wsnb.auth import Credentials
with wsnb.Client.from_env() as client:
    frame = wsnb.tasks_frame(client)
print("endpoint", os.environ["WSNB_ENDPOINT"], "tasks", len(frame))
sys.exit(0 if len(frame) == int(sys.argv[1]) else 3)
"""


@pytest.fixture
def start_run(built: Path, tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """Where ``binder/start`` keeps its state; stops the emulator it left running afterwards."""
    state = tmp_path / "state"
    env = venv_env(built, WSNB_BINDER_DIR=str(state), WSNB_DEMO_TASKS="120")
    yield state, env
    pid_file = state / "emulator.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


def test_start_serves_seeded_tasks_then_execs_the_command(
    built: Path, start_run: tuple[Path, dict[str, str]]
) -> None:
    state, env = start_run
    done = subprocess.run(
        [str(BINDER / "start"), str(built / "bin" / "python"), "-c", CHECK, "120"],
        cwd=state.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tasks 120" in done.stdout
    pid = int((state / "emulator.pid").read_text())
    os.kill(pid, 0)  # still serving after the command: it belongs to the server's session
    assert oct((state).stat().st_mode & 0o777) == "0o700"
