"""Re-creating tasks a run deleted, from the definitions snapshotted before the deletion.

Contract: only ids the run reports ``deleted`` can be restored (else ``ValueError`` before any
call). Each re-creation is written ahead to the ledger (``in_flight``) and completed as ``ok``
(with the new id), ``failed`` or ``unknown`` (an ambiguous create). A task already restored, or
whose restore is ``unknown``, is never created again: a twin is worse than a gap, and an
``unknown`` needs a human look. :func:`create_body` keeps only the create fields of a definition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from wsnb._aio import Api
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


async def _restore(
    api: Api, ledger: Ledger, run_id: int, ids: Sequence[str] | None
) -> pd.DataFrame:
    ledger.run(run_id)  # KeyError for an unknown run
    outcomes = ledger.outcomes(run_id)
    deleted = [str(t) for t in outcomes.loc[outcomes["outcome"] == "deleted", "task_id"]]
    wanted = deleted if ids is None else list(dict.fromkeys(ids))
    not_deleted = sorted(set(wanted) - set(deleted))
    if not_deleted:
        raise ValueError(
            f"run {run_id} did not delete {len(not_deleted)} of the given ids "
            f"(e.g. {not_deleted[:3]}); only deleted tasks can be restored"
        )
    snaps = ledger.snapshots(run_id)
    done = ledger.restores(run_id)
    for old_id in wanted:
        if old_id in done.index and done.at[old_id, "state"] in ("ok", "unknown"):
            continue  # never create a twin: "unknown" needs a human look
        definition = snaps.get(old_id)
        if definition is None:
            ledger.record_restore(run_id, old_id, "failed", error_msg="no snapshot was taken")
            continue
        ledger.record_restore(run_id, old_id, "in_flight")
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
