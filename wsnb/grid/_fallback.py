"""The grid's static HTML summary, for front ends without widgets (papermill, nbconvert).

It stays small whatever the frame's size: counts per type and status and the first few rows of
the current view, so an executed notebook over 100k tasks is kilobytes, not megabytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import pandas as pd

_COUNT_COLUMNS = ("region", "task_type", "last_status")  # region: fleet frames only
_PREVIEW_ROWS = 5


def _label(value: Any) -> str:
    return "(none)" if pd.isna(value) else str(value)


def _counts_table(frame: pd.DataFrame, column: str) -> str:
    counts = frame[column].value_counts(dropna=False, sort=True)
    cells = "".join(
        f"<tr><td>{escape(_label(k))}</td><td style='text-align:right'>{v:,}</td></tr>"
        for k, v in counts.items()
        if v
    )
    return (
        f"<table class='wsnb-grid-counts'><thead><tr><th>{escape(column)}</th><th>tasks</th>"
        f"</tr></thead><tbody>{cells}</tbody></table>"
    )


def summary_html(
    *,
    frame: pd.DataFrame,
    total: int,
    matching: int,
    selected: int,
    preview: Sequence[dict[str, Any]],
    columns: Sequence[str],
) -> str:
    """Render the summary: headline counts, per-column counts, and ``preview`` rows."""
    head = "".join(f"<th>{escape(c)}</th>" for c in ("task_id", *columns))
    body = "".join(
        "<tr>"
        + "".join(f"<td>{escape(str(r.get(c, '')))}</td>" for c in ("id", *columns))
        + "</tr>"
        for r in preview[:_PREVIEW_ROWS]
    )
    counts = "".join(_counts_table(frame, c) for c in _COUNT_COLUMNS if c in frame.columns)
    return (
        "<div class='wsnb-grid-static'>"
        f"<p><b>TaskGrid</b>: {total:,} tasks, {matching:,} matching the filter, "
        f"{selected:,} selected.</p>"
        f"<div style='display:flex;gap:2em;align-items:flex-start'>{counts}</div>"
        f"<table class='wsnb-grid-preview'><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
        f"<p><small>First {min(len(preview), _PREVIEW_ROWS)} rows of the current view; "
        "open the notebook in JupyterLab or Notebook 7 for the interactive grid.</small></p>"
        "</div>"
    )
