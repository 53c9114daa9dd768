"""``--fleet``: ``wsnb tasks list|delete`` and ``wsnb runs list|show|resume|restore`` over the
projects of a fleet file, against the emulator (two projects on it, two region labels)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from wsnb.cli import cli
from wsnb.emulator import Emulator
from wsnb.emulator.seed import seed_store

OTHER = "f1" * 16


def _run(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


@pytest.fixture
def fleet_file(emulator: Emulator, tmp_path: Path) -> Iterator[Path]:
    emulator.control.seed(8, seed=51)
    seed_store(emulator.state.store, OTHER, 5, seed=52, now=emulator.state.now())
    path = tmp_path / "wsnb.toml"
    path.write_text(
        f'[[fleet.targets]]\nregion = "r-one"\nendpoint = "{emulator.endpoint}"\n'
        f'project_id = "{emulator.project_id}"\n'
        f'[[fleet.targets]]\nregion = "r-two"\nendpoint = "{emulator.endpoint}"\n'
        f'project_id = "{OTHER}"\n'
    )
    yield path
    emulator.state.store.reset(OTHER)


def test_tasks_list_covers_every_project(
    emulator: Emulator, env: dict[str, str], fleet_file: Path
) -> None:
    result = _run(env, "tasks", "list", "--fleet", str(fleet_file), "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert list(rows[0])[:2] == ["project_id", "task_id"] and "region" in rows[0]
    by_project = {p: sum(r["project_id"] == p for r in rows) for p in (emulator.project_id, OTHER)}
    assert by_project == {emulator.project_id: 8, OTHER: 5}
    assert {r["region"] for r in rows if r["project_id"] == OTHER} == {"r-two"}
    wide = dict(env, COLUMNS="160")
    shown = _run(wide, "tasks", "list", "--fleet", str(fleet_file))
    assert shown.exit_code == 0 and "r-two" in shown.output and "13 tasks" in shown.output


def test_fleet_excludes_a_single_project_and_checks_the_file(
    env: dict[str, str], fleet_file: Path, tmp_path: Path
) -> None:
    both = _run(env, "tasks", "list", "--fleet", str(fleet_file), "--project-id", OTHER)
    assert both.exit_code == 2 and "--fleet excludes" in both.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[[fleet.targets]]\nregion = "cn-north-4"\nproject_id = "p"\nsk = "hidden"\n')
    refused = _run(env, "tasks", "list", "--fleet", str(bad))
    assert refused.exit_code == 2 and "fleet.targets[0].sk" in refused.output
    assert "hidden" not in refused.output


def test_tasks_delete_across_the_fleet_then_runs_show_and_list(
    emulator: Emulator, env: dict[str, str], fleet_file: Path, tmp_path: Path
) -> None:
    mine = emulator.control.task_ids()[:2]
    theirs = emulator.state.store.task_ids(OTHER)[:3]
    ids = tmp_path / "ids.txt"
    ids.write_text(
        "# project task\n"
        + "".join(f"{emulator.project_id} {t}\n" for t in mine)
        + "".join(f"{OTHER},{t}\n" for t in theirs)
    )
    args = ["tasks", "delete", "--fleet", str(fleet_file), "--ids-file", str(ids), "--no-progress"]
    as_file = _run(env, *args, "-y", "--report", str(tmp_path / "r.html"))
    assert as_file.exit_code == 2 and "a folder" in as_file.output
    capped = _run(env, *args, "--max", "4", "-y")
    assert capped.exit_code == 2 and "across the fleet" in capped.output
    declined = _run(env, *args, input="n\n")
    assert "2 in " in declined.output and "3 in " in declined.output and declined.exit_code == 1
    assert len(emulator.state.store.task_ids(OTHER)) == 5
    done = _run(env, *args, "-y", "--report", str(tmp_path / "out"))
    assert done.exit_code == 0, done.output
    assert "wsnb fleet deletion run 1: OK (done); 2 project(s)" in done.output
    assert set(emulator.state.store.task_ids(OTHER)).isdisjoint(theirs)
    assert set(emulator.control.task_ids()).isdisjoint(mine)
    assert (tmp_path / "out" / "fleet.csv").is_file()
    assert (tmp_path / "out" / OTHER / "report.html").is_file()

    listed = _run(env, "runs", "list", "--format", "json")
    runs = json.loads(listed.output)
    assert sorted(r["fleet"] for r in runs) == [1, 1]
    fleets = json.loads(_run(env, "runs", "list", "--fleet", "--format", "json").output)
    assert [(f["fleet_run_id"], f["projects"], f["deleted"]) for f in fleets] == [(1, 2, 5)]
    table = _run(dict(env, COLUMNS="120"), "runs", "list", "--fleet")
    assert "1 fleet run; 2 project runs, 5 tasks deleted" in table.output
    shown = _run(env, "runs", "show", "1", "--fleet", "--format", "csv")
    assert shown.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(shown.output)))
    assert {(r["project_id"], r["task_id"]) for r in rows} == {
        *((emulator.project_id, t) for t in mine),
        *((OTHER, t) for t in theirs),
    }
    text = _run(dict(env, COLUMNS="160"), "runs", "show", "1", "--fleet")
    assert f"{OTHER} (r-two): run" in text.output

    restored = _run(
        env, "runs", "restore", "1", "--fleet", str(fleet_file), "-y", "--format", "csv"
    )
    assert restored.exit_code == 0, restored.output
    assert len(emulator.state.store.task_ids(OTHER)) == 5
    assert len(emulator.control.task_ids()) == 8


def test_runs_resume_finishes_a_stopped_project(
    emulator: Emulator, env: dict[str, str], fleet_file: Path
) -> None:
    # the first delete call (one of the two projects) is refused 401: that project stops
    emulator.control.add_fault(operation="batch_delete", kind="status", status=401, count=1)
    result = _run(
        env, "tasks", "delete", "--fleet", str(fleet_file), "--all",
        "--no-progress", "-y", "--max", "100",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "NEEDS ATTENTION" in result.output and "error: AuthenticationError" in result.output
    shown = _run(env, "runs", "list", "--fleet", "--format", "json")
    assert json.loads(shown.output)[0]["status"] == "interrupted"
    resumed = _run(env, "runs", "resume", "1", "--fleet", str(fleet_file), "--no-progress")
    assert resumed.exit_code == 0, resumed.output
    assert "OK (done)" in resumed.output
    assert emulator.state.store.task_ids(OTHER) == emulator.control.task_ids() == []
    missing = _run(env, "runs", "resume", "7", "--fleet", str(fleet_file), "--no-progress")
    assert missing.exit_code == 2 and "no fleet run 7" in missing.output
