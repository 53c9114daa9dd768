"""wsnb.deletion._restore against the real emulator: deleted tasks come back with equal
definitions, never twice, and only what the run deleted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import task_body
from tests.deletion.conftest import _client
from wsnb.deletion import create_body, delete_tasks, restore_tasks
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger, RunLeasedError


def _definition(detail: Any) -> dict[str, Any]:
    """A show response without ``object_name``: the server fills that from the desktop, and the
    emulator's seeded names differ from the ones it derives on create."""
    out = dict(detail)
    out["apply_objects"] = [
        {k: v for k, v in obj.items() if k != "object_name"} for obj in out.get("apply_objects", [])
    ]
    return out


def test_restore_brings_back_equal_definitions(emulator: Emulator, ledger: Ledger) -> None:
    with _client(emulator) as client:
        ids = [
            client.create_task(task_body(task_name="daily", description="keep me")),
            client.create_task(
                task_body(
                    task_name="lc",
                    task_type="EXECUTE_SCRIPT",
                    scheduled_type="LIFE_CYCLE",
                    life_cycle_type="POST_DESKTOP_DISCONNECTED",
                    scheduled_time=None,
                    day_interval=None,
                    wait_time=5,
                    extra_params='{"script_id": "s-1"}',
                )
            ),
        ]
        ids += emulator.control.seed(3, seed=15)
        before = {i: client.get_task(i) for i in ids}
        report = delete_tasks(client, ids, ledger=ledger, progress=False)
        assert report.summary["deleted"] == 5
        mapping = restore_tasks(client, ledger, report.run_id)
        assert list(mapping.index) == ids
        assert (mapping["state"] == "ok").all()
        for old_id, new_id in mapping["new_id"].items():
            again = _definition(client.get_task(str(new_id)))
            assert again.pop("id") == new_id
            expected = _definition(before[str(old_id)])
            expected.pop("id")
            assert again == expected
        # restoring again creates no twin
        creates = sum(e["operation"] == "create_task" for e in emulator.control.requests())
        again_map = restore_tasks(client, ledger, report.run_id)
        assert list(again_map["new_id"]) == list(mapping["new_id"])
        assert creates == sum(e["operation"] == "create_task" for e in emulator.control.requests())
        with pytest.raises(ValueError, match="did not delete"):
            restore_tasks(client, ledger, report.run_id, ids=["never-deleted"])


def test_create_body_drops_output_only_fields() -> None:
    detail = {
        "id": "t-1",
        "task_name": "n",
        "task_type": "STOP",
        "apply_objects": [{"object_id": "d", "object_type": "DESKTOP", "object_name": "x"}],
        "gray_count": None,
    }
    assert create_body(detail) == {
        "task_name": "n",
        "task_type": "STOP",
        "apply_objects": [{"object_id": "d", "object_type": "DESKTOP"}],
    }


def _creates(emu: Emulator) -> int:
    return sum(e["operation"] == "create_task" for e in emu.control.requests())


def test_an_unknown_create_is_resolved_on_the_next_restore(
    emulator: Emulator, ledger: Ledger
) -> None:
    ids = emulator.control.seed(4, seed=16)
    with _client(emulator) as client:
        before = {i: _definition(client.get_task(i)) for i in ids[:3]}
        report = delete_tasks(client, ids[:3], ledger=ledger, progress=False)
        # the 2nd create is made on the server, its answer lost (503): ambiguous
        emulator.control.add_fault(
            operation="create_task", status=503, phase="after", skip=1, count=1
        )
        first = restore_tasks(client, ledger, report.run_id)
        assert list(first["state"]) == ["ok", "unknown", "ok"]
        assert _creates(emulator) == 3 and len(emulator.control.task_ids()) == 4
        # the next restore asks the server: the task is there, it is adopted, not made again
        again = restore_tasks(client, ledger, report.run_id)
        assert (again["state"] == "ok").all()
        assert _creates(emulator) == 3 and len(emulator.control.task_ids()) == 4
        assert set(again["new_id"]) == set(emulator.control.task_ids()) - {ids[3]}
        for old_id, new_id in again["new_id"].items():
            made = _definition(client.get_task(str(new_id)))
            assert {**made, "id": old_id} == before[str(old_id)]
    resolved = [e for e in ledger.events(report.run_id) if e["kind"] == "restore_resolved"]
    assert [(e["old_id"], e["was"], e["found"], e["new_id"]) for e in resolved] == [
        (ids[1], "unknown", True, again.at[ids[1], "new_id"])
    ]


def test_an_unknown_create_that_did_not_happen_is_made_once(
    emulator: Emulator, ledger: Ledger
) -> None:
    """A task with the same definition that existed before the restore began (here: a twin
    that was not deleted) is not mistaken for the lost create."""
    with _client(emulator) as client:
        twin, survivor = (client.create_task(task_body(task_name="same")) for _ in range(2))
        report = delete_tasks(client, [twin], ledger=ledger, progress=False)
        emulator.control.add_fault(operation="create_task", status=503, count=1)  # refused
        assert list(restore_tasks(client, ledger, report.run_id)["state"]) == ["unknown"]
        assert emulator.control.task_ids() == [survivor]
        again = restore_tasks(client, ledger, report.run_id)
        assert list(again["state"]) == ["ok"] and again.at[twin, "new_id"] != survivor
        assert set(emulator.control.task_ids()) == {survivor, again.at[twin, "new_id"]}
        assert _creates(emulator) == 4  # 2 made by the test, the lost one, the one made again
        # and a third restore has nothing left to do
        assert list(restore_tasks(client, ledger, report.run_id)["new_id"]) == list(again["new_id"])
        assert _creates(emulator) == 4
    resolved = [e for e in ledger.events(report.run_id) if e["kind"] == "restore_resolved"]
    assert [(e["old_id"], e["found"]) for e in resolved] == [(twin, False)]


def test_restore_refuses_another_project_and_a_run_held_elsewhere(
    emulator: Emulator, make_emulator: Any, ledger: Ledger
) -> None:
    ids = emulator.control.seed(2, seed=17)
    with _client(emulator) as client:
        report = delete_tasks(client, ids, ledger=ledger, progress=False)
    elsewhere = make_emulator()
    with _client(elsewhere) as client, pytest.raises(ValueError, match="was made against"):
        restore_tasks(client, ledger, report.run_id)
    assert elsewhere.control.task_ids() == []
    with (
        Ledger(ledger.path) as other,
        other.lease(report.run_id),
        _client(emulator) as client,
        pytest.raises(RunLeasedError, match="held by"),
    ):
        restore_tasks(client, ledger, report.run_id)
    assert _creates(emulator) == 0
