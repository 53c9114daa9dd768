"""``wsnb runs`` (list, show, resume, restore) against the emulator, through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from wsnb.cli import cli
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger


def _run(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


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
    assert missing.exit_code == 2 and "no run 7" in missing.output  # bad input
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
    assert "wsnb deletion run 1: OK (done)" in result.output and "3 deleted" in result.output
    assert [e for e in emulator.control.requests(mark) if e["operation"] == "batch_delete"] == []


def test_runs_execute_deletes_exactly_the_dry_runs_plan(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = emulator.control.seed(6, seed=45)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids[:4]))
    planned = _run(
        env, "tasks", "delete", "--ids-file", str(ids_file), "--dry-run", "--no-progress"
    )
    assert planned.exit_code == 0 and "dry run of 4 task(s): ≈" in planned.output
    no = _run(env, "runs", "execute", "1", "--no-progress", input="n\n")
    assert no.exit_code == 1 and "plan 1: 4 task(s)" in no.output and "≈" in no.output
    assert len(emulator.control.task_ids()) == 6  # answered no: nothing sent
    stale = _run(env, "runs", "execute", "1", "--max-age", "0", "--yes", "--no-progress")
    assert stale.exit_code == 2 and "more than max_age" in stale.output
    done = _run(env, "runs", "execute", "1", "--yes", "--no-progress")
    assert done.exit_code == 0, done.output
    assert set(emulator.control.task_ids()) == set(ids[4:])
    again = _run(env, "runs", "execute", "1", "--yes", "--no-progress")
    assert again.exit_code == 2 and "already executed by run 2" in again.output
    with Ledger(env["WSNB_LEDGER"]) as book:
        assert book.run(2)["params"]["plan_run"] == 1
    not_a_plan = _run(env, "runs", "execute", "2", "--yes", "--no-progress")
    assert not_a_plan.exit_code == 2 and "not a dry run" in not_a_plan.output
