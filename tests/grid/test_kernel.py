"""The grid in a real IPython kernel (jupyter_client + ipykernel), spoken to over its comm.

The dry run and the real run work in a background thread: the kernel must keep answering the
widget's messages meanwhile, and the thread's trait changes must still reach the front end.
The grid must also notice, after any cell runs, that its client was closed.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

SETUP = """
from wsnb import TaskGrid, tasks_frame
emu_client = __import__("wsnb").Client(
    endpoint={endpoint!r}, project_id={project_id!r}, rate_limit=None,
    credentials=__import__("wsnb").Credentials(ak={ak!r}, sk={sk!r}),
)
grid = TaskGrid(tasks_frame(emu_client), client=emu_client, ledger={ledger!r})
grid.select(grid.frame.index[:3])
print("COMM", grid.comm.comm_id)
"""


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Any]:
    from jupyter_client.manager import start_new_kernel

    env = dict(os.environ, PYTHONPATH=str(REPO))
    manager, client = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _run(kc: Any, code: str) -> list[dict[str, Any]]:
    """Execute ``code``; return the iopub messages it produced (fails on an error)."""
    seen: list[dict[str, Any]] = []
    reply = kc.execute_interactive(code, timeout=60, output_hook=seen.append)
    assert reply["content"]["status"] == "ok", reply["content"]
    return seen


def _send(kc: Any, comm_id: str, data: dict[str, Any]) -> None:
    kc.session.send(kc.shell_channel.socket, "comm_msg", {"comm_id": comm_id, "data": data})


def _updates(kc: Any, comm_id: str, until: Any, timeout: float = 60.0) -> list[dict[str, Any]]:
    """The state updates the kernel sends on ``comm_id`` until ``until(states)`` holds."""
    states: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not until(states):
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; got {[sorted(s) for s in states]}"
        try:
            msg = kc.get_iopub_msg(timeout=left)
        except queue.Empty:
            continue
        content = msg["content"]
        mine = msg["msg_type"] == "comm_msg" and content.get("comm_id") == comm_id
        if mine and content["data"].get("method") == "update":
            states.append(content["data"]["state"])
    return states


def test_the_kernel_answers_while_a_dry_run_works_and_the_thread_updates_arrive(
    kernel: Any, emulator: Any, tmp_path: Path
) -> None:
    emulator.control.seed(20, seed=4)
    code = SETUP.format(
        endpoint=emulator.endpoint,
        project_id=emulator.project_id,
        ak=emulator.ak,
        sk=emulator.sk,
        ledger=str(tmp_path / "ledger.sqlite"),
    )
    out = _run(kernel, code)
    text = "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")
    comm_id = text.split("COMM", 1)[1].strip()
    emulator.control.add_fault(operation="get_task", kind="latency", latency=0.5)

    _send(kernel, comm_id, {"method": "custom", "content": {"action": "delete_preview"}})
    _send(kernel, comm_id, {"method": "update", "state": {"page_size": 5}, "buffer_paths": []})
    states = _updates(kernel, comm_id, lambda s: any(x.get("delete_state") == "confirm" for x in s))
    order = [
        "rows" if "rows" in s else s.get("delete_state") for s in states
    ]  # what the front end saw, in order
    answered = order.index("rows")
    confirmed = order.index("confirm")
    assert "previewing" in order[:confirmed]
    assert answered < confirmed  # the page-size change was answered during the dry run
    rows = next(s["rows"] for s in states if "rows" in s)
    assert len(rows) == 5

    # After any cell, the grid checks its client: closing it disables the panel.
    seen = _run(kernel, "emu_client.close()")
    closed = [
        m["content"]["data"]["state"]
        for m in seen
        if m["msg_type"] == "comm_msg" and m["content"]["data"].get("method") == "update"
    ]
    assert any(s.get("client_closed") is True for s in closed), closed
    assert any("client is closed" in s.get("delete_message", "") for s in closed)
