"""wsnb.history against the real emulator: history columns, cache, read cap and ETA."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import task_body
from wsnb._retry import RateLimit
from wsnb.client import Client
from wsnb.emulator import Emulator
from wsnb.frames import records_frame, tasks_frame
from wsnb.history import HISTORY_COLUMNS, aenrich, enrich, failed_last
from wsnb.ledger import Ledger


def _reads(emulator: Emulator) -> int:
    return sum(1 for r in emulator.control.requests() if r["operation"] == "list_records")


def _tasks(client: Client, n: int) -> list[str]:
    """``n`` fresh tasks with no execution record yet."""
    return [client.create_task(task_body(task_name=f"t{i}")) for i in range(n)]


def test_columns_dtypes_and_streaks_from_a_known_sequence(
    emulator: Emulator, tmp_path: Path
) -> None:
    with emulator.client(rate_limit=None) as client:
        flaky, healthy, never = _tasks(client, 3)
        for status in ("SUCCESS", "FAIL", "FAIL"):
            emulator.control.tick(task_ids=[flaky], status=status)
        for status in ("FAIL", "SUCCESS"):
            emulator.control.tick(task_ids=[healthy], status=status)
        frame = tasks_frame(client)
        out = enrich(frame, client, records=5, cache=tmp_path / "c.sqlite", progress=False)
        newest = records_frame(client, flaky)["start_time"].max()

    assert {name: str(out[name].dtype) for name in HISTORY_COLUMNS} == HISTORY_COLUMNS
    assert list(out.columns) == [*frame.columns, *HISTORY_COLUMNS]
    assert out.loc[flaky, "recent_outcomes"] == "FAIL,FAIL,SUCCESS"
    assert out.loc[flaky, "failure_streak"] == 2
    assert out.loc[flaky, "last_outcome"] == "FAIL"
    assert out.loc[flaky, "last_run"] == newest
    assert out.loc[flaky, "runs_30d"] == 3
    assert out.loc[healthy, "recent_outcomes"] == "SUCCESS,FAIL"
    assert out.loc[healthy, "failure_streak"] == 0
    assert out["last_run"].isna()[never]
    assert out["last_outcome"].isna()[never]
    assert out.loc[never, "recent_outcomes"] == ""
    assert out.loc[never, "failure_streak"] == 0
    assert out.loc[never, "runs_30d"] == 0
    assert failed_last(out, 2).to_dict() == {flaky: True, healthy: False, never: False}
    assert not failed_last(out, 3)[flaky]  # the SUCCESS before the two failures
    assert out[
        failed_last(out, 1) & out["recent_outcomes"].str.contains("SUCCESS")
    ].index.tolist() == [flaky]
    assert "history" not in frame.attrs  # the input frame is left alone


def test_records_caps_the_history(emulator: Emulator) -> None:
    with emulator.client(rate_limit=None) as client:
        (task,) = _tasks(client, 1)
        for _ in range(4):
            emulator.control.tick(task_ids=[task], status="FAIL")
        out = enrich(tasks_frame(client), client, records=2, cache=False, progress=False)
    assert out.loc[task, "recent_outcomes"] == "FAIL,FAIL"
    assert out.loc[task, "failure_streak"] == 2
    with pytest.raises(ValueError, match="records >= 3"):
        failed_last(out, 3)


def test_second_call_is_served_by_the_cache(emulator: Emulator, tmp_path: Path) -> None:
    cache = tmp_path / "ledger.sqlite"
    with emulator.client(rate_limit=None) as client:
        ids = _tasks(client, 4)
        for _ in range(5):  # two tasks with a full page of history, two with none
            emulator.control.tick(task_ids=ids[:2], status="FAIL")
        frame = tasks_frame(client)
        emulator.control.clear_requests()
        first = enrich(frame, client, cache=cache, progress=False)
        assert _reads(emulator) == 4
        assert first.attrs["history"]["reads"] == 4
    # A new client (a later session) on the same database: no read at all.
    with emulator.client(rate_limit=None) as client:
        emulator.control.clear_requests()
        second = enrich(frame, client, cache=cache, progress=False)
        assert _reads(emulator) == 0
        assert second.attrs["history"] == {
            **first.attrs["history"],
            "reads": 0,
            "cached": 4,
            "eta_seconds": 0.0,
            "eta": second.attrs["history"]["eta"],
        }
        pd.testing.assert_frame_equal(second, first, check_like=True)
        # Stale (older than max_age, or max_age=0): read again.
        time.sleep(0.01)
        enrich(frame, client, cache=cache, max_age=timedelta(milliseconds=5), progress=False)
        assert _reads(emulator) == 4
        enrich(frame, client, cache=cache, max_age=0, progress=False)
        assert _reads(emulator) == 8
        # More records than cached: only the tasks whose cached history may be cut short.
        more = enrich(frame, client, records=10, cache=cache, progress=False)
        assert _reads(emulator) == 10
        assert more.loc[ids[0], "failure_streak"] == 5
        fewer = enrich(frame, client, records=3, cache=cache, max_age=timedelta(hours=1))
        assert _reads(emulator) == 10
        assert fewer.loc[ids[0], "recent_outcomes"] == "FAIL,FAIL,FAIL"


def test_cache_shares_a_ledger_database(emulator: Emulator, tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite") as ledger, emulator.client(rate_limit=None) as client:
        _tasks(client, 2)
        frame = tasks_frame(client)
        enrich(frame, client, cache=ledger, progress=False)
        emulator.control.clear_requests()
        enrich(frame, client, cache=ledger.path, progress=False)
        assert _reads(emulator) == 0
        assert ledger.runs().empty  # the ledger's own tables are untouched and still readable
    with Ledger(":memory:") as memory, emulator.client(rate_limit=None) as client:
        enrich(frame, client, cache=memory, progress=False)
        emulator.control.clear_requests()
        enrich(frame, client, cache=memory, progress=False)
        assert _reads(emulator) == 0


def test_default_cache_is_the_ledger_path(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WSNB_LEDGER", str(tmp_path / "env-ledger.sqlite"))
    with emulator.client(rate_limit=None) as client:
        _tasks(client, 1)
        frame = tasks_frame(client)
        enrich(frame, client, progress=False)
        emulator.control.clear_requests()
        enrich(frame, client, progress=False)
        assert _reads(emulator) == 0
    assert (tmp_path / "env-ledger.sqlite").exists()


def test_max_reads_refuses_with_the_eta(emulator: Emulator, tmp_path: Path) -> None:
    with emulator.client(rate_limit=None) as client:
        _tasks(client, 30)
        frame = tasks_frame(client)
    with emulator.client(rate_limit=RateLimit(reads_per_minute=60)) as client:
        emulator.control.clear_requests()
        with pytest.raises(ValueError, match="max_reads=10") as caught:
            enrich(frame, client, cache=tmp_path / "c.sqlite", max_reads=10, progress=False)
        assert "30 list_records read(s)" in str(caught.value)
        assert "ETA ~30 s at 60 reads/min" in str(caught.value)
        assert "max_reads=30" in str(caught.value)  # how to go ahead
        assert _reads(emulator) == 0


def test_eta_is_logged_before_reading(emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    with emulator.client(rate_limit=RateLimit(reads_per_minute=600, burst=10)) as client:
        _tasks(client, 3)
        frame = tasks_frame(client)
        with caplog.at_level(logging.INFO, logger="wsnb.history"):
            out = enrich(frame, client, cache=False, progress=False)
    assert "history: 3 list_records read(s), 0 cached, ETA ~0 s at 600 reads/min" in caplog.text
    assert out.attrs["history"]["eta_seconds"] == pytest.approx(0.3)
    with emulator.client(rate_limit=None) as client:
        out = enrich(frame, client, cache=False, progress=False)
    assert "no client rate limit" in out.attrs["history"]["eta"]


def test_deleted_task_gets_empty_history_and_is_not_cached(
    emulator: Emulator, tmp_path: Path
) -> None:
    cache = tmp_path / "c.sqlite"
    with emulator.client(rate_limit=None) as client:
        gone, kept = _tasks(client, 2)
        emulator.control.tick(task_ids=[gone, kept], status="FAIL")
        frame = tasks_frame(client)
        client.delete_task(gone)
        out = enrich(frame, client, cache=cache, progress=False)
        assert out.loc[gone, "recent_outcomes"] == ""
        assert out.loc[kept, "recent_outcomes"] == "FAIL"
        emulator.control.clear_requests()
        enrich(frame, client, cache=cache, progress=False)
        assert _reads(emulator) == 1


def test_async_twin(emulator: Emulator) -> None:
    with emulator.client(rate_limit=None) as client:
        (task,) = _tasks(client, 1)
        emulator.control.tick(task_ids=[task], status="FAIL")
        frame = tasks_frame(client)

    async def go() -> pd.DataFrame:
        async with emulator.async_client(rate_limit=None) as client:
            return await aenrich(frame, client, cache=False, progress=False)

    out = asyncio.run(go())
    assert out.loc[task, "failure_streak"] == 1
    aclient = emulator.async_client(rate_limit=None)
    try:
        with pytest.raises(TypeError, match="aenrich"):
            enrich(frame, aclient)  # type: ignore[arg-type]
    finally:
        asyncio.run(aclient.aclose())


def test_bad_arguments(emulator: Emulator) -> None:
    with emulator.client(rate_limit=None) as client:
        frame = tasks_frame(client)
        with pytest.raises(ValueError, match="records"):
            enrich(frame, client, records=0, cache=False)
        with pytest.raises(ValueError, match="max_age"):
            enrich(frame, client, cache=False, max_age=-1)
        with pytest.raises(TypeError, match="max_reads"):
            enrich(frame, client, cache=False, max_reads=True)
    with pytest.raises(ValueError, match="enrich"):
        failed_last(frame, 1)
