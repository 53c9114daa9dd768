"""``wsnb tasks`` and ``wsnb runs`` against the emulator, through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from wsnb.cli import cli
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger


@pytest.fixture
def env(emulator: Emulator, tmp_path: Path) -> dict[str, str]:
    return {
        "WSNB_ENDPOINT": emulator.endpoint,
        "HUAWEICLOUD_SDK_AK": emulator.ak,
        "HUAWEICLOUD_SDK_SK": emulator.sk,
        "HUAWEICLOUD_SDK_PROJECT_ID": emulator.project_id,
        "WSNB_LEDGER": str(tmp_path / "ledger.sqlite"),
    }


def _run(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def test_list_formats(emulator: Emulator, env: dict[str, str], tmp_path: Path) -> None:
    ids = emulator.control.seed(30, seed=41)
    result = _run(env, "tasks", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["task_id"] for r in rows} == set(ids)
    out = tmp_path / "t.csv"
    result = _run(env, "tasks", "list", "--type", "STOP", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("task_id,task_name,task_type")
    assert all(",STOP," in line for line in lines[1:])
    table = _run(env, "tasks", "list")
    assert ids[0] in table.output
    assert emulator.sk not in table.output


def test_delete_asks_and_can_be_declined(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = emulator.control.seed(6, seed=42)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("# to go\n" + "\n".join(ids[:4]) + "\n\n")
    result = _run(env, "tasks", "delete", "--ids-file", str(ids_file), "--no-progress", input="n\n")
    assert "Delete 4 task(s)" in result.output
    assert result.exit_code == 1  # aborted
    assert len(emulator.control.task_ids()) == 6
    result = _run(env, "tasks", "delete", "--ids-file", str(ids_file), "--no-progress", input="y\n")
    assert result.exit_code == 0, result.output
    assert "deleted=4" in result.output
    assert set(emulator.control.task_ids()) == set(ids[4:])


def test_delete_by_filter_dry_run_and_cap(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    emulator.control.seed(40, seed=43)
    result = _run(
        env,
        "tasks",
        "delete",
        "--type",
        "STOP",
        "--dry-run",
        "--no-progress",
        "--report",
        str(tmp_path / "r.json"),
    )
    assert result.exit_code == 0, result.output
    assert "dry run 1 done: planned=" in result.output
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["dry_run"] is True
    writes = [e for e in emulator.control.requests() if e["operation"] == "batch_delete"]
    assert writes == []
    result = _run(env, "tasks", "delete", "--all", "--max", "3", "--yes", "--no-progress")
    assert result.exit_code == 1
    assert "max_deletions is 3" in result.output
    for no_cap in ("none", "-1"):  # every deletion is capped: there is no "no cap" value
        result = _run(env, "tasks", "delete", "--all", "--max", no_cap, "--yes", "--no-progress")
        assert result.exit_code == 2 and "--max" in result.output, result.output
    assert len(emulator.control.task_ids()) == 40
    result = _run(env, "tasks", "delete", "--no-progress")
    assert result.exit_code == 2 and "nothing selected" in result.output


def test_runs_list_show_restore(emulator: Emulator, env: dict[str, str], tmp_path: Path) -> None:
    ids = emulator.control.seed(5, seed=44)
    assert _run(env, "runs", "list").output == "(none)\n"
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids[:3]))
    assert (
        _run(
            env, "tasks", "delete", "--ids-file", str(ids_file), "--yes", "--no-progress"
        ).exit_code
        == 0
    )
    listed = _run(env, "runs", "list", "--format", "json")
    runs = json.loads(listed.output)
    assert runs[0]["run_id"] == 1 and runs[0]["deleted"] == 3
    shown = _run(env, "runs", "show", "1", "--format", "csv")
    assert shown.output.count("deleted") == 3
    missing = _run(env, "runs", "show", "7")
    assert missing.exit_code == 1 and "no run 7" in missing.output
    restored = _run(env, "runs", "restore", "1", "--yes", "--format", "json")
    assert restored.exit_code == 0, restored.output
    assert len(emulator.control.task_ids()) == 5
    with Ledger(env["WSNB_LEDGER"]) as book:
        assert set(book.restores(1).index) == set(ids[:3])


def test_resume_a_finished_run_sends_nothing(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = emulator.control.seed(3, seed=45)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids))
    assert (
        _run(
            env, "tasks", "delete", "--ids-file", str(ids_file), "--yes", "--no-progress"
        ).exit_code
        == 0
    )
    mark = emulator.control.requests()[-1]["seq"]
    result = _run(env, "runs", "resume", "1", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "run 1 done: deleted=3" in result.output
    assert [e for e in emulator.control.requests(mark) if e["operation"] == "batch_delete"] == []
