"""wsnb.deletion._restore against the real emulator: deleted tasks come back with equal
definitions, never twice, and only what the run deleted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import task_body
from tests.deletion.conftest import _client
from wsnb.deletion import create_body, delete_tasks, restore_tasks
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger


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
