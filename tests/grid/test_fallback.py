"""``wsnb.grid._fallback``: the static HTML shown where widgets do not render stays small."""

from __future__ import annotations

import pytest

from wsnb.grid import TaskGrid
from wsnb.grid._sample import sample_tasks_frame


@pytest.mark.slow  # a 100k-row frame
def test_static_fallback_is_a_small_summary() -> None:
    frame = sample_tasks_frame(100_000, seed=3)
    grid = TaskGrid(frame)
    grid.filters = {"task_type": ["REBOOT"]}
    grid.select(frame.index[:10])
    bundle = grid._repr_mimebundle_()
    assert bundle is not None
    data, _ = bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    html = data["text/html"]
    assert len(html) < 10_000
    reboot = int((frame["task_type"] == "REBOOT").sum())
    assert f"{len(frame):,} tasks, {reboot:,} matching the filter, 10 selected" in html
    assert f"<td>REBOOT</td><td style='text-align:right'>{reboot:,}</td>" in html
    assert grid.rows[0]["id"] in html
    assert repr(grid) == f"TaskGrid(100,000 tasks, {reboot:,} matching, 10 selected)"
