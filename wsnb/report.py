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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

import pandas as pd

if TYPE_CHECKING:
    from wsnb.ledger import Ledger

__all__ = ["REPORT_COLUMNS", "REPORT_FILES", "DeletionReport", "summary_ok", "summary_text"]

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

#: The files :meth:`DeletionReport.write` puts into a folder, by kind.
REPORT_FILES: Final = {"html": "report.html", "csv": "report.csv", "json": "report.json"}

_COLOURS: Final = {
    "deleted": "#2e7d32",
    "already_absent": "#81c784",
    "planned": "#1976d2",
    "invalid": "#f9a825",
    "skipped": "#9e9e9e",
    "failed": "#c62828",
    "forbidden": "#ad1457",
    "pending": "#6d4c41",
}


#: Text colour on each outcome's chip (dark on the light backgrounds).
_INK: Final = {"already_absent": "#1b3a1d", "invalid": "#3e2c00"}
_NUMERIC: Final = ("chunk", "attempts", "http_status")
_CSS: Final = """
.wsnb-report{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,
 sans-serif;font-size:13px;line-height:1.4;color:#1f2328}
.wsnb-report h2{font-size:17px;margin:0 0 10px}
.wsnb-report h3{font-size:14px;margin:18px 0 6px}
.wsnb-report table{border-collapse:collapse;margin:0}
.wsnb-report th,.wsnb-report td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;
 vertical-align:top}
.wsnb-report thead th{background:#eaeef2;font-weight:600;white-space:nowrap}
.wsnb-report tbody tr:nth-child(even){background:#f6f8fa}
.wsnb-report .wsnb-kv th{font-weight:600;white-space:nowrap;background:transparent}
.wsnb-report .wsnb-num{text-align:right;font-variant-numeric:tabular-nums}
.wsnb-report code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
 font-size:12px}
.wsnb-report .wsnb-kv td{max-width:24em;overflow-wrap:anywhere}
.wsnb-report .wsnb-msg{max-width:36em;white-space:pre-wrap;overflow-wrap:anywhere}
.wsnb-report .wsnb-failures .wsnb-msg{min-width:16em}
.wsnb-report .wsnb-outcomes .wsnb-msg{min-width:14em}
.wsnb-report .wsnb-name{min-width:10em;max-width:24em;overflow-wrap:anywhere}
.wsnb-report .wsnb-ids{max-width:28em;overflow-wrap:anywhere}
.wsnb-report .wsnb-nowrap{white-space:nowrap}
.wsnb-report .wsnb-scroll{overflow-x:auto;max-width:100%}
.wsnb-report .wsnb-top{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}
.wsnb-report .wsnb-chart{max-width:100%;height:auto}
.wsnb-report .wsnb-chip{display:inline-block;padding:0 8px;border-radius:10px;color:#fff;
 font-size:12px;font-weight:600;white-space:nowrap}
.wsnb-report .wsnb-ok{background:#2e7d32}
.wsnb-report .wsnb-bad{background:#c62828}
.wsnb-report .wsnb-none{color:#57606a;margin:0}
""" + "".join(
    f".wsnb-report .wsnb-{name}{{background:{colour};color:{_INK.get(name, '#fff')}}}"
    for name, colour in _COLOURS.items()
)


def _esc(value: Any) -> str:
    """Any value as HTML-escaped text (task names and messages are user-controlled)."""
    return html.escape(str(value), quote=True)


def _code(value: Any) -> str:
    return f"<code>{_esc(value)}</code>"


def _td(content: str, css: str | None = None) -> str:
    """A cell around already-escaped ``content``."""
    return f'<td class="{css}">{content}</td>' if css else f"<td>{content}</td>"


def _head(labels: Sequence[str], numeric: set[str]) -> str:
    cells = "".join(
        f'<th class="wsnb-num">{_esc(c)}</th>' if c in numeric else f"<th>{_esc(c)}</th>"
        for c in labels
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _chip(outcome: str) -> str:
    """An outcome as a coloured chip (a known outcome's class, else a plain one)."""
    css = f" wsnb-{outcome}" if outcome in _COLOURS else ""
    return f'<span class="wsnb-chip{css}">{_esc(outcome)}</span>'


def _chip_cell(outcome: str) -> str:
    """A left border in the outcome's colour, for the summary's count rows."""
    return f' style="border-left:4px solid {_COLOURS[outcome]}"'


def _second(value: Any) -> str:
    """A timestamp to the second (``2026-11-29 04:15:21``), or empty."""
    if value is None or pd.isna(value):
        return ""
    return str(pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S"))


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
        """True when the run finished (status ``done``) and every selected id reached its goal:
        ``deleted`` or ``already_absent`` (a dry run: ``planned`` or ``already_absent``).

        Anything else is not OK: an id ``skipped`` (no snapshot), ``failed``, ``forbidden``,
        ``invalid`` or still ``pending``, and a run ``interrupted``, ``cancelled`` or still
        ``running``. An empty selection is OK (nothing was asked). See :func:`summary_ok`.
        """
        return summary_ok(self.summary)

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
        """Failed, forbidden, skipped and pending ids grouped by error code: count, example
        message, some ids."""
        bad = self.frame[self.frame["outcome"].isin(["failed", "forbidden", "skipped", "pending"])]
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

    def _summary_rows(self) -> list[tuple[str, str]]:
        """The summary as (label, text) pairs for the key/value table; zero outcomes left out."""
        s = self.summary

        def number(value: Any, unit: str = "", digits: int = 2) -> str:
            if value is None:
                return "-"
            if isinstance(value, float):
                return f"{value:,.{digits}f}{unit}"
            return f"{value:,}{unit}"

        rows = [
            ("run", str(s["run_id"])),
            ("status", str(s["status"])),
            ("mode", "dry run" if s["dry_run"] else "deletion"),
            ("ids", number(s["ids"])),
        ]
        rows += [(name, number(s[name])) for name in _COLOURS if s.get(name)]
        rows += [
            ("duration", number(s["duration_s"], " s")),
            ("throughput", number(s["ids_per_s"], " ids/s", 1)),
            ("calls", number(s["calls"])),
            ("write calls", number(s["write_calls"])),
            ("retries", number(s["retries"])),
            ("throttled calls", number(s["throttled_calls"])),
            ("endpoint", str(s["endpoint"])),
            ("project", str(s["project_id"])),
        ]
        return rows

    def chart_png(self) -> bytes:
        """A horizontal bar chart of the outcome counts, as PNG bytes."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        counts = {k: self.summary[k] for k in _COLOURS if self.summary[k]}
        figure = Figure(figsize=(5.0, 0.45 * max(len(counts), 1) + 1.0), dpi=96)
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

    def _html(self, *, per_task: bool) -> str:
        """The report as one self-styled ``<div>``: heading, summary beside the chart, failures
        by error code and, with ``per_task``, every id. All text from the ledger is escaped."""
        s = self.summary
        title = f"{'Dry run' if s['dry_run'] else 'Deletion run'} {s['run_id']}"
        state = "ok" if self.ok else "needs attention"
        summary = "".join(
            f'<tr><th scope="row">{_esc(label)}</th>'
            f"<td{_chip_cell(label) if label in _COLOURS else ''}>{_esc(text)}</td></tr>"
            for label, text in self._summary_rows()
        )
        png = base64.b64encode(self.chart_png()).decode("ascii")
        parts = [
            f"<style>{_CSS}</style>",
            f'<h2 class="wsnb-title">{_esc(title)}: '
            f'<span class="wsnb-chip wsnb-{"ok" if self.ok else "bad"}">{_esc(state)}</span></h2>',
            '<div class="wsnb-top">',
            f'<table class="wsnb-kv wsnb-summary"><tbody>{summary}</tbody></table>',
            f'<img class="wsnb-chart" alt="outcome chart" src="data:image/png;base64,{png}"/>',
            "</div>",
            self._failures_html(),
        ]
        if per_task:
            parts.append(self._outcomes_html())
        return f'<div class="wsnb-report">{"".join(parts)}</div>'

    def _failures_html(self) -> str:
        failures = self.failures()
        if failures.empty:
            return '<h3>Failures by error code</h3><p class="wsnb-none">No failures.</p>'
        head = _head(["outcome", "error code", "count", "example message", "task ids"], {"count"})
        body = ""
        for key, row in failures.iterrows():
            outcome, code = cast("tuple[str, str]", key)
            count = f"{int(row['count']):,}"
            body += (
                f"<tr>{_td(_chip(str(outcome)))}{_td(_code(code))}{_td(count, 'wsnb-num')}"
                f"{_td(_esc(row['error_msg']), 'wsnb-msg')}"
                f"{_td(_code(row['task_ids']), 'wsnb-ids')}</tr>"
            )
        return (
            "<h3>Failures by error code</h3>"
            f'<table class="wsnb-failures">{head}<tbody>{body}</tbody></table>'
        )

    def _outcomes_html(self) -> str:
        frame = self.frame
        columns: list[list[str]] = []
        for name in REPORT_COLUMNS:
            if name in ("started", "finished"):
                columns.append([_td(_esc(_second(v)), "wsnb-nowrap") for v in frame[name]])
                continue
            values = frame[name].astype(object).where(frame[name].notna(), None).tolist()
            if name == "outcome":
                columns.append([_td(_chip(str(v)) if v is not None else "") for v in values])
            elif name in _NUMERIC:
                columns.append([_td("" if v is None else str(int(v)), "wsnb-num") for v in values])
            elif name in ("task_id", "request_id"):
                columns.append(
                    [_td(_code(v) if v is not None else "", "wsnb-nowrap") for v in values]
                )
            else:
                css = {"error_msg": "wsnb-msg", "task_name": "wsnb-name"}.get(name)
                columns.append([_td(_esc(v) if v is not None else "", css) for v in values])
        labels = [f"{c} (UTC)" if c in ("started", "finished") else c for c in REPORT_COLUMNS]
        head = _head(labels, set(_NUMERIC))
        rows = "".join(f"<tr>{''.join(row)}</tr>" for row in zip(*columns, strict=True))
        return (
            f"<h3>Per task ({len(frame):,})</h3>"
            f'<div class="wsnb-scroll"><table class="wsnb-outcomes">{head}'
            f"<tbody>{rows}</tbody></table></div>"
        )

    def _repr_html_(self) -> str:
        """The notebook view: :meth:`to_html`'s page without the per-task table."""
        return self._html(per_task=False)

    # --- files ---------------------------------------------------------------------------------

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """A standalone HTML page (inline style and chart, no scripts): the notebook view plus
        the full per-id table."""
        target = Path(path)
        title = _esc(f"wsnb deletion run {self.summary['run_id']}")
        target.write_text(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title></head>"
            f'<body style="margin:16px 24px">{self._html(per_task=True)}</body></html>',
            encoding="utf-8",
        )
        return target

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """The per-id table as CSV."""
        target = Path(path)
        self.frame.to_csv(target, index=False)
        return target

    def to_json(
        self, path: str | os.PathLike[str], *, parameters: Mapping[str, Any] | None = None
    ) -> Path:
        """``{"summary": …, "outcomes": [per-id records], "events": […]}`` as JSON, plus
        ``"parameters"`` when given (e.g. the notebook's, to record what selected the run)."""
        target = Path(path)
        records = json.loads(self.frame.to_json(orient="records", date_format="iso"))
        payload: dict[str, Any] = {
            "summary": self.summary,
            "outcomes": records,
            "events": self.events,
        }
        if parameters is not None:
            payload["parameters"] = dict(parameters)
        target.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
        return target

    def write(
        self, target: str | os.PathLike[str], *, parameters: Mapping[str, Any] | None = None
    ) -> dict[str, Path]:
        """Write the report files; returns ``{kind: path}`` (kinds as in :data:`REPORT_FILES`).

        ``target`` ending in ``.html``, ``.csv`` or ``.json`` (and not an existing folder) is
        that one file; anything else is a folder, created if needed, that receives
        ``report.html``, ``report.csv`` and ``report.json``. ``parameters`` go into the JSON.
        """
        path = Path(target)
        kind = path.suffix.lower().lstrip(".")
        if kind in REPORT_FILES and not path.is_dir():
            files = {kind: path}
        else:
            path.mkdir(parents=True, exist_ok=True)
            files = {name: path / file for name, file in REPORT_FILES.items()}
        writers: dict[str, Callable[[Path], Path]] = {
            "html": self.to_html,
            "csv": self.to_csv,
            "json": lambda file: self.to_json(file, parameters=parameters),
        }
        return {name: writers[name](file) for name, file in files.items()}

    def summary_text(self, paths: Mapping[str, Any] | None = None, *, brief: bool = False) -> str:
        """Human lines about the run: see :func:`summary_text`."""
        return summary_text(self.summary, paths, brief=brief)


def summary_ok(summary: Mapping[str, Any]) -> bool:
    """:attr:`DeletionReport.ok` for a ``summary`` (the report's, or a ``report.json``'s)."""
    goals = (
        ("planned", "already_absent") if summary.get("dry_run") else ("deleted", "already_absent")
    )
    reached = sum(int(summary.get(name) or 0) for name in goals)
    return summary.get("status") == "done" and reached == int(summary.get("ids") or 0)


#: The outcome counts :func:`summary_text` names, in this order (zero ones left out).
_COUNTED: Final = (
    "planned",
    "deleted",
    "already_absent",
    "invalid",
    "skipped",
    "failed",
    "forbidden",
    "pending",
)


def summary_text(
    summary: Mapping[str, Any], paths: Mapping[str, Any] | None = None, *, brief: bool = False
) -> str:
    """A run in a few human lines: the one wording the notebooks, the CLI and the grid show.

    ``summary`` is :attr:`DeletionReport.summary` or the ``"summary"`` of a ``report.json``.
    Lines: kind, run id, ``OK`` or ``NEEDS ATTENTION`` and the status; the non-zero outcome
    counts; the API calls and duration; one line per entry of ``paths`` (e.g. what
    :meth:`DeletionReport.write` returned). ``brief``: the first two lines as one line.
    """
    kind = "dry run" if summary.get("dry_run") else "deletion run"
    counts = ", ".join(f"{summary[k]} {k.replace('_', ' ')}" for k in _COUNTED if summary.get(k))
    ok = summary_ok(summary)
    head = (
        f"wsnb {kind} {summary.get('run_id')}: {'OK' if ok else 'NEEDS ATTENTION'} "
        f"({summary.get('status')})"
    )
    selected = f"selected {summary.get('ids', 0)} task(s): {counts or 'nothing to do'}"
    if brief:
        return f"{head}; {selected}"
    lines = [head, f"  {selected}"]
    duration = summary.get("duration_s")
    if isinstance(duration, int | float):
        lines.append(f"  {summary.get('calls', 0)} API calls in {duration:.1f} s")
    for name, path in (paths or {}).items():
        lines.append(f"  {name:>5}: {path}")
    return "\n".join(lines)
