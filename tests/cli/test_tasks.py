"""``wsnb tasks`` (list, delete) against the emulator, through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from wsnb.cli import cli
from wsnb.emulator import Emulator
from wsnb.params import cleanup_params
from wsnb.selection import select_tasks


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
    assert "4 deleted" in result.output
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
    assert "wsnb dry run 1: OK (done)" in result.output and " planned" in result.output
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["dry_run"] is True
    writes = [e for e in emulator.control.requests() if e["operation"] == "batch_delete"]
    assert writes == []
    result = _run(env, "tasks", "delete", "--all", "--max", "3", "--yes", "--no-progress")
    assert result.exit_code == 2  # bad input: more ids than --max
    assert "--max is 3" in result.output and "nothing was sent" in result.output
    for no_cap in ("none", "-1"):  # every deletion is capped: there is no "no cap" value
        result = _run(env, "tasks", "delete", "--all", "--max", no_cap, "--yes", "--no-progress")
        assert result.exit_code == 2 and "--max" in result.output, result.output
    assert len(emulator.control.task_ids()) == 40
    result = _run(env, "tasks", "delete", "--no-progress")
    assert result.exit_code == 2 and "nothing selected" in result.output


def test_delete_selects_what_the_cleanup_notebook_selects(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    """The CLI's filters and the notebook's parameters go through one selection."""
    emulator.control.seed(300, seed=46)
    want = select_tasks(
        emulator.client(rate_limit=None), cleanup_params(task_types="STOP", disabled_only=True)
    )
    assert len(want) > 0
    report = tmp_path / "r.json"
    args = ["--type", "STOP", "--disabled", "--dry-run", "--no-progress", "--report", str(report)]
    result = _run(env, "tasks", "delete", *args)
    assert result.exit_code == 0, result.output
    planned = {o["task_id"] for o in json.loads(report.read_text())["outcomes"]}
    assert planned == set(want.index)
    listed = _run(env, "tasks", "list", "--type", "STOP", "--format", "json")
    assert {r["task_id"] for r in json.loads(listed.output)} >= planned


def test_bad_report_name_is_refused_before_any_call(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    emulator.control.seed(5, seed=47)
    report = tmp_path / "r.txt"
    result = _run(
        env, "tasks", "delete", "--all", "--yes", "--no-progress", "--report", str(report)
    )
    assert (
        result.exit_code == 2 and "--report must end in .html, .csv, .json or .md" in result.output
    )
    assert emulator.control.requests() == []
    assert len(emulator.control.task_ids()) == 5 and not report.exists()


def test_report_kind_follows_the_suffix(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    emulator.control.seed(6, seed=47)
    for suffix in ("md", "html"):
        report = tmp_path / f"r.{suffix}"
        args = ["--all", "--dry-run", "--no-progress", "--report", str(report)]
        result = _run(env, "tasks", "delete", *args)
        assert result.exit_code == 0, result.output
        assert f"report written to {report}" in result.output
    markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert markdown.startswith("**Would delete 6 of 6 selected scheduled tasks in project ")
    assert "<!doctype html>" in (tmp_path / "r.html").read_text()
    assert not (tmp_path / "r.csv").exists()  # six tasks: the page holds them all
