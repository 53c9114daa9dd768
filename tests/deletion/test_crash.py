"""A deletion run stopped mid-way in another process, then resumed: killed with SIGKILL (also
while the server commits a call only after the resume's check, under the reject policy), or
interrupted with SIGINT (Ctrl-C, a non-id 400 on the way). The final state is right and nothing
already settled is sent again (checked in the emulator's request log)."""

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
from wsnb.deletion import restore_tasks, resume
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


def _env(emulator: Emulator) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k not in CREDENTIAL_ENV_VARS},
        "WSNB_ENDPOINT": emulator.endpoint,
        "HUAWEICLOUD_SDK_AK": emulator.ak,
        "HUAWEICLOUD_SDK_SK": emulator.sk,
        "HUAWEICLOUD_SDK_PROJECT_ID": emulator.project_id,
    }


def _start(
    emulator: Emulator, tmp_path: Path, chosen: list[str]
) -> tuple[subprocess.Popen[bytes], Path]:
    ids_file = tmp_path / "ids.json"
    ids_file.write_text(json.dumps(chosen))
    ledger_path = tmp_path / "ledger.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(ids_file), str(ledger_path)],
        env=_env(emulator),
        cwd=Path(__file__).resolve().parents[2],
        stderr=subprocess.PIPE,
    )
    return child, ledger_path


def _stop_mid_call(
    child: subprocess.Popen[bytes], ledger_path: Path, sig: int, ok: int = 3, wait: float = 0.0
) -> None:
    """Send ``sig`` while a call is in flight (for ``wait`` seconds at least), after ``ok``
    calls have settled."""
    deadline = time.monotonic() + 60
    while not ((c := _calls(ledger_path))["ok"] >= ok and c["in_flight"] == 1):
        assert child.poll() is None, "the run finished before it could be stopped"
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.01)
    time.sleep(wait)
    child.send_signal(sig)


def _batch_deletes(emulator: Emulator, after: int = 0) -> Counter[str]:
    counts: Counter[str] = Counter()
    for entry in emulator.control.requests(after):
        if entry["operation"] == "batch_delete" and entry["seq"] > after:
            counts.update(entry["task_ids"])
    return counts


def _calls(path: Path) -> Counter[str]:
    """Write-ahead rows of the ledger by state (empty while the file does not exist yet)."""
    try:
        with sqlite3.connect(path, timeout=1.0) as con:
            rows = con.execute("SELECT state, count(*) FROM calls GROUP BY state").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return Counter()
    return Counter({state: int(n) for state, n in rows})


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
    time.sleep(0.5)  # the server finishes the request the child left in flight

    with Ledger(ledger_path) as book:
        run_id = int(book.runs().index[0])
        assert book.run(run_id)["status"] == "running"  # never closed: it was killed
        before = book.outcomes(run_id)
        settled = set(before.loc[before["outcome"] != "pending", "task_id"])
        assert settled and len(settled) < len(chosen)
        in_flight = book.calls(run_id).query("state == 'in_flight'")["task_ids"].iloc[0]
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


@pytest.mark.slow
def test_sigkill_then_a_late_commit_under_reject(emulator: Emulator, tmp_path: Path) -> None:
    """Killed while its 4th call is in flight; the server commits that call only after the
    resume's check found the tasks still there, so the re-send gets 400 "does not exist" (the
    reject policy). This run deleted them: ``deleted``, not ``already_absent``, and restorable."""
    control = emulator.control
    control.set_policy(unknown_ids="reject")
    ids = control.seed(40, seed=22)
    chosen = ids[:30]
    control.add_fault(operation="batch_delete", kind="latency", latency=0.15)
    control.add_fault(operation="batch_delete", kind="latency", latency=1.5, skip=3, count=1)
    child, ledger_path = _start(emulator, tmp_path, chosen)
    try:
        _stop_mid_call(child, ledger_path, signal.SIGKILL, wait=0.3)  # the request is out
    finally:
        child.wait(timeout=30)
    control.clear_faults()
    # the re-send reaches the server after the late commit of the killed call
    control.add_fault(operation="batch_delete", kind="latency", latency=2.5, count=1)
    with Ledger(ledger_path) as book:
        run_id = int(book.runs().index[0])
        in_flight = book.calls(run_id).query("state == 'in_flight'")["task_ids"].iloc[0]
        with emulator.client(rate_limit=None) as client:
            report = resume(client, book, run_id, progress=False)
            assert report.ok, report.frame["outcome"].value_counts().to_dict()
            assert report.summary["deleted"] == 30
            resumed = [e for e in book.events(run_id) if e["kind"] == "resumed"]
            assert resumed[0]["checked"] == 5 and resumed[0]["gone"] == 0  # not committed yet
            outcomes = book.outcomes(run_id).set_index("task_id")["outcome"]
            assert (outcomes[in_flight] == "deleted").all()
            late = [e for e in book.events(run_id) if e["kind"] == "gone" and e["deleted"]]
            assert sum(e["deleted"] for e in late) == 5
            restored = restore_tasks(client, book, run_id, ids=in_flight)
            assert (restored["state"] == "ok").all() and len(restored) == 5
    committed = [
        e
        for e in control.requests()
        if e["operation"] == "batch_delete" and e["task_ids"] == in_flight and e["status"] == 200
    ]
    assert len(committed) == 1  # the killed call's, late: nothing was deleted twice
    assert set(control.task_ids()) == set(ids[30:]) | set(restored["new_id"])


@pytest.mark.slow
def test_sigint_closes_the_run_then_resume(emulator: Emulator, tmp_path: Path) -> None:
    """Ctrl-C (no event loop running: the plain path) while a call is in flight, after a
    non-id 400 split a chunk: the call settles, nothing new is sent, the run is closed as
    ``cancelled`` with the unsent ids ``pending``; resume finishes, nothing deleted twice."""
    control = emulator.control
    ids = control.seed(80, seed=23)
    chosen = ids[:60]
    control.add_fault(operation="batch_delete", kind="latency", latency=0.15)
    control.add_fault(
        operation="batch_delete",
        status=400,
        error_code="WKS.0001",
        error_msg="Invalid request.",
        skip=1,
        count=1,
    )
    child, ledger_path = _start(emulator, tmp_path, chosen)
    try:
        _stop_mid_call(child, ledger_path, signal.SIGINT, ok=4)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.stderr is not None
    stderr = child.stderr.read().decode()
    assert child.returncode != 0 and "KeyboardInterrupt" in stderr
    mark = control.requests()[-1]["seq"]
    time.sleep(0.5)
    assert not _batch_deletes(emulator, mark)

    with Ledger(ledger_path) as book:
        run_id = int(book.runs().index[0])
        assert book.run(run_id)["status"] == "cancelled"
        calls = book.calls(run_id)
        assert "in_flight" not in set(calls["state"])  # the call in flight settled
        assert "split" in {e["kind"] for e in book.events(run_id)}
        named = {tid for named in calls["task_ids"] for tid in named}
        pending = book.pending(run_id)
        assert set(chosen) - named <= set(pending) and pending
        before = book.outcomes(run_id)
        settled = set(before.loc[before["outcome"] != "pending", "task_id"])
        with emulator.client(rate_limit=None) as client:
            report = resume(client, book, run_id, progress=False)
        assert report.ok and report.summary["deleted"] == 60
    assert set(control.task_ids()) == set(ids[60:])
    assert not settled & set(_batch_deletes(emulator, mark))
    accepted: Counter[str] = Counter()
    for entry in control.requests():
        if entry["operation"] == "batch_delete" and entry["status"] == 200:
            accepted.update(entry["task_ids"])
    assert set(accepted) == set(chosen) and max(accepted.values()) == 1
