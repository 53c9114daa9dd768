"""An honest estimate of how long a deletion run takes, before it starts.

Contract: :func:`estimate` is pure (no I/O, no clock): from the size of the job and the client's
:class:`~wsnb._retry.RateLimit` it returns an :class:`Eta` with the four phases of a run in
order — ``listing`` (list pages), ``snapshots`` (one ``get_task`` per id), ``writes`` (one
``batch_delete`` per chunk) and ``verify`` (confirming the ids are gone) — their calls and
seconds, the total, the dominant phase and a one-line text such as
``≈ 31 min at 200 reads/min: 6,080 snapshots dominate; snapshot=False ≈ 2 min``.

The model: reads and writes draw on separate quotas. A phase of ``k`` calls of one class takes
the longer of (a) the limiter's pace for them, :meth:`~wsnb._retry.RateLimit.pace` of the
class's calls so far plus ``k`` less that of the calls so far (whole windows of the quota by
default, ``k / rate`` less the burst once paced), plus one round trip after the last wait, and
(b) the network, ``k`` round trips shared by the calls in flight; a batch delete also costs the
server's work per id (:data:`WRITE_SECONDS_PER_ID`, one write after another) until the client
has seen a write answered (its latency then includes it). The limiter's state is the
current one (paced below the quota after a 429: AIMD), so an estimate made mid-run reflects the
slowdown. With snapshots the deleter is pipelined: each part of
:data:`FIRST_PART` doubling to :data:`MAX_PART` ids is sent as soon as it is snapshotted, so the
writes overlap the snapshots and the run takes ``listing + max(snapshots + one write, writes) +
verify``; without snapshots the phases follow one another. Verification costs what the deleter
does: ``True``/``"sample"`` two one-item probes, then the cheaper of listing what is left of
the project and reading :func:`verify_sample_size` ids (one per accepted call, at least 59 in
all: 95 % confidence that fewer than 5 % remain); ``"full"``/``"auto"`` two one-item probes,
then nothing more when the project is empty, else the cheaper of one ``get_task`` per deleted id
and a listing of what is left (``"get"`` or ``"list"`` force one; ``False`` skips it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from wsnb._retry import RateLimit
from wsnb.models import BATCH_DELETE_MAX

__all__ = [
    "LOCAL_SECONDS_PER_ID",
    "WRITE_SECONDS_PER_ID",
    "Eta",
    "Observed",
    "Phase",
    "estimate",
    "format_duration",
    "pipeline_parts",
    "verify_sample_size",
]

PhaseName = Literal["listing", "snapshots", "writes", "verify"]

#: Seconds one call takes on the wire when nothing else limits it (a guess for the real API,
#: from Europe/Asia to a Huawei region; pass ``round_trip=`` when you know better).
DEFAULT_ROUND_TRIP: Final = 0.1
#: Calls in flight at once for reads and for writes (the deleter's defaults).
DEFAULT_READS_IN_FLIGHT: Final = 8
DEFAULT_WRITES_IN_FLIGHT: Final = 4
#: The deleter's pipeline: the first part of snapshots sent on its own, parts doubling up to the
#: largest (``wsnb.deletion._run`` uses these).
FIRST_PART: Final = 50
MAX_PART: Final = 1000
#: Sampled verification: if this share of the accepted ids were still there, the sample would
#: hold one with this confidence.
VERIFY_CONFIDENCE: Final = 0.95
VERIFY_TOLERANCE: Final = 0.05


def verify_sample_size(n: int, calls: int = 0) -> int:
    """Ids a sampled verification of ``n`` deleted ids reads: at least one per accepted call,
    and enough that if :data:`VERIFY_TOLERANCE` of them were still there the sample would hold
    one with :data:`VERIFY_CONFIDENCE` (``(1 - t) ** k <= 1 - c``: 59); never more than ``n``."""
    k = math.ceil(math.log(1 - VERIFY_CONFIDENCE) / math.log(1 - VERIFY_TOLERANCE))
    return min(n, max(k, calls))


def pipeline_parts(n: int, chunk_size: int) -> int:
    """How many writes the pipelined deleter makes of ``n`` ids: its parts (:data:`FIRST_PART`
    doubling to :data:`MAX_PART`), each sent in chunks of at most ``chunk_size``."""
    size, writes, left = FIRST_PART, 0, n
    while left > 0:
        writes += math.ceil(min(size, left) / chunk_size)
        left -= size
        size = min(size * 2, MAX_PART)
    return writes


#: The server's work per id of a ``batch_delete``, before the client has seen a write answered:
#: the emulator takes ~0.17 s for 5,000 ids, one call at a time (its database has one writer);
#: the live service's figure is unknown (a guess: the first answer replaces it).
WRITE_SECONDS_PER_ID: Final = 3.5e-5

#: Local work per selected id, apart from the calls: the ledger's plan row, write-ahead and
#: outcome updates, and the report's frame (about 0.5 s for 20,000 ids on a 2-core laptop-class
#: machine with SQLite; a remote PostgreSQL ledger adds its round trips).
LOCAL_SECONDS_PER_ID: Final = 2.5e-5


@dataclass(frozen=True)
class Observed:
    """What a client has seen of one quota class (``ClientStats``): the mean seconds from
    sending a call to having read its answer (``latency``), and the seconds per call at the
    concurrency it reached (``seconds_per_call``, at ``concurrency`` calls in flight): the
    server's and the network's pace as they are, which the estimate prefers to its guesses."""

    latency: float
    seconds_per_call: float | None = None
    concurrency: float | None = None

    def per_call(self, in_flight: int) -> float:
        """Seconds per call with ``in_flight`` calls at once: the latency shared by them, but
        never faster than the pace seen (scaled to this concurrency where it was lower)."""
        shared = self.latency / in_flight
        if self.seconds_per_call is None or self.concurrency is None:
            return shared
        return max(shared, self.seconds_per_call * min(1.0, self.concurrency / in_flight))

    @classmethod
    def of(cls, stats: Any, kind: str) -> Observed | None:
        """From a client's ``stats`` (``None`` when it has answered no call of ``kind``)."""
        latency = stats.latency(kind) if stats is not None else None
        if latency is None:
            return None
        return cls(latency, stats.seconds_per_call(kind), stats.concurrency(kind))


@dataclass(frozen=True)
class Phase:
    """One phase of a run: its calls (all of one class) and how long they take."""

    name: PhaseName
    kind: Literal["read", "write"]
    calls: int
    seconds: float

    def label(self) -> str:
        """The phase as a user would count it, e.g. ``"6,080 snapshots"``."""
        if self.name == "listing":
            return f"{self.calls:,} list page{'s' * (self.calls != 1)}"
        if self.name == "snapshots":
            return f"{self.calls:,} snapshot{'s' * (self.calls != 1)}"
        if self.name == "writes":
            return f"{self.calls:,} batch delete{'s' * (self.calls != 1)}"
        return f"verification ({self.calls:,} reads)"


@dataclass(frozen=True)
class Eta:
    """The estimate: phases in run order, total seconds, dominant phase, one-line text."""

    phases: tuple[Phase, ...]
    seconds: float
    dominant: PhaseName
    text: str
    #: The same run with ``snapshot=False`` (``None`` when the estimate is for that already).
    without_snapshots: float | None = None
    #: Seconds of local work (ledger, report) included in ``seconds``.
    local: float = 0.0

    def phase(self, name: PhaseName) -> Phase:
        """The phase called ``name``."""
        return next(p for p in self.phases if p.name == name)

    def __str__(self) -> str:
        return self.text


def format_duration(seconds: float) -> str:
    """``"40 s"``, ``"31 min"``, ``"2 h 05 min"``: rounded for a person, never "0"."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _verify_reads(n: int, project_pages: int | None, verify: str | bool, calls: int) -> int:
    if verify is not False and verify not in (True, "sample", "full", "auto", "get", "list"):
        raise ValueError(
            f"verify must be True, False, 'sample', 'full', 'auto', 'get' or 'list'; got {verify!r}"
        )
    if verify is False or n == 0:
        return 0
    mode = "sample" if verify is True else "auto" if verify == "full" else verify
    if mode == "sample":
        sample = verify_sample_size(n, calls)
        if sample <= 2:
            return sample
        if project_pages is None:  # two probes, then the sample
            return 2 + sample
        # two probes, then the cheaper of the sample and listing what is left (>= a page a pass)
        return 2 + min(sample, max(2, project_pages - n // 50))
    if mode == "get":
        return n
    # what a listing costs once the deleted ids are gone (None: the project's size is unknown)
    after = None if project_pages is None else max(0, project_pages - n // 50)
    if mode == "list":
        return 2 + (after or 0)
    if n <= 2:  # the deleter looks such ids up one by one
        return n
    # two one-item probes give the totals; an empty project needs nothing more, else the cheaper
    # of one get_task per id and a listing
    return 2 + (n if after is None else min(n, after))


def _check(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return value


def estimate(
    n_selected: int,
    *,
    listing_pages: int,
    snapshot: bool,
    verify: str | bool,
    chunk_size: int,
    rate_limit: RateLimit | None,
    project_pages: int | None = None,
    round_trip: float = DEFAULT_ROUND_TRIP,
    reads_in_flight: int = DEFAULT_READS_IN_FLIGHT,
    writes_in_flight: int = DEFAULT_WRITES_IN_FLIGHT,
    observed_reads: Observed | None = None,
    observed_writes: Observed | None = None,
    local_per_id: float = LOCAL_SECONDS_PER_ID,
    write_per_id: float = WRITE_SECONDS_PER_ID,
) -> Eta:
    """How long deleting ``n_selected`` tasks takes (see the module docstring for the model).

    ``listing_pages``: the list pages the run reads (the selection's listing or the existence
    pre-check; 0 when it lists nothing). ``project_pages``: the pages of a listing of the whole
    project before the run (default: ``listing_pages`` when not 0, else unknown); verification
    lists what is left when that is cheaper than one read per id. ``rate_limit``: the client's
    (``None``: unthrottled, only round trips count). ``observed_reads``/``observed_writes``:
    what the client has seen of the server (:meth:`Observed.of` its ``stats``); a call then
    costs :meth:`Observed.per_call` instead of ``round_trip`` shared by the calls in flight
    (writes without observations of their own take the reads' latency as their round trip).
    ``local_per_id``: the run's local work per id (ledger, report), added once.
    ``write_per_id``: the server's work per deleted id, one write after another, while no write
    has been observed (an observed write's latency includes it).
    """
    n = _check("n_selected", n_selected, 0)
    pages = _check("listing_pages", listing_pages, 0)
    if project_pages is not None:
        _check("project_pages", project_pages, 0)
    project = project_pages if project_pages is not None else (pages or None)
    chunk = _check("chunk_size", chunk_size, 1)
    if chunk > BATCH_DELETE_MAX:
        raise ValueError(f"chunk_size must be at most {BATCH_DELETE_MAX}, got {chunk}")
    if not round_trip >= 0:
        raise ValueError(f"round_trip must be >= 0 seconds, got {round_trip!r}")
    in_flight = {
        "read": _check("reads_in_flight", reads_in_flight, 1),
        "write": _check("writes_in_flight", writes_in_flight, 1),
    }
    writes = pipeline_parts(n, chunk) if snapshot else math.ceil(n / chunk)
    plan: list[tuple[PhaseName, Literal["read", "write"], int]] = [
        ("listing", "read", pages),
        ("snapshots", "read", n if snapshot else 0),
        ("writes", "write", writes),
        ("verify", "read", _verify_reads(n, project, verify, writes)),
    ]
    operation = {"read": "get_task", "write": "batch_delete"}
    done = {"read": 0, "write": 0}  # calls of each class before the phase (one quota each)
    phases = []
    writes_seen = observed_writes is not None  # else the server's work per id is a guess
    if observed_writes is None and observed_reads is not None:
        observed_writes = Observed(observed_reads.latency)  # a round trip, as reads see it
    observed = {"read": observed_reads, "write": observed_writes}
    for name, kind, calls in plan:
        seen = observed[kind]
        per_call = (
            seen.per_call(in_flight[kind]) if seen is not None else round_trip / in_flight[kind]
        )
        network = calls * per_call
        if kind == "write" and not writes_seen:
            network += n * write_per_id  # the server's work, one write after another
        trip = seen.latency if seen is not None else round_trip
        paced = 0.0
        if rate_limit is not None and calls:
            op = operation[kind]
            paced = rate_limit.pace(op, done[kind] + calls) - rate_limit.pace(op, done[kind])
            if paced:  # the calls after the last wait still cross the network
                network = max(network, paced + trip)
        done[kind] += calls
        phases.append(Phase(name, kind, calls, max(paced, network)))
    listing, snaps, sends, checks = phases
    if snapshot and n:  # pipelined: the writes overlap the snapshots, the last part's follows
        last = observed_writes.latency if observed_writes is not None else round_trip
        if not writes_seen:
            last += min(n, MAX_PART) * write_per_id
        total = listing.seconds + max(snaps.seconds + last, sends.seconds) + checks.seconds
    else:
        total = sum(p.seconds for p in phases)
    local = n * local_per_id
    total += local
    top = max(phases, key=lambda p: (p.seconds, p.calls))
    without = None
    if snapshot and n:
        without = estimate(
            n,
            listing_pages=listing_pages,
            snapshot=False,
            verify=verify,
            chunk_size=chunk_size,
            rate_limit=rate_limit,
            project_pages=project_pages,
            round_trip=round_trip,
            reads_in_flight=reads_in_flight,
            writes_in_flight=writes_in_flight,
            observed_reads=observed_reads,
            observed_writes=observed_writes,
            local_per_id=local_per_id,
            write_per_id=write_per_id,
        ).seconds
    eta = Eta(tuple(phases), total, top.name, "", without, local)
    return replace(eta, text=_text(eta, top, rate_limit))


def _text(eta: Eta, top: Phase, rate_limit: RateLimit | None) -> str:
    if rate_limit is None:
        pace = "unthrottled"
    else:
        quota = rate_limit.reads_per_minute if top.kind == "read" else rate_limit.writes_per_minute
        pace = "unthrottled" if quota is None else f"at {quota:,.0f} {top.kind}s/min"
        if quota is not None and rate_limit.window != 60.0:
            pace += f" (a {format_duration(rate_limit.window)} window)"
    text = f"≈ {format_duration(eta.seconds)} {pace}"
    if top.calls:
        verb = "dominates" if top.calls == 1 or top.name == "verify" else "dominate"
        text += f": {top.label()} {verb}"
    if eta.without_snapshots is not None:
        text += f"; snapshot=False ≈ {format_duration(eta.without_snapshots)}"
    return text
