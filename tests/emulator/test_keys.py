"""The emulator's keys: stored with a file db (a restart keeps clients working), or given.

``Emulator(db=file)`` mints AK/SK and a token on the first start and stores them in the db; a
restart on the same file reuses them. Given keys (``ak=``/``sk=``/``token=``, or ``wsnb emulator
serve --ak/--sk/--token`` / ``WSNB_EMULATOR_*``) win and are never stored or printed.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from wsnb.emulator import Emulator

ENV_KEYS = ("WSNB_EMULATOR_AK", "WSNB_EMULATOR_SK", "WSNB_EMULATOR_TOKEN")


def _list_status(emu: Emulator, client_of: Emulator) -> int:
    """Status of a signed list call to ``emu`` made with ``client_of``'s keys."""
    from wsnb.errors import AuthenticationError

    with emu.client(credentials=client_of.credentials, rate_limit=None) as client:
        try:
            client.list_tasks_page(0, 1)
        except AuthenticationError as exc:
            return exc.status or 0
    return 200


def test_file_db_keeps_its_keys_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "emu.sqlite"
    with Emulator(db=db) as first:
        keys = (first.ak, first.sk, first.token)
    with Emulator(db=db) as again:
        assert _list_status(again, first) == 200  # a client of the first run still works
        assert (again.ak, again.sk, again.token) == keys
        assert again.keys_origin == {"aksk": "stored", "token": "stored"}
    assert first.keys_origin == {"aksk": "new", "token": "new"}


def test_memory_emulators_mint_fresh_keys() -> None:
    a, b = Emulator(), Emulator()
    assert a.ak != b.ak and a.sk != b.sk and a.token != b.token
    assert a.keys_origin == {"aksk": "new", "token": "new"}
    a.state.store.close()
    b.state.store.close()


def test_given_keys_win_and_are_not_stored(tmp_path: Path) -> None:
    db = tmp_path / "emu.sqlite"
    with Emulator(db=db) as first:
        minted = (first.ak, first.sk, first.token)
    with Emulator(db=db, ak="GIVENAK", sk="given-secret", token="given-token") as given:
        assert (given.ak, given.sk, given.token) == ("GIVENAK", "given-secret", "given-token")
        assert given.keys_origin == {"aksk": "given", "token": "given"}
        assert given.ak in given.config.keys and minted[0] not in given.config.keys
    raw = db.read_bytes() + (Path(f"{db}-wal").read_bytes() if Path(f"{db}-wal").exists() else b"")
    assert b"given-secret" not in raw and b"given-token" not in raw
    with Emulator(db=db) as later:  # the stored keys are still there, unchanged
        assert (later.ak, later.sk, later.token) == minted


def test_token_and_aksk_are_independent(tmp_path: Path) -> None:
    db = tmp_path / "emu.sqlite"
    with Emulator(db=db) as first:
        pass
    with Emulator(db=db, token="only-token") as again:
        assert (again.ak, again.sk) == (first.ak, first.sk) and again.token == "only-token"
        assert again.keys_origin == {"aksk": "stored", "token": "given"}


def test_half_a_key_pair_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ak and sk go together"):
        Emulator(ak="ONLYAK")
    with pytest.raises(ValueError, match="ak and sk go together"):
        Emulator(db=tmp_path / "e.sqlite", sk="only-secret")


def test_keys_live_in_the_db_meta_table(tmp_path: Path) -> None:
    db = tmp_path / "emu.sqlite"
    with Emulator(db=db) as emu:
        pass
    with sqlite3.connect(db) as con:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    assert (meta["ak"], meta["sk"], meta["token"]) == (emu.ak, emu.sk, emu.token)


# --- wsnb emulator serve --------------------------------------------------------------------------


@contextmanager
def _serve(*args: str, env: dict[str, str] | None = None) -> Iterator[list[str]]:
    """Run ``wsnb emulator serve ARGS`` until it is ready; yields its stdout lines, then stops."""
    environ = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    environ.update(PYTHONUNBUFFERED="1", **(env or {}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wsnb", "emulator", "serve", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ,
    )  # fmt: skip
    try:
        assert proc.stderr is not None and proc.stdout is not None
        for line in proc.stderr:
            if "Press Ctrl-C" in line:
                break
        else:
            pytest.fail(f"serve ended early: {proc.stdout.read()}")
        lines: list[str] = []
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
        lines = out.splitlines()
        yield lines
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _exports(lines: list[str]) -> dict[str, str]:
    return dict(re.findall(r"export (\w+)=(\S+)", "\n".join(lines)))


def test_serve_prints_keys_on_first_start_only(tmp_path: Path) -> None:
    db = str(tmp_path / "emu.sqlite")
    with _serve("--db", db) as first:
        minted = _exports(first)
    assert {"HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "WSNB_AUTH_TOKEN"} <= set(minted)
    with _serve("--db", db) as again:
        shown = _exports(again)
    text = "\n".join(again)
    assert minted["HUAWEICLOUD_SDK_SK"] not in text and minted["WSNB_AUTH_TOKEN"] not in text
    assert "--show-keys" in text and shown["WSNB_ENDPOINT"].startswith("http://127.0.0.1:")
    with _serve("--db", db, "--show-keys") as on_request:
        assert {k: v for k, v in _exports(on_request).items() if k != "WSNB_ENDPOINT"} == {
            k: v for k, v in minted.items() if k != "WSNB_ENDPOINT"
        }


def test_serve_takes_keys_and_never_prints_given_secrets(tmp_path: Path) -> None:
    db = str(tmp_path / "emu.sqlite")
    env = {"WSNB_EMULATOR_SK": "env-secret-key", "WSNB_EMULATOR_TOKEN": "env-token-value"}
    with _serve("--db", db, "--ak", "CLIAK", "--show-keys", env=env) as lines:
        text = "\n".join(lines)
    assert "env-secret-key" not in text and "env-token-value" not in text
    assert _exports(lines)["HUAWEICLOUD_SDK_AK"] == "CLIAK"
    with _serve("--db", db, "--sk", "cli-secret", "--ak", "CLIAK", "--show-keys") as lines:
        assert "cli-secret" not in "\n".join(lines)
