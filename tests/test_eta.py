"""wsnb._eta: the phases of a run, their calls and seconds, and the one-line text."""

from __future__ import annotations

from typing import Any

import pytest

from wsnb._eta import (
    LOCAL_SECONDS_PER_ID,
    MAX_PART,
    WRITE_SECONDS_PER_ID,
    Eta,
    Observed,
    estimate,
    format_duration,
    pipeline_parts,
    verify_sample_size,
)
from wsnb._retry import RateLimit

DEFAULTS: dict[str, Any] = {
    "snapshot": True,
    "verify": True,
    "chunk_size": 5000,
    "local_per_id": 0.0,  # the calls alone (local work: its own test)
    "write_per_id": 0.0,  # the round trips alone (the server's work per id: its own test)
}


def _limit(**kw: Any) -> RateLimit:
    return RateLimit(clock=lambda: 0.0, **kw)


def test_snapshots_dominate_a_big_run_and_the_text_says_so() -> None:
    limit = _limit()
    eta = estimate(6080, listing_pages=122, rate_limit=limit, **DEFAULTS)
    calls = {p.name: p.calls for p in eta.phases}
    # writes: the pipeline's parts (50, 100, ... 800, then 1000s, then the rest: 10);
    # verify: two probes, then the one page left of each listing (cheaper than the sample)
    assert calls == {"listing": 122, "snapshots": 6080, "writes": 10, "verify": 2 + 2}
    # 199 reads (the quota less one of margin) per window of 60 s, as the server
    # counts: the listing fits the first window; the snapshots need 31 more windows
    span = 60.0
    assert eta.phase("listing").seconds == pytest.approx(122 * 0.1 / 8)  # only round trips
    assert eta.phase("snapshots").seconds == pytest.approx((122 + 6080 - 1) // 199 * span + 0.1)
    assert eta.phase("verify").seconds == pytest.approx(4 * 0.1 / 8)  # in the last window
    # pipelined: the writes overlap the snapshots; the last part's write follows them
    assert eta.seconds == pytest.approx(122 * 0.1 / 8 + 31 * span + 0.1 + 0.1 + 4 * 0.1 / 8)
    assert eta.dominant == "snapshots"
    assert eta.without_snapshots == pytest.approx((122 + 4) * 0.1 / 8 + 2 * 0.1 / 4)
    text = "≈ 31 min at 200 reads/min: 6,080 snapshots dominate; snapshot=False ≈ 2 s"
    assert str(eta) == eta.text == text
    # paced (an explicit burst, or after a 429): the bucket's rate, the burst once
    paced = estimate(6080, listing_pages=122, rate_limit=_limit(burst=5), **DEFAULTS)
    read_rate = 194 / 60  # 200 reads a minute less the burst (5) and one call of margin
    assert paced.phase("listing").seconds == pytest.approx((122 - 5) / read_rate + 0.1)
    assert paced.phase("snapshots").seconds == pytest.approx(6080 / read_rate + 0.1)


def test_pipeline_parts_and_the_sample_size() -> None:
    assert pipeline_parts(0, 5000) == 0
    assert pipeline_parts(50, 5000) == 1
    assert pipeline_parts(6080, 5000) == 10  # 50+100+200+400+800+4*1000 = 5550, then 530
    assert pipeline_parts(1000, 100) == 11  # parts 50, 100, 200, 400, 250 in chunks of 100
    assert pipeline_parts(10, 3) == 4
    assert verify_sample_size(10_000) == 59 and 0.95**59 < 0.05 < 0.95**58
    assert verify_sample_size(10_000, calls=80) == 80  # one per accepted call
    assert verify_sample_size(20, calls=3) == 20


def test_writes_are_one_batch_per_chunk_on_their_own_bucket() -> None:
    limit = _limit(reads_per_minute=None, writes_per_minute=100)
    eta = estimate(
        12_000, listing_pages=0, snapshot=False, verify=False, chunk_size=100, rate_limit=limit
    )
    writes = eta.phase("writes")
    assert writes.calls == 120 and writes.kind == "write"
    # 99 writes in the first window, the rest in the next one, a round trip after it
    assert writes.seconds == pytest.approx(60 + 0.1)
    assert eta.dominant == "writes" and eta.without_snapshots is None
    assert eta.text == "≈ 60 s at 100 writes/min: 120 batch deletes dominate"


@pytest.mark.parametrize(
    ("verify", "n", "pages", "reads"),
    [
        (True, 1000, 200, 2 + 59),  # probes, then the sample (180 pages left)
        (True, 1000, 40, 2 + 20),  # probes, then listing the 20 pages left
        (True, 1000, None, 2 + 59),  # the project's size unknown: probes, then the sample
        ("sample", 30, 40, 2 + 30),  # fewer ids than the sample: all of them
        ("sample", 2, 40, 2),  # two ids: looked up, no probes
        ("full", 1000, 40, 2 + 20),  # listing the 20 pages left is cheaper
        ("auto", 30, 40, 2 + 30),  # per id is cheaper
        ("full", 2, 40, 2),  # two ids: looked up one by one, no probes
        ("full", 500, None, 2 + 500),  # the project's size unknown: per id
        ("full", 2000, 40, 2),  # everything deleted: the probes see an empty project
        ("get", 1000, 40, 1000),
        ("list", 10, 40, 2 + 40),
        (False, 1000, 40, 0),
    ],
)
def test_verify_costs_what_the_deleter_does(
    verify: str | bool, n: int, pages: int | None, reads: int
) -> None:
    eta = estimate(
        n,
        listing_pages=pages or 0,
        snapshot=False,
        verify=verify,
        chunk_size=5000,
        rate_limit=None,
        project_pages=pages,
    )
    assert eta.phase("verify").calls == reads


def test_unthrottled_runs_cost_round_trips_shared_by_the_calls_in_flight() -> None:
    eta = estimate(
        2000,
        listing_pages=40,
        rate_limit=None,
        round_trip=0.03,
        reads_in_flight=8,
        writes_in_flight=4,
        **DEFAULTS,
    )
    assert eta.phase("snapshots").seconds == pytest.approx(2000 * 0.03 / 8)
    assert eta.phase("writes").seconds == pytest.approx(6 * 0.03 / 4)  # six pipeline parts
    assert eta.text.startswith("≈ 8 s unthrottled: 2,000 snapshots dominate")


def test_a_throttled_client_estimates_longer() -> None:
    limit = _limit()
    before = estimate(3000, listing_pages=60, rate_limit=limit, **DEFAULTS).seconds
    limit.throttled("get_task")  # paced from now on, and AIMD halved the read rate
    after = estimate(3000, listing_pages=60, rate_limit=limit, **DEFAULTS)
    half = 194 / 60 / 2
    assert after.phase("snapshots").seconds == pytest.approx(3000 / half + 0.1)
    assert after.seconds > 1.9 * before


def test_a_time_scaled_window_scales_the_estimate() -> None:
    kw = {**DEFAULTS, "round_trip": 0.0}  # the network does not scale with the window
    minute = estimate(1000, listing_pages=20, rate_limit=_limit(), **kw)
    scaled = estimate(1000, listing_pages=20, rate_limit=_limit(window=6.0), **kw)
    assert scaled.seconds == pytest.approx(minute.seconds / 10)
    assert minute.seconds == pytest.approx(5 * 60)
    assert "(a 6 s window)" in scaled.text


def test_nothing_to_do_is_one_second_at_most() -> None:
    eta = estimate(0, listing_pages=0, rate_limit=_limit(), **DEFAULTS)
    assert isinstance(eta, Eta) and eta.seconds == 0
    assert eta.text == "≈ 1 s at 200 reads/min"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_selected": -1}, "n_selected"),
        ({"listing_pages": 1.5}, "listing_pages"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"chunk_size": 5001}, "chunk_size"),
        ({"verify": "sometimes"}, "verify"),
        ({"round_trip": -1.0}, "round_trip"),
        ({"project_pages": -1}, "project_pages"),
        ({"reads_in_flight": 0}, "reads_in_flight"),
    ],
)
def test_bad_arguments_name_themselves(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"listing_pages": 10, "rate_limit": None, **DEFAULTS, **kwargs}
    n = args.pop("n_selected", 100)
    with pytest.raises(ValueError, match=match):
        estimate(n, **args)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "1 s"), (40.4, "40 s"), (89, "89 s"), (90, "2 min"), (1860, "31 min")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert format_duration(2 * 3600 + 5 * 60) == "2 h 05 min"


def test_local_work_per_id_is_added_once() -> None:
    bare = estimate(20_000, listing_pages=0, rate_limit=None, **DEFAULTS)
    kw = {**DEFAULTS, "local_per_id": LOCAL_SECONDS_PER_ID}
    real = estimate(20_000, listing_pages=0, rate_limit=None, **kw)
    assert real.local == pytest.approx(20_000 * LOCAL_SECONDS_PER_ID) and bare.local == 0
    assert real.seconds == pytest.approx(bare.seconds + real.local)


def test_the_servers_work_per_deleted_id_counts_until_a_write_is_seen() -> None:
    """A batch delete of 5,000 ids is not a bare round trip: until the client has seen a write
    answered, each id costs the server :data:`WRITE_SECONDS_PER_ID`, one write after another;
    an observed write's latency already includes it."""
    kw = {**DEFAULTS, "snapshot": False, "verify": False, "write_per_id": WRITE_SECONDS_PER_ID}
    trips = estimate(20_000, listing_pages=0, rate_limit=None, **{**kw, "write_per_id": 0.0})
    guessed = estimate(20_000, listing_pages=0, rate_limit=None, **kw)
    extra = guessed.phase("writes").seconds - trips.phase("writes").seconds
    assert extra == pytest.approx(20_000 * WRITE_SECONDS_PER_ID)
    seen = Observed(latency=0.8, seconds_per_call=0.2, concurrency=4.0)  # one at a time
    observed = estimate(20_000, listing_pages=0, rate_limit=None, observed_writes=seen, **kw)
    assert observed.phase("writes").seconds == pytest.approx(4 * 0.2)
    # pipelined (snapshots): only the last part's write follows the snapshots
    piped = {**kw, "snapshot": True}
    a = estimate(3000, listing_pages=0, rate_limit=None, **piped)
    b = estimate(3000, listing_pages=0, rate_limit=None, **{**piped, "write_per_id": 0.0})
    assert a.seconds - b.seconds == pytest.approx(MAX_PART * WRITE_SECONDS_PER_ID)


def test_what_the_client_observed_replaces_the_guessed_round_trip() -> None:
    """A server that answered 16 pages at once at 5 ms a page (its CPU the limit) is not 16
    times faster with 16 in flight than its 80 ms latency says; one seen one call at a time is
    latency-bound and gains from more calls in flight."""
    kw = {**DEFAULTS, "snapshot": False, "verify": False}
    busy = Observed(latency=0.08, seconds_per_call=0.005, concurrency=16.0)
    eta = estimate(0, listing_pages=400, rate_limit=None, observed_reads=busy, **kw)
    assert eta.phase("listing").seconds == pytest.approx(400 * 0.005 * 16 / 8)  # 8 in flight
    eta = estimate(
        0, listing_pages=400, rate_limit=None, observed_reads=busy, reads_in_flight=16, **kw
    )
    assert eta.phase("listing").seconds == pytest.approx(400 * 0.005)
    serial = Observed(latency=0.08, seconds_per_call=0.08, concurrency=1.0)
    eta = estimate(0, listing_pages=400, rate_limit=None, observed_reads=serial, **kw)
    assert eta.phase("listing").seconds == pytest.approx(400 * 0.08 / 8)
    # writes not seen yet: the reads' latency is their round trip, shared by 4 in flight
    eta = estimate(20_000, listing_pages=0, rate_limit=None, observed_reads=serial, **kw)
    assert eta.phase("writes").seconds == pytest.approx(4 * 0.08 / 4)


def test_observed_from_a_clients_stats() -> None:
    from wsnb.client import ClientStats

    stats = ClientStats()
    assert Observed.of(stats, "read") is None
    for i in range(8):  # two calls at a time, 0.1 s each, back to back
        stats.call_began("get_task", i * 0.1)
        stats.call_began("list_tasks", i * 0.1)
        stats.call_ended("get_task", i * 0.1, i * 0.1 + 0.1)
        stats.call_ended("list_tasks", i * 0.1, i * 0.1 + 0.1)
    seen = Observed.of(stats, "read")
    assert seen is not None
    assert seen.latency == pytest.approx(0.1)
    assert seen.seconds_per_call == pytest.approx(0.8 / 16)
    assert seen.concurrency == pytest.approx(2.0)
    assert Observed.of(stats, "write") is None
