"""A throwaway PostgreSQL server for the ledger tests (and ``bench/bench_ledger.py``).

:class:`Cluster` runs Debian's PostgreSQL binaries (``/usr/lib/postgresql/<version>/bin``):
``initdb`` into a temp dir, ``pg_ctl start`` on a free 127.0.0.1 port with its unix socket in the
temp dir, password (SCRAM) authentication over TCP for the superuser ``wsnb``, and ``pg_ctl stop``
+ removal at the end. ``initdb`` refuses to run as root, so as root the server runs as the
``postgres`` user (``runuser``) on a temp dir chowned to it.

Fixtures (registered by ``tests/conftest.py``): ``postgres`` (session: the cluster) and
``pg_url`` (a fresh, empty database per test, as a ``postgresql://wsnb:<password>@…`` URL).
Without PostgreSQL or psycopg they skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import glob
import itertools
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = "wsnb"


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found.sort(key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0)
    return found[-1] if found else None


def missing() -> str | None:
    """Why a cluster cannot start here (None: it can)."""
    if pg_bin() is None:
        return "PostgreSQL is not installed (apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'wsnb[postgres]')"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """One running PostgreSQL server in a temp dir (``durable=False``: ``fsync=off``, for
    tests; the benchmark keeps PostgreSQL's durable defaults)."""

    def __init__(self, *, durable: bool = False) -> None:
        binary = pg_bin()
        assert binary is not None
        self.bin = binary
        self.root = Path(tempfile.mkdtemp(prefix="wsnb-pg-"))
        self.data = self.root / "data"
        self.password = "pw-" + secrets.token_hex(8)
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o755)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}", "-E", "UTF8",
            "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync",
        )  # fmt: skip
        pwfile.unlink()
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip
        self._names = itertools.count()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as, str(self.bin / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )

    def url(self, database: str = "postgres") -> str:
        """A TCP URL with the password (what a user would put in ``WSNB_LEDGER``)."""
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; returns its URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def unavailable_module(reason: str) -> None:
    """For a test module that cannot even be imported here (psycopg missing): skip it, or fail
    under ``CI=true``."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A PostgreSQL server for the whole session (skips without one, fails under CI)."""
    reason = missing()
    if reason is not None:
        _unavailable(reason)
    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(postgres: Cluster) -> str:
    """A fresh database of the session's server, as a URL with its password."""
    return postgres.create_database()
