"""Deleting across a fleet: two emulators on sockets as two "regions", one of them holding two
projects; dry run and real, the cap over the whole fleet, a failing project, resume, restore."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import wsnb
from tests.deletion.conftest import FAST_RETRY
from wsnb._fleet_report import FleetReport
from wsnb.deletion import DeletionCapError, delete_fleet, restore_fleet, resume_fleet
from wsnb.emulator import Emulator
from wsnb.emulator.seed import seed_store
from wsnb.fleet import Fleet, FleetError, Target
from wsnb.ledger import Ledger

SECOND = "b2" * 16  # a second project on emulator b


@dataclass
class Setup:
    a: Emulator
    b: Emulator
    fleet: Fleet

    @property
    def projects(self) -> dict[str, tuple[Emulator, str]]:
        return {
            self.a.project_id: (self.a, self.a.project_id),
            self.b.project_id: (self.b, self.b.project_id),
            SECOND: (self.b, SECOND),
        }

    def ids(self, pid: str) -> list[str]:
        emu, project = self.projects[pid]
        return emu.state.store.task_ids(project)


@pytest.fixture
def setup(make_emulator: Callable[..., Emulator]) -> Iterator[Setup]:
    a = make_emulator(tasks=12, seed=1)
    b = make_emulator(tasks=9, seed=2)
    seed_store(b.state.store, SECOND, 6, seed=3, now=b.state.now())
    targets = [
        Target(
            project_id=a.project_id, region="r-a", endpoint=a.endpoint, credentials=a.credentials
        ),
        Target(
            project_id=b.project_id, region="r-b", endpoint=b.endpoint, credentials=b.credentials
        ),
        Target(project_id=SECOND, region="r-b", endpoint=b.endpoint, credentials=b.credentials),
    ]
    fleet = Fleet(targets, client_options={"rate_limit": None, "retry": FAST_RETRY})
    yield Setup(a, b, fleet)


def _some(setup: Setup, per_project: int) -> dict[str, list[str]]:
    return {pid: setup.ids(pid)[:per_project] for pid in setup.fleet.project_ids}


def test_a_fleet_frame_selects_and_deletes_each_id_in_its_own_project(
    setup: Setup, ledger: Ledger
) -> None:
    frame = wsnb.tasks_frame(setup.fleet)
    chosen = frame.groupby(level="project_id", sort=False).head(3)
    before = {pid: set(setup.ids(pid)) for pid in setup.fleet.project_ids}

    dry = wsnb.delete_tasks(setup.fleet, chosen, dry_run=True, ledger=ledger, progress=False)
    assert isinstance(dry, FleetReport)
    assert dry.ok and dry.dry_run
    assert dry.totals()["planned"] == 9
    assert {pid: set(setup.ids(pid)) for pid in before} == before  # nothing deleted

    seen: list[tuple[int, int]] = []
    report = wsnb.delete_tasks(
        setup.fleet, chosen, ledger=ledger, progress=lambda d, t: seen.append((d, t))
    )
    assert isinstance(report, FleetReport)
    assert report.ok, report.summary_text()
    assert list(report.projects.index) == setup.fleet.project_ids
    assert report.projects["deleted"].tolist() == [3, 3, 3]
    assert seen[-1] == (9, 9)
    for pid in before:
        gone = set(chosen.xs(pid, level="project_id").index)
        assert set(setup.ids(pid)) == before[pid] - gone  # exactly the chosen ones, per project
    # the ledger records every id's target: each child run names its endpoint and project
    members = ledger.fleet_members(report.fleet_run_id)
    assert members["project_id"].tolist() == setup.fleet.project_ids
    assert members["endpoint"].tolist() == [setup.a.endpoint, setup.b.endpoint, setup.b.endpoint]
    assert members["region"].tolist() == ["r-a", "r-b", "r-b"]
    assert list(report.frame.columns[:2]) == ["project_id", "task_id"]
    assert set(report.frame["outcome"]) == {"deleted"} and len(report.frame) == 9
    assert report.summary["deleted"] == 9 and report.summary["run_id"] == report.fleet_run_id
    runs = ledger.fleet_runs()
    assert runs.loc[report.fleet_run_id, "deleted"] == 9
    assert runs.loc[report.fleet_run_id, "projects"] == 3


def test_the_cap_counts_the_whole_fleet_before_any_call(setup: Setup, ledger: Ledger) -> None:
    chosen = _some(setup, 4)  # 12 ids, 4 per project: each under the cap, the fleet over it
    with pytest.raises(DeletionCapError, match="12 tasks across the fleet"):
        wsnb.delete_tasks(setup.fleet, chosen, max_deletions=10, ledger=ledger, progress=False)
    assert setup.a.control.requests() == [] and setup.b.control.requests() == []
    assert ledger.fleet_runs().empty and ledger.runs().empty
    report = delete_fleet(setup.fleet, chosen, max_deletions=12, ledger=ledger, progress=False)
    assert report.ok and report.totals()["deleted"] == 12


def test_a_selection_must_name_known_projects(setup: Setup, ledger: Ledger) -> None:
    with pytest.raises(TypeError, match="project"):
        wsnb.delete_tasks(setup.fleet, setup.ids(SECOND), ledger=ledger, progress=False)
    with pytest.raises(ValueError, match="not in the fleet"):
        wsnb.delete_tasks(setup.fleet, {"nope" * 8: ["x"]}, ledger=ledger, progress=False)
    assert ledger.runs().empty
    assert setup.a.control.requests() == [] and setup.b.control.requests() == []


def test_a_failing_project_does_not_stop_the_others(setup: Setup, ledger: Ledger) -> None:
    chosen = _some(setup, 3)
    setup.b.control.add_fault(
        operation="get_task", kind="status", status=401, error_code="APIG.0301"
    )  # every read on emulator b fails: both of its projects stop at their snapshots
    report = delete_fleet(setup.fleet, chosen, ledger=ledger, progress=False)
    assert not report.ok
    assert set(report.errors) == {setup.b.project_id, SECOND}
    assert "AuthenticationError" in report.errors[SECOND]
    assert report.failed_projects == [setup.b.project_id, SECOND]
    summary = report.projects
    assert summary.loc[setup.a.project_id, "deleted"] == 3
    assert bool(summary.loc[setup.a.project_id, "ok"])
    assert summary.loc[SECOND, "pending"] == 3 and not bool(summary.loc[SECOND, "ok"])
    assert set(setup.ids(setup.a.project_id)).isdisjoint(chosen[setup.a.project_id])
    assert set(chosen[SECOND]) <= set(setup.ids(SECOND))
    text = report.summary_text()
    assert "NEEDS ATTENTION" in text and f"{SECOND} (r-b)" in text and "error:" in text
    assert SECOND in report.headline()
    assert ledger.fleet_run(report.fleet_run_id)["status"] == "interrupted"

    # resume with working credentials: only the stopped projects are touched; one of them on
    # its own first (a plain run resume), and the fleet run follows
    setup.b.control.clear_faults()
    members = ledger.fleet_members(report.fleet_run_id)
    child = int(dict(zip(members["project_id"], members["run_id"], strict=True))[SECOND])
    with setup.fleet.target(SECOND).client(rate_limit=None) as alone:
        assert wsnb.resume(alone, ledger, child, progress=False).ok
    again = FleetReport.from_ledger(ledger, report.fleet_run_id)
    assert SECOND not in again.errors and setup.b.project_id in again.errors
    assert again.status == "interrupted"
    seq_a = len(setup.a.control.requests())
    resumed = resume_fleet(setup.fleet, ledger, report.fleet_run_id, progress=False)
    assert resumed.ok, resumed.summary_text()
    assert len(setup.a.control.requests()) == seq_a  # project a was done: nothing sent there
    assert resumed.totals()["deleted"] == 9
    for pid, ids in chosen.items():
        assert set(setup.ids(pid)).isdisjoint(ids)
    assert ledger.fleet_run(report.fleet_run_id)["status"] == "done"


def test_a_cancelled_fleet_run_resumes_with_each_projects_client(
    setup: Setup, ledger: Ledger
) -> None:
    chosen = _some(setup, 5)
    cancel = threading.Event()
    cancel.set()  # stop before anything is sent: every id stays pending
    report = delete_fleet(setup.fleet, chosen, ledger=ledger, progress=False, cancel=cancel)
    assert report.status == "cancelled" and not report.ok
    assert report.totals()["pending"] == 15
    assert all(set(ids) <= set(setup.ids(pid)) for pid, ids in chosen.items())

    resumed = wsnb.resume(setup.fleet, ledger, report.fleet_run_id, progress=False)
    assert isinstance(resumed, FleetReport)
    assert resumed.ok and resumed.totals()["deleted"] == 15
    for pid, ids in chosen.items():
        assert set(setup.ids(pid)).isdisjoint(ids)
        emu, project = setup.projects[pid]
        sent = [
            e
            for e in emu.control.requests()
            if e["operation"] == "batch_delete" and e["project_id"] == project
        ]
        assert sorted(i for e in sent for i in e["task_ids"]) == sorted(ids)  # once each


def test_resume_refuses_a_fleet_that_lacks_a_project(setup: Setup, ledger: Ledger) -> None:
    cancel = threading.Event()
    cancel.set()
    report = delete_fleet(
        setup.fleet, _some(setup, 2), ledger=ledger, progress=False, cancel=cancel
    )
    smaller = Fleet(list(setup.fleet)[:1], client_options={"rate_limit": None})
    with pytest.raises(ValueError, match=f"project {SECOND} .* not in the fleet"):
        resume_fleet(smaller, ledger, report.fleet_run_id, progress=False)


def test_restore_re_creates_what_the_fleet_run_deleted(setup: Setup, tmp_path: Path) -> None:
    chosen = _some(setup, 2)
    path = tmp_path / "ledger.sqlite"
    report = delete_fleet(setup.fleet, chosen, ledger=path, progress=False)
    assert report.ok
    restored = wsnb.restore_tasks(setup.fleet, path, report.fleet_run_id)
    assert restored.index.names == ["project_id", "old_id"]
    assert (restored["state"] == "ok").all() and len(restored) == 6
    for pid in chosen:
        new_ids = set(restored.xs(pid, level="project_id")["new_id"])
        assert new_ids <= set(setup.ids(pid))  # each came back in its own project
    # only some ids, by (project, id) pairs: the rest are already restored, nothing twice
    again = restore_fleet(setup.fleet, path, report.fleet_run_id, [(SECOND, chosen[SECOND][0])])
    assert len(again) == 1 and again.iloc[0]["state"] == "ok"
    assert len(setup.ids(SECOND)) == 6


def test_restore_reports_which_project_failed(setup: Setup, ledger: Ledger) -> None:
    report = delete_fleet(setup.fleet, _some(setup, 1), ledger=ledger, progress=False)
    setup.a.control.add_fault(operation="list_tasks", kind="status", status=403)
    with pytest.raises(FleetError, match=setup.a.project_id) as caught:
        restore_fleet(setup.fleet, ledger, report.fleet_run_id)
    assert set(caught.value.errors) == {setup.a.project_id}
    frame = caught.value.result
    assert isinstance(frame, pd.DataFrame)
    assert set(frame.index.get_level_values("project_id")) == {setup.b.project_id, SECOND}


def test_the_fleet_report_writes_a_folder_and_renders(setup: Setup, tmp_path: Path) -> None:
    report = delete_fleet(
        setup.fleet, _some(setup, 2), dry_run=True, ledger=tmp_path / "l.sqlite", progress=False
    )
    paths = report.write(tmp_path / "out")
    assert paths["fleet"].read_text().splitlines()[0].startswith("project_id,region,endpoint")
    payload = json.loads(paths["json"].read_text())
    assert (payload["summary"]["planned"], payload["summary"]["projects"]) == (6, 3)
    assert [p["project_id"] for p in payload["projects"]] == setup.fleet.project_ids
    for pid in setup.fleet.project_ids:
        assert (tmp_path / "out" / pid / "report.html").is_file()
    assert "Would delete 6 of 6" in paths["text"].read_text()
    html = report._repr_html_()
    assert "<script" not in html and SECOND in html and "r-b" in html
    assert report.undo_command() is None
    assert report.summary_text(brief=True) == (
        f"wsnb fleet dry run {report.fleet_run_id}: OK (done); 3 project(s)"
    )
    assert "<FleetReport" in repr(report)


def test_a_fleet_run_left_by_a_dead_process_is_resumed_once_its_leases_lapse(
    setup: Setup, tmp_path: Path
) -> None:
    """The process died right after recording the fleet run (nothing sent): its children's
    leases keep another process out until they lapse, then resume deletes everything once."""
    from wsnb.ledger import RunLeasedError

    path = tmp_path / "l.sqlite"
    chosen = _some(setup, 2)
    dead = Ledger(path, lease_ttl=0.5)
    fleet_run_id, run_ids = dead.create_fleet_run(
        params={"chunk_size": 5000, "concurrency": 4, "verify": True, "snapshot": True,
                "precheck": True, "max_deletions": 6},
        dry_run=False,
        members=[
            {
                "endpoint": setup.projects[pid][0].endpoint,
                "project_id": pid,
                "region": setup.fleet.target(pid).label,
                "params": {"chunk_size": 5000, "concurrency": 4, "verify": True,
                           "snapshot": True, "precheck": True, "selected": 2},
                "plan": [(tid, None, None, "pending", None) for tid in ids],
            }
            for pid, ids in chosen.items()
        ],
    )  # fmt: skip
    dead.close()  # no release: the process is gone
    with Ledger(path) as book:
        assert len(run_ids) == 3 and book.fleet_run(fleet_run_id)["status"] == "running"
        with pytest.raises(RunLeasedError):
            resume_fleet(setup.fleet, book, fleet_run_id, progress=False)
        assert all(e["operation"] != "batch_delete" for e in setup.b.control.requests())
        time.sleep(0.6)  # the elapsed time is the behaviour: the dead holder's leases lapse
        report = resume_fleet(setup.fleet, book, fleet_run_id, progress=False)
    assert report.ok and report.totals()["deleted"] == 6
    for pid, ids in chosen.items():
        assert set(setup.ids(pid)).isdisjoint(ids)
