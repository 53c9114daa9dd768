"""A deletion run killed with SIGKILL mid-way, then resumed: the final state is right and
nothing already settled is sent again (checked in the emulator's request log)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from wsnb.auth import CREDENTIAL_ENV_VARS
from wsnb.deletion import resume
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger

_CHILD = """
import json, sys
from wsnb.client import Client
from wsnb.deletion import delete_tasks
ids = json.loads(open(sys.argv[1]).read())
with Client.from_env(rate_limit=None) as client:
    delete_tasks(client, ids, ledger=sys.argv[2], chunk_size=5, concurrency=1,
                 progress=False, max_deletions=len(ids))
"""


def _calls(path: Path) -> Counter[str]:
    """Write-ahead rows of the ledger by state (empty while the file does not exist yet)."""
    try:
        with sqlite3.connect(path, timeout=1.0) as con:
            rows = con.execute("SELECT state, count(*) FROM calls GROUP BY state").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return Counter()
    return Counter({state: int(n) for state, n in rows})


def _logged(emulator: Emulator, task_ids: list[str]) -> bool:
    """Whether the emulator has handled a batch delete of exactly ``task_ids``."""
    return any(
        e["operation"] == "batch_delete" and e["task_ids"] == task_ids
        for e in emulator.control.requests()
    )


@pytest.mark.slow
def test_sigkill_then_resume(emulator: Emulator, tmp_path: Path) -> None:
    ids = emulator.control.seed(80, seed=21)
    chosen, kept = ids[:60], ids[60:]
    # Each batch-delete takes 0.15 s on the server: 12 calls, killed after a few.
    emulator.control.add_fault(operation="batch_delete", kind="latency", latency=0.15)
    ids_file = tmp_path / "ids.json"
    ids_file.write_text(json.dumps(chosen))
    ledger_path = tmp_path / "ledger.sqlite"
    env = {
        **{k: v for k, v in os.environ.items() if k not in CREDENTIAL_ENV_VARS},
        "WSNB_ENDPOINT": emulator.endpoint,
        "HUAWEICLOUD_SDK_AK": emulator.ak,
        "HUAWEICLOUD_SDK_SK": emulator.sk,
        "HUAWEICLOUD_SDK_PROJECT_ID": emulator.project_id,
    }
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(ids_file), str(ledger_path)],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        deadline = time.monotonic() + 60
        # kill while a call is in flight, after a few have settled
        while not ((c := _calls(ledger_path))["ok"] >= 3 and c["in_flight"] == 1):
            assert child.poll() is None, "the run finished before it could be killed"
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    with Ledger(ledger_path) as book:
        run_id = int(book.runs().index[0])
        assert book.run(run_id)["status"] == "running"  # never closed: it was killed
        before = book.outcomes(run_id)
        settled = set(before.loc[before["outcome"] != "pending", "task_id"])
        assert settled and len(settled) < len(chosen)
        in_flight = book.calls(run_id).query("state == 'in_flight'")["task_ids"].iloc[0]
        # Let the server finish the request the child left in flight (it logs a request once
        # handled). If the kill came before the request left, nothing will arrive: give up
        # waiting after a generous deadline and go on with "not received".
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not _logged(emulator, in_flight):
            time.sleep(0.02)
        mark = emulator.control.requests()[-1]["seq"]
        emulator.control.clear_faults()
        with emulator.client(rate_limit=None) as client:
            report = resume(client, book, run_id, progress=False)
        assert report.ok
        assert report.summary["deleted"] == 60
        assert book.run(run_id)["status"] == "done"
        resumed = [e for e in book.events(run_id) if e["kind"] == "resumed"]
        assert resumed == [resumed[0]] and resumed[0]["checked"] == 5
        # The kill may land before the in-flight request left (write-ahead comes first) or
        # after the server got it; resume must tell which from the server, not guess.
        received = any(
            e["operation"] == "batch_delete" and e["task_ids"] == in_flight
            for e in emulator.control.requests()
            if e["seq"] <= mark
        )
        assert resumed[0]["gone"] == (5 if received else 0)
        outcomes = book.outcomes(run_id).set_index("task_id")["outcome"]
        assert (outcomes[in_flight] == "deleted").all()

    assert set(emulator.control.task_ids()) == set(kept)
    resent: Counter[str] = Counter()
    every: Counter[str] = Counter()
    for entry in emulator.control.requests():
        if entry["operation"] == "batch_delete":
            every.update(entry["task_ids"])
            if entry["seq"] > mark:
                resent.update(entry["task_ids"])
    assert not settled & set(resent)  # nothing already settled was sent again
    if received:  # nor the chunk in flight at the kill, when the server had done it
        assert not set(in_flight) & set(resent)
    assert set(every) == set(chosen)  # nothing unselected was ever sent
    assert max(every.values()) == 1  # and nothing twice
