"""Stopping a deletion: a cancel event (``cancel=``), the cancellation of an asyncio task, and
interrupting a real Jupyter kernel. Each must stop new writes at once, close the run in the
ledger with the ids never sent ``pending``, and leave it for ``resume`` to finish with nothing
sent twice."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.deletion.conftest import FAST_RETRY, _client, _deleted_in_log
from wsnb import runner
from wsnb.auth import CREDENTIAL_ENV_VARS
from wsnb.deletion import adelete_tasks, delete_tasks, resume
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger

REPO = Path(__file__).resolve().parents[2]


def _batch_delete_seqs(emu: Emulator) -> list[int]:
    return [e["seq"] for e in emu.control.requests() if e["operation"] == "batch_delete"]


def _check_closed_and_resumable(
    emu: Emulator, book: Ledger, run_id: int, chosen: list[str]
) -> None:
    """The run is closed, no call is left in flight, the ids never sent are pending; resume
    finishes it and nothing was ever sent twice."""
    run = book.run(run_id)
    assert run["status"] == "cancelled"
    calls = book.calls(run_id)
    assert "in_flight" not in set(calls["state"])
    named = {tid for ids in calls["task_ids"] for tid in ids}
    pending = set(book.pending(run_id))
    assert set(chosen) - named <= pending  # never sent: pending
    assert pending, "the run finished before it was cancelled"
    with emu.client(rate_limit=None, retry=FAST_RETRY) as client:
        report = resume(client, book, run_id, progress=False)
    assert report.ok, report.frame["outcome"].value_counts().to_dict()
    assert emu.control.task_ids() == []
    assert max(_deleted_in_log(emu).values()) == 1


def test_cancel_event_stops_a_sync_run(emulator: Emulator, ledger: Ledger) -> None:
    ids = emulator.control.seed(60, seed=50)
    emulator.control.add_fault(operation="batch_delete", kind="latency", latency=0.05)
    stop = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 10:
            stop.set()

    with _client(emulator) as client:
        report = delete_tasks(
            client, ids, ledger=ledger, chunk_size=5, concurrency=2, progress=progress, cancel=stop
        )
    assert report.summary["status"] == "cancelled"
    assert not report.ok
    assert 10 <= report.summary["deleted"] < 60
    assert report.summary["pending"] == 60 - report.summary["deleted"]
    mark = len(_batch_delete_seqs(emulator))
    time.sleep(0.3)
    assert len(_batch_delete_seqs(emulator)) == mark  # nothing left running in the background
    assert any(e["kind"] == "cancelled" for e in report.events)
    _check_closed_and_resumable(emulator, ledger, report.run_id, ids)


def test_cancel_event_stops_an_async_run(emulator: Emulator, ledger: Ledger) -> None:
    ids = emulator.control.seed(40, seed=51)
    emulator.control.add_fault(operation="batch_delete", kind="latency", latency=0.05)
    stop = threading.Event()

    async def main() -> Any:
        async with emulator.async_client(rate_limit=None, retry=FAST_RETRY) as client:
            return await adelete_tasks(
                client,
                ids,
                ledger=ledger,
                chunk_size=4,
                concurrency=2,
                progress=lambda done, total: done >= 8 and stop.set(),  # type: ignore[func-returns-value, arg-type]
                cancel=stop,
            )

    report = asyncio.run(main())
    assert report.summary["status"] == "cancelled"
    assert 8 <= report.summary["deleted"] < 40
    _check_closed_and_resumable(emulator, ledger, report.run_id, ids)


def test_cancelling_the_asyncio_task_closes_the_run(emulator: Emulator, ledger: Ledger) -> None:
    """``task.cancel()`` (what ``asyncio.run`` does on Ctrl-C): the in-flight call is recorded
    as unknown (resume asks the server), the run is closed, ``CancelledError`` propagates."""
    ids = emulator.control.seed(40, seed=52)
    emulator.control.add_fault(operation="batch_delete", kind="latency", latency=0.1)

    async def main() -> None:
        async with emulator.async_client(rate_limit=None, retry=FAST_RETRY) as client:
            task = asyncio.ensure_future(
                adelete_tasks(client, ids, ledger=ledger, chunk_size=4, progress=False)
            )
            while ledger.runs().empty or int(ledger.runs()["deleted"].iloc[0]) < 8:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    time.sleep(0.3)  # calls the server still had in hand finish
    run_id = int(ledger.runs().index[0])
    assert ledger.run(run_id)["status"] == "cancelled"
    states = Counter(ledger.calls(run_id)["state"])
    assert "in_flight" not in states and states["unknown"] >= 1
    calls = ledger.calls(run_id)
    settled = {
        tid
        for named, state in zip(calls["task_ids"], calls["state"], strict=True)
        if state == "ok"
        for tid in named
    }
    mark = emulator.control.requests()[-1]["seq"]
    with emulator.client(rate_limit=None, retry=FAST_RETRY) as client:
        report = resume(client, ledger, run_id, progress=False)
    assert report.ok and report.summary["deleted"] == 40
    assert emulator.control.task_ids() == []
    resent = {
        tid
        for e in emulator.control.requests(mark)
        if e["operation"] == "batch_delete" and e["seq"] > mark
        for tid in e["task_ids"]
    }
    assert resent and not resent & settled  # the rest went out; nothing settled went again


# --- a real kernel --------------------------------------------------------------------------

_CELL = """
import json
from wsnb.client import Client
from wsnb.deletion import delete_tasks
ids = json.load(open({ids!r}))
client = Client.from_env(rate_limit=None)  # a notebook's client outlives the cell
delete_tasks(client, ids, ledger={ledger!r}, chunk_size=5, concurrency=2,
             progress=False, max_deletions=len(ids))
"""


def _ok_calls(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=1.0) as con:
            return int(con.execute("SELECT count(*) FROM calls WHERE state = 'ok'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_interrupting_the_kernel_stops_the_deletion(emulator: Emulator, tmp_path: Path) -> None:
    """Kernel > Interrupt during ``delete_tasks`` in a notebook: the cell ends with
    KeyboardInterrupt, no batch-delete arrives afterwards, the run is closed (``cancelled``),
    the ids never sent are ``pending``, and resume finishes with nothing sent twice."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    ids = emulator.control.seed(300, seed=53)
    emulator.control.add_fault(operation="batch_delete", kind="latency", latency=0.05)
    ids_file = tmp_path / "ids.json"
    ids_file.write_text(json.dumps(ids))
    ledger_path = tmp_path / "ledger.sqlite"
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_ENV_VARS}
    env.update(
        WSNB_ENDPOINT=emulator.endpoint,
        HUAWEICLOUD_SDK_AK=emulator.ak,
        HUAWEICLOUD_SDK_SK=emulator.sk,
        HUAWEICLOUD_SDK_PROJECT_ID=emulator.project_id,
        PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]),
    )
    with runner.kernel_for_current_env() as kernel:
        specs = KernelSpecManager()
        specs.kernel_dirs = [*kernel.kernel_dirs, *specs.kernel_dirs]
        km = KernelManager(kernel_name=kernel.name, kernel_spec_manager=specs)
        km.start_kernel(env=env, cwd=str(tmp_path))
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=60)
            msg_id = kc.execute(_CELL.format(ids=str(ids_file), ledger=str(ledger_path)))
            deadline = time.monotonic() + 60
            while _ok_calls(ledger_path) < 6:
                assert time.monotonic() < deadline, "the deletion made no progress"
                time.sleep(0.01)
            km.interrupt_kernel()
            interrupted = time.monotonic()
            reply = kc.get_shell_msg(timeout=30)
            while reply["parent_header"].get("msg_id") != msg_id:
                reply = kc.get_shell_msg(timeout=30)
            took = time.monotonic() - interrupted
            assert reply["content"]["status"] == "error"
            assert reply["content"]["ename"] == "KeyboardInterrupt"
            assert took < 5, f"the cell took {took:.1f} s to stop"
            mark = _batch_delete_seqs(emulator)
            time.sleep(2.0)
            assert _batch_delete_seqs(emulator) == mark, "batch-deletes went on after the cell"
            # the kernel is usable again
            check = kc.execute_interactive("print(6 * 7)", timeout=30)
            assert check["content"]["status"] == "ok"
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)

    with Ledger(ledger_path) as book:
        run_id = int(book.runs().index[0])
        before = book.outcomes(run_id)
        assert 30 <= int((before["outcome"] == "deleted").sum()) < 300
        _check_closed_and_resumable(emulator, book, run_id, ids)
