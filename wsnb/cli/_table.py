"""Tables for people: what ``wsnb tasks list``, ``runs list`` and ``runs show`` print by default.

Contract: a frame becomes a rich table no wider than the terminal (``COLUMNS``, else the TTY's
width, else :data:`DEFAULT_WIDTH` when output goes to a pipe or CI), followed by a footer line
that counts (then, in brackets, what was left out). Each kind of table names its columns
(:data:`TASKS`, :data:`RUNS`, :data:`OUTCOMES`, :data:`FAILURES`; any other frame gets its own):
when they do not all fit at their minimum width, the least important ones are left out; long
text is cut with "…", task ids never are (36 characters; they get copied into ``--ids-file``).
Values are written for reading: UTC times to the minute, ``yes``/``no``, empty for missing,
never ``NaN``/``<NA>``/``True``/``+00:00``. Cell text is plain text (a task named ``[bold]x`` is
not rich markup). At most :data:`MAX_ROWS` rows are drawn (rich needs about a millisecond a
row); the footer then says so, and ``--format csv`` gives every row. Imported only when a table
is printed (``--help`` stays light).
"""

from __future__ import annotations

import io
import os
import shutil
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any, Final, Literal

import pandas as pd
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = [
    "DEFAULT_WIDTH",
    "FAILURES",
    "MAX_ROWS",
    "OUTCOMES",
    "RUNS",
    "TASKS",
    "Column",
    "TableKind",
    "render",
    "terminal_width",
]

#: The width without a terminal and without ``COLUMNS`` (pipes, CI logs).
DEFAULT_WIDTH: Final = 100
#: At most this many rows are drawn.
MAX_ROWS: Final = 1000


@dataclass(frozen=True)
class Column:
    """One column of a table: frame column ``name`` (or the index's name), its header, the
    narrowest it may get (``min_width``), how readily it is left out (higher ``drop`` goes first;
    0 never), and whether it may be cut with "…" (``cut``) or grows into spare room (``grow``)."""

    name: str
    header: str
    min_width: int = 4
    drop: int = 0
    justify: Literal["left", "right"] = "left"
    cut: bool = True
    grow: bool = False


@dataclass(frozen=True)
class TableKind:
    """A kind of table: its columns in order and its footer (``footer(frame)``: the counts)."""

    columns: tuple[Column, ...]
    footer: Callable[[pd.DataFrame], str]
    noun: str = "row"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _counts(series: pd.Series[Any], order: Sequence[str] = ()) -> str:
    """``3 deleted, 2 failed``: non-zero counts, in ``order`` first, then by size."""
    counts = series.astype("string").fillna("").value_counts()
    names = [n for n in order if counts.get(n, 0)] + [
        str(n) for n in counts.index if n and n not in order
    ]
    return ", ".join(f"{int(counts[n]):,} {str(n).replace('_', ' ')}" for n in names)


def _tasks_footer(frame: pd.DataFrame) -> str:
    enabled = frame["enable"].fillna(False).astype(bool) if "enable" in frame else None
    text = _plural(len(frame), "task")
    if enabled is not None and len(frame):
        text += f": {int(enabled.sum()):,} enabled, {int((~enabled).sum()):,} disabled"
    return text


def _runs_footer(frame: pd.DataFrame) -> str:
    text = _plural(len(frame), "run")
    if not len(frame):
        return text
    text += f": {_counts(frame['status'], ('done', 'interrupted', 'cancelled', 'running'))}"
    deleted, failed = int(frame["deleted"].sum()), int(frame["failed"].sum())
    text += f"; {deleted:,} tasks deleted, {failed:,} failed"
    for other in ("forbidden", "skipped"):  # not OK either: say so when there are any
        count = int(frame[other].sum()) if other in frame else 0
        text += f", {count:,} {other}" if count else ""
    return text


def _outcomes_footer(frame: pd.DataFrame) -> str:
    order = (
        "deleted", "already_absent", "planned", "invalid", "skipped", "forbidden", "failed",
        "pending",
    )  # fmt: skip
    counts = _counts(frame["outcome"], order) if len(frame) else ""
    return _plural(len(frame), "task") + (f": {counts}" if counts else "")


#: ``wsnb tasks list``: a :func:`wsnb.frames.tasks_frame`.
TASKS: Final = TableKind(
    (
        Column("task_id", "id", 36),
        Column("task_name", "name", 24, grow=True),
        Column("task_type", "type", 8),
        Column("last_status", "last", 7, drop=3),
        Column("enable", "on", 3, drop=4),
        Column("scheduled_type", "schedule", 8, drop=6),
        Column("next_execution_time", "next run (UTC)", 16, drop=2, cut=False),
        Column("expire_time", "expires (UTC)", 16, drop=5, cut=False),
        Column("time_zone", "zone", 8, drop=7),
        Column("description", "description", 12, drop=8, grow=True),
    ),
    _tasks_footer,
    "task",
)

#: ``wsnb runs list``: :meth:`wsnb.ledger.Ledger.runs`.
RUNS: Final = TableKind(
    (
        Column("run_id", "run", 3, justify="right", cut=False),
        Column("created", "started (UTC)", 16, cut=False),
        Column("dry_run", "mode", 7, cut=False),
        Column("status", "status", 6, drop=5),
        Column("ids", "ids", 3, justify="right", cut=False),
        Column("deleted", "deleted", 7, justify="right", cut=False),
        Column("failed", "failed", 6, justify="right", cut=False),
        Column("pending", "pending", 7, justify="right", drop=4, cut=False),
        Column("project_id", "project", 10, drop=2, grow=True),
        Column("endpoint", "endpoint", 12, drop=3, grow=True),
    ),
    _runs_footer,
    "run",
)

#: ``wsnb runs show``: :attr:`wsnb.report.DeletionReport.frame`.
OUTCOMES: Final = TableKind(
    (
        Column("task_id", "id", 36),  # 36: a task id is never cut; an invalid one may be
        Column("task_name", "name", 16, drop=2, grow=True),
        Column("outcome", "outcome", 7),
        Column("http_status", "HTTP", 4, justify="right", drop=4),
        Column("error_code", "error", 8, drop=3),
        Column("error_msg", "message", 16, drop=5, grow=True),
        Column("task_type", "type", 8, drop=6),
        Column("finished", "finished (UTC)", 16, drop=7, cut=False),
    ),
    _outcomes_footer,
    "task",
)

#: The failures of a run by error code (:meth:`wsnb.report.DeletionReport.failures`).
FAILURES: Final = TableKind(
    (
        Column("outcome", "outcome", 7),
        Column("error_code", "error", 8),
        Column("count", "count", 5, justify="right", cut=False),
        Column("error_msg", "message", 16, grow=True),
        Column("task_ids", "ids", 12, drop=2, grow=True),
    ),
    lambda frame: f"{_plural(int(frame['count'].sum()), 'task')} failed or were not sent",
)


def terminal_width(stream: IO[str] | None = None) -> int:
    """``COLUMNS`` when set to a positive number, else the terminal's width when ``stream`` is a
    TTY, else :data:`DEFAULT_WIDTH`."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    isatty = getattr(stream, "isatty", None)
    if stream is not None and isatty is not None and isatty():
        return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    return DEFAULT_WIDTH


def _text(value: Any) -> str:
    """A cell's text: empty for missing, ``yes``/``no``, UTC to the minute, 1,234."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, pd.Timestamp):
        stamp = value.tz_convert("UTC") if value.tzinfo is not None else value
        return f"{stamp:%Y-%m-%d %H:%M}"
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return " ".join(str(value).split())  # a newline in a name would break the row


def _values(frame: pd.DataFrame, column: Column) -> list[str]:
    series = frame[column.name]
    if column.name in ("created", "finished", "started") and not isinstance(
        series.dtype, pd.DatetimeTZDtype
    ):
        series = pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce")
    values = [_text(v) for v in series.astype(object)]
    if column.name == "dry_run":
        values = ["dry run" if v == "yes" else "delete" for v in values]
        if "mode" in frame:  # runs of another kind (wsnb.quarantine) name their mode
            named = frame["mode"].astype(object)
            values = [
                m if isinstance(m, str) and m else v for v, m in zip(values, named, strict=True)
            ]
    return values


#: Characters between two columns (padding, the divider, padding).
_GAP: Final = 3


def _allocate(
    columns: Sequence[Column], cells: Sequence[list[str]], width: int
) -> list[tuple[Column, int]]:
    """Each column's width so the table fits ``width``: natural widths first; then the columns
    that may be cut give way, one character at a time from the one with the most room above its
    minimum (names before others on a tie); then the column with the highest ``drop`` is left
    out and its room goes back to the others."""
    natural = [
        max([cell_len(c.header), *(cell_len(v) for v in values)], default=1)
        for c, values in zip(columns, cells, strict=True)
    ]
    kept = list(range(len(columns)))
    while True:
        widths = {i: natural[i] for i in kept}
        excess = sum(widths.values()) + _GAP * (len(kept) - 1) - width
        floors = {
            i: min(natural[i], max(columns[i].min_width, cell_len(columns[i].header)))
            for i in kept
            if columns[i].cut
        }
        while excess > 0 and floors:  # the column with the most room above its floor gives one
            slack, _, i = max((widths[i] - floors[i], columns[i].grow, i) for i in floors)
            if slack <= 0:
                break
            widths[i] -= 1
            excess -= 1
        droppable = [i for i in kept if columns[i].drop]
        if excess > 0 and not droppable:  # last resort: every column gives way, widest first
            for i in sorted(kept, key=lambda i: -widths[i]):
                give = min(excess, widths[i] - 1)
                widths[i] -= give
                excess -= give
        if excess <= 0 or not droppable:
            return [(columns[i], widths[i]) for i in kept]
        kept.remove(max(droppable, key=lambda i: columns[i].drop))


def _generic(frame: pd.DataFrame) -> TableKind:
    columns = tuple(
        Column(str(name), str(name), min(max(len(str(name)), 4), 12), drop=i, grow=True)
        for i, name in enumerate(frame.columns)
    )
    return TableKind(columns, lambda f: _plural(len(f), "row"))


def render(
    frame: pd.DataFrame, kind: TableKind | None = None, *, width: int, color: bool = False
) -> str:
    """``frame`` (its index becomes a column) as a table at most ``width`` characters wide,
    then the footer; ``color`` adds ANSI styles (for a TTY)."""
    data = frame.reset_index() if any(n is not None for n in frame.index.names) else frame
    kind = kind or _generic(data)
    available = [c for c in kind.columns if c.name in data.columns]
    total = len(data)
    rows = data.head(MAX_ROWS)
    cells = {c.name: _values(rows, c) for c in available}
    sized = _allocate(available, [cells[c.name] for c in available], width)
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="bold" if color else "",
    )
    for column, size in sized:
        table.add_column(
            column.header,
            justify=column.justify,
            width=size,
            no_wrap=True,
            overflow="ellipsis",
        )
    for row in zip(*(cells[c.name] for c, _ in sized), strict=True):
        table.add_row(*(Text(value) for value in row))
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system="standard" if color else None,
        force_terminal=color,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
    )
    console.print(table)
    lines = [line.rstrip() for line in buffer.getvalue().strip("\n").splitlines()]
    notes = []
    if total > MAX_ROWS:
        notes.append(f"showing the first {MAX_ROWS:,}; --format csv lists every {kind.noun}")
    shown = [c for c, _ in sized]
    left_out = [c.header for c in available if c not in shown]
    if left_out:
        notes.append(f"left out at this width: {', '.join(left_out)}")
    lines += textwrap.wrap(kind.footer(data), width=width, break_on_hyphens=False)
    if notes:
        lines += textwrap.wrap(f"({'; '.join(notes)})", width=width, break_on_hyphens=False)
    return "\n".join(lines) + "\n"
