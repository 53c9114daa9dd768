"""Shared fixtures and helpers of the deleter's tests (tests/deletion/)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wsnb._retry import RetryPolicy
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger

# throttle_wait: the time-scaled emulator's "minutes" last well under a second, so the 2-5 s
# wait after a 429 without Retry-After is scaled down with them
FAST_RETRY = RetryPolicy(
    max_attempts=8, initial=0.01, max_backoff=0.2, deadline=30.0, throttle_wait=0.01
)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


def _client(emu: Emulator, **kw: Any) -> Any:
    kw.setdefault("rate_limit", None)
    kw.setdefault("retry", FAST_RETRY)
    return emu.client(**kw)


def _deleted_in_log(emu: Emulator, since: int = 0) -> Counter[str]:
    """How many batch-delete requests named each id."""
    counts: Counter[str] = Counter()
    for entry in emu.control.requests(since):
        if entry["operation"] == "batch_delete":
            counts.update(entry["task_ids"] or [])
    return counts


def _writes(emu: Emulator) -> list[dict[str, Any]]:
    ops = {"create_task", "update_task", "delete_task", "batch_delete", "export_records"}
    return [e for e in emu.control.requests() if e["operation"] in ops]
