"""The delete panel's progress: which phase a dry run or a deletion is in, with counts.

:func:`wsnb.deletion.delete_tasks` reports progress as one callable, ``(done, total)``, where
``done`` counts settled ids: it stays near 0 while definitions are read (snapshots settle only
absent ids), jumps as each chunk is deleted, then sits at ``total`` while deletions are verified.
The phases themselves are derived here from what the client has sent so far (its thread-safe
``stats``, polled every :data:`POLL_SECONDS`) and from that callable:

* ``snapshots`` — from the start, counted by the reads sent (``get_task`` / listings);
* ``deleting`` — once a ``batch_delete`` went out, counted by the settled ids;
* ``verifying`` — once every id settled after a write, counted by the reads sent since.

The bar's overall fraction weighs each phase by its share of the estimated time
(:mod:`wsnb.grid._eta`), so under the API quota it moves at the pace the work does. Phases only
move forward and the fraction never decreases. If the deleter one day reports phases itself,
:meth:`PhaseTracker.progress` is the place to take them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final

from wsnb.grid._eta import Estimate
from wsnb.grid._messages import DeletePhase

__all__ = ["POLL_SECONDS", "PhaseTracker", "Publish"]

#: How often the client's counters are read while a run works (seconds).
POLL_SECONDS: float = 0.2
_READS: Final = ("get_task", "list_tasks")
_ORDER: Final[tuple[DeletePhase, ...]] = ("snapshots", "deleting", "verifying")

#: ``publish(phase, done, total, fraction)``: called from the poller or the deleter's thread.
Publish = Callable[[DeletePhase, int, int, float], None]


class PhaseTracker:
    """Follows one ``delete_tasks`` call; use as a context manager around it.

    ``progress`` is the callable to hand to the deleter; ``publish`` receives every change.
    """

    def __init__(self, client: Any, estimate: Estimate, *, dry_run: bool, publish: Publish) -> None:
        self._stats = getattr(client, "stats", None)
        self._estimate = estimate
        self._dry_run = dry_run
        self._publish = publish
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._base = self._calls()
        self._phase: DeletePhase = "snapshots"
        self._settled = 0
        self._verify_base = 0
        self._fraction = 0.0
        self._last: tuple[DeletePhase, int, int, float] | None = None
        seconds = estimate.phase_seconds()
        if dry_run:
            seconds = {"snapshots": seconds["snapshots"] or 1.0}
        total = sum(seconds.values())
        self._weights = {
            phase: (seconds.get(phase, 0.0) / total if total else 1.0 / len(seconds))
            for phase in _ORDER
        }

    # -- inputs ------------------------------------------------------------------------------

    def progress(self, done: int, total: int) -> None:
        """The deleter's progress callable: ``done`` of ``total`` ids settled."""
        with self._lock:
            self._settled = done
            self._update()

    def _calls(self) -> tuple[int, int]:
        """(reads, writes) the client has sent so far."""
        if self._stats is None:
            return 0, 0
        ops = self._stats.snapshot()["by_operation"]
        return sum(ops.get(op, 0) for op in _READS), ops.get("batch_delete", 0)

    def _poll(self) -> None:
        while not self._stopped.wait(POLL_SECONDS):
            with self._lock:
                self._update()

    # -- the derivation --------------------------------------------------------------------

    def _update(self) -> None:
        reads, writes = self._calls()
        reads -= self._base[0]
        writes -= self._base[1]
        count = self._estimate.count
        if self._phase == "snapshots" and writes > 0 and not self._dry_run:
            self._phase = "deleting"
        if self._phase == "deleting" and count and self._settled >= count:
            self._phase = "verifying"
            self._verify_base = reads
        if self._phase == "snapshots":
            total = max(self._estimate.snapshot_reads, 1)
            done = min(reads, total)
        elif self._phase == "deleting":
            total, done = count, min(self._settled, count)
        else:
            total = max(self._estimate.verify_reads, 1)
            done = min(reads - self._verify_base, total)
        before = sum(self._weights[p] for p in _ORDER[: _ORDER.index(self._phase)])
        fraction = before + self._weights[self._phase] * (done / total if total else 1.0)
        self._fraction = max(self._fraction, min(fraction, 1.0))
        state = (self._phase, done, total, round(self._fraction, 4))
        if state != self._last:
            self._last = state
            self._publish(*state)

    # -- lifetime ---------------------------------------------------------------------------

    def __enter__(self) -> PhaseTracker:
        with self._lock:
            self._update()
        self._thread = threading.Thread(target=self._poll, name="wsnb-grid-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
