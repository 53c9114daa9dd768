"""``Emulator`` (threaded uvicorn), ``Control`` and the ``wsnb emulator serve`` command."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from wsnb.emulator import Control, ControlError, Emulator
from wsnb.emulator._cli import build_emulator
from wsnb.emulator._cli import emulator as emulator_group


def test_starts_inside_a_running_event_loop() -> None:
    """As in Jupyter: the caller's thread already runs a loop."""

    async def main() -> int:
        with Emulator(tasks=5) as emu:
            async with httpx.AsyncClient(headers={"X-Auth-Token": emu.token}) as http:
                r = await http.get(
                    f"{emu.endpoint}/v2/{emu.project_id}/scheduled-tasks",
                    params={"offset": 0, "limit": 50, "scheduled_type": "DAY"},
                )
                assert r.status_code == 200
                return len(emu.control.task_ids())

    assert asyncio.run(main()) == 5


def test_endpoint_port_and_stop() -> None:
    emu = Emulator()
    assert "not started" in repr(emu)
    with pytest.raises(RuntimeError):
        _ = emu.control
    emu.start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emu.endpoint)
    assert emu.control.health()["project_id"] == emu.project_id
    emu.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(emu.endpoint + "/_emulator/health")


def test_two_emulators_are_independent(make_emulator: object) -> None:
    a = make_emulator(tasks=3)  # type: ignore[operator]
    b = make_emulator(tasks=0)  # type: ignore[operator]
    assert a.endpoint != b.endpoint
    assert len(a.control.task_ids()) == 3 and b.control.task_ids() == []


def test_control_round_trip(emulator: Emulator) -> None:
    ids = emulator.control.seed(10, seed=2)
    assert sorted(emulator.control.task_ids()) == sorted(ids)
    assert emulator.control.tick(task_ids=ids[:2], status="SKIP") == 2
    dump = emulator.control.dump(emulator.project_id)
    assert len(dump["tasks"]) == 10
    assert {t["last_status"] for t in dump["tasks"] if t["id"] in ids[:2]} == {"SKIP"}
    emulator.control.set_policy(unknown_ids="reject")
    assert emulator.control.health()["unknown_ids"] == "reject"
    emulator.control.reset()
    assert emulator.control.health()["unknown_ids"] == "ignore"
    assert emulator.control.task_ids() == [] and emulator.control.requests() == []
    with pytest.raises(ValueError, match="status"):
        emulator.control.add_fault(operation="*", kind="status", status=200)
    emulator.control.seed(2, seed=5)
    with pytest.raises(ControlError, match="409"):
        emulator.control.seed(2, seed=5)  # same ids again


def test_request_log_entries(emulator: Emulator) -> None:
    http = httpx.Client(base_url=emulator.endpoint, headers={"X-Auth-Token": emulator.token})
    base = f"/v2/{emulator.project_id}/scheduled-tasks"
    r = http.delete(f"{base}/abc")
    http.post(f"{base}/batch-delete", json={"task_ids": ["x", "y"]})
    http.close()
    first, second = emulator.control.requests()
    assert first["method"] == "DELETE" and first["path"] == f"{base}/abc"
    assert first["operation"] == "delete_task" and first["status"] == 400
    assert first["request_id"] == r.headers["x-request-id"]
    assert first["task_ids"] == ["abc"] and first["project_id"] == emulator.project_id
    assert second["task_ids"] == ["x", "y"] and second["seq"] == first["seq"] + 1
    assert emulator.control.requests(since=first["seq"]) == [second]
    assert set(first) >= {"seq", "time", "method", "path", "operation", "status",
                          "project_id", "request_id", "task_ids"}  # fmt: skip


def test_cli_help_lists_the_options() -> None:
    result = CliRunner().invoke(emulator_group, ["serve", "--help"])
    assert result.exit_code == 0
    options = ["--host", "--port", "--db", "--seed", "--tasks", "--project-id", "--auth"]
    options += ["--unknown-ids", "--reads-per-minute", "--retry-after", "--fault-rate"]
    for option in options:
        assert option in result.output


def test_cli_builds_what_the_flags_say(tmp_path: Path) -> None:
    emu = build_emulator(
        host="127.0.0.1", port=0, db=str(tmp_path / "x.db"), seed=1, tasks=4, project_id="p1",
        auth="loose", unknown_ids="reject", reads_per_minute=10, writes_per_minute=None,
        retry_after=False, fault_rate=0.25, fault_status=503,
    )  # fmt: skip
    assert emu.project_id == "p1" and emu.config.auth == "loose"
    assert emu.config.unknown_ids == "reject"
    assert emu.config.throttle is not None and emu.config.throttle.reads_per_minute == 10
    assert emu.config.throttle.retry_after is False
    assert emu.state.faults.describe()[0]["probability"] == 0.25
    emu.state.store.close()


def test_cli_serve_prints_exports_and_stops_on_ctrl_c() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wsnb", "emulator", "serve", "--tasks", "3", "--project-id", "demo"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        lines = [proc.stdout.readline() for _ in range(8)]  # type: ignore[union-attr]
        text = "".join(lines)
        endpoint = re.search(r"listening on (http://\S+)", text)
        assert endpoint, text
        assert "export HUAWEICLOUD_SDK_AK=" in text and "export HUAWEICLOUD_SDK_SK=" in text
        assert "export HUAWEICLOUD_SDK_PROJECT_ID=demo" in text
        with Control(endpoint.group(1)) as control:
            assert len(control.task_ids()) == 3
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serves_requests_concurrently(make_emulator: object) -> None:
    """Two API calls are inside their handlers at once: a slow call does not hold up others."""
    emu = make_emulator(tasks=5, auth="loose")  # type: ignore[operator]
    both_inside = threading.Barrier(2, timeout=10)
    list_raw = emu.state.store.list_raw

    def meeting_list_raw(*args: Any, **kw: Any) -> Any:
        both_inside.wait()  # broken if the server runs one handler at a time
        return list_raw(*args, **kw)

    emu.state.store.list_raw = meeting_list_raw
    url = f"{emu.endpoint}/v2/{emu.project_id}/scheduled-tasks"

    def get(_: int) -> int:
        return httpx.get(url, params={"offset": 0, "limit": 50}, timeout=30).status_code

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(get, range(2))) == [200, 200]
