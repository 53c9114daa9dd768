"""How long a deletion takes under the API's quota: the estimate the delete panel shows.

One model for the whole library: :func:`estimate` asks :func:`wsnb._eta.estimate` (the deleter's
own estimate: the quota's windows, the pipelined snapshots, the sampled verification, what the
client has observed of the server, the run's local work) and keeps what the panel needs: the
calls of each of its three phases, for the progress bar, and the time.

1. **snapshots** — one ``get_task`` read per id (``snapshot=True``, the default); with
   ``snapshot=False`` an existence check instead (the cheaper of one read per id or listing the
   project, 50 tasks a page), or nothing with ``precheck=False``; executing a previewed plan
   (``plan=True``) looks at the planned tasks once, the same way;
2. **deleting** — one ``batch_delete`` write per chunk (per pipeline part with snapshots);
3. **verifying** — two one-item probes, then the cheaper of listing what is left and a sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from wsnb._eta import Eta, Observed
from wsnb._eta import estimate as eta_estimate
from wsnb._retry import RateLimit
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
    #: the deleter's own estimate the counts and seconds come from (``None``: nothing to do)
    eta: Eta | None = None

    @property
    def reads(self) -> int:
        return self.snapshot_reads + self.verify_reads

    @property
    def seconds(self) -> float:
        return 0.0 if self.eta is None else self.eta.seconds

    def phase_seconds(self) -> dict[str, float]:
        """Estimated seconds per phase (``snapshots``, ``deleting``, ``verifying``); the run's
        local work (ledger, report) counts with the deleting."""
        if self.eta is None:
            return {"snapshots": 0.0, "deleting": 0.0, "verifying": 0.0}
        eta = self.eta
        return {
            "snapshots": eta.phase("listing").seconds + eta.phase("snapshots").seconds,
            "deleting": eta.phase("writes").seconds + eta.local,
            "verifying": eta.phase("verify").seconds,
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
    verify: bool | str = True,
    limit: str | None = None,
    plan: bool = False,
    rate_limit: RateLimit | None = None,
    stats: Any = None,
) -> Estimate:
    """Estimate deleting ``count`` ids from a project of ``project_tasks`` tasks, with the
    deleter's options (``chunk_size``, ``snapshot``, ``precheck``, ``verify``); ``plan``:
    executing a previewed plan (its snapshots are taken; its check reads the tasks once).

    ``rate_limit``: the client's limiter (default: one at ``reads_per_minute`` /
    ``writes_per_minute``, as the server throttles a client without one); ``stats``: the
    client's :class:`~wsnb.client.ClientStats`, whose observations of the server the estimate
    prefers to its guesses.
    """
    count = max(0, count)
    size = chunk_size or BATCH_DELETE_MAX
    check = existence_reads(count, project_tasks) if (plan or (not snapshot and precheck)) else 0
    default = (reads_per_minute, writes_per_minute) == (
        DEFAULT_READS_PER_MINUTE,
        DEFAULT_WRITES_PER_MINUTE,
    )
    shown = limit or ("the API quota" if default else "the client's rate limit")
    if count == 0:
        return Estimate(0, 0, 0, 0, float(reads_per_minute), float(writes_per_minute), shown)
    eta = eta_estimate(
        count,
        listing_pages=check,
        snapshot=snapshot and not plan,
        verify=verify,
        chunk_size=size,
        rate_limit=rate_limit or RateLimit(reads_per_minute, writes_per_minute),
        project_pages=math.ceil(project_tasks / LIST_PAGE_MAX) + 1,
        observed_reads=Observed.of(stats, "read"),
        observed_writes=Observed.of(stats, "write"),
    )
    return Estimate(
        count=count,
        snapshot_reads=eta.phase("listing").calls + eta.phase("snapshots").calls,
        writes=eta.phase("writes").calls,
        verify_reads=eta.phase("verify").calls,
        reads_per_minute=float(reads_per_minute),
        writes_per_minute=float(writes_per_minute),
        limit=shown,
        eta=eta,
    )
