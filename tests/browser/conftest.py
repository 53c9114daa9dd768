"""Fixtures for the browser tests: a real JupyterLab server and Debian's Chromium via Playwright.

One server (``jupyter lab``) serves both front ends: JupyterLab under ``/lab`` and, through the
``notebook`` server extension, Notebook 7 under ``/tree`` and ``/notebooks``. It binds 127.0.0.1
on a free port, uses a random token and a temporary root and config directories, and is stopped
when the block that launched it ends. Without ``/usr/bin/chromium`` the tests skip, except under CI
(``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
OUTPUT_DIR = REPO / "test-output"
SERVER_START_TIMEOUT = 60.0


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can screenshot failures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium, or a skip (a failure under CI) naming what is missing."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:  # pragma: no cover - playwright is a test dependency
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but playwright is not importable: {exc}", pytrace=False)
        pytest.skip(f"playwright is not importable: {exc}")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class JupyterServer:
    """A running ``jupyter lab`` server."""

    url: str
    token: str
    root: Path
    log: Path

    def api(self, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def page_url(self, path: str) -> str:
        return f"{self.url}{path}?token={self.token}"


def _quiet_lab_settings(settings_dir: Path) -> None:
    """No news or update prompts: they would cover the notebook in a fresh profile."""
    target = settings_dir / "@jupyterlab" / "apputils-extension"
    target.mkdir(parents=True, exist_ok=True)
    (target / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )


@pytest.fixture(scope="session")
def jupyter_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for the server and its kernels: isolated Jupyter dirs, this venv first."""
    base = tmp_path_factory.mktemp("jupyter")
    settings = base / "lab-settings"
    _quiet_lab_settings(settings)
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        IPYTHONDIR=str(base / "ipython"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(REPO),
    )
    return env


@contextmanager
def launch_jupyter(env: dict[str, str], root: Path) -> Iterator[JupyterServer]:
    """Start ``jupyter lab`` on 127.0.0.1 (free port, random token, no browser) serving ``root``.

    ``--allow-root`` because CI runs as root; the read-only extension manager never looks up
    PyPI. The server is terminated (then killed) when the block ends.
    """
    log = root.parent / f"{root.name}-jupyter.log"
    token = secrets.token_hex(24)
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.extension_manager=readonly",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=root
        )
    server = JupyterServer(url=f"http://127.0.0.1:{port}", token=token, root=root, log=log)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"jupyter lab exited early:\n{log.read_text()[-3000:]}")
            try:
                server.api("/api/status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.25)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def jupyter_launcher() -> Any:
    """``launch_jupyter`` itself, so test modules get it without importing a conftest."""
    return launch_jupyter


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Any]:
    """A headless Chromium driven by Playwright.

    Module-scoped on purpose: while Playwright's sync API is alive it marks an asyncio loop as
    running in the main thread, which would break ``asyncio.run`` in every later test module.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def browser_context(browser: Any) -> Iterator[Any]:
    """A fresh browser context (own cookies and storage), sized for screenshots."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """``test-output/`` at the repository root (gitignored), for screenshots."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR
