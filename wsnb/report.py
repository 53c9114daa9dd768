"""``DeletionReport``: what a deletion run did, per id and in sum, for notebooks and files.

A report is read from the ledger (:meth:`DeletionReport.from_ledger`), so the report of a run
looks the same whether it was just made, resumed, or opened days later. In Jupyter it renders as
a summary table (a pandas Styler), the failures grouped by error code and a small bar chart of
the outcomes (matplotlib, Agg backend, inlined as a base64 PNG).
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

if TYPE_CHECKING:
    from wsnb.ledger import Ledger

__all__ = ["REPORT_COLUMNS", "DeletionReport"]

#: The columns of :attr:`DeletionReport.frame`, in order.
REPORT_COLUMNS: Final = (
    "task_id",
    "task_name",
    "task_type",
    "outcome",
    "chunk",
    "attempts",
    "http_status",
    "error_code",
    "error_msg",
    "request_id",
    "started",
    "finished",
)

_COLOURS: Final = {
    "deleted": "#2e7d32",
    "already_absent": "#81c784",
    "planned": "#1976d2",
    "invalid": "#f9a825",
    "skipped": "#9e9e9e",
    "failed": "#c62828",
    "pending": "#6d4c41",
}


@dataclass
class DeletionReport:
    """Per-id outcomes (``frame``), totals (``summary``) and the run's event log."""

    frame: pd.DataFrame
    summary: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_ledger(cls, ledger: Ledger, run_id: int) -> DeletionReport:
        """The report of run ``run_id`` as the ledger holds it now."""
        from wsnb.ledger import OUTCOMES

        info = ledger.run(run_id)
        frame = ledger.outcomes(run_id)
        counts = frame["outcome"].value_counts()
        created = pd.Timestamp(info["created"])
        finished = pd.Timestamp(info["finished"]) if info["finished"] else None
        duration = (finished - created).total_seconds() if finished is not None else None
        settled = int(len(frame) - counts.get("invalid", 0) - counts.get("pending", 0))
        stats = info["stats"]
        summary: dict[str, Any] = {
            "run_id": run_id,
            "status": info["status"],
            "dry_run": info["dry_run"],
            "ids": len(frame),
            **{name: int(counts.get(name, 0)) for name in OUTCOMES},
            "duration_s": duration,
            "ids_per_s": settled / duration if duration else None,
            "calls": stats.get("calls", 0),
            "write_calls": stats.get("by_operation", {}).get("batch_delete", 0),
            "retries": stats.get("retries", 0),
            "throttled_calls": stats.get("throttled", 0),
            "endpoint": info["endpoint"],
            "project_id": info["project_id"],
        }
        return cls(frame=frame, summary=summary, events=ledger.events(run_id))

    @property
    def ok(self) -> bool:
        """True when the run finished and no id failed or is still pending."""
        s = self.summary
        return bool(s["status"] == "done" and s["failed"] == 0 and s["pending"] == 0)

    @property
    def run_id(self) -> int:
        run_id: int = self.summary["run_id"]
        return run_id

    def __repr__(self) -> str:
        s = self.summary
        shown = ", ".join(
            f"{k}={s[k]}"
            for k in ("deleted", "already_absent", "planned", "invalid", "skipped", "failed")
            if s[k]
        )
        return (
            f"DeletionReport(run_id={s['run_id']}, status={s['status']!r}, "
            f"dry_run={s['dry_run']}, ids={s['ids']}{', ' + shown if shown else ''})"
        )

    # --- views ---------------------------------------------------------------------------------

    def failures(self) -> pd.DataFrame:
        """Failed and skipped ids grouped by error code: count, example message, some ids."""
        bad = self.frame[self.frame["outcome"].isin(["failed", "skipped", "pending"])]
        if bad.empty:
            return pd.DataFrame(
                columns=["outcome", "error_code", "count", "error_msg", "task_ids"]
            ).set_index(["outcome", "error_code"])
        grouped = bad.assign(
            outcome=bad["outcome"].astype(str), error_code=bad["error_code"].fillna("-")
        ).groupby(["outcome", "error_code"], sort=True)
        return pd.DataFrame(
            {
                "count": grouped.size(),
                "error_msg": grouped["error_msg"].first(),
                "task_ids": grouped["task_id"].agg(
                    lambda s: ", ".join(s.head(5)) + (" …" if len(s) > 5 else "")
                ),
            }
        )

    def _summary_frame(self) -> pd.DataFrame:
        keys = [
            "run_id", "status", "dry_run", "ids", "deleted", "already_absent", "planned",
            "invalid", "skipped", "failed", "pending", "duration_s", "ids_per_s", "calls",
            "write_calls", "retries", "throttled_calls",
        ]  # fmt: skip
        values = []
        for key in keys:
            value = self.summary[key]
            if isinstance(value, float):
                value = f"{value:,.2f}"
            values.append(str(value) if value is not None else "-")
        return pd.DataFrame({"value": values}, index=pd.Index(keys, name="summary"))

    def chart_png(self) -> bytes:
        """A horizontal bar chart of the outcome counts, as PNG bytes."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        counts = {k: self.summary[k] for k in _COLOURS if self.summary[k]}
        figure = Figure(figsize=(5.0, 0.45 * max(len(counts), 1) + 0.6), dpi=96)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        names = list(counts) or ["(none)"]
        values = list(counts.values()) or [0]
        bars = axes.barh(names, values, color=[_COLOURS.get(n, "#999") for n in names])
        axes.bar_label(bars, padding=3)
        axes.invert_yaxis()
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("tasks")
        axes.set_title(f"Run {self.summary['run_id']} outcomes")
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()

    def _repr_html_(self) -> str:
        title = "Dry run" if self.summary["dry_run"] else "Deletion run"
        state = "ok" if self.ok else "needs attention"
        summary = (
            self._summary_frame()
            .style.set_caption(f"{title} {self.summary['run_id']}: {state}")
            .set_table_attributes('class="wsnb-summary"')
            .to_html()
        )
        failures = self.failures()
        if failures.empty:
            failed_html = "<p>No failures.</p>"
        else:
            failed_html = (
                failures.style.set_caption("Failures by error code")
                .set_properties(subset=["error_msg"], **{"white-space": "pre-wrap"})
                .to_html()
            )
        png = base64.b64encode(self.chart_png()).decode("ascii")
        chart = f'<img alt="outcome chart" src="data:image/png;base64,{png}"/>'
        return (
            '<div class="wsnb-report" style="display:flex;gap:2em;flex-wrap:wrap">'
            f"<div>{summary}</div><div>{chart}{failed_html}</div></div>"
        )

    # --- files ---------------------------------------------------------------------------------

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """A standalone HTML page: the notebook view plus the full per-id table."""
        target = Path(path)
        title = html.escape(f"wsnb deletion run {self.summary['run_id']}")
        shown = self.frame.astype(object).where(self.frame.notna(), "")
        table = shown.to_html(index=False, classes="wsnb-outcomes")
        target.write_text(
            f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><h1>{title}</h1>{self._repr_html_()}<h2>Per task</h2>{table}</body></html>",
            encoding="utf-8",
        )
        return target

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """The per-id table as CSV."""
        target = Path(path)
        self.frame.to_csv(target, index=False)
        return target

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """``{"summary": …, "outcomes": [per-id records], "events": […]}`` as JSON."""
        target = Path(path)
        records = json.loads(self.frame.to_json(orient="records", date_format="iso"))
        payload = {"summary": self.summary, "outcomes": records, "events": self.events}
        target.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
        return target
