"""``wsnb tasks quarantine`` and ``wsnb runs unquarantine/show/resume`` of quarantine runs,
against the emulator through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from wsnb.cli import cli
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger

_WRITES = {"update_task", "create_task", "delete_task", "batch_delete"}


def _run(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def _enabled(emulator: Emulator) -> dict[str, bool]:
    with emulator.client(rate_limit=None) as client:
        items = client.list_tasks() + client.list_tasks(scheduled_type="LIFE_CYCLE")
    return {str(t["id"]): bool(t["enable"]) for t in items}


def _writes(emulator: Emulator) -> list[str]:
    return [e["operation"] for e in emulator.control.requests() if e["operation"] in _WRITES]


def test_quarantine_show_then_unquarantine(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = emulator.control.seed(8, seed=31)
    was = _enabled(emulator)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids[:5]))
    args = ("tasks", "quarantine", "--ids-file", str(ids_file), "--grace-days", "3")
    dry = _run(env, *args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "plan: quarantine 5 task(s) for 3 day(s), ≈" in dry.output
    assert "wsnb quarantine dry run 1: OK (done)" in dry.output and "5 planned" in dry.output
    assert _writes(emulator) == []

    held = _run(env, *args, "--yes")
    assert held.exit_code == 0, held.output
    assert "wsnb quarantine run 2: OK (done)" in held.output and "5 quarantined" in held.output
    assert not any(_enabled(emulator)[i] for i in ids[:5])

    listed = json.loads(_run(env, "runs", "list", "--format", "json").output)
    assert [(r["run_id"], r["mode"], r["ids"]) for r in listed] == [
        (2, "quarantine", 5),
        (1, "dry quarantine", 5),
    ]
    table = _run(env, "runs", "list").output
    assert "dry quarantine" in table and "quarantine" in table.replace("dry quarantine", "")
    shown = _run(env, "runs", "show", "2", "--format", "json")
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.output)
    assert {r["state"] for r in rows} == {"quarantined"} and len(rows) == 5
    assert _run(env, "runs", "resume", "2").exit_code == 0  # nothing left: sends nothing
    assert _writes(emulator).count("update_task") == sum(was[i] for i in ids[:5])

    back = _run(env, "runs", "unquarantine", "2", "--yes", "--format", "json")
    assert back.exit_code == 0, back.output
    assert {r["state"] for r in json.loads(back.output)} == {"restored"}
    assert _enabled(emulator) == was
    assert "batch_delete" not in _writes(emulator) and "create_task" not in _writes(emulator)
    refused = _run(env, "runs", "unquarantine", "1", "--yes")  # a dry run holds nothing
    assert refused.exit_code == 0, refused.output
    with Ledger(env["WSNB_LEDGER"]) as book:
        assert set(book.quarantine(2)["state"]) == {"restored"}


def test_due_tasks_are_deleted_by_a_later_run_and_caps_refuse(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = emulator.control.seed(6, seed=32)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids[:4]))
    over = _run(env, "tasks", "quarantine", "--ids-file", str(ids_file), "--max", "3", "--yes")
    assert over.exit_code == 2 and "--max is 3" in over.output
    assert _writes(emulator) == []
    quarantine = ("tasks", "quarantine", "--ids-file", str(ids_file), "--grace-days", "0")
    assert _run(env, *quarantine, "--yes").exit_code == 0
    assert set(emulator.control.task_ids()) == set(ids)  # quarantined, not deleted
    capped = _run(env, "tasks", "quarantine", "--due-only", "--max", "2", "--yes")
    assert capped.exit_code == 2 and "max_deletions is 2" in capped.output
    assert "batch_delete" not in _writes(emulator)
    due = _run(env, "tasks", "quarantine", "--due-only", "--yes")
    assert due.exit_code == 0, due.output
    assert "4 deleted" in due.output and "wsnb deletion run" in due.output
    assert set(emulator.control.task_ids()) == set(ids[4:])


def test_unquarantine_refuses_a_deletion_run(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = emulator.control.seed(2, seed=33)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(ids[0])
    delete = ("tasks", "delete", "--ids-file", str(ids_file), "--yes", "--no-progress")
    assert _run(env, *delete).exit_code == 0
    refused = _run(env, "runs", "unquarantine", "1", "--yes")
    assert refused.exit_code == 2 and "not a quarantine run" in refused.output
    usage = _run(env, "tasks", "quarantine", "--yes")
    assert usage.exit_code == 2 and "nothing selected" in usage.output
