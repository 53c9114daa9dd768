"""Re-creating tasks a run deleted, from the definitions snapshotted before the deletion.

Contract: only ids the run reports ``deleted`` can be restored, and only with a client for the
run's endpoint and project (else ``ValueError`` before any call). A restore holds the run's lease
(:meth:`wsnb.ledger.Ledger.lease`): while another process runs or restores the run it is refused
with :class:`~wsnb.ledger.RunLeasedError`.

Each restore pass lists the project once before it creates anything and keeps those ids in the
ledger (its *watermark*). Each create is written ahead (``in_flight``, with the pass) and completed
as ``ok`` (with the new id), ``failed`` (refused) or ``unknown`` (ambiguous). A create left
``in_flight`` (the process was killed) or ``unknown`` is resolved by asking the server before
anything is created again: a task not in its pass's watermark, not already mapped by any restore,
whose definition equals the snapshot's create body, is adopted as the new id (``ok``, event
``restore_resolved`` with ``found: true``); only when there is none (the listing is complete and
nothing of the run is in flight: the lease) is the task created again. A twin is worse than a gap:
a row without a watermark (written by an older wsnb) stays ``unknown`` for a human to check.
:func:`create_body` keeps only the create fields of a definition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from wsnb._aio import Api
from wsnb._listing import list_all
from wsnb.deletion._run import _lookup
from wsnb.errors import OutcomeUnknownError, WorkspaceError
from wsnb.ledger import Ledger
from wsnb.models import CREATE_FIELDS

__all__ = ["create_body"]


def create_body(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A create request from a task's show response: the create fields only, output-only data
    (``id``, ``apply_objects[].object_name``) dropped."""
    body: dict[str, Any] = {}
    for name in CREATE_FIELDS:
        value = definition.get(name)
        if value is None:
            continue
        if name == "apply_objects":
            value = [
                {k: v for k, v in obj.items() if k != "object_name" and v is not None}
                for obj in value
            ]
        body[name] = value
    return body


def _same_definition(body: Mapping[str, Any], detail: Mapping[str, Any]) -> bool:
    """Whether a task's show response carries every field of the create ``body`` unchanged
    (apply objects in any order)."""
    made = create_body(detail)

    def norm(name: str, value: Any) -> Any:
        if name == "apply_objects":
            return sorted(json.dumps(o, sort_keys=True) for o in value)
        return value

    return all(name in made and norm(name, made[name]) == norm(name, v) for name, v in body.items())


async def _resolve(
    api: Api,
    ledger: Ledger,
    run_id: int,
    open_ids: Sequence[str],
    states: Mapping[str, str],
    snaps: Mapping[str, Mapping[str, Any] | None],
    listed: Mapping[str, Mapping[str, Any]],
) -> set[str]:
    """Settle creates left ``in_flight``/``unknown`` from the server's answer; return the ids
    that must not be created again (adopted, or unresolvable)."""
    passes = ledger.restore_passes(run_id)
    claimed = ledger.restored_ids()
    details: dict[str, dict[str, Any] | None] = {}
    settled: set[str] = set()
    for old_id in open_ids:
        was = states[old_id]
        pass_id = passes.get(old_id)
        definition = snaps.get(old_id)
        if pass_id is None or definition is None:
            ledger.record_restore(
                run_id,
                old_id,
                "unknown",
                error_msg=f"a create left {was} without a listing taken before it (older wsnb): "
                "check the project by hand; it is not created again",
            )
            settled.add(old_id)
            continue
        before = ledger.restore_watermark(pass_id)
        body = create_body(definition)
        match = None
        for task_id, item in listed.items():
            if task_id in before or task_id in claimed:
                continue
            if item.get("task_name") not in (None, body.get("task_name")):
                continue
            if task_id not in details:
                details[task_id] = await _lookup(api, task_id)
            found = details[task_id]
            if found is not None and _same_definition(body, found):
                match = task_id
                break
        ledger.add_event(
            run_id, "restore_resolved", old_id=old_id, was=was, found=match is not None,
            new_id=match,
        )  # fmt: skip
        if match is not None:
            claimed.add(match)
            ledger.record_restore(run_id, old_id, "ok", new_id=match)
            settled.add(old_id)
    return settled


async def _restore(
    api: Api, ledger: Ledger, run_id: int, ids: Sequence[str] | None
) -> pd.DataFrame:
    info = ledger.run(run_id)  # KeyError for an unknown run
    if (info["endpoint"], info["project_id"]) != (api.endpoint, api.project_id):
        raise ValueError(
            f"run {run_id} was made against {info['endpoint']} (project {info['project_id']}); "
            f"this client talks to {api.endpoint} (project {api.project_id})"
        )
    outcomes = ledger.outcomes(run_id)
    deleted = [str(t) for t in outcomes.loc[outcomes["outcome"] == "deleted", "task_id"]]
    wanted = deleted if ids is None else list(dict.fromkeys(ids))
    not_deleted = sorted(set(wanted) - set(deleted))
    if not_deleted:
        raise ValueError(
            f"run {run_id} did not delete {len(not_deleted)} of the given ids "
            f"(e.g. {not_deleted[:3]}); only deleted tasks can be restored"
        )
    with ledger.lease(run_id):
        snaps = ledger.snapshots(run_id)
        done = ledger.restores(run_id)
        states = {str(k): str(v) for k, v in done["state"].items()}
        todo = [i for i in wanted if states.get(i) != "ok"]
        if todo:
            # The watermark of this pass, and what the server has now for the open creates.
            listed = {str(t.get("id")): t for t in await list_all(api, {}, include_life_cycle=True)}
            open_ids = [i for i in todo if states.get(i) in ("in_flight", "unknown")]
            if open_ids:
                settled = await _resolve(api, ledger, run_id, open_ids, states, snaps, listed)
                todo = [i for i in todo if i not in settled]
            pass_id = ledger.start_restore_pass(run_id, listed) if todo else None
            for old_id in todo:
                definition = snaps.get(old_id)
                if definition is None:
                    ledger.record_restore(
                        run_id, old_id, "failed", error_msg="no snapshot was taken"
                    )
                    continue
                ledger.record_restore(run_id, old_id, "in_flight", pass_id=pass_id)
                try:
                    new_id = await api.create_task(create_body(definition))
                except OutcomeUnknownError as error:
                    ledger.record_restore(run_id, old_id, "unknown", error_msg=str(error)[:500])
                except WorkspaceError as error:
                    ledger.record_restore(run_id, old_id, "failed", error_msg=str(error)[:500])
                else:
                    ledger.record_restore(run_id, old_id, "ok", new_id=new_id)
    frame = ledger.restores(run_id)
    return frame.loc[[i for i in wanted if i in frame.index]]
