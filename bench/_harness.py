"""Shared shape of a benchmark result and the table printer.

Each ``bench/bench_*.py`` module defines ``run(quick: bool) -> list[Result]``. Figures are
reported as ratios against a baseline run side by side (the official SDK doing the same work, or
the throttle's floor), never as timed assertions. A figure measured several times
(:func:`repeat`) shows its median as the value, and its best run (``min``/``max``) beside it;
a figure with an ``estimate`` (seconds, from :mod:`wsnb._eta`) shows how far the measured median
is from it.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Result:
    """One measured figure, optionally with its baseline and target."""

    bench: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    higher_is_better: bool = True
    target: float | None = None
    target_kind: str = "ratio"  # "ratio" compares ratio to target, "value" compares value
    note: str = ""
    samples: list[float] = field(default_factory=list)  # every run of ``value`` (median shown)
    estimate: float | None = None  # wsnb._eta's seconds for a figure measured in seconds

    @property
    def best(self) -> float | None:
        """The best run: the least time, or the highest rate."""
        if len(self.samples) < 2:
            return None
        return max(self.samples) if self.higher_is_better else min(self.samples)

    @property
    def estimate_error(self) -> float | None:
        """(estimate - measured) / measured: +0.1 means the estimate was 10 % too long."""
        if self.estimate is None or not self.value:
            return None
        return (self.estimate - self.value) / self.value

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0 or self.value == 0:
            return None
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        got = self.ratio if self.target_kind == "ratio" else self.value
        if got is None:
            return None
        if self.target_kind == "value" and not self.higher_is_better:
            return got <= self.target
        return got >= self.target


@contextmanager
def timer() -> Iterator[list[float]]:
    """``with timer() as t: ...`` then ``t[0]`` holds elapsed seconds."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def repeat(action: Callable[[], object], times: int) -> list[float]:
    """Run ``action`` ``times`` times; the seconds each run took."""
    seconds = []
    for _ in range(times):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    return seconds


def median(samples: list[float]) -> float:
    return float(statistics.median(samples))


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def print_table(results: list[Result]) -> None:
    """Print a fixed-width table of results."""
    header = (
        "bench",
        "figure",
        "value",
        "best",
        "unit",
        "baseline",
        "ratio",
        "target",
        "met",
        "eta",
    )
    rows = []
    for r in results:
        target = "-"
        if r.target is not None:
            op = "<=" if (r.target_kind == "value" and not r.higher_is_better) else ">="
            target = f"{op}{_fmt(r.target)}{'x' if r.target_kind == 'ratio' else ''}"
        met = {None: "-", True: "yes", False: "NO"}[r.met]
        base = f"{_fmt(r.baseline)} ({r.baseline_name})" if r.baseline is not None else "-"
        ratio = f"{_fmt(r.ratio)}x" if r.ratio is not None else "-"
        error = r.estimate_error
        eta = f"{_fmt(r.estimate)} ({error:+.0%})" if error is not None else "-"
        best = _fmt(r.best) if r.best is not None else "-"
        rows.append((r.bench, r.name, _fmt(r.value), best, r.unit, base, ratio, target, met, eta))
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    notes = [f"  {r.bench}/{r.name}: {r.note}" for r in results if r.note]
    if notes:
        print("\nnotes:")
        print("\n".join(notes))


def to_json(results: list[Result]) -> str:
    return json.dumps(
        [
            asdict(r) | {"ratio": r.ratio, "met": r.met, "estimate_error": r.estimate_error}
            for r in results
        ],
        indent=2,
        default=str,
    )


def _serve_emulator(queue: Any, stop: Any, options: dict[str, Any]) -> None:
    from wsnb.emulator import Emulator

    with Emulator(**options) as emu:
        queue.put(emu.endpoint)
        stop.wait()


@contextmanager
def emulator_process(**options: Any) -> Iterator[str]:
    """An emulator (``Emulator(**options)``) in a process of its own, so its CPU is not the
    client's; yields its endpoint and stops it at the end."""
    ctx = mp.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=_serve_emulator, args=(queue, stop, options), daemon=True)
    proc.start()
    try:
        yield str(queue.get(timeout=60))
    finally:
        stop.set()
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
