"""wsnb.ledger's SQLite write paths for big runs: a plan inserted from one JSON array (row by row
when JSON cannot carry it), and updates that find a run's rows by ``seq`` (the ledger object that
created the run knows each id's) — each checked against the general path on the same data."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd

from wsnb.ledger import Ledger

ODD = ["plain", "with,comma", 'with"quote', "{braced}", "back\\slash", "NULL", " pad ", "ünï-任务"]


def _plan(ids: list[str]) -> list[tuple[str, Any, Any, Any, Any]]:
    plan: list[tuple[str, Any, Any, Any, Any]] = [
        (tid, f"n «{n}»" if n % 3 else None, "STOP" if n % 2 else None, "pending", None)
        for n, tid in enumerate(ids)
    ]
    return [*plan, ("", None, None, "invalid", "empty id"), ("zz", "n", 7, "skipped", "no")]


def _drive(book: Ledger, run_id: int, ids: list[str]) -> None:
    """Every plan update the deleter makes, on ids in odd orders, with unknown ids mixed in."""
    book.set_chunks(run_id, [ids[:4], ids[4:]], first=3)
    first = [*reversed(ids[:4]), "not-planned"]
    call = book.call_started(run_id, "batch_delete", 3, 1, first)
    book.call_succeeded(call, run_id, first, "deleted", http_status=200, request_id="r1")
    call = book.call_started(run_id, "batch_delete", 4, 1, ids[4:])
    book.call_finished(call, "unknown", http_status=504)
    book.set_outcomes(run_id, iter(ids[4:6]), "already_absent")
    call = book.call_started(run_id, "batch_delete", None, 2, ids[6:])
    book.call_succeeded(call, run_id, ids[6:], "deleted", http_status=200, request_id="r2")
    book.set_outcomes(run_id, ["zz", "gone"], "failed", error_code="X", error_msg="m")
    book.set_outcomes(run_id, [ids[1], ids[3]], "deleted", request_id="gap")  # not consecutive


def _rows(path: Path) -> list[tuple[Any, ...]]:
    """Every plan row of the file, times blanked (they differ between two runs)."""
    with sqlite3.connect(path) as con:
        rows = con.execute(
            "SELECT seq, task_id, task_name, task_type, chunk, outcome, attempts, http_status, "
            "error_code, error_msg, request_id, started IS NULL, finished IS NULL, "
            "typeof(task_name), typeof(task_type) FROM plan ORDER BY run_id, seq"
        ).fetchall()
    return [tuple(r) for r in rows]


def test_seq_and_text_matching_write_the_same_rows(tmp_path: Path) -> None:
    """The same run driven by the ledger that created it (rows found by ``seq``) and by another
    ledger object on the file (rows found by id text, as a resumed run's are)."""
    fast, slow = tmp_path / "fast.sqlite", tmp_path / "slow.sqlite"
    with Ledger(fast) as book:
        run_id = book.create_run(
            endpoint="e", project_id="p", params={}, dry_run=False, plan=_plan(ODD)
        )
        assert run_id in book._order  # the path under test
        seen: list[str] = []
        book._con.set_trace_callback(seen.append)
        _drive(book, run_id, ODD)
        book._con.set_trace_callback(None)
        updates = [s for s in seen if s.startswith("UPDATE plan")]
        assert len(updates) == 10 and all("seq IN" in s or "seq BETWEEN" in s for s in updates)
        assert "seq BETWEEN 0 AND 3" in updates[0]  # a chunk of consecutive ids
        assert "seq IN" in updates[2]  # reversed, and an id not in the plan
        assert "seq IN" in updates[-1]  # a gap
        for statement in updates[0], updates[2]:
            plan = book._con.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
            assert any("plan_seq" in step[3] for step in plan), plan
        frame = book.outcomes(run_id)
    with Ledger(slow) as book:
        run_id = book.create_run(
            endpoint="e", project_id="p", params={}, dry_run=False, plan=_plan(ODD)
        )
        with book.lease(run_id):  # (released at the end, for the next object to take)
            pass
    with Ledger(slow) as book, book.lease(run_id):  # no order map: ids matched as text
        assert run_id not in book._order
        seen.clear()
        book._con.set_trace_callback(seen.append)
        _drive(book, run_id, ODD)
        book._con.set_trace_callback(None)
        assert not any("seq IN" in s for s in seen)
        other = book.outcomes(run_id)
    assert _rows(fast) == _rows(slow)
    times = ["started", "finished"]
    pd.testing.assert_frame_equal(frame.drop(columns=times), other.drop(columns=times))
    assert frame.set_index("task_id").loc["plain", "attempts"] == 1
    assert frame.set_index("task_id").loc[ODD[-1], "attempts"] == 2
    assert frame.set_index("task_id").loc[ODD[-1], "chunk"] == 4  # a call without a chunk


def test_non_text_ids_are_matched_by_sql(tmp_path: Path) -> None:
    """Ids given as something other than text (a number) are compared by SQLite, as always (an
    integer is not the text of its digits), not looked up in the order map."""
    with Ledger(tmp_path / "l.sqlite") as book:
        run_id = book.create_run(
            endpoint="e",
            project_id="p",
            params={},
            dry_run=False,
            plan=[("12", None, None, "pending", None), ("13", None, None, "pending", None)],
        )
        seen: list[str] = []
        book._con.set_trace_callback(seen.append)
        book.set_outcomes(run_id, [12], "deleted")  # type: ignore[list-item]
        book._con.set_trace_callback(None)
        assert any("task_id IN" in s for s in seen) and not any("seq IN" in s for s in seen)
        assert book.pending(run_id) == ["12", "13"]
        book.set_outcomes(run_id, ["12"], "deleted")
        assert book.pending(run_id) == ["13"]
        book.finish_run(run_id, "done")
        assert run_id not in book._order  # dropped when the run is closed
        book.set_outcomes(run_id, ["13"], "deleted")
        assert book.pending(run_id) == []


def test_a_plan_json_cannot_carry_is_inserted_row_by_row(tmp_path: Path) -> None:
    """A NaN name (a frame's missing value) is not JSON: that plan goes in through
    ``executemany`` (SQLite stores NaN as NULL), with the same rows otherwise."""
    json_path, rowwise = tmp_path / "json.sqlite", tmp_path / "rows.sqlite"
    plan = _plan(ODD)
    odd = [(plan[0][0], math.nan, *plan[0][2:]), *plan[1:]]
    with Ledger(json_path) as book:
        book.create_run(endpoint="e", project_id="p", params={}, dry_run=False, plan=plan)
    with Ledger(rowwise) as book:
        run_id = book.create_run(endpoint="e", project_id="p", params={}, dry_run=False, plan=odd)
        created = _rows(rowwise)
        assert _rows(json_path)[1:] == created[1:] and created[0][2] is None
        assert book.outcomes(run_id)["task_name"].isna().iloc[0]
        assert book.pending(run_id) == ODD
        call = book.call_started(run_id, "batch_delete", 0, 1, ODD)
        book.call_succeeded(call, run_id, ODD, "deleted")
        assert book.pending(run_id) == []
    assert _rows(json_path)[-1][3] == "7" and _rows(json_path)[-1][-1] == "text"  # as bound
    with sqlite3.connect(json_path) as con:  # rowids follow the selection order
        seqs = [r[0] for r in con.execute("SELECT seq FROM plan ORDER BY rowid")]
    assert seqs == sorted(seqs)
