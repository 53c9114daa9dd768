"""``wsnb.grid._eta``: how long a deletion takes under the API's quota."""

from __future__ import annotations

import math

import pytest

from wsnb._eta import estimate as eta_estimate
from wsnb._eta import pipeline_parts
from wsnb._retry import RateLimit
from wsnb.grid._eta import Estimate, estimate, rates_of


def test_the_panel_says_what_the_deleter_estimates() -> None:
    """One model: the panel's counts and time are the deleter's own estimate's
    (:func:`wsnb._eta.estimate`): snapshots pipelined in parts, sampled verification, the
    quota's windows, the run's local work."""
    e = estimate(14_417, project_tasks=20_000)
    core = eta_estimate(
        14_417,
        listing_pages=0,
        snapshot=True,
        verify=True,
        chunk_size=5000,
        rate_limit=RateLimit(),
        project_pages=math.ceil(20_000 / 50) + 1,
    )
    assert e.snapshot_reads == 14_417  # one get_task per id
    assert e.writes == core.phase("writes").calls == pipeline_parts(14_417, 5000)
    assert e.verify_reads == core.phase("verify").calls == 2 + 59  # probes, then the sample
    assert e.seconds == pytest.approx(core.seconds)
    # 14,478 reads, 199 a minute (the quota less one of margin): 72 more minutes after the first
    assert e.seconds == pytest.approx(72 * 60, rel=0.01)
    assert e.text() == (
        "about 1 h 12 min under the API quota (14,478 reads at 200/min, 18 writes at 100/min)"
    )
    phases = e.phase_seconds()
    assert phases["snapshots"] == pytest.approx(core.phase("snapshots").seconds)
    assert phases["deleting"] == pytest.approx(core.phase("writes").seconds + core.local)


def test_few_ids_are_checked_one_by_one() -> None:
    e = estimate(2, project_tasks=20_000, chunk_size=1)
    assert (e.snapshot_reads, e.writes, e.verify_reads) == (2, 2, 2)
    assert e.text().startswith("about 1 s under")
    one = estimate(1, project_tasks=1, verify=False)
    assert "(1 read at 200/min, 1 write at 100/min)" in one.text()


def test_the_deleters_options_change_the_estimate() -> None:
    listed = 2 + math.ceil(10_000 / 50) + 1
    assert estimate(1_000, project_tasks=10_000, snapshot=False).snapshot_reads == listed
    assert estimate(100, project_tasks=10_000, snapshot=False).snapshot_reads == 2 + 100
    unchecked = estimate(1_000, project_tasks=10_000, snapshot=False, precheck=False)
    assert unchecked.snapshot_reads == 0 and unchecked.writes == 1
    assert estimate(100, project_tasks=10_000, verify=False).verify_reads == 0
    assert estimate(100, project_tasks=100).verify_reads == 2 + 2  # probes, then 2 pages left
    # executing a previewed plan: no snapshots, the tasks looked at once
    planned = estimate(1_000, project_tasks=10_000, plan=True)
    assert planned.snapshot_reads == listed and planned.writes == 1
    assert planned.seconds < estimate(1_000, project_tasks=10_000).seconds
    assert estimate(0, project_tasks=10).seconds == 0
    assert estimate(0, project_tasks=10).text() == "nothing to do"


def test_what_the_client_has_seen_of_the_server_counts() -> None:
    from wsnb.client import ClientStats

    stats = ClientStats()
    for i in range(10):  # one call at a time, 2 s each: a slow server
        stats.call_began("list_tasks", 2.0 * i)
        stats.call_ended("list_tasks", 2.0 * i, 2.0 * i + 2.0)
    guessed = estimate(100, project_tasks=100, rate_limit=None)
    seen = estimate(100, project_tasks=100, stats=stats)
    assert seen.seconds > guessed.seconds + 20  # 100 snapshots at 2 s / 8 in flight


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
