"""``wsnb.grid._eta``: how long a deletion takes under the API's quota."""

from __future__ import annotations

import math

import pytest

from wsnb._retry import RateLimit
from wsnb.grid._eta import Estimate, estimate, rates_of


def test_the_estimate_counts_snapshot_reads_chunked_writes_and_verification() -> None:
    e = estimate(14_417, project_tasks=20_000)
    assert e.snapshot_reads == 14_417  # one get_task per id
    assert e.writes == 3  # chunks of 5000
    # verification lists what is left (5,583 tasks, 50 a page, plus the LIFE_CYCLE listing)
    # after two one-item pages that count them: cheaper than 14,417 reads
    assert e.verify_reads == 2 + math.ceil(5_583 / 50) + 1
    assert e.reads == e.snapshot_reads + e.verify_reads == 14_532
    assert e.seconds == pytest.approx(14_532 / 200 * 60 + 3 / 100 * 60)
    assert e.text() == (
        "about 1 h 13 min under the API quota (14,532 reads at 200/min, 3 writes at 100/min)"
    )


def test_few_ids_are_checked_one_by_one() -> None:
    e = estimate(2, project_tasks=20_000, chunk_size=1)
    assert (e.snapshot_reads, e.writes, e.verify_reads) == (2, 2, 2)
    assert e.text().startswith("about 2 s under")
    one = estimate(1, project_tasks=1, verify=False)
    assert "(1 read at 200/min, 1 write at 100/min)" in one.text()


def test_the_deleters_options_change_the_estimate() -> None:
    listed = 2 + math.ceil(10_000 / 50) + 1
    assert estimate(1_000, project_tasks=10_000, snapshot=False).snapshot_reads == listed
    assert estimate(100, project_tasks=10_000, snapshot=False).snapshot_reads == 2 + 100
    unchecked = estimate(1_000, project_tasks=10_000, snapshot=False, precheck=False)
    assert unchecked.snapshot_reads == 0
    assert estimate(100, project_tasks=10_000, verify=False).verify_reads == 0
    assert estimate(100, project_tasks=100).verify_reads == 2  # the project is empty after
    assert estimate(0, project_tasks=10).seconds == 0
    assert estimate(0, project_tasks=10).text() == "nothing to do"


def test_rates_come_from_the_clients_limiter_or_the_api_quota() -> None:
    class Holder:
        _rate = RateLimit(reads_per_minute=60, writes_per_minute=30)

    class Unlimited:
        _rate = None

    assert rates_of(Holder()) == (60, 30)
    assert rates_of(Unlimited()) == (200, 100)
    assert rates_of(object()) == (200, 100)
    e = estimate(60, project_tasks=1, reads_per_minute=60, writes_per_minute=30)
    assert isinstance(e, Estimate) and e.snapshot_reads == 60
    assert "at 60/min" in e.text() and "at 30/min" in e.text()
