"""``DeletionReport``: what a deletion run did, per id and in sum, for people and machines.

A report is read from the ledger (:meth:`DeletionReport.from_ledger`), so the report of a run
looks the same whether it was just made, resumed, or opened days later.

For people: a one-sentence :func:`headline` ("Deleted 54 of 54 selected scheduled tasks in
project … (cn-north-4) on 30 Nov 2026 15:41 UTC; nothing failed."), when (UTC), who
(``user@host``, recorded at run time unless ``WSNB_REPORT_ANONYMOUS`` is set), where, dry run or
not, and the exact command that undoes it (:func:`undo_command`). The HTML is one e-mail-sized
file: inline ``style`` attributes only (no ``<style>`` block a mail client would strip), no
script, no external resource, no ``data:`` image; the outcome chart is inline SVG written here
(``role="img"``, ``aria-label`` and ``<title>`` spell out the counts). It lists every task that
needs attention (up to :data:`MAX_PROBLEM_ROWS`) and a sample of :data:`SAMPLE_ROWS` of the others,
so it stays under 1 MB at 100,000 ids; the complete per-task table is the CSV beside it. The
Markdown (:meth:`DeletionReport.to_markdown`) is the same story for chat and tickets.

For machines: the CSV (every id, :data:`REPORT_COLUMNS`) and the JSON (summary, every outcome,
events, parameters), which is written streaming, a chunk of rows at a time.
"""

from __future__ import annotations

import getpass
import html
import json
import os
import re
import shlex
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

import pandas as pd

from wsnb._ledger_db import redact_url

if TYPE_CHECKING:
    from wsnb.ledger import Ledger

__all__ = [
    "ANONYMOUS_ENV",
    "MAX_PROBLEM_ROWS",
    "REPORT_COLUMNS",
    "REPORT_FILES",
    "SAMPLE_ROWS",
    "DeletionReport",
    "headline",
    "operator",
    "report_title",
    "summary_ok",
    "summary_text",
    "undo_command",
]

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
REPORT_FILES: Final = {
    "html": "report.html",
    "csv": "report.csv",
    "json": "report.json",
    "md": "report.md",
}

#: Set (to anything but ``""``, ``0``, ``false``, ``no``) to keep ``user@host`` out of the ledger
#: and the reports.
ANONYMOUS_ENV: Final = "WSNB_REPORT_ANONYMOUS"

#: Outcomes listed task by task in the HTML and Markdown (the others are counted and sampled).
PROBLEMS: Final = ("failed", "skipped", "pending", "invalid")
#: At most this many tasks that need attention are listed in the HTML (all are in the CSV).
MAX_PROBLEM_ROWS: Final = 500
#: At most this many of the other tasks (deleted, already absent, planned) are shown in the HTML.
SAMPLE_ROWS: Final = 200
#: ... and this many tasks that need attention in the Markdown.
MARKDOWN_ROWS: Final = 50
#: Rows per chunk when the JSON is streamed.
_JSON_CHUNK: Final = 2_000
#: Error messages are cut to this many characters in the HTML and Markdown (whole in CSV/JSON).
_MESSAGE_CHARS: Final = 300

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
#: How each outcome reads in a sentence or a heading.
_WORDS: Final = {
    "deleted": "deleted",
    "already_absent": "already absent",
    "planned": "planned",
    "invalid": "invalid",
    "skipped": "not sent",
    "failed": "failed",
    "forbidden": "forbidden",
    "pending": "pending",
}

# Inline styles: mail clients drop <style> blocks, so every element carries its own.
_FONT: Final = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
_MONO: Final = "font-family:Menlo,Consolas,'DejaVu Sans Mono',monospace"
_BOX: Final = f"{_FONT};font-size:14px;line-height:1.45;color:#1f2328;max-width:700px"
_H2: Final = "font-size:18px;margin:0 0 6px"
_H3: Final = "font-size:15px;margin:20px 0 6px"
_LEAD: Final = "font-size:15px;margin:0 0 12px"
_NOTE: Final = "color:#57606a;margin:0 0 6px;font-size:13px"
_TABLE: Final = 'cellpadding="5" cellspacing="0" style="border-collapse:collapse;width:100%"'
_TH: Final = "border-bottom:2px solid #d0d7de;text-align:left;font-size:13px"
_TD: Final = "border-top:1px solid #e1e4e8"
_KEY: Final = "color:#57606a;font-weight:600;white-space:nowrap;padding:3px 14px 3px 0"
_VALUE: Final = "padding:3px 0;overflow-wrap:anywhere"
_ID: Final = f"{_MONO};font-size:11px;color:#57606a;word-break:break-all"
_CODE: Final = f"{_MONO};font-size:12px;background:#f6f8fa;padding:1px 4px;overflow-wrap:anywhere"


def _esc(value: Any) -> str:
    """Any value as HTML-escaped text (task names and messages are user-controlled)."""
    return html.escape(str(value), quote=True)


def _missing(value: Any) -> bool:
    """None, NaN, NaT, pd.NA or an empty string."""
    if value is None or (isinstance(value, str) and not value):
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    """``1 task`` / ``2 tasks`` (thousands separated)."""
    return f"{count:,} {singular if count == 1 else plural or singular + 's'}"


def _chip(outcome: str, text: str | None = None) -> str:
    """An outcome as a coloured, inline-styled chip."""
    colour = _COLOURS.get(outcome, "#57606a")
    ink = _INK.get(outcome, "#fff")
    return (
        f'<span style="background:{colour};color:{ink};padding:1px 7px;border-radius:9px;'
        f'font-size:12px;white-space:nowrap">{_esc(text or outcome)}</span>'
    )


def _stamp(value: Any) -> pd.Timestamp | None:
    """A time (ISO text or timestamp) in UTC; naive ones are taken as UTC."""
    if _missing(value):
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _day(value: Any, *, seconds: bool = False) -> str:
    """``30 Nov 2026 15:41 UTC`` (``15:41:07`` with ``seconds``), or empty."""
    stamp = _stamp(value)
    if stamp is None:
        return ""
    clock = f"{stamp:%H:%M:%S}" if seconds else f"{stamp:%H:%M}"
    return f"{stamp.day} {stamp:%b %Y} {clock} UTC"


def _duration(seconds: Any) -> str:
    """``5.5 s``, ``3 min 12 s``, ``2 h 5 min``; empty when unknown."""
    if not isinstance(seconds, int | float) or _missing(seconds):
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def _truthy(value: str | None) -> bool:
    return bool(value) and str(value).strip().lower() not in ("0", "false", "no", "off")


def operator(environ: Mapping[str, str] | None = None) -> str | None:
    """Who runs this: ``user@host``; ``None`` when :data:`ANONYMOUS_ENV` is set or unknown.

    The deleter records it with each new run, so a report opened later names who ran it."""
    env = os.environ if environ is None else environ
    if _truthy(env.get(ANONYMOUS_ENV)):
        return None
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return None
    return f"{user}@{socket.gethostname()}"


_REGION: Final = re.compile(r"^https?://[^/.]+\.([a-z]{2}(?:-[a-z]+)+-\d+)\.", re.IGNORECASE)


def region_of(endpoint: str | None) -> str | None:
    """The region in a Huawei Cloud endpoint (``https://workspace.cn-north-4.…``), else None."""
    match = _REGION.match(endpoint or "")
    return match.group(1).lower() if match else None


def _count(summary: Mapping[str, Any], name: str) -> int:
    value = summary.get(name)
    return int(value) if isinstance(value, int | float) and not _missing(value) else 0


def _where(summary: Mapping[str, Any]) -> str:
    """``project P (cn-north-4)``, or ``project P at ENDPOINT`` when no region shows."""
    project = summary.get("project_id") or "(unknown)"
    region = summary.get("region") or region_of(summary.get("endpoint"))
    if region:
        return f"project {project} ({region})"
    endpoint = summary.get("endpoint")
    return f"project {project} at {endpoint}" if endpoint else f"project {project}"


def headline(summary: Mapping[str, Any]) -> str:
    """What the run did, in one plain sentence (``summary``: a report's or a report.json's).

    "Deleted 54 of 54 selected scheduled tasks in project P (cn-north-4) on 30 Nov 2026 15:41
    UTC; nothing failed." A dry run: "Would delete …; dry run, nothing was deleted."
    """
    ids = _count(summary, "ids")
    when = _day(summary.get("created"))
    place = f"in {_where(summary)}" + (f" on {when}" if when else "")
    if ids == 0:
        return f"Selected no scheduled tasks {place}; nothing to do."
    noun = "scheduled task" if ids == 1 else "scheduled tasks"
    dry = bool(summary.get("dry_run"))
    done = _count(summary, "planned" if dry else "deleted")
    lead = f"{'Would delete' if dry else 'Deleted'} {done:,} of {ids:,} selected {noun} {place}"
    problems = []
    if failed := _count(summary, "failed"):
        problems.append(f"{failed:,} failed")
    if forbidden := _count(summary, "forbidden"):
        problems.append(f"{forbidden:,} refused by IAM (forbidden)")
    if skipped := _count(summary, "skipped"):
        problems.append(f"{skipped:,} not sent")
    if invalid := _count(summary, "invalid"):
        problems.append(_plural(invalid, "invalid id"))
    pending = _count(summary, "pending")
    status = summary.get("status")
    if status == "interrupted":
        resume = f"wsnb runs resume {summary.get('run_id')}"
        problems.append(f"the run was interrupted with {pending:,} still pending ({resume})")
    elif status == "running":
        problems.append(f"the run is still going ({pending:,} pending)")
    elif status == "cancelled":
        problems.append(f"the run was cancelled with {pending:,} still pending")
    elif pending:
        problems.append(f"{pending:,} still pending")
    gone = _count(summary, "already_absent")
    notes = problems + ([f"{gone:,} {'was' if gone == 1 else 'were'} already gone"] if gone else [])
    if not problems and not dry:
        notes.append("nothing failed")
    tail = ", ".join(notes)
    if dry:
        tail = f"{tail}; dry run, nothing was deleted" if tail else "dry run, nothing was deleted"
    return f"{lead}; {tail}."


def undo_command(summary: Mapping[str, Any]) -> str | None:
    """The exact ``wsnb runs restore`` command that re-creates what the run deleted, or None
    (a dry run, nothing deleted, no snapshots taken, or a ledger that was only in memory)."""
    if summary.get("dry_run") or not _count(summary, "deleted"):
        return None
    if summary.get("snapshot") is False or not summary.get("ledger"):
        return None
    parts = ["wsnb runs restore", str(summary.get("run_id")), "--ledger"]
    # a PostgreSQL URL without its redacted password: libpq finds it in PGPASSWORD / ~/.pgpass
    parts.append(shlex.quote(redact_url(str(summary["ledger"]), keep_marker=False)))
    region = summary.get("region") or region_of(summary.get("endpoint"))
    if region:
        parts += ["--region", region]
    elif summary.get("endpoint"):
        parts += ["--endpoint", shlex.quote(str(summary["endpoint"]))]
    if summary.get("project_id"):
        parts += ["--project-id", shlex.quote(str(summary["project_id"]))]
    return " ".join(parts)


def _undo_text(summary: Mapping[str, Any]) -> str:
    """What the "Undo" line says when there is no command (or the command itself)."""
    command = undo_command(summary)
    if command:
        return command
    if summary.get("dry_run"):
        return "nothing to undo: a dry run deletes nothing"
    if not _count(summary, "deleted"):
        return "nothing to undo: nothing was deleted"
    if summary.get("snapshot") is False:
        return "not possible: no snapshots were taken (snapshot=False)"
    return "not possible: the ledger was only in memory"


def report_title(summary: Mapping[str, Any]) -> str:
    """A page title: ``wsnb cleanup report — project P (cn-north-4) — 30 Nov 2026``."""
    stamp = _stamp(summary.get("created"))
    kind = "wsnb cleanup report" + (" (dry run)" if summary.get("dry_run") else "")
    when = f" — {stamp.day} {stamp:%b %Y}" if stamp is not None else ""
    return f"{kind} — {_where(summary)}{when}"


def _outcome_counts(summary: Mapping[str, Any]) -> str:
    """``54 selected: 52 deleted, 2 failed``."""
    counts = ", ".join(
        f"{_count(summary, name):,} {_WORDS[name]}" for name in _COLOURS if _count(summary, name)
    )
    return f"{_count(summary, 'ids'):,} selected" + (f": {counts}" if counts else "")


def _api_text(summary: Mapping[str, Any]) -> str:
    """``27 calls (1 delete call, 0 retries, 0 throttled); 9.8 tasks/s``."""
    text = (
        f"{_plural(_count(summary, 'calls'), 'call')} "
        f"({_plural(_count(summary, 'write_calls'), 'delete call')}, "
        f"{_plural(_count(summary, 'retries'), 'retry', 'retries')}, "
        f"{_count(summary, 'throttled_calls'):,} throttled)"
    )
    rate = summary.get("ids_per_s")
    if isinstance(rate, int | float) and not _missing(rate) and rate > 0:
        text += f"; {rate:,.1f} tasks/s"
    return text


def _status_text(summary: Mapping[str, Any]) -> str:
    status = summary.get("status")
    words = {"done": "finished", "interrupted": "interrupted", "running": "still going"}
    return f"{summary.get('run_id')}, {words.get(str(status), str(status))}"


def _facts(summary: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """The key facts as (label, text, monospace) rows, in reading order; unknown ones left out."""
    when = _day(summary.get("created"), seconds=True)
    took = _duration(summary.get("duration_s"))
    where = f"project {summary.get('project_id') or '(unknown)'}"
    region = summary.get("region") or region_of(summary.get("endpoint"))
    if region:
        where += f", region {region}"
    rows = [
        ("Mode", "dry run: nothing was deleted" if summary.get("dry_run") else "deletion", False),
        ("When", when + (f", took {took}" if took else ""), False),
        ("Who", str(summary.get("operator") or ""), False),
        ("Where", where, False),
        ("Endpoint", str(summary.get("endpoint") or ""), False),
        ("Tasks", _outcome_counts(summary), False),
        ("Undo", _undo_text(summary), undo_command(summary) is not None),
        ("API", _api_text(summary), False),
        ("Estimate", _eta_text(summary), False),
        (
            "Plan",
            f"executes dry run {summary['plan_run']}" if summary.get("plan_run") else "",
            False,
        ),
        ("Verified", str(summary.get("verified") or ""), False),
        ("Run", _status_text(summary), False),
        ("Ledger", str(summary.get("ledger") or ""), False),
    ]
    return [row for row in rows if row[1]]


def _eta_text(summary: Mapping[str, Any]) -> str:
    """The estimate made before the run (and, for a dry run, of executing its plan)."""
    text = str(summary.get("eta") or "")
    if text and summary.get("eta_execute"):
        text += f"; executing the plan {summary['eta_execute']}"
    return text


def _cut(text: str, limit: int = _MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _md(value: Any) -> str:
    """A Markdown table cell: pipes escaped, line breaks flattened."""
    text = "" if _missing(value) else " ".join(str(value).split())
    return text.replace("\\", "\\\\").replace("|", "\\|")


#: Chart geometry in px: label column, longest bar, row pitch, bar height, caption band.
_LABEL_W: Final = 116
_BAR_W: Final = 240
_ROW_H: Final = 24
_BAR_H: Final = 16
_TOP: Final = 28


def _bar_chart(caption: str, counts: dict[str, int]) -> str:
    """One labelled bar per outcome (widths proportional to the largest count), or a single
    "no ids" row. Colours are the outcome chips'; all text is escaped."""
    spoken = (
        ", ".join(f"{_WORDS.get(name, name)} {count:,}" for name, count in counts.items())
        or "no ids"
    )
    label = f"{caption}: {spoken}"
    largest = max(counts.values(), default=0)
    width = _LABEL_W + _BAR_W + 70
    height = _TOP + _ROW_H * max(len(counts), 1) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="wsnb-chart" role="img" '
        f'aria-label="{_esc(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui,Segoe UI,Roboto,Arial,sans-serif"'
        ' font-size="12">',
        f"<title>{_esc(label)}</title>",
        f'<text x="0" y="16" font-size="13" font-weight="600" fill="#1f2328">'
        f"{_esc(caption)}</text>",
    ]
    if not counts:
        parts.append(f'<text x="0" y="{_TOP + 16}" fill="#57606a">no ids</text>')
    for row, (name, count) in enumerate(counts.items()):
        y = _TOP + row * _ROW_H
        bar = max(3, round(_BAR_W * count / largest))  # a tiny count stays visible
        text_y = y + _BAR_H - 4
        parts.append(
            f'<g class="wsnb-bar" data-outcome="{_esc(name)}" data-count="{count}">'
            f'<text x="{_LABEL_W - 8}" y="{text_y}" text-anchor="end" fill="#1f2328">'
            f"{_esc(_WORDS.get(name, name))}</text>"
            f'<rect x="{_LABEL_W}" y="{y}" width="{bar}" height="{_BAR_H}" '
            f'fill="{_COLOURS.get(name, "#999999")}"/>'
            f'<text x="{_LABEL_W + bar + 6}" y="{text_y}" fill="#1f2328">{count:,}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass
class DeletionReport:
    """Per-id outcomes (``frame``), totals (``summary``) and the run's event log."""

    frame: pd.DataFrame
    summary: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_ledger(
        cls, ledger: Ledger, run_id: int, *, anonymous: bool | None = None
    ) -> DeletionReport:
        """The report of run ``run_id`` as the ledger holds it now.

        ``anonymous`` leaves out who ran it (default: whether :data:`ANONYMOUS_ENV` is set)."""
        from wsnb.ledger import OUTCOMES

        if anonymous is None:
            anonymous = _truthy(os.environ.get(ANONYMOUS_ENV))
        info = ledger.run(run_id)
        frame = ledger.outcomes(run_id)
        counts = frame["outcome"].value_counts()
        created = pd.Timestamp(info["created"])
        finished = pd.Timestamp(info["finished"]) if info["finished"] else None
        duration = (finished - created).total_seconds() if finished is not None else None
        settled = int(len(frame) - counts.get("invalid", 0) - counts.get("pending", 0))
        stats = info["stats"]
        params = info["params"]
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
            "region": region_of(info["endpoint"]),
            "created": info["created"],
            "finished": info["finished"],
            "operator": None if anonymous else params.get("operator"),
            "snapshot": bool(params.get("snapshot", True)),
            "ledger": None
            if ledger.path == ":memory:"
            else ledger.path  # a PostgreSQL URL, its password redacted
            if ledger.backend == "postgresql"
            else str(Path(ledger.path).expanduser().absolute()),
        }
        events = ledger.events(run_id)
        eta = params.get("eta") if isinstance(params.get("eta"), dict) else {}
        summary["eta"] = eta.get("text")  # the estimate made before the run started
        summary["eta_s"] = eta.get("seconds")  # its seconds
        summary["eta_execute"] = eta.get("execute_text")  # a dry run: executing its plan
        summary["plan_run"] = params.get("plan_run")  # the dry run this run executed
        checks = [e for e in events if e.get("kind") == "verified"]
        summary["verified"] = checks[-1].get("claim") if checks else None
        return cls(frame=frame, summary=summary, events=events)

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

    def headline(self) -> str:
        """What the run did in one sentence: see :func:`headline`."""
        return headline(self.summary)

    def undo_command(self) -> str | None:
        """The command that re-creates what the run deleted: see :func:`undo_command`."""
        return undo_command(self.summary)

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

    def chart_svg(self) -> str:
        """A horizontal bar chart of the outcome counts as an inline ``<svg>`` element."""
        counts = {name: int(self.summary[name]) for name in _COLOURS if self.summary.get(name)}
        return _bar_chart(f"Run {self.summary['run_id']} outcomes", counts)

    def _split(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(the tasks that need attention, the others), each in plan order."""
        problem = self.frame["outcome"].astype(str).isin(PROBLEMS).to_numpy()
        return self.frame[problem], self.frame[~problem]

    def _sampled(self) -> bool:
        """Whether the HTML leaves out tasks (then the CSV is the complete table)."""
        problems, rest = self._split()
        return len(problems) > MAX_PROBLEM_ROWS or len(rest) > SAMPLE_ROWS

    def _title(self) -> str:
        s = self.summary
        return f"{'Dry run' if s['dry_run'] else 'Deletion run'} {s['run_id']}"

    def _head_html(self) -> str:
        """Title, headline, key facts, chart and failures by code (the notebook view's body)."""
        s = self.summary
        ok = summary_ok(s)
        state = _chip("deleted" if ok else "failed", "OK" if ok else "NEEDS ATTENTION")
        facts = "".join(
            f'<tr valign="top"><td style="{_KEY}">{_esc(label)}</td><td style="{_VALUE}">'
            + (f'<code style="{_CODE}">{_esc(text)}</code>' if mono else _esc(text))
            + "</td></tr>"
            for label, text, mono in _facts(s)
        )
        return (
            f'<h2 class="wsnb-title" style="{_H2}">{_esc(self._title())} {state}</h2>'
            f'<p class="wsnb-headline" style="{_LEAD}">{_esc(self.headline())}</p>'
            f'<table class="wsnb-facts" cellpadding="0" cellspacing="0" '
            f'style="border-collapse:collapse;margin:0 0 12px">{facts}</table>'
            f'<div style="max-width:100%;overflow-x:auto">{self.chart_svg()}</div>'
            f"{self._failures_html()}"
        )

    def _failures_html(self) -> str:
        failures = self.failures()
        heading = f'<h3 style="{_H3}">Failures by error code</h3>'
        if failures.empty:
            return f'{heading}<p class="wsnb-none" style="{_NOTE}">No failures.</p>'
        head = "".join(
            f'<th style="{_TH}{";text-align:right" if label == "count" else ""}">{label}</th>'
            for label in ("outcome", "error code", "count", "example message")
        )
        body = ""
        for key, row in failures.iterrows():
            outcome, code = cast("tuple[str, str]", key)
            message = "" if _missing(row["error_msg"]) else _cut(str(row["error_msg"]))
            shown = f'<code style="{_CODE}">{_esc(code)}</code>' if code != "-" else ""
            body += (
                f'<tr valign="top"><td style="{_TD}">{_chip(outcome, _WORDS.get(outcome))}</td>'
                f'<td style="{_TD}">{shown}</td>'
                f'<td style="{_TD};text-align:right">{int(row["count"]):,}</td>'
                f'<td style="{_TD};overflow-wrap:anywhere">{_esc(message)}</td></tr>'
            )
        return (
            f'{heading}<table class="wsnb-failures" {_TABLE}><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )

    def _tasks_html(self, rows: pd.DataFrame, css: str, *, errors: bool) -> str:
        """One table of tasks: name over id, type, outcome, (HTTP status, error), finished time.
        A column whose every cell would be empty is left out."""
        day = _stamp(self.summary.get("created"))
        finished = [_stamp(v) for v in rows["finished"]]

        def when(stamp: pd.Timestamp | None) -> str:
            if stamp is None:
                return ""
            if day is not None and stamp.date() == day.date():
                return f"{stamp:%H:%M:%S}"
            return f"{stamp.day} {stamp:%b %H:%M:%S}"

        def texts(name: str) -> list[str]:
            return ["" if _missing(v) else str(v) for v in rows[name].astype(object)]

        names, ids, types = texts("task_name"), texts("task_id"), texts("task_type")
        outcomes = texts("outcome")
        columns: list[tuple[str, str, list[str]]] = [
            (
                "task",
                "min-width:240px",
                [
                    (f"{_esc(n)}<br>" if n else "") + f'<span style="{_ID}">{_esc(i)}</span>'
                    for n, i in zip(names, ids, strict=True)
                ],
            ),
            ("type", "font-size:12px", [_esc(t).replace("_", "_<wbr>") for t in types]),
            ("outcome", "", [_chip(o, _WORDS.get(o, o)) for o in outcomes]),
        ]
        if errors:
            statuses = texts("http_status")
            codes, messages, requests = texts("error_code"), texts("error_msg"), texts("request_id")
            cells = []
            for code, message, request in zip(codes, messages, requests, strict=True):
                cell = f'<code style="{_CODE}">{_esc(code)}</code> ' if code else ""
                cell += _esc(_cut(message))
                if request and (code or message):
                    cell += f'<br><span style="{_ID}">request {_esc(request)}</span>'
                cells.append(cell)
            columns += [
                ("HTTP", "text-align:right", statuses),
                ("error", "min-width:110px;overflow-wrap:anywhere", cells),
            ]
        columns.append(("time (UTC)", "white-space:nowrap", [when(s) for s in finished]))
        shown = [c for c in columns if any(cell for cell in c[2])]
        head = "".join(
            f'<th style="{_TH}{";" + extra if extra.startswith("text-align") else ""}">'
            f"{_esc(label)}</th>"
            for label, extra, _ in shown
        )
        body = "".join(
            '<tr valign="top">'
            + "".join(
                f'<td style="{_TD}{";" + extra if extra else ""}">{cell}</td>'
                for (_, extra, _), cell in zip(shown, cells_of_row, strict=True)
            )
            + "</tr>"
            for cells_of_row in zip(*(c[2] for c in shown), strict=True)
        )
        return (
            f'<table class="wsnb-outcomes {css}" {_TABLE}><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )

    def _sections_html(self, csv_name: str | None) -> str:
        """The per-task part of the page: every task that needs attention (up to
        :data:`MAX_PROBLEM_ROWS`), then a sample of the others."""
        where = (
            f"the complete table is in {csv_name}"
            if csv_name
            else f"the complete table: wsnb runs show {self.run_id} --format csv"
        )
        problems, rest = self._split()
        parts = []
        if len(problems):
            parts.append(f'<h3 style="{_H3}">Tasks that need attention ({len(problems):,})</h3>')
            if len(problems) > MAX_PROBLEM_ROWS:
                parts.append(
                    f'<p class="wsnb-note" style="{_NOTE}">showing the first '
                    f"{MAX_PROBLEM_ROWS:,} of {len(problems):,} tasks that need attention; "
                    f"{_esc(where)}</p>"
                )
            parts.append(
                self._tasks_html(problems.head(MAX_PROBLEM_ROWS), "wsnb-problems", errors=True)
            )
        if len(rest):
            present = [o for o in _COLOURS if (rest["outcome"] == o).any()]
            kind = " or ".join(_WORDS[o] for o in present) + " tasks"
            parts.append(f'<h3 style="{_H3}">{_esc(kind.capitalize())} ({len(rest):,})</h3>')
            if len(rest) > SAMPLE_ROWS:
                parts.append(
                    f'<p class="wsnb-note" style="{_NOTE}">showing {SAMPLE_ROWS:,} of '
                    f"{len(rest):,} {_esc(kind)}; {_esc(where)}</p>"
                )
            parts.append(self._tasks_html(rest.head(SAMPLE_ROWS), "wsnb-sample", errors=False))
        return "".join(parts)

    def _repr_html_(self) -> str:
        """The notebook view: the page without its per-task tables."""
        return f'<div class="wsnb-report" style="{_BOX}">{self._head_html()}</div>'

    # --- files ---------------------------------------------------------------------------------

    def to_html(self, path: str | os.PathLike[str], *, csv_name: str | None = None) -> Path:
        """One self-contained, e-mail-sized HTML page (inline styles and chart, no scripts): the
        notebook view plus every task that needs attention and a sample of the rest.
        ``csv_name``: the file the page names for the complete table."""
        target = Path(path)
        body = (
            f'<div class="wsnb-report" style="{_BOX}">{self._head_html()}'
            f"{self._sections_html(csv_name)}</div>"
        )
        title = _esc(f"wsnb {self._title().lower()}: {'OK' if self.ok else 'needs attention'}")
        target.write_text(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{title}</title></head><body style="margin:16px">{body}</body></html>',
            encoding="utf-8",
        )
        return target

    def to_markdown(self) -> str:
        """The report as Markdown for chat and tickets: headline, key facts, failures by code
        and the first :data:`MARKDOWN_ROWS` tasks that need attention."""
        s = self.summary
        lines = [f"**{self.headline()}**", "", "| | |", "|---|---|"]
        result = f"{'OK' if summary_ok(s) else 'NEEDS ATTENTION'}"
        for label, text, mono in [("Result", result, False), *_facts(s)]:
            lines.append(f"| {label} | {f'`{text}`' if mono else _md(text)} |")
        failures = self.failures()
        if not failures.empty:
            lines += [
                "",
                "### Failures by error code",
                "",
                "| outcome | error code | count | example message |",
                "|---|---|---:|---|",
            ]
            for key, row in failures.iterrows():
                outcome, code = cast("tuple[str, str]", key)
                message = _md(_cut(str(row["error_msg"]))) if not _missing(row["error_msg"]) else ""
                lines.append(f"| {outcome} | {_md(code)} | {int(row['count']):,} | {message} |")
        problems, _ = self._split()
        if len(problems):
            lines += [
                "",
                f"### Tasks that need attention ({len(problems):,})",
                "",
                "| task | id | outcome | error |",
                "|---|---|---|---|",
            ]
            for task in problems.head(MARKDOWN_ROWS).itertuples(index=False):
                code = "" if _missing(task.error_code) else f"{task.error_code}: "
                message = "" if _missing(task.error_msg) else _cut(str(task.error_msg))
                outcome = str(task.outcome)
                lines.append(
                    f"| {_md(task.task_name)} | {_md(task.task_id)} | "
                    f"{_WORDS.get(outcome, outcome)} | {_md(code + message)} |"
                )
            if len(problems) > MARKDOWN_ROWS:
                lines += ["", f"…and {len(problems) - MARKDOWN_ROWS:,} more in the CSV report."]
        return "\n".join(lines) + "\n"

    def to_md(self, path: str | os.PathLike[str]) -> Path:
        """:meth:`to_markdown` into a file."""
        target = Path(path)
        target.write_text(self.to_markdown(), encoding="utf-8")
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
        ``"parameters"`` when given (e.g. the notebook's, to record what selected the run).

        Written streaming: the outcomes go out :data:`_JSON_CHUNK` rows at a time (one record a
        line), so a 100,000-id run never becomes one string in memory."""
        target = Path(path)
        with target.open("w", encoding="utf-8") as out:
            out.write('{\n"summary": ')
            out.write(json.dumps(self.summary, indent=2, default=str))
            out.write(',\n"outcomes": [')
            separator = "\n"
            for start in range(0, len(self.frame), _JSON_CHUNK):
                chunk = self.frame.iloc[start : start + _JSON_CHUNK]
                lines = chunk.to_json(orient="records", lines=True, date_format="iso")
                out.write(separator + lines.strip("\n").replace("\n", ",\n"))
                separator = ",\n"
            out.write("\n],\n")
            out.write(f'"events": {json.dumps(self.events, indent=2, default=str)}')
            if parameters is not None:
                out.write(f',\n"parameters": {json.dumps(dict(parameters), indent=2, default=str)}')
            out.write("\n}\n")
        return target

    def write(
        self, target: str | os.PathLike[str], *, parameters: Mapping[str, Any] | None = None
    ) -> dict[str, Path]:
        """Write the report files; returns ``{kind: path}`` (kinds as in :data:`REPORT_FILES`).

        ``target`` ending in ``.html``, ``.csv``, ``.json`` or ``.md`` (and not an existing
        folder) is that one file; an HTML page that shows only a sample brings the complete CSV
        beside it (same name, ``.csv``). Anything else is a folder, created if needed, that
        receives every file of :data:`REPORT_FILES`. ``parameters`` go into the JSON.
        """
        path = Path(target)
        kind = path.suffix.lower().lstrip(".")
        if kind in REPORT_FILES and not path.is_dir():
            files = {kind: path}
            if kind == "html" and self._sampled():
                files["csv"] = path.with_suffix(".csv")
        else:
            path.mkdir(parents=True, exist_ok=True)
            files = {name: path / file for name, file in REPORT_FILES.items()}
        csv_name = files["csv"].name if "csv" in files else None
        writers: dict[str, Callable[[Path], Path]] = {
            "html": lambda file: self.to_html(file, csv_name=csv_name),
            "csv": self.to_csv,
            "json": lambda file: self.to_json(file, parameters=parameters),
            "md": self.to_md,
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


# --- grace periods (wsnb.quarantine): quarantine runs, release-or-delete passes ----------------

#: Quarantine states :func:`quarantine_text` names, in this order (zero ones left out).
_QUARANTINE_COUNTED: Final = (
    "planned",
    "quarantined",
    "in_flight",
    "pending",
    "failed",
    "absent",
    "skipped",
    "invalid",
    "released",
    "gone",
    "deleted",
    "restoring",
    "restored",
)
#: Actions of a release-or-delete pass, in the order :func:`grace_text` names them.
_GRACE_ACTIONS: Final = ("deleted", "would delete", "released", "gone", "not deleted", "waiting")
#: Rows per table of :func:`grace_html` (the rest is counted, not listed).
GRACE_ROWS: Final = 200


def quarantine_text(summary: Mapping[str, Any], frame: pd.DataFrame) -> str:
    """A quarantine run in a few human lines: run, OK or NEEDS ATTENTION, counts, the ETA and
    when the quarantined tasks become due for deletion (earliest and latest)."""
    counts: Mapping[str, int] = summary.get("counts") or {}
    bad = {"failed", "pending", "in_flight", "invalid"} & {k for k, v in counts.items() if v}
    ok = summary.get("status") == "done" and not bad
    kind = "quarantine dry run" if summary.get("dry_run") else "quarantine run"
    head = (
        f"wsnb {kind} {summary.get('run_id')}: {'OK' if ok else 'NEEDS ATTENTION'} "
        f"({summary.get('status')})"
    )
    named = ", ".join(
        f"{counts[k]} {k.replace('_', ' ')}" for k in _QUARANTINE_COUNTED if counts.get(k)
    )
    lines = [head, f"  selected {summary.get('selected', 0)} task(s): {named or 'nothing to do'}"]
    if summary.get("eta"):
        lines.append(f"  plan: {summary['eta']}")
    held = frame[frame["state"] == "quarantined"] if len(frame) else frame
    if len(held):
        first, last = _day(held["due"].min()), _day(held["due"].max())
        when = first if first == last else f"from {first} to {last}"
        lines.append(
            f"  grace {summary.get('grace_days')} day(s): deleted {when} by a later run, unless "
            "re-enabled or edited meanwhile"
        )
    elif summary.get("dry_run") and summary.get("grace_days") is not None:
        lines.append(
            f"  grace {summary.get('grace_days')} day(s): would be deleted by a run at least "
            f"{summary.get('grace_days')} day(s) after a real quarantine run"
        )
    return "\n".join(lines)


def grace_text(frame: pd.DataFrame, *, now: Any, dry_run: bool = False) -> str:
    """A release-or-delete pass in a few lines: what was (or would be) deleted, released (and
    why), gone, and what is still waiting (and when the next one is due)."""
    kind = "grace dry run" if dry_run else "grace pass"
    actions: dict[str, int] = {}
    if len(frame):
        actions = {str(k): int(v) for k, v in frame["action"].value_counts().items()}
    named = ", ".join(f"{actions[a]} {a}" for a in _GRACE_ACTIONS if actions.get(a))
    lines = [f"wsnb {kind} at {_day(now)}: {named or 'nothing quarantined'}"]
    for action in ("released", "gone", "not deleted"):
        rows = frame[frame["action"] == action] if len(frame) else frame
        for tid, row in rows.head(20).iterrows():
            name = "" if _missing(row["task_name"]) else f" {row['task_name']}"
            lines.append(f"  {action}: {tid}{name} ({row['reason']})")
    waiting = frame[frame["action"] == "waiting"] if len(frame) else frame
    if len(waiting):
        lines.append(f"  next due: {_day(waiting['due'].min())}")
    return "\n".join(lines)


def _grace_rows(rows: pd.DataFrame, columns: list[tuple[str, str]]) -> str:
    head = "".join(f'<th style="{_TH}">{_esc(label)}</th>' for _, label in columns)
    body = []
    for tid, row in rows.head(GRACE_ROWS).iterrows():
        cells = []
        for name, _ in columns:
            if name == "task":
                label = "" if _missing(row.get("task_name")) else _esc(row["task_name"])
                cells.append(f'{label}<div style="{_ID}">{_esc(tid)}</div>')
            elif name in ("due", "quarantined"):
                cells.append(_esc(_day(row.get(name))))
            else:
                value = row.get(name)
                cells.append("" if _missing(value) else _esc(value))
        body.append("".join(f'<td style="{_TD}">{c}</td>' for c in cells))
    more = len(rows) - min(len(rows), GRACE_ROWS)
    note = f'<p style="{_NOTE}">and {more:,} more</p>' if more > 0 else ""
    rendered = "".join(f"<tr>{r}</tr>" for r in body)
    return f"<table {_TABLE}><tr>{head}</tr>{rendered}</table>{note}"


def grace_html(
    quarantine: pd.DataFrame | None = None,
    grace: pd.DataFrame | None = None,
    *,
    now: Any = None,
    summary: Mapping[str, Any] | None = None,
) -> str:
    """The grace-period section of a cleanup report (inline styles only, like the rest): what
    this run quarantined and when it becomes due (``quarantine``: a quarantine run's frame),
    and what the release-or-delete pass did (``grace``: a :class:`~wsnb.quarantine.GraceReport`
    frame): deleted, released with the reason, gone, still waiting with the due date."""
    parts = [f'<div style="{_BOX}">']
    if grace is not None:
        parts.append(f'<h3 style="margin:12px 0 6px">Grace period: {_esc(_day(now))}</h3>')
        if not len(grace):
            parts.append(f'<p style="{_NOTE}">No task was in quarantine.</p>')
        for action, title in (
            ("deleted", "Deleted after their grace period"),
            ("would delete", "Would be deleted (dry run)"),
            ("released", "Released: re-enabled or edited meanwhile, never deleted"),
            ("gone", "Gone: deleted by someone else meanwhile"),
            ("not deleted", "Due but not deleted (tried again next run)"),
            ("waiting", "Waiting: deleted on or after the date shown"),
        ):
            rows = grace[grace["action"] == action] if len(grace) else grace
            if not len(rows):
                continue
            parts.append(f'<p style="{_LEAD}"><b>{_esc(title)}</b>: {len(rows):,}</p>')
            columns = [("task", "task"), ("due", "due (UTC)"), ("run_id", "quarantine run")]
            if action in ("released", "gone", "not deleted"):
                columns.append(("reason", "why"))
            parts.append(_grace_rows(rows, columns))
    if quarantine is not None:
        info = summary or {}
        run = info.get("run_id")
        title = "Quarantine (dry run)" if info.get("dry_run") else "Quarantined now"
        if run is not None:
            title += f" — run {run}"
        parts.append(f'<h3 style="margin:12px 0 6px">{_esc(title)}</h3>')
        if info.get("eta"):
            parts.append(f'<p style="{_NOTE}">Plan: {_esc(info["eta"])}</p>')
        counts: dict[str, int] = {}
        if len(quarantine):
            counts = {str(k): int(v) for k, v in quarantine["state"].value_counts().items()}
        named = ", ".join(f"{counts[s]} {s}" for s in _QUARANTINE_COUNTED if counts.get(s))
        parts.append(f'<p style="{_LEAD}">{_esc(named or "nothing selected")}</p>')
        shown = quarantine[quarantine["state"] != "planned"] if len(quarantine) else quarantine
        if len(quarantine) and info.get("dry_run"):
            shown = quarantine
        if len(shown):
            parts.append(
                _grace_rows(
                    shown,
                    [
                        ("task", "task"),
                        ("state", "state"),
                        ("due", "due (UTC)"),
                        ("reason", "note"),
                    ],
                )
            )
    parts.append("</div>")
    return "".join(parts)
