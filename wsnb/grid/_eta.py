"""How long a deletion takes under the API's quota: the estimate the delete panel shows.

The deleter (:func:`wsnb.deletion.delete_tasks`) spends its time in three phases, each bound by
one of the API's two rate classes:

1. **snapshots** — one ``get_task`` read per id (``snapshot=True``, the default); with
   ``snapshot=False`` an existence check instead (the cheaper of one read per id or listing the
   project, 50 tasks a page), or nothing with ``precheck=False``;
2. **deleting** — one ``batch_delete`` write per chunk of up to ``chunk_size`` ids;
3. **verifying** — the same existence check over the deleted ids, against what is left.

Time is reads / reads-per-minute + writes / writes-per-minute (the phases run one after the other
and each is limited by its own bucket); network latency and the limiter's initial burst are
ignored, so small runs finish sooner than estimated and big ones close to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from wsnb.models import (
    BATCH_DELETE_MAX,
    DEFAULT_READS_PER_MINUTE,
    DEFAULT_WRITES_PER_MINUTE,
    LIST_PAGE_MAX,
)

__all__ = ["Estimate", "estimate", "existence_reads", "format_duration", "rates_of"]


def existence_reads(count: int, project_tasks: int) -> int:
    """Reads the deleter spends checking which of ``count`` ids exist in a project of
    ``project_tasks`` tasks (mirrors ``wsnb.deletion._existing``).

    Up to two ids: one ``get_task`` each. More: two one-item listings count the project (normal
    and LIFE_CYCLE tasks); an empty project ends there; otherwise the cheaper of listing every
    page or one read per id.
    """
    if count <= 0:
        return 0
    if count <= 2:
        return count
    if project_tasks <= 0:
        return 2
    pages = math.ceil(project_tasks / LIST_PAGE_MAX) + 1  # + the LIFE_CYCLE listing
    return 2 + min(pages, count)


def format_duration(seconds: float) -> str:
    """``"2 s"``, ``"4 min 10 s"``, ``"1 h 13 min"``: precise enough for an estimate."""
    whole = max(1, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 10:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    minutes = round(whole / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@dataclass(frozen=True)
class Estimate:
    """Calls and time one deletion run needs; ``text()`` says it in one line."""

    count: int
    snapshot_reads: int
    writes: int
    verify_reads: int
    reads_per_minute: float
    writes_per_minute: float
    limit: str = "the API quota"

    @property
    def reads(self) -> int:
        return self.snapshot_reads + self.verify_reads

    @property
    def seconds(self) -> float:
        return self.reads / self.reads_per_minute * 60 + self.writes / self.writes_per_minute * 60

    def phase_seconds(self) -> dict[str, float]:
        """Estimated seconds per phase (``snapshots``, ``deleting``, ``verifying``)."""
        return {
            "snapshots": self.snapshot_reads / self.reads_per_minute * 60,
            "deleting": self.writes / self.writes_per_minute * 60,
            "verifying": self.verify_reads / self.reads_per_minute * 60,
        }

    def text(self) -> str:
        if self.count == 0:
            return "nothing to do"
        reads = f"{self.reads:,} read{'' if self.reads == 1 else 's'}"
        writes = f"{self.writes:,} write{'' if self.writes == 1 else 's'}"
        rates = (
            f"{reads} at {self.reads_per_minute:g}/min, {writes} at {self.writes_per_minute:g}/min"
        )
        return f"about {format_duration(self.seconds)} under {self.limit} ({rates})"


def rates_of(client: Any) -> tuple[float, float]:
    """Reads and writes per minute: the client's own :class:`~wsnb._retry.RateLimit` where it
    sets one, else the API's quota (a client without a limiter is still throttled by the
    server)."""
    limit = getattr(client, "_rate", None)
    reads = getattr(limit, "reads_per_minute", None) or DEFAULT_READS_PER_MINUTE
    writes = getattr(limit, "writes_per_minute", None) or DEFAULT_WRITES_PER_MINUTE
    return float(reads), float(writes)


def estimate(
    count: int,
    *,
    project_tasks: int,
    reads_per_minute: float = DEFAULT_READS_PER_MINUTE,
    writes_per_minute: float = DEFAULT_WRITES_PER_MINUTE,
    chunk_size: int | None = None,
    snapshot: bool = True,
    precheck: bool = True,
    verify: bool = True,
    limit: str | None = None,
) -> Estimate:
    """Estimate deleting ``count`` ids from a project of ``project_tasks`` tasks, with the
    deleter's options (``chunk_size``, ``snapshot``, ``precheck``, ``verify``)."""
    count = max(0, count)
    size = chunk_size or BATCH_DELETE_MAX
    if snapshot:
        first = count
    elif precheck:
        first = existence_reads(count, project_tasks)
    else:
        first = 0
    default = (reads_per_minute, writes_per_minute) == (
        DEFAULT_READS_PER_MINUTE,
        DEFAULT_WRITES_PER_MINUTE,
    )
    return Estimate(
        count=count,
        snapshot_reads=first,
        writes=math.ceil(count / size),
        verify_reads=existence_reads(count, project_tasks - count) if verify else 0,
        reads_per_minute=float(reads_per_minute),
        writes_per_minute=float(writes_per_minute),
        limit=limit or ("the API quota" if default else "the client's rate limit"),
    )
