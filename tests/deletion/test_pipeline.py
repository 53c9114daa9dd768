"""Pipelined snapshots and sampled verification (wsnb.deletion._run) against the real emulator:
deletions start after the first part's snapshots, an interrupted run has done useful work, and a
clean verification reads a sample, escalating to a full check when an id is still there."""

from __future__ import annotations

import httpx
import pytest

from tests.deletion.conftest import Forward, ZeroTotal, _client, _operation
from wsnb._eta import FIRST_PART, verify_sample_size
from wsnb.deletion import delete_tasks, resume
from wsnb.deletion._run import _parts, _sample
from wsnb.emulator import Emulator
from wsnb.errors import AuthenticationError
from wsnb.ledger import Ledger


def test_small_chunks_do_not_slow_the_snapshots(emulator: Emulator, ledger: Ledger) -> None:
    ids = emulator.control.seed(120, seed=40)
    with _client(emulator) as client:
        report = delete_tasks(client, ids, ledger=ledger, chunk_size=7, progress=False)
    assert report.ok
    deletes = [e for e in emulator.control.requests() if e["operation"] == "batch_delete"]
    assert max(len(e["task_ids"]) for e in deletes) == 7
    assert len(deletes) == 8 + 10  # parts of 50 and 70 (the rest), in chunks of 7
    reads = [e for e in emulator.control.requests() if e["operation"] == "get_task"]
    first = deletes[0]["seq"]
    assert sum(e["seq"] < first for e in reads) >= 50  # snapshots in parts of 50, not of 7


def test_parts_double_up_to_the_most() -> None:
    parts = _parts([str(i) for i in range(1000)], 200)
    assert [len(p) for p in parts] == [50, 100, 200, 200, 200, 200, 50]
    assert [i for p in parts for i in p] == [str(i) for i in range(1000)]
    assert [len(p) for p in _parts(["a", "b", "c"], 2)] == [2, 1]


def test_the_sample_takes_one_id_of_every_call_and_is_sized_for_the_confidence() -> None:
    assert verify_sample_size(10_000) == 59  # 0.95 ** 59 < 0.05
    assert verify_sample_size(20) == 20
    calls = [[f"{c}-{i}" for i in range(10)] for c in range(80)]
    ids = [i for call in calls for i in call]
    sample = _sample(calls, ids)
    assert len(sample) == 80 == len(set(sample))  # more calls than 59: one from each
    assert all(any(i in call for i in sample) for call in calls)
    few = _sample(calls[:3], ids[:30])
    assert len(few) == 30  # fewer ids than the sample size: all of them


def test_deletions_start_after_the_first_part_is_snapshotted(
    emulator: Emulator, ledger: Ledger
) -> None:
    ids = emulator.control.seed(400, seed=41)
    with _client(emulator) as client:
        report = delete_tasks(client, ids, ledger=ledger, progress=False)
    assert report.ok and report.summary["deleted"] == 400
    log = emulator.control.requests()
    deletes = [e for e in log if e["operation"] == "batch_delete"]
    reads = [e for e in log if e["operation"] == "get_task"]
    first_delete = deletes[0]["seq"]
    snapshots_before = [e for e in reads if e["seq"] < first_delete]
    assert len(snapshots_before) < 400  # not every snapshot first: the pipeline overlapped
    assert len(deletes[0]["task_ids"]) == FIRST_PART
    assert sum(len(e["task_ids"]) for e in deletes) == 400  # each id sent once
    assert len(reads) == 400  # one snapshot per id; the project is empty: verified by listing
    verified = next(e for e in report.events if e["kind"] == "verified")
    assert verified["mode"] == "full" and "listing" in verified["claim"]
    last = deletes[-1]["seq"]
    assert sum(e["operation"] == "list_tasks" and e["seq"] > last for e in log) == 2 + 2


def test_a_sample_verifies_when_listing_what_is_left_costs_more(
    emulator: Emulator, ledger: Ledger
) -> None:
    emulator.control.set_profile("live", total_count="omit")  # no totals: listing unsized
    ids = emulator.control.seed(150, seed=45)
    with _client(emulator) as client:
        report = delete_tasks(client, ids[:100], ledger=ledger, snapshot=False, progress=False)
    assert report.ok
    log = emulator.control.requests()
    last = max(e["seq"] for e in log if e["operation"] == "batch_delete")
    after = [e for e in log if e["seq"] > last]
    gets = [e for e in after if e["operation"] == "get_task"]
    assert len(gets) == 59 and len({e["path"] for e in gets}) == 59  # 59 distinct ids
    verified = next(e for e in report.events if e["kind"] == "verified")
    assert verified["mode"] == "sample" and verified["sampled"] == 59
    assert "95% confidence" in verified["claim"]


def test_an_interrupted_pipelined_run_has_done_useful_work(
    emulator: Emulator, ledger: Ledger
) -> None:
    ids = emulator.control.seed(300, seed=42)
    # the credentials expire after 160 snapshot reads: 150 ids (parts of 50 and 100) are ready;
    # their calls settle even when the stop comes while they are in flight (slow writes)
    emulator.control.add_fault(operation="batch_delete", kind="latency", latency=0.3)
    emulator.control.add_fault(operation="get_task", kind="status", status=401, skip=160)
    with _client(emulator) as client, pytest.raises(AuthenticationError):
        delete_tasks(client, ids, ledger=ledger, progress=False)
    run_id = int(ledger.runs().index[0])
    frame = ledger.outcomes(run_id)
    done = int((frame["outcome"] == "deleted").sum())
    assert done >= 150  # the parts snapshotted before the stop were deleted
    assert ledger.run(run_id)["status"] == "interrupted"
    emulator.control.clear_faults()
    with _client(emulator) as client:
        report = resume(client, ledger, run_id, progress=False)
    assert report.ok and emulator.control.task_ids() == []


class Pretend(Forward):
    """Batch-deletes are answered 200 and never reach the server (a call that did nothing)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if _operation(request) == "batch_delete":
            return httpx.Response(200, headers={"X-Request-Id": "t-pretend"})
        return self.forward(request)


def test_a_sampled_verification_escalates_when_an_id_is_still_there(
    emulator: Emulator, ledger: Ledger
) -> None:
    """Batch-deletes answered 200 that deleted nothing: the sample sees it, the full check
    fails every id (VERIFY)."""
    emulator.control.set_profile("live", total_count="omit")  # no totals: the sample is used
    ids = emulator.control.seed(80, seed=43)
    with _client(emulator, transport=Pretend()) as client:
        report = delete_tasks(client, ids, ledger=ledger, snapshot=False, progress=False)
    escalated = next(e for e in report.events if e["kind"] == "verify_escalated")
    assert escalated["still_present"] == escalated["sampled"] == 59
    verified = next(e for e in report.events if e["kind"] == "verified")
    assert verified["mode"] == "full" and verified["still_present"] == 80
    assert report.summary["failed"] == 80 and not report.ok


def test_a_listing_verification_never_trusts_a_total(emulator: Emulator, ledger: Ledger) -> None:
    """Totals of 0 make the listing look cheapest; it is read to its end and finds them all."""
    ids = emulator.control.seed(80, seed=46)
    with _client(emulator, transport=ZeroTotal(pretend_deletes=True)) as client:
        report = delete_tasks(client, ids, ledger=ledger, snapshot=False, progress=False)
    verified = next(e for e in report.events if e["kind"] == "verified")
    assert verified["mode"] == "full" and verified["still_present"] == 80
    assert report.summary["failed"] == 80 and not report.ok


@pytest.mark.parametrize("value", ["bogus", 1, None])
def test_verify_takes_true_false_sample_or_full(
    emulator: Emulator, ledger: Ledger, value: object
) -> None:
    ids = emulator.control.seed(2, seed=44)
    with _client(emulator) as client, pytest.raises(ValueError, match="verify must be"):
        delete_tasks(client, ids, ledger=ledger, verify=value, progress=False)  # type: ignore[arg-type]
    assert emulator.control.requests() == []


def test_a_fresh_frame_is_the_precheck_and_an_old_one_is_not(
    emulator: Emulator, ledger: Ledger
) -> None:
    """``snapshot=False``: a frame listed moments ago already says which tasks exist."""
    from wsnb.frames import tasks_frame

    emulator.control.seed(120, seed=47)
    with _client(emulator) as client:
        frame = tasks_frame(client)
        mark = emulator.control.requests()[-1]["seq"]
        report = delete_tasks(
            client, frame.iloc[:60], ledger=ledger, snapshot=False, progress=False
        )
        first = [e for e in emulator.control.requests(mark)]
        old = frame.iloc[60:].copy()
        old.attrs["wsnb_listed_at"] = "2020-01-01T00:00:00+00:00"
        mark = emulator.control.requests()[-1]["seq"]
        again = delete_tasks(client, old, ledger=ledger, snapshot=False, progress=False)
        second = [e for e in emulator.control.requests(mark)]
    assert report.ok and again.ok
    assert any(e["kind"] == "precheck_reused" for e in report.events)
    assert first[0]["operation"] == "batch_delete"  # no listing before the first write
    assert not any(e["kind"] == "precheck_reused" for e in again.events)
    assert second[0]["operation"] == "list_tasks"  # an old listing: checked again first


def test_a_whole_project_frame_sizes_the_estimate_of_the_verification(
    emulator: Emulator, ledger: Ledger
) -> None:
    """A frame of the whole project says how big it is: the ETA then knows that listing what
    is left (here 2 pages) is cheaper than the 59-id sample it must assume otherwise."""
    from wsnb._aio import Api
    from wsnb.deletion._run import run_eta
    from wsnb.frames import tasks_frame

    emulator.control.seed(120, seed=48)
    with _client(emulator) as client:
        frame = tasks_frame(client)
        assert frame.attrs["wsnb_project_tasks"] == len(frame)
        assert "wsnb_project_tasks" not in tasks_frame(client, task_type="STOP").attrs
        # as when the fresh frame is the existence check (no precheck listing of its own)
        options = {"dry_run": False, "snapshot": False, "verify": True, "chunk_size": 5000}
        options["precheck"] = False
        sized = run_eta(Api(client), 60, **options, project_tasks=len(frame))  # type: ignore[arg-type]
        blind = run_eta(Api(client), 60, **options)  # type: ignore[arg-type]
        report = delete_tasks(
            client, frame.iloc[:60], ledger=ledger, snapshot=False, progress=False
        )
    assert sized["verify_reads"] == 5  # probes, then what is left: 3 pages
    assert blind["verify_reads"] == 61  # probes, then the sample
    assert report.ok and report.summary["eta_s"] == pytest.approx(sized["seconds"], abs=0.2)


def test_the_estimate_counts_the_time_the_run_has_already_spent(emulator: Emulator) -> None:
    """The estimate is of the whole run: what it spent before estimating (its selection, a
    plan's check) is part of it, for a run and for a dry run's reads."""
    from wsnb._aio import Api
    from wsnb.deletion._run import run_eta

    with _client(emulator) as client:
        api = Api(client)
        for dry_run in (False, True):
            options = {"dry_run": dry_run, "snapshot": True, "verify": True, "chunk_size": 50}
            bare = run_eta(api, 300, **options)  # type: ignore[arg-type]
            late = run_eta(api, 300, **options, elapsed=4.0)  # type: ignore[arg-type]
            assert late["seconds"] == pytest.approx(bare["seconds"] + 4.0, abs=0.11)
