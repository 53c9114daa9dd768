"""Grid test fixtures, and ``Browser``: drives a TaskGrid headlessly, exactly as the front end does.

``Browser`` sends the same comm messages the anywidget front end sends (trait updates and custom
``{"action": ...}`` messages) and records what the kernel sends back, so the grid tests cover the
widget protocol without a browser. Expected ids are computed with plain pandas, never typed in.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from wsnb.frames import TASK_COLUMNS
from wsnb.grid import TaskGrid
from wsnb.grid._sample import sample_tasks_frame

SCHEMA = TASK_COLUMNS  # the grid is tested on exactly the frame schema tasks_frame returns


def make_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A frame with the exact ``tasks_frame`` schema from a few hand-written rows."""
    defaults: dict[str, Any] = {
        "task_name": "t",
        "task_type": "REBOOT",
        "scheduled_type": "DAY",
        "life_cycle_type": None,
        "last_status": "SUCCESS",
        "enable": True,
        "next_execution_time": "2026-03-01 00:00",
        "expire_time": None,
        "time_zone": "UTC",
        "description": "",
        "priority": 1,
        "wait_time": 0,
        "life_cycle_exec_period": None,
        "extra_params": "",
    }
    full = [defaults | r for r in rows]
    frame = pd.DataFrame(
        {c: [r[c] for r in full] for c in SCHEMA},
        index=pd.Index([r["id"] for r in full], dtype="string", name="task_id"),
    )
    for column in ("next_execution_time", "expire_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.astype(SCHEMA)


class Browser:
    """Speaks the widget comm protocol to a grid, as the front end would."""

    def __init__(self, grid: TaskGrid) -> None:
        self.grid = grid
        self.sent: list[dict[str, Any]] = []
        grid.comm.send = self._record  # what the kernel sends to the front end

    def _record(self, data: Any = None, buffers: Any = None, **_: Any) -> None:
        self.sent.append(data)

    def set(self, **state: Any) -> None:
        """A trait change made in the browser (``model.set(...); model.save_changes()``)."""
        data = {"method": "update", "state": state, "buffer_paths": []}
        self.grid._handle_msg({"content": {"data": data}, "buffers": []})

    def act(self, action: str, *, wait: bool = True, **content: Any) -> None:
        """A custom message (``model.send({action, ...})``).

        The delete panel's dry run and real run go to a background thread; with ``wait`` (the
        default) this returns once that work is done, as a user watching the panel would see it.
        """
        data = {"method": "custom", "content": {"action": action, **content}}
        self.grid._handle_msg({"content": {"data": data}, "buffers": []})
        if wait:
            assert self.grid.wait(timeout=120), "the grid's background work did not finish"

    @property
    def custom(self) -> list[dict[str, Any]]:
        """The custom messages the kernel sent (``{"kind": ...}``), oldest first."""
        return [m["content"] for m in self.sent if m and m.get("method") == "custom"]

    def click(self, task_id: str, *, shift: bool = False) -> None:
        self.act("toggle", id=task_id, shift=shift, wait=False)  # never starts background work

    @property
    def shown(self) -> list[str]:
        return [r["id"] for r in self.grid.rows]

    @property
    def checked(self) -> list[str]:
        return [r["id"] for r in self.grid.rows if r["selected"]]


@pytest.fixture
def small() -> pd.DataFrame:
    names = ["delta", "alpha", "echo", "bravo", "alpha", "charlie", "golf", "foxtrot"]
    types = ["REBOOT", "STOP", "REBOOT", "START", "STOP", "REBOOT", "EXECUTE_SCRIPT", "STOP"]
    status = ["SUCCESS", "FAIL", None, "SUCCESS", "SKIP", "FAIL", None, "SUCCESS"]
    times = [
        "2026-03-05 10:00",
        None,
        "2026-03-01 10:00",
        "2026-03-03 10:00",
        "2026-03-02 10:00",
        None,
        "2026-03-04 10:00",
        "2026-03-06 10:00",
    ]
    return make_frame(
        [
            {
                "id": f"task-{i:02d}",
                "task_name": n,
                "task_type": t,
                "last_status": s,
                "next_execution_time": x,
                "enable": i % 3 != 0,
            }
            for i, (n, t, s, x) in enumerate(zip(names, types, status, times, strict=True))
        ]
    )


@pytest.fixture
def big() -> pd.DataFrame:
    return sample_tasks_frame(5_000, seed=7)
