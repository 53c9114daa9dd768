"""Shared shape of a benchmark result and the table printer.

Each ``bench/bench_*.py`` module defines ``run(quick: bool) -> list[Result]``. Figures are
reported as ratios against a baseline run side by side (the official SDK doing the same work, or
the throttle's floor), never as timed assertions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass


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
    header = ("bench", "figure", "value", "unit", "baseline", "ratio", "target", "met")
    rows = []
    for r in results:
        target = "-"
        if r.target is not None:
            op = "<=" if (r.target_kind == "value" and not r.higher_is_better) else ">="
            target = f"{op}{_fmt(r.target)}{'x' if r.target_kind == 'ratio' else ''}"
        met = {None: "-", True: "yes", False: "NO"}[r.met]
        base = f"{_fmt(r.baseline)} ({r.baseline_name})" if r.baseline is not None else "-"
        ratio = f"{_fmt(r.ratio)}x" if r.ratio is not None else "-"
        rows.append((r.bench, r.name, _fmt(r.value), r.unit, base, ratio, target, met))
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
        [asdict(r) | {"ratio": r.ratio, "met": r.met} for r in results], indent=2, default=str
    )
