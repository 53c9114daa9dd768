"""Executable plans (wsnb.deletion._execute) against the real emulator: a dry run executed later
deletes exactly the planned ids with the plan's snapshots, and refuses a stale, changed, used or
foreign plan before any write."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROFILE_NAMES
from tests.deletion.conftest import _client, _deleted_in_log, _writes
from wsnb.deletion import (
    DeletionCapError,
    Plan,
    PlanChangedError,
    PlanError,
    PlanStaleError,
    delete_tasks,
    plan_deletion,
    restore_tasks,
    resume,
)
from wsnb.emulator import Emulator
from wsnb.errors import AuthenticationError
from wsnb.frames import tasks_frame
from wsnb.ledger import SCHEMA_VERSION, Ledger


def _ops(emu: Emulator, since: int = 0) -> Counter[str]:
    return Counter(e["operation"] for e in emu.control.requests(since))


def _last_seq(emu: Emulator) -> int:
    log = emu.control.requests()
    return int(log[-1]["seq"]) if log else 0


def test_a_plan_deletes_exactly_its_ids_with_its_snapshots(
    emulator: Emulator, ledger: Ledger
) -> None:
    ids = emulator.control.seed(120, seed=31)
    with _client(emulator) as client:
        frame = tasks_frame(client)
        chosen = frame.loc[ids[:100]]
        plan = plan_deletion(client, chosen, ledger=ledger, max_deletions=100, progress=False)
        assert len(plan) == 100 and set(plan.ids) == set(ids[:100])
        assert repr(plan).startswith(f"Plan(dry run {plan.run_id}: 100 task(s) in project")
        assert plan.ids[0] not in repr(plan)  # a plan of 100k ids prints one line
        assert _writes(emulator) == []  # a plan writes nothing
        dry = ledger.snapshots(plan.run_id)
        mark = _last_seq(emulator)
        report = plan.execute(progress=False)
    assert report.ok and report.summary["deleted"] == 100
    assert set(emulator.control.task_ids()) == set(ids[100:])
    assert set(_deleted_in_log(emulator)) == set(ids[:100])
    ops = _ops(emulator, mark)
    # the check is one listing (two probes and its pages), never a second snapshot; the
    # verification lists what is left (two probes and a page a pass)
    assert ops["get_task"] == 0 and ops["list_tasks"] <= 12
    assert ledger.snapshots(report.run_id) == dry  # the execution's snapshots are the plan's
    info = ledger.run(report.run_id)
    assert info["params"]["plan_run"] == plan.run_id and not info["dry_run"]
    event = next(e for e in report.events if e["kind"] == "plan")
    assert event["checked_by"] == "listing" and event["changed"] == 0
    with _client(emulator) as client:  # restore works from the copied snapshots
        restored = restore_tasks(client, ledger, report.run_id, ids[:2])
    assert (restored["state"] == "ok").all()


def test_delete_tasks_takes_a_plan_or_the_report_of_its_dry_run(
    emulator: Emulator, ledger: Ledger
) -> None:
    ids = emulator.control.seed(6, seed=32)
    with _client(emulator) as client:
        preview = delete_tasks(client, ids[:4], ledger=ledger, dry_run=True, progress=False)
        with pytest.raises(ValueError, match="already a dry run"):
            delete_tasks(client, preview, ledger=ledger, dry_run=True, progress=False)
        report = delete_tasks(client, preview, ledger=ledger, progress=False)
        assert report.ok and report.summary["deleted"] == 4
        with pytest.raises(PlanError, match="already executed by run"):
            delete_tasks(client, Plan.load(ledger, preview.run_id), ledger=ledger, progress=False)
        with pytest.raises(PlanError, match="not a dry run"):
            delete_tasks(client, report, ledger=ledger, progress=False)
    assert set(emulator.control.task_ids()) == set(ids[4:])
    assert sum(_deleted_in_log(emulator).values()) == 4  # each id sent once


def test_a_stale_plan_is_refused_before_any_write(emulator: Emulator, ledger: Ledger) -> None:
    ids = emulator.control.seed(5, seed=33)
    with _client(emulator) as client:
        plan = plan_deletion(client, ids, ledger=ledger, progress=False)
        with pytest.raises(PlanStaleError, match="more than max_age"):
            plan.execute(max_age=0, progress=False)
    assert _writes(emulator) == []
    assert len(ledger.runs()) == 1  # no execution run was made


def test_a_changed_task_is_refused_skipped_or_rechecked(emulator: Emulator, tmp_path: Path) -> None:
    ids = emulator.control.seed(8, seed=34)
    with _client(emulator) as client:
        frame = tasks_frame(client).loc[ids[:6]]
        plans = []
        for name in ("refuse", "skip", "recheck"):
            book = Ledger(tmp_path / f"{name}.sqlite")
            plans.append((name, book, plan_deletion(client, frame, ledger=book, progress=False)))
        client.update_task(ids[0], task_name="renamed after the plan")
        mark = _last_seq(emulator)
        name, book, plan = plans[0]
        with pytest.raises(PlanChangedError) as caught:
            plan.execute(progress=False)
        assert caught.value.changed == {ids[0]: ["task_name"]}
        assert "Nothing was sent" in str(caught.value)
        assert not [e for e in emulator.control.requests(mark) if e["operation"] == "batch_delete"]

        name, book, plan = plans[1]
        report = plan.execute(changed="skip", progress=False)
        row = report.frame.set_index("task_id").loc[ids[0]]
        assert row["outcome"] == "skipped" and "task_name" in str(row["error_msg"])
        assert ids[0] in emulator.control.task_ids()
        assert report.summary["deleted"] == 5 and not report.ok  # a skipped id is not OK

        name, book, plan = plans[2]
        report = plan.execute(changed="recheck", progress=False)
        assert report.frame.set_index("task_id").loc[ids[0], "outcome"] == "deleted"
        snap = book.snapshots(report.run_id)[ids[0]]
        assert snap is not None and snap["task_name"] == "renamed after the plan"
        for _, other, _ in plans:
            other.close()
    assert set(emulator.control.task_ids()) == set(ids[6:])


def test_ids_gone_since_the_plan_are_not_sent(emulator: Emulator, ledger: Ledger) -> None:
    ids = emulator.control.seed(60, seed=35)
    with _client(emulator) as client:
        plan = plan_deletion(client, ids[:55], ledger=ledger, progress=False)
        client.batch_delete(ids[:3])  # someone else deletes three of them
        mark = _last_seq(emulator)
        report = plan.execute(progress=False)
    frame = report.frame.set_index("task_id")
    assert (frame.loc[ids[:3], "outcome"] == "already_absent").all()
    assert report.summary["deleted"] == 52 and report.ok
    sent: Counter[str] = Counter()
    for entry in emulator.control.requests(mark):
        if entry["operation"] == "batch_delete":
            sent.update(entry["task_ids"] or [])
    assert set(sent) == set(ids[3:55])


def test_the_cap_and_the_project_are_checked_again(
    emulator: Emulator, make_emulator: Any, ledger: Ledger
) -> None:
    ids = emulator.control.seed(12, seed=36)
    with _client(emulator) as client:
        plan = plan_deletion(client, ids, ledger=ledger, max_deletions=12, progress=False)
        with pytest.raises(DeletionCapError, match="max_deletions is 10"):
            plan.execute(max_deletions=10, progress=False)
        with pytest.raises(DeletionCapError):  # delete_tasks' own cap (default 1000) applies too
            delete_tasks(client, plan, max_deletions=11, progress=False)
    other = make_emulator(project_id="f" * 32)
    with _client(other) as client, pytest.raises(PlanError, match="was made against"):
        plan.execute(client, progress=False)
    assert _writes(emulator) == [] and _writes(other) == []


def test_an_interrupted_execution_resumes_without_resnapshotting(
    emulator: Emulator, ledger: Ledger
) -> None:
    ids = emulator.control.seed(30, seed=37)
    with _client(emulator) as client:
        plan = plan_deletion(client, ids, ledger=ledger, chunk_size=10, progress=False)
        emulator.control.add_fault(operation="batch_delete", kind="status", status=401, skip=1)
        with pytest.raises(AuthenticationError):
            plan.execute(progress=False)
        emulator.control.clear_faults()
        run_id = int(ledger.runs().index[0])
        assert ledger.run(run_id)["status"] == "interrupted"
        mark = _last_seq(emulator)
        report = resume(client, ledger, run_id, progress=False)
    assert report.ok and set(emulator.control.task_ids()) == set()
    assert _ops(emulator, mark)["get_task"] <= 59  # verification only: no snapshot again


def test_a_dry_run_records_its_plan(emulator: Emulator, ledger: Ledger) -> None:
    ids = emulator.control.seed(10, seed=38)
    with _client(emulator) as client:
        frame = tasks_frame(client)
        listed = frame.attrs["wsnb_listed_at"]
        chosen = frame.loc[ids[:4]]
        by_frame = delete_tasks(client, chosen, ledger=ledger, dry_run=True, progress=False)
        by_ids = delete_tasks(client, ids[4:8], ledger=ledger, dry_run=True, progress=False)
    one = ledger.plan_info(by_frame.run_id)
    assert one is not None and one["source"] == "selection" and one["listed"][:19] == listed[:19]
    prints = ledger.plan_listing(by_frame.run_id)
    assert set(prints) == set(ids[:4]) and "last_status" in prints[ids[0]]
    two = ledger.plan_info(by_ids.run_id)
    assert two is not None and two["source"] == "snapshots"
    assert "enable" not in ledger.plan_listing(by_ids.run_id)[ids[4]]  # not in a definition


def test_a_version_2_ledger_gains_the_plan_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with Ledger(path) as book:
        book._con.execute("DROP TABLE plan_listings")
        book._con.execute("DROP TABLE plans")
        book._con.execute("DROP TABLE quarantine")  # version 4 (grace periods)
        book._con.execute("DROP TABLE fleet_members")  # version 5 (fleets)
        book._con.execute("DROP TABLE fleet_runs")
        book._con.execute("PRAGMA user_version = 2")
    with Ledger(path) as book:
        assert book._con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert book.plan_info(1) is None and book.plan_listing(1) == {}
    raw = sqlite3.connect(path)
    names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    raw.close()
    assert {"plans", "plan_listings"} <= names


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_a_small_plan_is_checked_per_id_in_both_profiles(
    emulator: Emulator, ledger: Ledger
) -> None:
    """Three ids of a big project: one read each is cheaper than listing; the definitions (in
    either profile's time format) match the listed fields, so nothing counts as changed."""
    ids = emulator.control.seed(400, seed=39)
    with _client(emulator) as client:
        plan = plan_deletion(
            client, tasks_frame(client).loc[ids[:3]], ledger=ledger, progress=False
        )
        mark = _last_seq(emulator)
        report = plan.execute(progress=False)
    assert report.ok and report.summary["deleted"] == 3
    event = next(e for e in report.events if e["kind"] == "plan")
    assert event["checked_by"] == "get_task" and event["changed"] == 0
    assert _ops(emulator, mark)["get_task"] == 3 + 3  # the check, then a sample of all three


def test_a_task_gone_from_a_narrowed_listing_is_absent_not_changed(
    emulator: Emulator, ledger: Ledger
) -> None:
    ids = emulator.control.seed(200, seed=40)
    with _client(emulator) as client:
        frame = tasks_frame(client)
        stops = frame[frame["task_type"] == "STOP"]
        assert len(stops) > 10
        plan = plan_deletion(client, stops, ledger=ledger, max_deletions=len(stops), progress=False)
        assert ledger.plan_info(plan.run_id)["filters"] == {"task_type": "STOP"}  # type: ignore[index]
        gone = str(stops.index[0])
        client.batch_delete([gone])  # deleted by someone else: missing from the STOP listing
        report = plan.execute(progress=False)
    assert report.ok
    assert report.frame.set_index("task_id").loc[gone, "outcome"] == "already_absent"
    assert set(emulator.control.task_ids()) == set(ids) - set(stops.index)
