"""Refused batch-deletes against the real emulator: which 400s are bisected and which are not,
per-id IAM denials (``forbidden``) versus credentials that cannot delete at all, and an auth
failure mid-run (the ids not sent stay ``pending`` for ``resume``)."""

from __future__ import annotations

import pytest

from tests.deletion.conftest import Deny, ExpireAfter, _client, _deleted_in_log
from wsnb.deletion import delete_tasks, resume
from wsnb.emulator import Emulator
from wsnb.errors import AuthenticationError, ForbiddenError
from wsnb.ledger import Ledger


def _batch_deletes(emu: Emulator) -> list[list[str]]:
    return [e["task_ids"] for e in emu.control.requests() if e["operation"] == "batch_delete"]


def test_a_400_not_about_ids_is_not_bisected_to_single_ids(
    emulator: Emulator, ledger: Ledger
) -> None:
    """A 400 on every call that says nothing about ids: split once, both halves fail the same
    way, the chunk is settled ``failed`` with that error (3 calls, not 2N-1 = 63)."""
    ids = emulator.control.seed(32, seed=30)
    emulator.control.add_fault(
        operation="batch_delete",
        status=400,
        error_code="WKS.0001",
        error_msg="Invalid request: the request body is malformed.",
    )
    with _client(emulator) as client:
        report = delete_tasks(client, ids, ledger=ledger, chunk_size=32, progress=False)
    assert len(_batch_deletes(emulator)) <= 3
    frame = report.frame
    assert (frame["outcome"] == "failed").all()
    assert set(frame["error_code"]) == {"WKS.0001"}
    assert frame["error_msg"].str.contains("malformed").all()
    assert not report.ok
    assert sorted(emulator.control.task_ids()) == sorted(ids)


def test_a_400_about_an_id_is_still_bisected(emulator: Emulator, ledger: Ledger) -> None:
    """The reject policy: one id the server does not know fails the whole call; bisection
    isolates it (only that branch is split), the rest is deleted."""
    emulator.control.set_policy(unknown_ids="reject")
    ids = emulator.control.seed(16, seed=31)
    with _client(emulator) as client:
        report = delete_tasks(
            client,
            [*ids, "ghost"],
            ledger=ledger,
            chunk_size=17,
            snapshot=False,
            precheck=False,
            progress=False,
        )
    outcomes = report.frame.set_index("task_id")["outcome"]
    assert outcomes["ghost"] == "already_absent"
    assert (outcomes.drop("ghost") == "deleted").all()
    assert len(_batch_deletes(emulator)) <= 1 + 2 * 5  # one branch of log2(17) levels


def test_forbidden_ids_are_isolated_and_the_rest_deleted(
    emulator: Emulator, ledger: Ledger
) -> None:
    """Per-id IAM: a chunk holding a forbidden id gets 403; the forbidden ids are isolated
    (``forbidden``, with the encoded authorization message) and every other id is deleted."""
    ids = emulator.control.seed(40, seed=32)
    denied = {ids[3], ids[29]}
    deny = Deny(denied)
    with _client(emulator, transport=deny) as client:
        report = delete_tasks(client, ids, ledger=ledger, chunk_size=40, progress=False)
    outcomes = report.frame.set_index("task_id")
    assert set(outcomes.index[outcomes["outcome"] == "forbidden"]) == denied
    assert (outcomes.drop(index=list(denied))["outcome"] == "deleted").all()
    assert set(emulator.control.task_ids()) == denied
    for tid in denied:
        assert outcomes.loc[tid, "http_status"] == 403
        assert Deny.ENCODED in str(outcomes.loc[tid, "error_msg"])
    assert deny.batch_deletes <= 1 + 2 * 2 * 6  # two branches of log2(40) levels, not 79
    assert report.summary["forbidden"] == 2
    assert not report.ok
    assert report.summary["status"] == "done"


def test_credentials_that_cannot_delete_stop_the_run(emulator: Emulator, ledger: Ledger) -> None:
    """A 403 on every call (no permission at all): a few calls (the chunk, its halves, a
    one-id probe), then the run stops with ``ForbiddenError``; nothing is ``failed`` or
    ``forbidden``, every id stays ``pending``, and ``resume`` with a permitted user finishes."""
    ids = emulator.control.seed(64, seed=33)
    deny = Deny(None)
    with _client(emulator, transport=deny) as client, pytest.raises(ForbiddenError):
        # snapshot=False: one 64-id chunk (with snapshots the pipeline sends parts of 50 and
        # 14 side by side, and the second part's first call may race the stop: 5 calls)
        delete_tasks(client, ids, ledger=ledger, chunk_size=64, snapshot=False, progress=False)
    assert deny.batch_deletes <= 4
    run_id = int(ledger.runs().index[0])
    assert ledger.run(run_id)["status"] == "interrupted"
    assert ledger.pending(run_id) == ids
    with _client(emulator) as client:
        report = resume(client, ledger, run_id, progress=False)
    assert report.ok and report.summary["deleted"] == 64
    assert emulator.control.task_ids() == []


def test_auth_failure_mid_run_leaves_the_unsent_ids_pending(
    emulator: Emulator, ledger: Ledger
) -> None:
    """The token expires after two calls: the run stops at once (the queued chunks are not sent,
    the refused ones are not ``failed``), it raises, and ``resume`` with a new token finishes."""
    ids = emulator.control.seed(50, seed=34)
    with (
        _client(emulator, transport=ExpireAfter(2)) as client,
        pytest.raises(AuthenticationError),
    ):
        delete_tasks(client, ids, ledger=ledger, chunk_size=5, concurrency=2, progress=False)
    run_id = int(ledger.runs().index[0])
    before = ledger.outcomes(run_id).set_index("task_id")["outcome"]
    assert set(before) == {"deleted", "pending"}
    assert (before == "deleted").sum() == 10
    assert ledger.run(run_id)["status"] == "interrupted"
    with _client(emulator) as client:
        report = resume(client, ledger, run_id, progress=False)
    assert report.ok and report.summary["deleted"] == 50
    assert emulator.control.task_ids() == []
    assert max(_deleted_in_log(emulator).values()) == 1  # nothing sent twice


@pytest.mark.parametrize("status", [403, 400])
def test_emulated_per_id_denials_either_status_are_isolated(
    emulator: Emulator, ledger: Ledger, status: int
) -> None:
    """The live evidence's two shapes of a resource-level refusal (403, or 400 carrying an
    ``encoded_authorization_message``), served by the emulator: the denied id ends
    ``forbidden``, every other selected id is deleted."""
    emulator.control.set_profile("live")
    ids = emulator.control.seed(20, seed=34)
    emulator.control.deny([ids[7]], status=status)
    with _client(emulator) as client:
        report = delete_tasks(
            client, ids[:12], ledger=ledger, snapshot=False, chunk_size=12, progress=False
        )
    outcomes = report.frame.set_index("task_id")["outcome"]
    assert outcomes[ids[7]] == "forbidden"
    assert (outcomes.drop(ids[7]) == "deleted").all()
    assert set(emulator.control.task_ids()) == {ids[7], *ids[12:]}
