"""scheduled_cleanup.ipynb in ``mode="quarantine"`` (papermill, a real kernel, the emulator): the
first run disables the selection and deletes nothing, the second deletes what is past its grace
and releases what someone re-enabled; the report files say so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_notebooks import error_text, kernel, papermill, runs  # noqa: F401 (fixtures)
from wsnb import runner
from wsnb.emulator import Emulator
from wsnb.frames import tasks_frame

pytestmark = pytest.mark.slow  # the notebook runs in a kernel, twice

SELECT = ["-p", "expired_only", "False", "-p", "task_types", "STOP"]
QUARANTINE = ["-p", "mode", "quarantine", "-p", "grace_days", "0", "-p", "dry_run", "False"]


def _grace(folder: Path) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((folder / "grace.json").read_text())
    return payload


def test_quarantine_mode_disables_first_and_deletes_on_a_later_run(
    emulator: Emulator,
    runs: Path,  # noqa: F811
    kernel: runner.LocalKernel,  # noqa: F811
) -> None:
    ids = emulator.control.seed(60, seed=7)
    with emulator.client(rate_limit=None) as client:
        frame = tasks_frame(client)  # LIFE_CYCLE tasks included, as the notebook selects
        stops = set(frame.index[frame["task_type"] == "STOP"])
        assert len(stops) >= 3
        first = papermill(emulator, runs / "one", kernel, *SELECT, *QUARANTINE)
        assert first.returncode == 0, first.stderr[-2000:]
        assert set(emulator.control.task_ids()) == set(ids)  # nothing deleted yet
        assert not tasks_frame(client).loc[sorted(stops), "enable"].any()
        held = _grace(runs / "one")["quarantine"]
        assert held["summary"]["counts"] == {"quarantined": len(stops)}
        assert "update" in held["summary"]["eta"]
        assert "Quarantined now" in (runs / "one" / "grace.html").read_text()

        keep = sorted(stops)[0]
        client.update_task(keep, enable=True)  # someone still needs this one
        # the second run shares the ledger (its path is per folder: point it at the first's)
        second = papermill(
            emulator,
            runs / "two",
            kernel,
            *SELECT,
            *QUARANTINE,
            *("-p", "ledger_path", str(runs / "one" / "l.sqlite")),
        )
        assert second.returncode == 0, second.stderr[-2000:] + error_text(
            runs / "two" / "out.ipynb"
        )
    assert set(emulator.control.task_ids()) == (set(ids) - stops) | {keep}
    grace = _grace(runs / "two")
    assert grace["grace"]["summary"]["actions"] == {"deleted": len(stops) - 1, "released": 1}
    released = [t for t in grace["grace"]["tasks"] if t["action"] == "released"]
    assert [(t["task_id"], t["reason"]) for t in released] == [(keep, "re-enabled meanwhile")]
    # the released task is selected again by the filters, and skipped, not quarantined again
    assert grace["quarantine"]["summary"]["counts"] == {"skipped": 1}
    report = json.loads((runs / "two" / "report.json").read_text())  # the deletion run's
    assert report["summary"]["deleted"] == len(stops) - 1
    page = (runs / "two" / "grace.html").read_text()
    assert "Released: re-enabled or edited meanwhile" in page and keep in page
