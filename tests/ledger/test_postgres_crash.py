"""One PostgreSQL ledger, two "machines": a ``wsnb tasks delete`` started on one (its own home and
working directory) is killed with SIGKILL mid-run, and ``wsnb runs resume`` on the other finishes
it: nothing settled is sent again, nothing unselected is ever sent, nothing twice (the emulator's
request log), and no process prints the ledger URL's password."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from wsnb.auth import CREDENTIAL_ENV_VARS
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger

_REPO = Path(__file__).resolve().parents[2]


def _machine(root: Path, emulator: Emulator, url: str) -> dict[str, str]:
    """The environment of a process on "machine" ``root``: its own home, data dir and
    working dir; the same emulator and the same PostgreSQL ledger (``WSNB_LEDGER``)."""
    (root / "home").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_ENV_VARS}
    env.pop("XDG_DATA_HOME", None)
    return {
        **env,
        "HOME": str(root / "home"),
        "XDG_DATA_HOME": str(root / "home" / "data"),
        "PYTHONPATH": os.pathsep.join(p for p in (str(_REPO), env.get("PYTHONPATH")) if p),
        "WSNB_ENDPOINT": emulator.endpoint,
        "HUAWEICLOUD_SDK_AK": emulator.ak,
        "HUAWEICLOUD_SDK_SK": emulator.sk,
        "HUAWEICLOUD_SDK_PROJECT_ID": emulator.project_id,
        "WSNB_LEDGER": url,
        "WSNB_LEASE_TTL": "2",
    }


def _wsnb(root: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wsnb", *args],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _calls(url: str) -> Counter[str]:
    """The ledger's write-ahead rows by state (empty before the schema exists)."""
    import psycopg

    with psycopg.connect(url) as con:
        if con.execute("SELECT to_regclass('calls')").fetchone() == (None,):
            return Counter()
        rows = con.execute("SELECT state, count(*) FROM calls GROUP BY state").fetchall()
    return Counter({str(state): int(n) for state, n in rows})


@pytest.mark.slow
def test_killed_on_one_machine_resumed_on_another(
    emulator: Emulator, pg_url: str, tmp_path: Path
) -> None:
    password = pg_url.split(":")[2].split("@")[0]
    ids = emulator.control.seed(50, seed=31)
    chosen, kept = ids[:40], ids[40:]
    # 20 chunks of 2, each 0.3 s on the server: the run lasts 6 s unless killed
    emulator.control.add_fault(operation="batch_delete", kind="latency", latency=0.3)
    machine_a, machine_b = tmp_path / "a", tmp_path / "b"
    env_a = _machine(machine_a, emulator, pg_url)
    env_b = _machine(machine_b, emulator, pg_url)
    (machine_a / "ids.txt").write_text("\n".join(chosen) + "\n")
    child = _wsnb(
        machine_a, env_a, "tasks", "delete", "--ids-file", "ids.txt", "--chunk-size", "2",
        "--concurrency", "1", "--max", "40", "-y", "--no-progress",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not ((c := _calls(pg_url))["ok"] >= 3 and c["in_flight"] == 1):
            assert child.poll() is None, "the run finished before it could be killed"
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
        out_a, err_a = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL

    with Ledger(pg_url) as book:
        assert book.run(1)["status"] == "running"  # never closed: it was killed
        before = book.outcomes(1)
        settled = set(before.loc[before["outcome"] != "pending", "task_id"])
        assert settled and len(settled) < len(chosen)
        in_flight = book.calls(1).query("state == 'in_flight'")["task_ids"].iloc[0]
    mark = emulator.control.requests()[-1]["seq"] if emulator.control.requests() else 0
    # The latency only had to keep a call in flight for the kill; machine B's resume runs at
    # full speed (clearing the rule does not shorten the request machine A left in flight).
    emulator.control.clear_faults()

    # machine B: refused while the dead holder's lease is live, then it resumes the run
    deadline = time.monotonic() + 60
    while True:
        resumed = _wsnb(machine_b, env_b, "runs", "resume", "1", "--no-progress")
        out_b, err_b = resumed.communicate(timeout=120)
        if not (resumed.returncode == 5 and "lease" in err_b):
            break
        assert f"pid {child.pid}" in err_b  # the refusal names the dead holder
        assert time.monotonic() < deadline, "the dead holder's lease never expired"
        time.sleep(0.2)
    assert resumed.returncode == 0 and "OK (done)" in out_b, (out_b, err_b)

    assert set(emulator.control.task_ids()) == set(kept)
    every: Counter[str] = Counter()
    resent: set[str] = set()
    for entry in emulator.control.requests():
        if entry["operation"] == "batch_delete":
            every.update(entry["task_ids"])
            if entry["seq"] > mark:
                resent.update(entry["task_ids"])
    assert set(every) == set(chosen)  # nothing unselected was ever sent
    assert max(every.values()) == 1  # and nothing twice
    assert not settled & resent  # nothing settled on machine A was sent again from B
    with Ledger(pg_url) as book:
        run = book.run(1)
        assert run["status"] == "done"
        assert (book.outcomes(1)["outcome"] == "deleted").all()
        assert set(book.outcomes(1).set_index("task_id").loc[in_flight, "outcome"]) == {"deleted"}
        assert any(e["kind"] == "lease_expired" for e in book.events(1))
        assert password not in json.dumps(run, default=str)
    # everything lives in PostgreSQL: neither machine made a SQLite ledger of its own
    assert not list(tmp_path.rglob("*.sqlite"))
    for text in (out_a, err_a, out_b, err_b):
        assert password not in text
