"""wsnb.deletion._plan through the public face, against the real emulator: what a selection
names, invalid and duplicate ids, the cap and the options refused before any call, dry runs."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from tests.deletion.conftest import FAST_RETRY, _client, _deleted_in_log, _writes
from wsnb.deletion import (
    DeletionCapError,
    adelete_tasks,
    delete_tasks,
    restore_tasks,
    resume,
    selection_ids,
)
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger


def test_invalid_and_duplicate_ids_are_reported_not_sent(
    emulator: Emulator, ledger: Ledger
) -> None:
    ids = emulator.control.seed(5, seed=4)
    too_long = "x" * 256
    selection = [ids[0], ids[0], "", too_long, 42, ids[1], "no-such-task"]
    with _client(emulator) as client:
        report = delete_tasks(client, selection, ledger=ledger, progress=False)
    frame = report.frame.set_index("task_id")
    assert frame.loc[ids[0], "outcome"] == "deleted"
    assert frame.loc[ids[1], "outcome"] == "deleted"
    assert frame.loc["no-such-task", "outcome"] == "already_absent"
    assert report.summary["invalid"] == 3
    assert "256" in str(frame.loc[too_long[:255], "error_msg"])
    sent = _deleted_in_log(emulator)
    assert set(sent) == {ids[0], ids[1]}  # the absent one was found by the snapshot, not sent
    assert len(report.frame) == 6


def test_cap_refuses_before_any_call(emulator: Emulator, ledger: Ledger) -> None:
    ids = emulator.control.seed(12, seed=5)
    with _client(emulator) as client, pytest.raises(DeletionCapError, match="max_deletions is 10"):
        delete_tasks(client, ids, ledger=ledger, max_deletions=10, progress=False)
    assert emulator.control.requests() == []
    assert ledger.runs().empty
    assert len(emulator.control.task_ids()) == 12


def test_no_cap_is_refused_before_any_call(emulator: Emulator, ledger: Ledger) -> None:
    """Every path to deletion is capped: ``max_deletions=None`` is an error, not "no cap"."""
    ids = emulator.control.seed(3, seed=5)
    with _client(emulator) as client:
        with pytest.raises(ValueError, match=r"max_deletions=None .*len\(selection\)") as info:
            delete_tasks(client, ids, ledger=ledger, max_deletions=None, progress=False)  # type: ignore[arg-type]
        assert not isinstance(info.value, DeletionCapError)
        assert "max_deletions=3" in str(info.value)  # the explicit number to pass
        with pytest.raises(ValueError, match="max_deletions must be at least 0, got -1"):
            delete_tasks(client, ids, ledger=ledger, max_deletions=-1, progress=False)
        with pytest.raises(TypeError, match="max_deletions must be an int"):
            delete_tasks(client, ids, ledger=ledger, max_deletions=2.5, progress=False)  # type: ignore[arg-type]

    async def main() -> None:
        async with emulator.async_client(rate_limit=None, retry=FAST_RETRY) as client:
            await adelete_tasks(client, ids, ledger=ledger, max_deletions=None, progress=False)  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="max_deletions=None is not allowed"):
        asyncio.run(main())
    assert emulator.control.requests() == []
    assert ledger.runs().empty
    assert len(emulator.control.task_ids()) == 3


def test_zero_cap_allows_an_empty_selection_only(emulator: Emulator, ledger: Ledger) -> None:
    ids = emulator.control.seed(2, seed=5)
    with _client(emulator) as client:
        report = delete_tasks(client, [], ledger=ledger, max_deletions=0, progress=False)
        assert report.summary["ids"] == 0
        with pytest.raises(DeletionCapError, match="max_deletions is 0"):
            delete_tasks(client, ids[:1], ledger=ledger, max_deletions=0, progress=False)
    assert len(emulator.control.task_ids()) == 2


def test_dry_run_makes_no_write_call(emulator: Emulator, ledger: Ledger) -> None:
    ids = emulator.control.seed(30, seed=6)
    with _client(emulator) as client:
        report = delete_tasks(
            client,
            [*ids[:20], "gone-already"],
            ledger=ledger,
            dry_run=True,
            chunk_size=8,
            progress=False,
        )
    assert _writes(emulator) == []
    assert len(emulator.control.task_ids()) == 30
    assert report.summary["planned"] == 20
    assert report.summary["already_absent"] == 1
    assert report.summary["dry_run"] is True
    planned = report.frame[report.frame["outcome"] == "planned"]
    assert sorted(planned["chunk"].unique()) == [0, 1, 2]
    assert len(ledger.snapshots(report.run_id)) == 21


def test_selection_kinds(emulator: Emulator, ledger: Ledger) -> None:
    ids = emulator.control.seed(8, seed=7)
    frame = pd.DataFrame({"task_name": list("abcdefgh")}, index=pd.Index(ids, name="task_id"))

    class Grid:
        def __init__(self) -> None:
            self.selected_ids = [ids[0]]

    assert selection_ids(frame) == ids
    assert selection_ids(frame["task_name"] == "b") == [ids[1]]
    assert selection_ids(pd.Index(ids[2:4])) == ids[2:4]
    assert selection_ids(pd.Series(ids[4:6])) == ids[4:6]
    assert selection_ids(Grid()) == [ids[0]]
    with pytest.raises(TypeError, match="not a single string"):
        selection_ids(ids[0])
    with _client(emulator) as client:
        report = delete_tasks(client, frame.iloc[:3], ledger=ledger, progress=False)
    assert report.summary["deleted"] == 3
    assert set(emulator.control.task_ids()) == set(ids[3:])


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"chunk_size": 0}, ValueError, "chunk_size must be between 1 and 5000, got 0"),
        ({"chunk_size": 5001}, ValueError, "chunk_size must be between 1 and 5000, got 5001"),
        ({"chunk_size": True}, TypeError, "chunk_size must be an int, got bool"),
        ({"concurrency": 0}, ValueError, "concurrency must be between 1 and 64, got 0"),
        ({"concurrency": 65}, ValueError, "concurrency must be between 1 and 64, got 65"),
        ({"concurrency": "4"}, TypeError, "concurrency must be an int, got str"),
    ],
)
def test_bad_options_are_refused_before_any_call(
    emulator: Emulator, ledger: Ledger, options: dict[str, object], error: type, message: str
) -> None:
    ids = emulator.control.seed(3, seed=5)
    with _client(emulator) as client, pytest.raises(error, match=message):
        delete_tasks(client, ids, ledger=ledger, progress=False, **options)  # type: ignore[arg-type]
    assert emulator.control.requests() == []
    assert ledger.runs().empty
    assert len(emulator.control.task_ids()) == 3


def test_an_invalid_entry_does_not_hide_a_valid_id_that_reads_the_same(
    emulator: Emulator, ledger: Ledger
) -> None:
    """``[42, "42"]``: the int is invalid, the string is a valid id and is handled as one."""
    ids = emulator.control.seed(2, seed=6)
    with _client(emulator) as client:
        report = delete_tasks(
            client, [42, "42", ids[0], b"x", "b'x'"], ledger=ledger, progress=False
        )
    frame = report.frame.set_index("task_id")
    valid = frame[frame["outcome"] != "invalid"]
    assert set(valid.index) == {"42", ids[0], "b'x'"}
    assert valid.loc["42", "outcome"] == "already_absent"
    assert valid.loc[ids[0], "outcome"] == "deleted"
    assert report.summary["invalid"] == 2
    assert len(frame) == 5 and frame.index.is_unique


def test_the_ledger_argument_is_checked(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ledger=123`` used to create a file ``./123``: a ledger is a Ledger, a path or None."""
    monkeypatch.chdir(tmp_path)
    ids = emulator.control.seed(2, seed=7)
    message = r"ledger must be a Ledger, a path \(str or os\.PathLike\) or None, not int"
    with _client(emulator) as client:
        with pytest.raises(TypeError, match=message):
            delete_tasks(client, ids, ledger=123, progress=False)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=message):
            resume(client, 123, 1, progress=False)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=message):
            restore_tasks(client, 123, 1)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="ledger path is empty"):
            delete_tasks(client, ids, ledger="", progress=False)
    assert list(tmp_path.iterdir()) == []
    assert emulator.control.requests() == []


def test_sqlite_errors_name_the_ledger(emulator: Emulator, tmp_path: Path) -> None:
    bad = tmp_path / "notes.sqlite"
    bad.write_text("this is not a database\n" * 200)
    ids = emulator.control.seed(2, seed=8)
    where = re.escape(os.fspath(bad))
    with _client(emulator) as client:
        with pytest.raises(sqlite3.DatabaseError, match=where):
            delete_tasks(client, ids, ledger=bad, progress=False)
        with pytest.raises(sqlite3.DatabaseError, match=where):
            resume(client, bad, 1, progress=False)
        with pytest.raises(sqlite3.DatabaseError, match=where):
            restore_tasks(client, bad, 1)
    assert emulator.control.requests() == []
