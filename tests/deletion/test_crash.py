"""Runs killed with SIGKILL mid-way, then finished by another process: a deletion resumed (nothing
already settled is sent again, checked in the emulator's request log), a restore restored again (no
twin task), and a run still alive in one process refused to the others (the run's lease).
Also: a run killed while the server commits a call only after the resume's check (reject
policy), or interrupted with SIGINT (Ctrl-C, a non-id 400 on the way)."""

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
from typing import Any

import pytest

from wsnb.auth import CREDENTIAL_ENV_VARS
from wsnb.deletion import delete_tasks, restore_tasks, resume
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


def _start(
    emulator: Emulator, tmp_path: Path, chosen: list[str]
) -> tuple[subprocess.Popen[bytes], Path]:
    ids_file = tmp_path / "ids.json"
    ids_file.write_text(json.dumps(chosen))
    ledger_path = tmp_path / "ledger.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(ids_file), str(ledger_path)],
        env=_env(emulator, ledger_path),
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
    env = _env(emulator, ledger_path)
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
        while book.lease_holder(run_id) is not None:  # the dead child's lease lapses
            time.sleep(0.1)
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


# --- two processes, one run: the run's lease ------------------------------------------------------

#: The lease of the children's runs lapses 2 s after their last heartbeat (the default is 30 s).
_LEASE_TTL = "2"


def _env(emulator: Emulator, ledger_path: Path) -> dict[str, str]:
    """A child's environment: the emulator's endpoint and keys, the ledger, a short lease."""
    return {
        **{k: v for k, v in os.environ.items() if k not in CREDENTIAL_ENV_VARS},
        "WSNB_ENDPOINT": emulator.endpoint,
        "HUAWEICLOUD_SDK_AK": emulator.ak,
        "HUAWEICLOUD_SDK_SK": emulator.sk,
        "HUAWEICLOUD_SDK_PROJECT_ID": emulator.project_id,
        "WSNB_LEDGER": str(ledger_path),
        "WSNB_LEASE_TTL": _LEASE_TTL,
    }


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wsnb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``wsnb ARGS`` in a child process, to the end."""
    child = _spawn(["-m", "wsnb", *args], env)
    out, err = child.communicate(timeout=120)
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def _refused(done: subprocess.CompletedProcess[str]) -> bool:
    """The command was turned away because another process holds the run's lease."""
    return done.returncode == 5 and "lease" in done.stderr


def _until_free(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``wsnb ARGS`` again and again while the run is held by a (dead) process's lease."""
    deadline = time.monotonic() + 60
    while _refused(done := _wsnb(env, *args)):
        assert time.monotonic() < deadline, "the dead holder's lease never expired"
        time.sleep(0.2)
    return done


def _kill(child: subprocess.Popen[str]) -> None:
    """SIGKILL ``child`` (if still running) and reap it."""
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)


@pytest.mark.slow
def test_a_live_run_is_refused_and_a_dead_ones_resumed_once(
    emulator: Emulator, tmp_path: Path
) -> None:
    ids = emulator.control.seed(60, seed=23)
    chosen, kept = ids[:40], ids[40:]
    # 20 chunks of 2, each 0.4 s on the server: the run lasts 8 s unless killed
    emulator.control.add_fault(operation="batch_delete", kind="latency", latency=0.4)
    ids_file = tmp_path / "ids.json"
    ids_file.write_text(json.dumps(chosen))
    ledger_path = tmp_path / "ledger.sqlite"
    env = _env(emulator, ledger_path)
    child = _spawn(["-c", _CHILD.replace("chunk_size=5", "chunk_size=2"), str(ids_file),
                    str(ledger_path)], env)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not ((c := _calls(ledger_path))["ok"] >= 2 and c["in_flight"] == 1):
            assert child.poll() is None, "the run finished before it could be resumed"
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.01)
        # Another process resumes the run while its first process still runs it: refused,
        # naming the holder.
        other = _wsnb(env, "runs", "resume", "1", "--no-progress")
        assert child.poll() is None, "the run ended before the second process asked"
        assert _refused(other), (other.returncode, other.stdout, other.stderr)
        assert f"pid {child.pid}" in other.stderr and "expires" in other.stderr
    finally:
        _kill(child)
    assert child.returncode == -signal.SIGKILL
    time.sleep(0.5)  # the server finishes the request the child left in flight

    # Two processes resume the dead run at once, once its lease has lapsed: one of them does
    # it, the other is turned away (the winner's lease is live, its run lasts seconds).
    with Ledger(ledger_path) as book:
        while book.lease_holder(1) is not None:
            time.sleep(0.1)
    first = _spawn(["-m", "wsnb", "runs", "resume", "1", "--no-progress"], env)
    second = _spawn(["-m", "wsnb", "runs", "resume", "1", "--no-progress"], env)
    results = []
    for proc in (first, second):
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    assert sorted(_refused(r) for r in results) == [False, True], results
    winner = next(r for r in results if not _refused(r))
    assert winner.returncode == 0 and "OK (done)" in winner.stdout, winner

    assert set(emulator.control.task_ids()) == set(kept)
    every: Counter[str] = Counter()
    for entry in emulator.control.requests():
        if entry["operation"] == "batch_delete":
            every.update(entry["task_ids"])
    assert set(every) == set(chosen)  # nothing unselected was ever sent
    assert max(every.values()) == 1  # and nothing twice
    with Ledger(ledger_path) as book:
        assert book.run(1)["status"] == "done"
        assert (book.outcomes(1)["outcome"] == "deleted").all()


# --- killed while restoring -----------------------------------------------------------------------


def _definition(detail: Any) -> str:
    """A show response as comparable text: no id, no ``object_name`` (derived on create)."""
    out = {k: v for k, v in detail.items() if k != "id"}
    out["apply_objects"] = [
        {k: v for k, v in obj.items() if k != "object_name"} for obj in out.get("apply_objects", [])
    ]
    return json.dumps(out, sort_keys=True)


@pytest.mark.slow
def test_sigkill_during_restore_then_restore_again(emulator: Emulator, tmp_path: Path) -> None:
    ids = emulator.control.seed(8, seed=24)
    chosen = ids[:5]
    ledger_path = tmp_path / "ledger.sqlite"
    with emulator.client(rate_limit=None) as client:
        before = Counter(_definition(client.get_task(i)) for i in chosen)
        report = delete_tasks(client, chosen, ledger=ledger_path, progress=False)
    assert report.summary["deleted"] == 5
    # The 3rd create is done on the server, then its answer takes 5 s: killed in between.
    emulator.control.add_fault(
        operation="create_task", kind="latency", latency=5.0, phase="after", skip=2, count=1
    )
    env = _env(emulator, ledger_path)
    child = _spawn(["-m", "wsnb", "runs", "restore", "1", "-y"], env)
    try:
        deadline = time.monotonic() + 60
        while _restores(ledger_path) != Counter({"ok": 2, "in_flight": 1}):
            assert child.poll() is None, "the restore ended before it could be killed"
            assert time.monotonic() < deadline, "the restore made no progress"
            time.sleep(0.01)
        time.sleep(1.0)  # the 3rd create reached the server, its answer is on its way
    finally:
        _kill(child)
    assert child.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30  # the server finishes the create the child left in flight
    while sum(e["operation"] == "create_task" for e in emulator.control.requests()) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.1)

    again = _until_free(env, "runs", "restore", "1", "-y", "--format", "json")
    assert again.returncode == 0, (again.stdout, again.stderr)
    after = set(emulator.control.task_ids())
    assert len(after) == 8  # the 3 kept and exactly 5 restored: no twin
    with emulator.client(rate_limit=None) as client:
        restored = Counter(_definition(client.get_task(i)) for i in after - set(ids))
    assert restored == before  # equal definitions
    assert sum(e["operation"] == "create_task" for e in emulator.control.requests()) == 5
    with Ledger(ledger_path) as book:
        mapping = book.restores(1)
        assert (mapping["state"] == "ok").all() and set(mapping["new_id"]) == after - set(ids)
        resolved = [e for e in book.events(1) if e["kind"] == "restore_resolved"]
        assert len(resolved) == 1 and resolved[0]["found"] is True


def _restores(path: Path) -> Counter[str]:
    """Restore rows of the ledger by state."""
    try:
        with sqlite3.connect(path, timeout=1.0) as con:
            rows = con.execute("SELECT state, count(*) FROM restores GROUP BY state").fetchall()
    except sqlite3.OperationalError:
        return Counter()
    return Counter({state: int(n) for state, n in rows})


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
    # long enough to outlast the dead child's lease (2 s), so the resume checks before the commit
    control.add_fault(operation="batch_delete", kind="latency", latency=5.0, skip=3, count=1)
    child, ledger_path = _start(emulator, tmp_path, chosen)
    try:
        _stop_mid_call(child, ledger_path, signal.SIGKILL, wait=0.3)  # the request is out
    finally:
        child.wait(timeout=30)
    control.clear_faults()
    # the re-send reaches the server after the late commit of the killed call
    control.add_fault(operation="batch_delete", kind="latency", latency=5.0, count=1)
    with Ledger(ledger_path) as book:
        run_id = int(book.runs().index[0])
        while book.lease_holder(run_id) is not None:  # the dead child's lease lapses
            time.sleep(0.1)
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
