"""Ambiguous outcomes against the real emulator: a late commit under the reject policy, an
unreadable 2xx, a ``total_count`` that lies, and a server failing every round."""

from __future__ import annotations

import pandas as pd

from tests.deletion.conftest import Garbage2xx, LateCommit, ZeroTotal, _client, _deleted_in_log
from wsnb.deletion import delete_tasks, restore_tasks, resume
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger


def test_a_late_commit_under_reject_is_deleted_not_already_absent(
    emulator: Emulator, ledger: Ledger
) -> None:
    """The first call times out; the check finds the tasks still there; the server then commits
    the first call, so the re-send gets 400 "does not exist". This run deleted them: ``deleted``
    (with the evidence in an event), and restore brings them back."""
    emulator.control.set_policy(unknown_ids="reject")
    ids = emulator.control.seed(8, seed=40)
    late = LateCommit()
    with _client(emulator, transport=late) as client:
        report = delete_tasks(client, ids, ledger=ledger, chunk_size=8, progress=False)
    assert emulator.control.task_ids() == []
    outcomes = report.frame.set_index("task_id")["outcome"]
    assert (outcomes == "deleted").all(), outcomes.value_counts().to_dict()
    gone = [e for e in report.events if e["kind"] == "gone"]
    assert gone and sum(e["deleted"] for e in gone) == 8
    assert all(e["already_absent"] == 0 for e in gone)
    with _client(emulator) as client:
        restored = restore_tasks(client, ledger, report.run_id)
    assert set(restored.index) == set(ids)
    assert (restored["state"] == "ok").all()
    assert len(emulator.control.task_ids()) == 8


def test_an_unreadable_2xx_to_batch_delete_is_not_a_failure(
    emulator: Emulator, ledger: Ledger
) -> None:
    """200 with a body that is not JSON: the tasks are gone; nothing ends ``failed``."""
    ids = emulator.control.seed(12, seed=41)
    with _client(emulator, transport=Garbage2xx()) as client:
        report = delete_tasks(client, ids, ledger=ledger, chunk_size=5, progress=False)
    assert report.ok, report.frame["outcome"].value_counts().to_dict()
    assert report.summary["deleted"] == 12
    assert emulator.control.task_ids() == []
    assert max(_deleted_in_log(emulator).values()) == 1


def test_existence_checks_do_not_trust_total_count(emulator: Emulator, ledger: Ledger) -> None:
    """The list answers say ``total_count: 0`` although tasks exist: the pre-check and the
    verification must list (or look up) the tasks, not conclude "absent" from the count."""
    ids = emulator.control.seed(20, seed=42)
    chosen = ids[:12]
    with _client(emulator, transport=ZeroTotal()) as client:
        report = delete_tasks(
            client, chosen, ledger=ledger, snapshot=False, precheck=True, progress=False
        )
    assert report.summary["already_absent"] == 0
    assert report.summary["deleted"] == 12
    assert set(emulator.control.task_ids()) == set(ids[12:])
    # verification too: a server that answers 200 but deletes nothing is caught
    with _client(emulator, transport=ZeroTotal(pretend_deletes=True)) as client:
        report = delete_tasks(
            client, ids[12:], ledger=ledger, snapshot=False, precheck=False, progress=False
        )
    verified = [e for e in report.events if e["kind"] == "verified"]
    assert verified and verified[0]["still_present"] == 8
    assert (report.frame["outcome"] == "failed").all()
    assert set(report.frame["error_code"]) == {"VERIFY"}


def test_an_id_failing_every_round_stays_pending_for_resume(
    emulator: Emulator, ledger: Ledger
) -> None:
    """Regression (hypothesis): two dropped calls and two 502s, one per round: the id was never
    deleted and nothing refused it for good, so it stays ``pending`` (with the last error),
    the run is ``interrupted``, and ``resume`` finishes it."""
    ids = emulator.control.seed(5, seed=5)
    control = emulator.control
    control.add_fault(operation="batch_delete", kind="drop", phase="before", count=2)
    control.add_fault(operation="batch_delete", status=502, skip=2, count=2)
    with _client(emulator) as client:
        report = delete_tasks(
            client,
            [ids[2]],
            ledger=ledger,
            chunk_size=1,
            snapshot=False,
            precheck=False,
            progress=False,
        )
    row = report.frame.iloc[0]
    assert row["outcome"] == "pending", row.to_dict()
    assert row["attempts"] == 4
    assert "502" in str(row["error_msg"]) and "resume" in str(row["error_msg"])
    assert report.summary["status"] == "interrupted"
    assert not report.ok
    assert ids[2] in emulator.control.task_ids()
    control.clear_faults()
    with _client(emulator) as client:
        final = resume(client, ledger, report.run_id, progress=False)
    assert final.ok and final.summary["deleted"] == 1
    assert isinstance(final.frame, pd.DataFrame)
    assert ids[2] not in emulator.control.task_ids()
