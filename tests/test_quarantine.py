"""Grace periods (wsnb.quarantine) against the real emulator: quarantine, time passes (an
injected ``now``), delete; re-enabled and edited tasks released; unquarantine restores exactly;
a run killed mid-quarantine resumed; dry runs write nothing; caps refuse before any call."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import PROFILE_NAMES, task_body
from wsnb._retry import RateLimit, RetryPolicy
from wsnb.auth import CREDENTIAL_ENV_VARS
from wsnb.client import Client
from wsnb.deletion import DeletionCapError
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger
from wsnb.quarantine import (
    GRACE_DAYS_MAX,
    QuarantineCapError,
    changed_fields,
    check_grace_days,
    delete_quarantined,
    estimate_quarantine,
    quarantine_tasks,
    resume_quarantine,
    run_grace,
    unquarantine,
    update_body,
)
from wsnb.report import grace_html

_WRITES = {"update_task", "create_task", "delete_task", "batch_delete"}


def _listed(client: Client) -> dict[str, dict[str, Any]]:
    items = client.list_tasks() + client.list_tasks(scheduled_type="LIFE_CYCLE")
    return {str(t["id"]): dict(t) for t in items}


def _writes(emulator: Emulator, after: int = 0) -> list[tuple[str, str]]:
    """(operation, task id or ids) of every write the emulator handled after ``after``."""
    out: list[tuple[str, str]] = []
    for entry in emulator.control.requests(after):
        if entry["operation"] in _WRITES and entry["seq"] > after:
            named = entry.get("task_ids") or [entry["path"].rsplit("/", 1)[-1]]
            out.extend((entry["operation"], str(t)) for t in named)
    return out


def _cell(frame: pd.DataFrame, row: str, column: str) -> Any:
    """One value of a frame (pandas types ``.at`` as a union of every scalar)."""
    value: Any = frame.at[row, column]
    return value


def _mark(emulator: Emulator) -> int:
    entries = emulator.control.requests()
    return int(entries[-1]["seq"]) if entries else 0


def _later(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


# --- unit: the body, comparisons, the grace check, the estimate ----------------------------------


def test_update_body_sends_the_definition_back_with_only_enable_changed() -> None:
    definition = {
        "id": "t-1",
        "task_type": "STOP",
        "task_name": "n",
        "scheduled_type": "DAY",
        "day_interval": 1,
        "scheduled_time": "22:00:00",
        "apply_objects": [{"object_type": "DESKTOP", "object_id": "d", "object_name": "x"}],
        "extra_params": json.dumps({"k": "v" * 1100}),  # over the update limit: left out
        "enable": True,
        "priority": 3,
    }
    body = update_body(definition, enable=False)
    assert body["enable"] is False
    assert "id" not in body and "task_type" not in body and "extra_params" not in body
    assert body["apply_objects"] == definition["apply_objects"]
    assert body["apply_object_update_type"] == "FULL_COVERAGE"
    assert body["priority"] == 3 and body["day_interval"] == 1


def test_changed_fields_ignore_enable_and_object_order() -> None:
    objects = [{"object_id": "a"}, {"object_id": "b"}]
    prior = {"enable": True, "description": "x", "apply_objects": objects}
    same = {"enable": False, "description": "x", "apply_objects": objects[::-1]}
    assert changed_fields(prior, same) == []
    assert changed_fields(prior, {**same, "description": "y", "wait_time": 5}) == [
        "description",
        "wait_time",
    ]


@pytest.mark.parametrize("good", [0, 1, 7, GRACE_DAYS_MAX])
def test_grace_days_accepts_whole_days_in_range(good: int) -> None:
    assert check_grace_days(good) == good


@pytest.mark.parametrize("bad", [-1, GRACE_DAYS_MAX + 1, 1.5, "7", True, None])
def test_grace_days_refuses_the_rest_naming_the_field_and_limit(bad: object) -> None:
    with pytest.raises(ValueError, match=r"grace_days .*365") as caught:
        check_grace_days(bad)
    assert "grace_days" in str(caught.value)


def test_the_estimate_is_paced_by_the_write_quota() -> None:
    seconds, text = estimate_quarantine(1000, reads=1000, rate_limit=RateLimit(200, 100))
    # 1000 updates at ~96.5 writes/min (the bucket's refill) dominate: about ten minutes
    assert 9 * 60 < seconds < 12 * 60
    assert "at 100 writes/min" in text and "1,000 updates" in text
    fast, _ = estimate_quarantine(1000, reads=1000, rate_limit=None)
    assert fast < seconds


# --- phase 1 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILE_NAMES)  # listing shapes, under both
def test_quarantine_disables_the_selection_and_changes_nothing_else(
    emulator: Emulator, tmp_path: Path
) -> None:
    ids = emulator.control.seed(24, seed=11)
    chosen, other = ids[:14], ids[14:]
    with emulator.client(rate_limit=None) as client:
        was = _listed(client)
        details = {i: client.get_task(i) for i in ids}
        mark = _mark(emulator)
        with Ledger(tmp_path / "l.sqlite") as book:
            report = quarantine_tasks(client, chosen, grace_days=3, ledger=book)
            assert report.ok and report.summary["status"] == "done"
            records = book.quarantine(report.run_id).set_index("task_id")
            calls = book.calls(report.run_id)
            events = book.events(report.run_id)
        now = _listed(client)
        assert all(now[i]["enable"] is False for i in chosen)
        assert all(now[i] == was[i] for i in other)  # nothing unselected touched
        for i in ids:  # the definitions are unchanged (the update is read-modify-write)
            assert client.get_task(i) == details[i]
            volatile = {"enable", "next_execution_time"}
            assert {k: v for k, v in now[i].items() if k not in volatile} == {
                k: v for k, v in was[i].items() if k not in volatile
            }
    # one update per task that was enabled, none for the others, nothing else written
    enabled = [i for i in chosen if was[i]["enable"]]
    assert Counter(_writes(emulator, mark)) == Counter(("update_task", i) for i in enabled)
    assert (calls["operation"] == "update_task").all() and (calls["state"] == "ok").all()
    # the plan (with its ETA) was recorded before the first update went out
    planned = next(e for e in events if e["kind"] == "quarantine_planned")
    assert planned["eta"] == report.summary["eta"] and planned["updates"] == len(enabled)
    assert planned["time"] < min(calls["started"])
    assert sorted(t for ids_ in calls["task_ids"] for t in ids_) == sorted(enabled)
    assert (records["state"] == "quarantined").all()
    for i in chosen:  # the prior state: the show response plus the listing's enable
        prior = _cell(records, i, "prior")
        assert prior["enable"] is was[i]["enable"]
        assert {k: v for k, v in prior.items() if k not in ("enable", "priority")} == details[i]
        assert _cell(records, i, "due") - _cell(records, i, "quarantined") == timedelta(days=3)
    disabled_before = [i for i in chosen if not was[i]["enable"]]
    for i in disabled_before:
        assert "already disabled" in str(records.loc[i, "reason"])


def test_a_long_extra_params_survives_the_update(emulator: Emulator) -> None:
    params = json.dumps({"notify_message": "x" * 1500})  # create allows 2000, update 1024
    with emulator.client(rate_limit=None) as client:
        task = client.create_task(task_body(extra_params=params))
        report = quarantine_tasks(client, [task], ledger=":memory:")
        assert report.ok
        assert client.get_task(task)["extra_params"] == params
        assert _listed(client)[task]["enable"] is False


def test_absent_ids_and_tasks_held_by_another_run(emulator: Emulator, tmp_path: Path) -> None:
    ids = emulator.control.seed(6, seed=2)
    with emulator.client(rate_limit=None) as client, Ledger(tmp_path / "l.sqlite") as book:
        first = quarantine_tasks(client, ids[:3], ledger=book)
        mark = _mark(emulator)
        second = quarantine_tasks(client, [*ids[2:5], "no-such-task"], ledger=book)
    states = second.frame["state"]
    assert states[ids[2]] == "skipped"
    assert f"quarantine run {first.run_id}" in str(second.frame.loc[ids[2], "reason"])
    assert states["no-such-task"] == "absent"
    assert (states[ids[3:5]] == "quarantined").all()
    assert {t for _, t in _writes(emulator, mark)} <= set(ids[3:5])


def test_dry_run_writes_nothing(emulator: Emulator, tmp_path: Path) -> None:
    ids = emulator.control.seed(10, seed=4)
    with emulator.client(rate_limit=None) as client, Ledger(tmp_path / "l.sqlite") as book:
        was = _listed(client)
        report = quarantine_tasks(client, ids, ledger=book, dry_run=True)
        assert report.summary["dry_run"] and report.ok
        assert (report.frame["state"] == "planned").all()
        assert "update" in report.summary["eta"]
        assert book.calls(report.run_id).empty
        assert book.lease_holder(report.run_id) is None  # released: unquarantine may take it
        # a dry run holds nothing: a real run quarantines the same tasks after it
        real = quarantine_tasks(client, ids[:4], ledger=book, grace_days=0)
        mark = _mark(emulator)
        # the release-or-delete pass, dry: plans the deletion, writes nothing, records nothing
        grace = delete_quarantined(client, ledger=book, dry_run=True)
        assert set(grace.frame["action"]) == {"would delete"}
        assert grace.deletion is not None and grace.deletion.summary["dry_run"]
        assert (book.quarantine(real.run_id)["state"] == "quarantined").all()
        assert _listed(client).keys() == was.keys()
    assert _writes(emulator, mark) == []
    assert [w for w in _writes(emulator) if w[1] in ids[4:]] == []


def test_caps_refuse_before_any_call(emulator: Emulator, tmp_path: Path) -> None:
    ids = emulator.control.seed(8, seed=6)
    with emulator.client(rate_limit=None) as client, Ledger(tmp_path / "l.sqlite") as book:
        mark = _mark(emulator)
        with pytest.raises(QuarantineCapError, match="max_tasks is 5"):
            quarantine_tasks(client, ids, ledger=book, max_tasks=5)
        with pytest.raises(ValueError, match="max_tasks=None"):
            quarantine_tasks(client, ids, ledger=book, max_tasks=None)  # type: ignore[arg-type]
        assert emulator.control.requests(mark) == [] and book.runs().empty
        held = quarantine_tasks(client, ids, ledger=book, max_tasks=8, grace_days=1)
        mark = _mark(emulator)
        with pytest.raises(DeletionCapError, match="max_deletions is 7"):
            delete_quarantined(client, ledger=book, max_deletions=7, now=_later(2))
        assert _writes(emulator, mark) == []
        assert (book.quarantine(held.run_id)["state"] == "quarantined").all()
        assert len(book.runs()) == 1  # no deletion run was made


# --- phase 2 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILE_NAMES)  # listing shapes, under both
def test_deleted_only_after_the_grace_and_through_the_deleter(
    emulator: Emulator, tmp_path: Path
) -> None:
    ids = emulator.control.seed(12, seed=8)
    chosen = ids[:5]
    with emulator.client(rate_limit=None) as client, Ledger(tmp_path / "l.sqlite") as book:
        held = quarantine_tasks(client, chosen, ledger=book, grace_days=7)
        mark = _mark(emulator)
        early = delete_quarantined(client, ledger=book, now=_later(6.9))
        assert set(early.frame["action"]) == {"waiting"} and early.deletion is None
        assert _writes(emulator, mark) == []
        assert early.summary["next_due"] is not None
        grace = delete_quarantined(client, ledger=book, now=_later(7.01))
        assert grace.ok and set(grace.frame["action"]) == {"deleted"}
        deletion = grace.deletion
        assert deletion is not None and deletion.ok and deletion.summary["deleted"] == 5
        # the deleter's own guarantees: snapshots for restore, a ledger run, verification
        assert set(book.snapshots(deletion.run_id)) == set(chosen)
        records = book.quarantine(held.run_id).set_index("task_id")
        assert (records["state"] == "deleted").all()
        assert (records["delete_run"] == deletion.run_id).all()
        assert any(e["kind"] == "grace_deletion" for e in book.events(deletion.run_id))
        # nothing left to do the next time
        again = delete_quarantined(client, ledger=book, now=_later(30))
        assert again.frame.empty and again.deletion is None
    assert set(emulator.control.task_ids()) == set(ids[5:])
    deleted = [t for op, t in _writes(emulator, mark) if op == "batch_delete"]
    assert sorted(deleted) == sorted(chosen)


def test_re_enabled_and_edited_tasks_are_released_never_deleted(
    emulator: Emulator, tmp_path: Path
) -> None:
    ids = emulator.control.seed(8, seed=9)
    chosen = ids[:4]
    reenabled, edited, deleted_elsewhere, kept = chosen
    with emulator.client(rate_limit=None) as client, Ledger(tmp_path / "l.sqlite") as book:
        held = quarantine_tasks(client, chosen, ledger=book, grace_days=2)
        client.update_task(reenabled, enable=True)
        client.update_task(edited, description="someone still needs this")
        client.delete_task(deleted_elsewhere)
        mark = _mark(emulator)
        grace = delete_quarantined(client, ledger=book, now=_later(3))
        actions = grace.frame["action"]
        assert actions[reenabled] == "released" and actions[edited] == "released"
        assert actions[deleted_elsewhere] == "gone" and actions[kept] == "deleted"
        assert grace.frame.loc[reenabled, "reason"] == "re-enabled meanwhile"
        assert "description" in str(grace.frame.loc[edited, "reason"])
        records = book.quarantine(held.run_id).set_index("task_id")
        assert records.loc[reenabled, "state"] == "released"
        assert records.loc[edited, "state"] == "released"
        assert records.loc[deleted_elsewhere, "state"] == "gone"
        text = grace.text()
        assert "1 deleted" in text and "2 released" in text and "re-enabled meanwhile" in text
        page = grace_html(grace=grace.frame, now=grace.now)
        assert "Released: re-enabled or edited meanwhile" in page and reenabled in page
        assert "edited meanwhile: description" in page and "Deleted after" in page
        # released tasks stay released: a later pass never deletes them, and a later run whose
        # filters still select them skips them (unless told to take them again)
        later = delete_quarantined(client, ledger=book, now=_later(60))
        assert later.frame.empty
        again = quarantine_tasks(client, [reenabled, edited], ledger=book, dry_run=True)
        assert set(again.frame["state"]) == {"skipped"}
        assert "released by quarantine run" in str(_cell(again.frame, edited, "reason"))
        forced = quarantine_tasks(client, [edited], ledger=book, include_released=True)
        assert _cell(forced.frame, edited, "state") == "quarantined"
    remaining = set(emulator.control.task_ids())
    assert {reenabled, edited} <= remaining and kept not in remaining
    sent = [t for op, t in _writes(emulator, mark) if op == "batch_delete"]
    assert sent == [kept]


# --- undo ----------------------------------------------------------------------------------------


def test_unquarantine_restores_the_prior_state_exactly(emulator: Emulator, tmp_path: Path) -> None:
    ids = emulator.control.seed(10, seed=12)
    chosen = ids[:7]
    with emulator.client(rate_limit=None) as client, Ledger(tmp_path / "l.sqlite") as book:
        was = _listed(client)
        details = {i: client.get_task(i) for i in ids}
        held = quarantine_tasks(client, chosen, ledger=book)
        edited = chosen[0]
        client.update_task(edited, description="edited while quarantined")
        mark = _mark(emulator)
        with pytest.raises(QuarantineCapError, match="max_tasks is 3"):
            unquarantine(client, book, held.run_id, max_tasks=3)
        plan = unquarantine(client, book, held.run_id, dry_run=True)
        assert _writes(emulator, mark) == []
        assert set(plan["state"]) == {"quarantined"}  # no record changed
        assert list(plan["action"]) == [
            "would set back" if was[i]["enable"] else "nothing to do" for i in chosen
        ]
        frame = unquarantine(client, book, held.run_id)
        assert set(frame["state"]) == {"restored"}
        assert "edits kept" in str(frame.loc[edited, "reason"])
        now = _listed(client)
        for i in chosen:  # same ids, same enable as before, definitions as recorded
            assert now[i]["enable"] is was[i]["enable"]
            if i != edited:
                assert client.get_task(i) == details[i]
        assert client.get_task(edited)["description"] == "edited while quarantined"
        # restored tasks are no longer quarantined: nothing is deleted later
        assert delete_quarantined(client, ledger=book, now=_later(400)).frame.empty
        with pytest.raises(ValueError, match="holds no quarantined task"):
            unquarantine(client, book, held.run_id, ["nope"])
    operations = Counter(op for op, _ in _writes(emulator, mark))
    assert set(operations) == {"update_task"}  # updated back: no create, no delete
    assert operations["update_task"] == sum(1 for i in chosen if was[i]["enable"])
    assert sorted(emulator.control.task_ids()) == sorted(ids)


def test_resume_and_unquarantine_need_the_runs_project(emulator: Emulator, tmp_path: Path) -> None:
    ids = emulator.control.seed(3, seed=1)
    with emulator.client(rate_limit=None) as client, Ledger(tmp_path / "l.sqlite") as book:
        held = quarantine_tasks(client, ids, ledger=book)
        with emulator.client(rate_limit=None, project_id="0" * 32) as elsewhere:
            with pytest.raises(ValueError, match="this client is for"):
                resume_quarantine(elsewhere, book, held.run_id)
            with pytest.raises(ValueError, match="this client is for"):
                unquarantine(elsewhere, book, held.run_id)


# --- a run killed mid-quarantine -----------------------------------------------------------------

_CHILD = """
import json, sys
from wsnb.client import Client
from wsnb.quarantine import quarantine_tasks
ids = json.loads(open(sys.argv[1]).read())
with Client.from_env(rate_limit=None) as client:
    quarantine_tasks(client, ids, ledger=sys.argv[2], grace_days=1, max_tasks=len(ids))
"""


def _env(emulator: Emulator, ledger_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k not in CREDENTIAL_ENV_VARS},
        "WSNB_ENDPOINT": emulator.endpoint,
        "HUAWEICLOUD_SDK_AK": emulator.ak,
        "HUAWEICLOUD_SDK_SK": emulator.sk,
        "HUAWEICLOUD_SDK_PROJECT_ID": emulator.project_id,
        "WSNB_LEASE_TTL": "1",
    }


def _calls(path: Path) -> Counter[str]:
    try:
        with sqlite3.connect(path, timeout=1.0) as con:
            rows = con.execute("SELECT state, count(*) FROM calls GROUP BY state").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return Counter()
    return Counter({state: int(n) for state, n in rows})


@pytest.mark.slow
def test_killed_mid_quarantine_leaves_a_record_of_every_disabled_task_then_resumes(
    emulator: Emulator, tmp_path: Path
) -> None:
    ids = emulator.control.seed(30, seed=14)
    with emulator.client(rate_limit=None) as client:
        was = _listed(client)
    chosen = [i for i in ids if was[i]["enable"]][:15]
    # each update takes 0.15 s on the server: the child is killed while one is in flight
    emulator.control.add_fault(operation="update_task", kind="latency", latency=0.15)
    ids_file = tmp_path / "ids.json"
    ids_file.write_text(json.dumps(chosen))
    ledger_path = tmp_path / "ledger.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(ids_file), str(ledger_path)],
        env=_env(emulator, ledger_path),
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        deadline = time.monotonic() + 60
        while not ((c := _calls(ledger_path))["ok"] >= 4 and c["in_flight"] == 1):
            assert child.poll() is None, "the run finished before it could be killed"
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    time.sleep(0.5)  # the emulator finishes the update the child left in flight
    emulator.control.clear_faults()

    with emulator.client(rate_limit=None) as client, Ledger(ledger_path) as book:
        run_id = int(book.runs().index[0])
        assert book.run(run_id)["status"] == "running"  # killed: never closed
        records = book.quarantine(run_id).set_index("task_id")
        disabled = {i for i, t in _listed(client).items() if t["enable"] is False}
        # the invariant: no task disabled by the run without a record of its prior state
        for i in disabled & set(chosen):
            assert records.loc[i, "state"] in ("in_flight", "quarantined")
            prior = _cell(records, i, "prior")
            assert prior["enable"] is True
        settled = set(records.index[records["state"] == "quarantined"])
        assert settled and len(settled) < len(chosen)
        assert (records["state"] == "in_flight").sum() == 1
        while book.lease_holder(run_id) is not None:  # the dead child's lease lapses
            time.sleep(0.1)
        mark = _mark(emulator)
        report = resume_quarantine(client, book, run_id)
        assert report.ok and set(report.frame["state"]) == {"quarantined"}
        assert all(_listed(client)[i]["enable"] is False for i in chosen)
        assert any(e["kind"] == "resumed" for e in book.events(run_id))
    resent = {t for _, t in _writes(emulator, mark)}
    assert not resent & settled  # nothing already settled was sent again
    assert resent <= set(chosen)


# --- failed and ambiguous updates ----------------------------------------------------------------


def test_an_update_whose_answer_is_lost_is_settled_by_asking_the_server(
    emulator: Emulator, tmp_path: Path
) -> None:
    ids = emulator.control.seed(12, seed=19)
    retry = RetryPolicy(max_attempts=2, initial=0.01, max_backoff=0.02)
    with emulator.client(rate_limit=None, retry=retry) as client, Ledger(":memory:") as book:
        chosen = [i for i in ids if _listed(client)[i]["enable"]][:4]
        landed, refused = chosen[:2], chosen[2:]
        # the first two updates commit, then their answers are lost (every attempt); the
        # next ones are refused with a 503 before anything is done
        emulator.control.add_fault(operation="update_task", kind="drop", phase="after", count=4)
        emulator.control.add_fault(
            operation="update_task", kind="status", status=503, skip=4, count=4
        )
        report = quarantine_tasks(client, chosen, ledger=book)
        states = report.frame["state"]
        assert (states[landed] == "quarantined").all()  # the listing said they are disabled
        assert (states[refused] == "failed").all()  # it said these are not: nothing guessed
        assert "did not take effect" in str(_cell(report.frame, refused[0], "reason"))
        assert set(book.calls(report.run_id)["state"]) == {"unknown"}
        emulator.control.clear_faults()
        now = _listed(client)
        assert [now[i]["enable"] for i in chosen] == [False, False, True, True]
        # a failed task is never deleted; unquarantine sets back every task with a record
        back = unquarantine(client, book, report.run_id)
        assert set(back.index) == set(chosen) and set(back["state"]) == {"restored"}
        assert all(_listed(client)[i]["enable"] for i in chosen)


def test_the_report_section_is_mail_safe_and_escapes_names(emulator: Emulator) -> None:
    with emulator.client(rate_limit=None) as client, Ledger(":memory:") as book:
        task = client.create_task(task_body(task_name="<b>ops</b> & co"))
        result = run_grace(client, [task], grace_days=5, ledger=book)
    page = result.html()
    assert "&lt;b&gt;ops&lt;/b&gt; &amp; co" in page and "<b>ops</b>" not in page
    assert "<style" not in page and "<script" not in page and "data:" not in page
    assert "Quarantined now" in page and "due (UTC)" in page
    text = result.text()
    assert "nothing quarantined" in text and "grace 5 day(s): deleted" in text
