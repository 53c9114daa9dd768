"""The CLI's tables for people (``tasks list``, ``runs list``, ``runs show``): they fit the
terminal (``COLUMNS``, else 100 columns without a TTY), cut long names with "…", say nothing
raw (``NaN``, ``<NA>``, ``True``, ``+00:00``) and end with a footer that counts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import task_body
from wsnb.cli import cli
from wsnb.emulator import Emulator

LONG = "quarterly maintenance window for the finance department desktops, do not touch " * 2
RAW = re.compile(r"\bNaN\b|<NA>|\bNaT\b|\bNone\b|\bTrue\b|\bFalse\b|\+00:00")


def _run(env: dict[str, str], *args: str, columns: int | None) -> Result:
    env = {**env, "COLUMNS": str(columns)} if columns else {**env, "COLUMNS": ""}
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _fits(output: str, width: int) -> list[str]:
    lines = output.rstrip("\n").splitlines()
    assert lines, "no output"
    widest = max(lines, key=len)
    assert len(widest) <= width, (len(widest), widest)
    assert not RAW.search(output), RAW.findall(output)
    return lines


def _seed(emulator: Emulator) -> list[str]:
    """12 demo tasks plus one with a very long name and one disabled."""
    ids = emulator.control.seed(12, seed=9)
    with emulator.client(rate_limit=None) as client:
        ids.append(client.create_task(task_body(task_name=LONG[:200])))
        ids.append(client.create_task(task_body(task_name="off", enable=False)))
    return ids


@pytest.mark.parametrize("width", [80, 160])
def test_tasks_list_fits_the_terminal(emulator: Emulator, env: dict[str, str], width: int) -> None:
    ids = _seed(emulator)
    lines = _fits(_run(env, "tasks", "list", columns=width).output, width)
    body = "\n".join(lines)
    assert all(tid in body for tid in ids)  # ids are never cut: they get copied
    [long_row] = [line for line in lines if "quarterly maintenance" in line]
    assert "…" in long_row and LONG[:200] not in long_row  # cut, and says so
    listed = json.loads(_run(env, "tasks", "list", "--format", "json", columns=None).output)
    on = sum(1 for task in listed if task["enable"])
    assert f"14 tasks: {on} enabled, {14 - on} disabled" in lines
    assert 0 < on < 14
    assert "STOP" in body and "next run (UTC)" in body


def test_without_a_tty_or_columns_the_table_is_100_wide(
    emulator: Emulator, env: dict[str, str]
) -> None:
    _seed(emulator)
    lines = _fits(_run(env, "tasks", "list", columns=None).output, 100)
    assert max(len(line) for line in lines) > 80  # the room is used


def test_runs_list_and_show_fit_the_terminal(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = _seed(emulator)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids[:5]))
    delete = ["tasks", "delete", "--yes", "--no-progress", "--ids-file", str(ids_file)]
    _run(env, *delete, "--dry-run", columns=None)
    emulator.control.deny(ids[:2])  # IAM refuses two of the five: the others go
    failed = CliRunner().invoke(cli, [*delete, "--chunk-size", "2"], env=env)
    assert failed.exit_code == 1, failed.output  # not every selected id reached its goal
    for width in (80, 160):
        runs = _fits(_run(env, "runs", "list", columns=width).output, width)
        assert "2 runs: 2 done; 3 tasks deleted, 0 failed, 2 forbidden" in runs, runs
        assert any("dry run" in line for line in runs)
        shown = _fits(_run(env, "runs", "show", "2", columns=width).output, width)
        assert shown[0] == "wsnb deletion run 2: NEEDS ATTENTION (done)"  # the summary first
        assert "5 tasks: 3 deleted, 2 forbidden" in shown, shown
        refused = [line for line in shown if "forbidden" in line and "WKS.0004" in line]
        assert len(refused) >= 2 or width == 80  # both refused ids (and the by-code table)
        assert all(tid in "\n".join(shown) for tid in ids[:5])


def test_markup_in_a_name_is_shown_as_text(emulator: Emulator, env: dict[str, str]) -> None:
    with emulator.client(rate_limit=None) as client:
        client.create_task(task_body(task_name="[bold red]x[/] :smile:"))
    output = _run(env, "tasks", "list", columns=120).output
    assert "[bold red]x[/] :smile:" in output


def test_empty_tables_and_machine_formats(emulator: Emulator, env: dict[str, str]) -> None:
    assert _run(env, "runs", "list", columns=80).output == "(none)\n"
    _seed(emulator)
    csv = _run(env, "tasks", "list", "--format", "csv", columns=40).output
    assert csv.splitlines()[0].startswith("task_id,task_name,task_type")  # unchanged, unwrapped
    assert max(len(line) for line in csv.splitlines()) > 40


def test_long_tables_stop_at_max_rows_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    from wsnb.cli import _table

    monkeypatch.setattr(_table, "MAX_ROWS", 5)
    frame = pd.DataFrame(
        {"outcome": ["deleted"] * 7 + ["failed"] * 2, "task_id": [f"t{i}" for i in range(9)]}
    ).set_index("task_id")
    lines = _table.render(frame, _table.OUTCOMES, width=60).splitlines()
    assert [line.split()[0] for line in lines[2:7]] == ["t0", "t1", "t2", "t3", "t4"]
    assert "t5" not in "\n".join(lines)
    assert lines[7] == "9 tasks: 7 deleted, 2 failed"  # the footer counts every row
    assert "(showing the first 5; --format csv lists every task)" in lines
