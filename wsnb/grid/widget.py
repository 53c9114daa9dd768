"""``TaskGrid``: an anywidget grid that pages, sorts, filters and selects tasks in the kernel.

The kernel owns the DataFrame; the browser only ever receives the page it shows, as
preformatted records. Selection is a set of task ids (``selected_ids``), never row positions, so
it survives sorting, filtering, paging and ``refresh``. Browser gestures (clicks, shift-clicks,
select page / matching / clear / invert, the delete panel) arrive as custom messages and are
applied here, so a notebook can drive the same methods headlessly.

``selected_ids`` is deliberately kernel-only (observable, not synced): "select all" over 100k
tasks would otherwise ship megabytes to the browser on every click and into saved widget state.
The browser gets a per-row ``selected`` flag and the counts instead.

The delete panel's dry run and real run go to a background thread when the browser asks for
them, so the kernel keeps answering the grid (and runs cells) meanwhile; the thread updates the
synced traits itself (ipykernel sends comm messages from any thread). One re-entrant lock
serialises every state change: browser messages, the worker's updates and the selection API.
After every cell (IPython's ``post_run_cell``) and every browser message the grid checks
whether its client was closed, and if so says so and disables the panel.

A fleet frame (MultiIndex ``("project_id", "task_id")`` and a ``region`` column) is shown with
its project and region as filterable columns; row keys are ``"<project_id>/<task_id>"`` and
``selected`` keeps the MultiIndex. Its delete panel needs ``fleet=`` (the deleter routes each
row to its project); without one, Delete stays disabled and says why. A frame with the
``wsnb.enrich`` history columns gets the History column (recent outcomes) and filter.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import anywidget
import numpy as np
import pandas as pd
import traitlets

from wsnb.grid._engine import (
    DATE_COLUMNS,
    DEFAULT_IDLE_DAYS,
    ENUM_COLUMNS,
    FACET_COLUMNS,
    HISTORY_FILTER,
    ID_COLUMN,
    KEY_SEPARATOR,
    BoolArray,
    FrameEngine,
    IntArray,
    is_fleet_frame,
    normalize_sort,
    row_key,
)
from wsnb.grid._fallback import summary_html
from wsnb.grid._messages import Column, ColumnKind, DeletePhase, DeleteState, DownloadMessage

if TYPE_CHECKING:
    from wsnb.report import DeletionReport

__all__ = ["MAX_PAGE_SIZE", "TaskGrid"]

#: Largest page the browser may ask for (rows rendered at once).
MAX_PAGE_SIZE: Final = 1000
#: Tasks per page of the delete preview's list.
PREVIEW_PAGE_SIZE: Final = 10
#: Said when the grid's client was closed (the panel then refuses to start).
CLOSED_MESSAGE: Final = (
    "The client is closed (client.close() ran), so this grid cannot delete any more. "
    "Make a new client and a new TaskGrid to continue."
)
_HERE = Path(__file__).parent
_log = logging.getLogger(__name__)
_LABELS: Final = {
    ID_COLUMN: "Task id",
    "task_name": "Name",
    "task_type": "Type",
    "scheduled_type": "Schedule",
    "last_status": "Last status",
    "enable": "Enabled",
    "next_execution_time": "Next run",
    "expire_time": "Expires",
    "time_zone": "Time zone",
    "region": "Region",
    "project_id": "Project",
    "recent_outcomes": "History",
    "last_run": "Last run",
}


def fleet_blocked_message(projects: int, client_given: bool) -> str:
    """Why a fleet frame's Delete is disabled (no fleet to delete with)."""
    why = (
        "a client deletes in one project only"
        if client_given
        else "this grid was given no fleet to delete with"
    )
    return (
        f"This grid shows tasks of {projects:,} project(s) (a fleet frame) and {why}. "
        "To delete from here, pass the fleet: TaskGrid(frame, fleet=fleet)."
    )


#: A view computed off the lock: (engine, (filters, sort, query), order, counts).
_View = tuple[Any, tuple[Any, Any, str], Any, dict[str, list[int]]]

SelectionLike = (
    str
    | tuple[str, str]
    | pd.Series
    | pd.DataFrame
    | pd.Index
    | np.ndarray
    | Iterable[str]
    | Iterable[bool]
    | Iterable[tuple[str, str]]
)


class TaskGrid(anywidget.AnyWidget):  # type: ignore[misc]
    """A selection grid over a tasks frame (``wsnb.tasks_frame`` output; index = task id).

    ``TaskGrid(df)`` selects; ``TaskGrid(df, client=client)`` adds a delete panel that previews
    with a dry run, asks for confirmation naming the count, shows progress and the report.
    ``max_deletions`` caps each deletion (``None``: the deleter's default,
    :data:`wsnb.deletion.DEFAULT_MAX`; never "no cap").
    """

    _esm = _HERE / "static" / "grid.js"
    _css = _HERE / "static" / "grid.css"

    # -- state the browser sets ----------------------------------------------------------------
    page = traitlets.Int(0).tag(sync=True)
    page_size = traitlets.Int(50).tag(sync=True)
    sort: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    filters = traitlets.Dict().tag(sync=True)
    query = traitlets.Unicode("").tag(sync=True)
    #: Columns the user hid with the column chooser (saved with the widget state).
    hidden_columns: traitlets.List[str] = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: Column widths the user set by dragging header edges (column -> px at the time of the
    #: drag); the browser shares the table's width in these proportions.
    column_widths = traitlets.Dict().tag(sync=True)
    #: The page of the delete preview's task list.
    preview_page = traitlets.Int(0).tag(sync=True)

    # -- state the kernel computes ---------------------------------------------------------------
    rows: traitlets.List[dict[str, Any]] = traitlets.List(read_only=True).tag(sync=True)
    columns: traitlets.List[dict[str, str]] = traitlets.List(read_only=True).tag(sync=True)
    filter_options = traitlets.Dict(read_only=True).tag(sync=True)
    #: Per enum column, how many rows each of ``filter_options`` would leave (other filters and
    #: the search applied).
    filter_counts = traitlets.Dict(read_only=True).tag(sync=True)
    total = traitlets.Int(0, read_only=True).tag(sync=True)
    matching = traitlets.Int(0, read_only=True).tag(sync=True)
    page_count = traitlets.Int(1, read_only=True).tag(sync=True)
    selected_count = traitlets.Int(0, read_only=True).tag(sync=True)
    matching_selected = traitlets.Int(0, read_only=True).tag(sync=True)
    anchor = traitlets.Unicode("", read_only=True).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    #: The selection, in frame order: the one source of truth (kernel-side, observable). Task
    #: ids; in a fleet grid ``"project_id/task_id"`` keys (``selected`` keeps the MultiIndex).
    selected_ids: traitlets.List[str] = traitlets.List()

    # -- delete panel ------------------------------------------------------------------------------
    can_delete = traitlets.Bool(False, read_only=True).tag(sync=True)
    max_deletions = traitlets.Int(0, read_only=True).tag(sync=True)
    #: More tasks are selected than ``max_deletions`` allows: the panel refuses to preview.
    over_cap = traitlets.Bool(False, read_only=True).tag(sync=True)
    #: The client was closed: the panel is disabled.
    client_closed = traitlets.Bool(False, read_only=True).tag(sync=True)
    #: Why Delete is disabled for good ("" when it is not): a fleet frame without ``fleet=``.
    delete_blocked = traitlets.Unicode("", read_only=True).tag(sync=True)
    #: The frame is a fleet frame (rows keyed ``project_id/task_id``).
    fleet = traitlets.Bool(False, read_only=True).tag(sync=True)
    #: With history columns: ``{"records": n, "idle_days": d}`` (the runs known per task, the
    #: idle days the filter offers first); ``{}`` without. Counts are in ``filter_counts``.
    history = traitlets.Dict(read_only=True).tag(sync=True)
    #: The deleter takes a cancel token, so the Stop button can stop a run midway.
    can_stop = traitlets.Bool(False, read_only=True).tag(sync=True)
    delete_state = traitlets.Unicode("idle").tag(sync=True)
    delete_count = traitlets.Int(0).tag(sync=True)
    delete_message = traitlets.Unicode("").tag(sync=True)
    #: Overall fraction done, weighted by each phase's estimated time.
    delete_progress = traitlets.Float(0.0).tag(sync=True)
    #: What the run is doing (see ``_progress.py``) and its counts within that phase.
    delete_phase = traitlets.Unicode("").tag(sync=True)
    delete_done = traitlets.Int(0).tag(sync=True)
    delete_total = traitlets.Int(0).tag(sync=True)
    #: The estimated duration of the real run, shown with the preview.
    delete_eta = traitlets.Unicode("").tag(sync=True)
    #: While a dry run or a deletion works: the time it still needs ("about 2 min left"),
    #: from the estimate at first, then from the pace so far.
    delete_eta_left = traitlets.Unicode("").tag(sync=True)
    #: The ``wsnb tasks delete`` command line doing the previewed deletion from a shell.
    delete_command = traitlets.Unicode("").tag(sync=True)
    report_html = traitlets.Unicode("").tag(sync=True)
    #: The previewed tasks (one page of ``PREVIEW_PAGE_SIZE``), how many, how many the filter hides.
    preview_rows: traitlets.List[dict[str, Any]] = traitlets.List(read_only=True).tag(sync=True)
    preview_total = traitlets.Int(0, read_only=True).tag(sync=True)
    preview_hidden = traitlets.Int(0, read_only=True).tag(sync=True)

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        client: Any = None,
        fleet: Any = None,
        ledger: Any = None,
        max_deletions: int | None = None,
        page_size: int = 50,
        delete_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if max_deletions is not None and (
            isinstance(max_deletions, bool)
            or not isinstance(max_deletions, int)
            or max_deletions < 0
        ):
            raise ValueError(
                "max_deletions must be an int >= 0, or None for the deleter's default cap "
                f"(wsnb.deletion.DEFAULT_MAX); got {max_deletions!r}"
            )
        is_fleet = is_fleet_frame(frame)
        if fleet is not None and client is not None:
            raise ValueError("pass client= (one project) or fleet= (a fleet frame), not both")
        if fleet is not None and not is_fleet:
            raise ValueError(
                "fleet= needs a fleet frame (indexed by project_id and task_id, as "
                "wsnb.tasks_frame(fleet) returns); for one project pass client= instead"
            )
        self._lock = threading.RLock()
        self._worker: threading.Thread | None = None
        self._cancel = threading.Event()
        self._after_cell: Callable[..., None] | None = None
        self._pending_positions: IntArray = np.zeros(0, dtype=np.intp)
        self._run_started = time.monotonic()
        self._run_seconds = 0.0
        self._engine = FrameEngine(frame)
        self._mask: BoolArray = np.zeros(self._engine.n, dtype=bool)
        self._order: IntArray = np.arange(self._engine.n, dtype=np.intp)
        self._rank: IntArray | None = None  # position in display order, by frame position
        self._internal_ids: list[str] | None = None
        # What the deleter is called with: the client, or for a fleet frame the fleet.
        self._client = fleet if is_fleet else client
        self._ledger = ledger
        self._max_deletions = max_deletions
        self._delete_options = dict(delete_options or {})
        self._pending: tuple[str, ...] = ()
        self._select_handlers: dict[Callable[[list[str]], object], Callable[..., None]] = {}
        self.last_report: DeletionReport | None = None
        super().__init__(page_size=page_size, **kwargs)
        self.set_trait("fleet", is_fleet)
        if is_fleet and fleet is None:
            projects = self._engine.frame.index.get_level_values("project_id").nunique()
            self.set_trait("delete_blocked", fleet_blocked_message(projects, client is not None))
        self.set_trait("can_delete", self._client is not None)
        if self._client is not None:
            from wsnb.deletion import DEFAULT_MAX
            from wsnb.grid._delete import deleter_accepts_cancel

            self.set_trait("max_deletions", DEFAULT_MAX if max_deletions is None else max_deletions)
            self.set_trait("can_stop", deleter_accepts_cancel())
            self._watch_cells()
        self.on_msg(self._on_browser_msg)
        self._load_frame()
        self._check_client()

    # -- public API --------------------------------------------------------------------------------

    @property
    def frame(self) -> pd.DataFrame:
        """The frame the grid shows (not a copy: do not modify it in place; use ``refresh``)."""
        return self._engine.frame

    @property
    def selected(self) -> pd.DataFrame:
        """The selected tasks, in frame order, with the input's dtypes."""
        return self._engine.frame[self._mask]

    @property
    def visible_ids(self) -> list[str]:
        """Task ids on the current page, in display order."""
        return [row["id"] for row in self.rows]

    @property
    def filtered(self) -> pd.DataFrame:
        """The tasks matching the current filters and search, in display (sorted) order."""
        return self._engine.frame.iloc[self._order]

    def select(self, items: SelectionLike) -> None:
        """Add tasks to the selection.

        ``items``: a task id, an iterable of ids, a DataFrame or Index (its ids), a boolean
        Series indexed by task id (e.g. ``df.task_type == "REBOOT"``), or a boolean array as
        long as the frame. Unknown ids raise ``KeyError``. In a fleet grid the ids are
        ``(project_id, task_id)`` pairs (the fleet frame's MultiIndex entries) or
        ``"project_id/task_id"`` keys; a bare task id is ambiguous there and refused.
        """
        mask = self._mask.copy()
        mask[self._positions(items)] = True
        self._set_mask(mask)

    def deselect(self, items: SelectionLike) -> None:
        """Remove tasks from the selection (same ``items`` as ``select``)."""
        mask = self._mask.copy()
        mask[self._positions(items)] = False
        self._set_mask(mask)

    def clear(self) -> None:
        """Select nothing."""
        self._set_mask(np.zeros(self._engine.n, dtype=bool))

    def select_matching(self) -> None:
        """Add every task matching the current filters and search (all pages)."""
        mask = self._mask.copy()
        mask[self._order] = True
        self._set_mask(mask)

    def invert(self) -> None:
        """Invert the selection among matching tasks; tasks hidden by the filter keep theirs."""
        mask = self._mask.copy()
        mask[self._order] = ~mask[self._order]
        self._set_mask(mask)

    def select_page(self, value: bool = True) -> None:
        """Select (or deselect) the rows on the current page."""
        mask = self._mask.copy()
        mask[self._page_positions()] = value
        self._set_mask(mask)

    def toggle(self, task_id: str, *, shift: bool = False) -> None:
        """A click on a row's checkbox; with ``shift`` a range click.

        A plain click flips the task and makes it the anchor. A shift-click gives every row
        between the anchor and ``task_id`` (inclusive, in the current display order, across
        pages) the anchor's state, then moves the anchor. Without a visible anchor a shift-click
        is a plain click.
        """
        position = self._engine.position_of(task_id)
        if position is None:
            raise KeyError(f"unknown task id: {task_id!r}")
        mask = self._mask.copy()
        anchor = self._engine.position_of(self.anchor) if self.anchor else None
        rank = self._display_rank()
        if shift and anchor is not None and rank[anchor] >= 0 and rank[position] >= 0:
            lo, hi = sorted((int(rank[anchor]), int(rank[position])))
            mask[self._order[lo : hi + 1]] = mask[anchor]
        else:
            mask[position] = not mask[position]
        self.set_trait("anchor", task_id)
        self._set_mask(mask)

    def on_select(self, callback: Callable[[list[str]], object], *, remove: bool = False) -> None:
        """Call ``callback(selected_ids)`` after every selection change (``remove`` to stop)."""

        def handler(change: dict[str, Any]) -> None:
            callback(list(change["new"]))

        handlers = self._select_handlers
        if remove:
            wrapped = handlers.pop(callback, None)
            if wrapped is not None:
                self.unobserve(wrapped, "selected_ids")
            return
        handlers[callback] = handler
        self.observe(handler, "selected_ids")

    def refresh(self, frame: pd.DataFrame) -> None:
        """Show a new frame; keep filters, sort, page (clamped) and the ids still selected.

        Filters or a sort that the new frame cannot apply (a missing column) are dropped, and
        so are hidden columns and widths of columns it lacks. A pending delete preview whose
        tasks left the frame is withdrawn (preview again).
        """
        self._refresh(FrameEngine(frame))

    def _refresh(self, engine: FrameEngine, view: _View | None = None) -> None:
        """:meth:`refresh` with the new frame's engine already built (and, optionally, its
        view under the current filters, search and sort: see :meth:`_view`)."""
        with self._lock:
            keep = [tid for tid in self.selected_ids if engine.position_of(tid) is not None]
            self._engine = engine
            mask = np.zeros(engine.n, dtype=bool)
            if keep:
                mask[engine.positions_of(keep)] = True
            self._mask = mask
            if self.anchor and engine.position_of(self.anchor) is None:
                self.set_trait("anchor", "")
            try:
                engine.parse_filters(self.filters)
                normalize_sort(self.sort, engine.columns)
            except ValueError:
                with self.hold_trait_notifications():
                    self.filters, self.sort = {}, []
            known = set(engine.columns)
            if set(self.hidden_columns) - known:
                self.hidden_columns = [c for c in self.hidden_columns if c in known]
            if set(self.column_widths) - known - {ID_COLUMN}:
                self.column_widths = {
                    c: w for c, w in self.column_widths.items() if c in known or c == ID_COLUMN
                }
            if self._pending:
                if all(engine.position_of(tid) is not None for tid in self._pending):
                    self._pending_positions = engine.positions_of(list(self._pending))
                else:
                    self._withdraw_preview("The tasks changed since the preview; preview again.")
            self._load_frame(keep_page=True, view=view)
            self._publish_selection()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the delete panel's background work (a dry run or a deletion) to finish;
        True when nothing runs any more. Browser clicks start that work in a thread."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            if worker.is_alive():
                return False
        return True

    def set_cap(self, value: int) -> None:
        """Change ``max_deletions`` for this grid's deletions (the panel's "Raise cap")."""
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"set_cap: the cap must be a whole number >= 0, got {value!r}")
        with self._lock, self.hold_sync():
            self._require_client()
            self._max_deletions = value
            self.set_trait("max_deletions", value)
            self._update_over_cap()
            if self.delete_state in ("idle", "done", "error"):
                self._delete_status(
                    "idle", f"The cap is now {value:,} tasks per run, for this grid only."
                )

    def export_ids(self) -> None:
        """Send the selected ids (or, during a confirmation, the previewed ones) to the browser
        as a file, one id per line: what ``wsnb tasks delete --ids-file`` reads. A fleet grid
        sends a CSV with a header, ``project_id,region,task_id``, one selected task per line."""
        ids = list(self._pending) if self.delete_state == "confirm" else list(self.selected_ids)
        if not ids:
            raise ValueError("export_ids: select tasks first")
        from wsnb.grid._delete import FLEET_IDS_FILE, IDS_FILE, fleet_csv

        if self._engine.fleet:
            rows = self._engine.frame.iloc[self._engine.positions_of(ids)]
            filename, text = FLEET_IDS_FILE, fleet_csv(rows)
        else:
            filename, text = IDS_FILE, "\n".join(ids) + "\n"
        message: DownloadMessage = {
            "kind": "download",
            "filename": filename,
            "mime": "text/csv",
            "text": text,
        }
        self.send(message)

    # -- frame & view --------------------------------------------------------------------------

    def _load_frame(self, *, keep_page: bool = False, view: _View | None = None) -> None:
        engine = self._engine
        columns: list[Column] = [{"name": ID_COLUMN, "label": _LABELS[ID_COLUMN], "kind": "id"}]
        for name in engine.columns:
            kind: ColumnKind = (
                "enum"
                if name in ENUM_COLUMNS or name in FACET_COLUMNS
                else "date"
                if name in DATE_COLUMNS
                else "history"
                if name == "recent_outcomes"
                else "text"
            )
            columns.append({"name": name, "label": _LABELS.get(name, name), "kind": kind})
        with self._lock, self.hold_sync():
            self.set_trait("columns", columns)
            self.set_trait("filter_options", {c: engine.enum_values(c) for c in engine.facets})
            records = engine.history_records
            self.set_trait(
                "history", {"records": records, "idle_days": DEFAULT_IDLE_DAYS} if records else {}
            )
            self.set_trait("total", engine.n)
            self._recompute(keep_page=keep_page, view=view)

    def _view(
        self, engine: FrameEngine, filters: Any, sort: Any, query: str
    ) -> tuple[IntArray, dict[str, list[int]]]:
        """The display order and the filter counts of ``engine`` under a view's state."""
        parsed = engine.parse_filters(filters)
        keys = normalize_sort(sort, engine.columns)
        facets = [*engine.facets, *([HISTORY_FILTER] if engine.history_records else [])]
        matched, counts = engine.match_and_count(parsed, query, facets)
        return engine.order(matched, keys), counts

    def _recompute(self, *, keep_page: bool = False, view: _View | None = None) -> None:
        """Re-filter and re-sort; back to the first page unless ``keep_page`` (then clamped).
        ``view``: the result, computed beforehand for this state (its filters, search, sort)."""
        with self._lock:
            state = (self.filters, self.sort, self.query)
            if view is not None and view[0] is self._engine and view[1] == state:
                order, counts = view[2], view[3]
            else:
                order, counts = self._view(self._engine, *state)
            self._order = order
            self._rank = None
            with self.hold_sync():
                self.set_trait("filter_counts", counts)
                self.set_trait("matching", len(self._order))
                self.set_trait("page_count", max(1, -(-len(self._order) // self.page_size)))
                self.set_trait("matching_selected", int(self._mask[self._order].sum()))
                page = min(self.page, self.page_count - 1) if keep_page else 0
                if self.page != page:
                    self.page = page  # the observer renders
                else:
                    self._render_page()
                if self._pending:
                    self._render_preview()

    def _page_positions(self) -> IntArray:
        start = self.page * self.page_size
        return self._order[start : start + self.page_size]

    def _render_page(self) -> None:
        with self._lock:
            self.set_trait("rows", self._engine.records(self._page_positions(), self._mask))

    def _display_rank(self) -> IntArray:
        if self._rank is None:
            rank = np.full(self._engine.n, -1, dtype=np.intp)
            rank[self._order] = np.arange(len(self._order), dtype=np.intp)
            self._rank = rank
        return self._rank

    def _positions(self, items: SelectionLike) -> IntArray:
        engine = self._engine
        if isinstance(items, str):
            return engine.positions_of([items])
        if isinstance(items, tuple) and engine.fleet and len(items) == 2:
            items = [(str(items[0]), str(items[1]))]  # one (project_id, task_id) pair
        if isinstance(items, pd.DataFrame):
            items = items.index
        if isinstance(items, pd.Series) and pd.api.types.is_bool_dtype(items.dtype):
            items = items.index[items.fillna(False).to_numpy(dtype=bool)]
        if isinstance(items, np.ndarray) and items.dtype == bool:
            if items.shape != (engine.n,):
                raise ValueError(
                    f"a boolean mask must have one value per task ({engine.n}), got {items.shape}"
                )
            return np.flatnonzero(items)
        ids = [self._key(i) for i in items]  # type: ignore[union-attr]
        return engine.positions_of(ids)

    def _key(self, item: object) -> str:
        """A row key from an id, or for a fleet frame a ``(project_id, task_id)`` pair (an
        entry of the fleet MultiIndex) or a ``"project_id/task_id"`` key."""
        if self._engine.fleet and isinstance(item, tuple) and len(item) == 2:
            return row_key(str(item[0]), str(item[1]))
        return str(item)

    def _set_mask(self, mask: BoolArray) -> None:
        with self._lock:
            self._mask = mask
            self._publish_selection()

    def _publish_selection(self) -> None:
        with self._lock:
            ids: list[str] = self._engine.ids[self._mask].tolist()
            with self.hold_sync():
                self._internal_ids = ids
                try:
                    self.selected_ids = ids
                finally:
                    self._internal_ids = None
                self.set_trait("selected_count", len(ids))
                self.set_trait("matching_selected", int(self._mask[self._order].sum()))
                self._update_over_cap()
                self._render_page()
                if self._pending:
                    self._render_preview()

    def _update_over_cap(self) -> None:
        self.set_trait("over_cap", self.can_delete and self.selected_count > self.max_deletions)

    # -- trait validation & reactions ---------------------------------------------------------

    @traitlets.validate("selected_ids")
    def _check_selected_ids(self, proposal: dict[str, Any]) -> list[str]:
        value = proposal["value"]
        if self._internal_ids is not None and value is self._internal_ids:
            return self._internal_ids
        mask = np.zeros(self._engine.n, dtype=bool)
        mask[self._engine.positions_of([str(v) for v in value])] = True
        self._mask = mask
        return self._engine.ids[mask].tolist()  # type: ignore[no-any-return]

    @traitlets.observe("selected_ids")
    def _selected_ids_changed(self, change: dict[str, Any]) -> None:
        if self._internal_ids is None:  # set from outside: counts and rows follow
            self._publish_selection()

    @traitlets.validate("page_size")
    def _check_page_size(self, proposal: dict[str, Any]) -> int:
        size = int(proposal["value"])
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise traitlets.TraitError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {size}")
        return size

    @traitlets.validate("page")
    def _check_page(self, proposal: dict[str, Any]) -> int:
        page = int(proposal["value"])
        if page < 0:
            raise traitlets.TraitError(f"page must be >= 0, got {page}")
        return min(page, max(0, self.page_count - 1))

    @traitlets.validate("preview_page")
    def _check_preview_page(self, proposal: dict[str, Any]) -> int:
        page = int(proposal["value"])
        if page < 0:
            raise traitlets.TraitError(f"preview_page must be >= 0, got {page}")
        last = max(0, -(-len(self._pending_positions) // PREVIEW_PAGE_SIZE) - 1)
        return min(page, last)

    @traitlets.validate("filters")
    def _check_filters(self, proposal: dict[str, Any]) -> dict[str, Any]:
        try:
            self._engine.parse_filters(proposal["value"])
        except ValueError as exc:
            raise traitlets.TraitError(str(exc)) from None
        return proposal["value"]  # type: ignore[no-any-return]

    @traitlets.validate("sort")
    def _check_sort(self, proposal: dict[str, Any]) -> list[Any]:
        try:
            normalize_sort(proposal["value"], self._engine.columns)
        except ValueError as exc:
            raise traitlets.TraitError(str(exc)) from None
        return proposal["value"]  # type: ignore[no-any-return]

    @traitlets.validate("hidden_columns")
    def _check_hidden_columns(self, proposal: dict[str, Any]) -> list[str]:
        value = list(proposal["value"])
        unknown = [c for c in value if c not in self._engine.columns]
        if unknown:
            raise traitlets.TraitError(
                f"hidden_columns: {unknown} cannot be hidden (the task id always shows); "
                f"columns: {', '.join(self._engine.columns)}"
            )
        return list(dict.fromkeys(value))

    @traitlets.validate("column_widths")
    def _check_column_widths(self, proposal: dict[str, Any]) -> dict[str, float]:
        value = proposal["value"]
        names = (ID_COLUMN, *self._engine.columns)
        for name, width in value.items():
            if name not in names:
                raise traitlets.TraitError(f"column_widths: unknown column {name!r}")
            if isinstance(width, bool) or not isinstance(width, int | float) or not width > 0:
                raise traitlets.TraitError(
                    f"column_widths[{name!r}] must be a positive number, got {width!r}"
                )
        return dict(value)

    @traitlets.observe("filters", "query", "sort")
    def _view_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "_engine"):
            self._recompute()

    @traitlets.observe("page_size")
    def _page_size_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "_engine"):
            with self._lock:
                self.set_trait("page_count", max(1, -(-len(self._order) // self.page_size)))
                self.page = min(self.page, self.page_count - 1)
                self._render_page()

    @traitlets.observe("page")
    def _page_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "_engine"):
            self._render_page()

    @traitlets.observe("preview_page")
    def _preview_page_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "_engine") and self._pending:
            self._render_preview()

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Apply a browser update; invalid values are reported in ``error`` and reverted.

        Anything a bad value raises ends in ``error`` (the traceback goes to the kernel log),
        never through the comm, and the browser is sent the kernel's values back.
        """
        try:
            super().set_state(sync_data)
        except Exception as exc:
            if not isinstance(exc, traitlets.TraitError):
                _log.warning("TaskGrid: a browser update failed", exc_info=True)
            self.error = str(exc) or type(exc).__name__
            self.send_state(list(sync_data))
        else:
            if self.error:
                self.error = ""

    # -- browser gestures ------------------------------------------------------------------------

    def _handle_msg(self, msg: dict[str, Any]) -> None:
        """Every comm message: under the grid's lock, after checking the client."""
        with self._lock:
            self._check_client()
            super()._handle_msg(msg)

    def _on_browser_msg(self, _widget: object, content: dict[str, Any], _buffers: object) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        if self.error:
            self.error = ""
        try:
            if action == "toggle":
                self.toggle(str(content["id"]), shift=bool(content.get("shift")))
            elif action == "select_page":
                self.select_page(bool(content.get("value", True)))
            elif action == "select_matching":
                self.select_matching()
            elif action == "clear":
                self.clear()
            elif action == "invert":
                self.invert()
            elif action == "delete_preview":
                self.preview_delete(block=False)
            elif action == "delete_confirm":
                self.confirm_delete(int(content.get("count", -1)), block=False)
            elif action == "delete_cancel":
                self.cancel_delete()
            elif action == "delete_stop":
                self.stop_delete()
            elif action == "set_cap":
                self.set_cap(content.get("value"))  # type: ignore[arg-type]
            elif action == "export_ids":
                self.export_ids()
            else:
                raise ValueError(f"unknown grid action {action!r}")
        except (KeyError, ValueError, TypeError) as exc:
            self.error = str(exc)

    # -- the client --------------------------------------------------------------------------

    def _watch_cells(self) -> None:
        """Re-check the client after every cell the kernel runs (the cell may close it)."""
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with ipywidgets
            return
        shell = get_ipython()
        events = getattr(shell, "events", None)
        if events is None:
            return
        ref = weakref.ref(self)

        def after_cell(*_args: object) -> None:
            grid = ref()
            if grid is None or grid.comm is None:
                events.unregister("post_run_cell", after_cell)
                return
            grid._check_client()

        events.register("post_run_cell", after_cell)
        self._after_cell = after_cell

    def _check_client(self) -> None:
        """Set ``client_closed`` (and say so in the panel) once the client was closed."""
        if self._client is None or self.client_closed:
            return
        from wsnb.grid._delete import client_is_closed

        if client_is_closed(self._client):
            with self._lock, self.hold_sync():
                self.set_trait("client_closed", True)
                if self.delete_state not in ("previewing", "running"):
                    self._pending = ()
                    self._delete_status("idle", CLOSED_MESSAGE)

    def close(self) -> None:
        """Close the widget (and stop watching cells for a closed client)."""
        if getattr(self, "_after_cell", None) is not None:
            try:
                from IPython import get_ipython

                get_ipython().events.unregister("post_run_cell", self._after_cell)
            except (ImportError, AttributeError, ValueError):
                pass
            self._after_cell = None
        super().close()

    # -- delete panel --------------------------------------------------------------------------

    def _require_client(self) -> Any:
        if self.delete_blocked:
            raise ValueError(self.delete_blocked)
        if self._client is None:
            raise ValueError("this grid has no client: pass TaskGrid(df, client=...) to delete")
        return self._client

    def _busy(self) -> bool:
        return self.delete_state in ("previewing", "running")

    def _estimate(self, ids: tuple[str, ...], *, plan: bool = False) -> Any:
        """The run's estimate (``plan``: executing the preview's plan, whose snapshots are
        taken); a fleet deletes its projects side by side, each under its own quota, so its
        time is that of the project with the most selected tasks."""
        from wsnb.grid._eta import estimate, rates_of

        count = len(ids)
        if self._engine.fleet and ids:
            per_project = pd.Series([k.split(KEY_SEPARATOR, 1)[0] for k in ids]).value_counts()
            count = int(per_project.max())
        reads, writes = rates_of(self._client)
        options = self._delete_options
        return estimate(
            count,
            project_tasks=self._engine.n,
            reads_per_minute=reads,
            writes_per_minute=writes,
            chunk_size=options.get("chunk_size"),
            snapshot=options.get("snapshot", True),
            precheck=options.get("precheck", True),
            verify=options.get("verify", True),
            plan=plan,
            rate_limit=getattr(self._client, "_rate", None),
            stats=getattr(self._client, "stats", None),
        )

    def _start(self, work: Callable[[], None], block: bool) -> None:
        if block:
            work()
            return
        self._worker = threading.Thread(target=work, name="wsnb-grid-delete", daemon=True)
        self._worker.start()

    def preview_delete(self, *, block: bool = True) -> None:
        """Dry-run the deletion of the current selection and ask for confirmation.

        ``block=False`` (what a browser click does) runs the dry run in a background thread;
        :meth:`wait` waits for it.
        """
        from wsnb.grid._delete import dry_run

        with self._lock:
            client = self._require_client()
            if self._busy():
                return
            if self.client_closed:
                self._delete_status("idle", CLOSED_MESSAGE)
                return
            ids = tuple(self.selected_ids)
            if not ids:
                self._delete_status("idle", "Select tasks first.")
                return
            if self.over_cap:
                self._delete_status(
                    "idle",
                    f"{len(ids):,} selected, but this grid deletes at most "
                    f"{self.max_deletions:,} per run (max_deletions). Raise the cap to "
                    f"{len(ids):,} to go ahead, or select fewer tasks.",
                )
                return
            self._cancel = threading.Event()
            self._withdraw_preview("")
            check = self._estimate(ids)
            target = self._deleter_selection(ids)
            with self.hold_sync():
                self.last_report = None
                self._progress_reset(check.snapshot_reads, check.phase_seconds()["snapshots"])
                self._delete_status(
                    "previewing",
                    f"Dry run over {len(ids):,} tasks: reads only, nothing is deleted "
                    f"({check.snapshot_reads:,} reads).",
                )
            options, ledger, cap = dict(self._delete_options), self._ledger, self._max_deletions

        def work() -> None:
            from wsnb.grid._progress import PhaseTracker

            tracker = PhaseTracker(client, check, dry_run=True, publish=self._publish_progress)
            try:
                with tracker:
                    result = dry_run(
                        client,
                        target,
                        ledger=ledger,
                        max_deletions=cap,
                        options=options,
                        progress=tracker.progress,
                        cancel=self._cancel,
                    )
            except Exception as exc:  # shown in the panel; the kernel log keeps the traceback
                _log.warning("TaskGrid: the dry run failed", exc_info=True)
                with self._lock, self.hold_sync():
                    self.delete_phase = ""
                    self._delete_status("error", f"Dry run failed: {type(exc).__name__}: {exc}")
                return
            with self._lock, self.hold_sync():
                self.delete_phase = ""
                self.last_report = result.report
                if self._cancel.is_set():
                    self._delete_status("idle", "Dry run stopped; nothing was deleted.")
                    return
                self._pending = ids
                self._pending_positions = self._engine.positions_of(list(ids))
                self.delete_count = len(ids)
                self.report_html = result.html
                self.delete_eta = self._estimate(ids, plan=not self._engine.fleet).text()
                from wsnb.grid._delete import command_line

                self.delete_command = (
                    "" if self.fleet else command_line(client, len(ids), self._delete_options)
                )
                self.preview_page = 0
                self._render_preview()
                self._delete_status("confirm", result.summary)

        self._start(work, block)

    def confirm_delete(self, count: int, *, block: bool = True) -> None:
        """Delete the previewed tasks; ``count`` must equal the count the preview named.

        ``block=False`` runs the deletion in a background thread (see :meth:`wait`).
        """
        from wsnb.grid._delete import run_delete

        with self._lock:
            client = self._require_client()
            if self.delete_state != "confirm" or not self._pending:
                raise ValueError("confirm_delete: run the dry-run preview first")
            if count != len(self._pending) or tuple(self.selected_ids) != self._pending:
                self._withdraw_preview("The selection changed since the preview; preview again.")
                return
            if self.client_closed:
                self._withdraw_preview(CLOSED_MESSAGE)
                return
            ids = self._pending
            self._withdraw_preview("")
            self._cancel = threading.Event()
            plan = self._estimate(ids, plan=not self._engine.fleet)  # the preview's plan
            target = self._deleter_selection(ids)
            with self.hold_sync():
                self._progress_reset(plan.snapshot_reads, plan.seconds)
                self._delete_status("running", f"Deleting {len(ids):,} tasks: {plan.text()}.")
            options, ledger, cap = dict(self._delete_options), self._ledger, self._max_deletions

        def work() -> None:
            from wsnb.grid._progress import PhaseTracker

            tracker = PhaseTracker(client, plan, dry_run=False, publish=self._publish_progress)
            try:
                with tracker:
                    outcome = run_delete(
                        client,
                        target,
                        ledger=ledger,
                        max_deletions=cap,
                        options=options,
                        progress=tracker.progress,
                        cancel=self._cancel,
                    )
            except Exception as exc:
                _log.warning("TaskGrid: the deletion failed", exc_info=True)
                with self._lock, self.hold_sync():
                    self.delete_phase = ""
                    self._delete_status("error", f"Deletion failed: {type(exc).__name__}: {exc}")
                return
            # The grid without the deleted tasks: its engine (derived from the shown one's
            # caches: vectorised gathers, no 100k-row sort or text pass) and its view (filters,
            # counts, order) are computed before taking the lock, so the browser's messages are
            # not kept waiting meanwhile (a message that changed the view in between makes the
            # swap compute it again).
            with self._lock:
                shown = self._engine
                keep = np.ones(shown.n, dtype=bool)
                keep[self._gone_positions(outcome.gone, ids)] = False
                state = (dict(self.filters), list(self.sort), self.query)
            engine = shown.subset(keep)
            engine.warm()
            view: _View | None = None
            try:
                view = (engine, state, *self._view(engine, *state))
            except ValueError:
                view = None  # the new frame cannot apply this state: refresh drops it
            with self._lock, self.hold_sync():
                self.last_report = outcome.report
                self.delete_progress = 1.0
                self.delete_phase = ""
                self.report_html = outcome.html
                if self._engine is shown:
                    self._refresh(engine, view)
                else:  # refreshed meanwhile: drop the deleted tasks from the new frame
                    current = self._engine.frame
                    keep = np.ones(len(current), dtype=bool)
                    keep[self._gone_positions(outcome.gone, ids)] = False
                    self.refresh(current[keep])
                stopped = " Stopped on request." if self.can_stop and self._cancel.is_set() else ""
                self._delete_status("done", outcome.summary + stopped)

        self._start(work, block)

    def _deleter_selection(self, ids: tuple[str, ...]) -> Any:
        """What the deleter is given: the ids, or for a fleet the selected rows of the fleet
        frame (its MultiIndex routes each task to its project)."""
        if not self._engine.fleet:
            return list(ids)
        return self._engine.frame.iloc[self._engine.positions_of(list(ids))]

    def _gone_positions(self, gone: tuple[str, ...], ids: tuple[str, ...]) -> IntArray:
        """Frame positions of the tasks the run left absent. ``gone`` holds row keys (a fleet
        report names each task's project) or task ids; a bare task id in a fleet grid stands
        for the selected rows with that id only."""
        engine = self._engine
        if engine.fleet:
            by_task: dict[str, list[str]] = {}
            for key in ids:
                by_task.setdefault(key.split(KEY_SEPARATOR, 1)[1], []).append(key)
            keys = set(ids)
            wanted = [k for g in gone for k in ([g] if g in keys else by_task.get(g, ()))]
        else:
            wanted = list(gone)
        found = [engine.position_of(k) for k in dict.fromkeys(wanted)]
        return np.array([p for p in found if p is not None], dtype=np.intp)

    def stop_delete(self) -> None:
        """Ask the dry run or the deletion under way to stop (the panel's Stop button)."""
        with self._lock:
            if not self._busy():
                return
            self._cancel.set()
            if self.can_stop:
                self.delete_message = "Stopping after the calls in flight…"
            else:
                self.delete_message = (
                    "This version of wsnb's deleter cannot stop a run midway; "
                    "it goes on to the end (every step is in the ledger)."
                )

    def cancel_delete(self) -> None:
        """Leave the confirmation without deleting (or close the report)."""
        with self._lock, self.hold_sync():
            if self._busy():
                return
            self._withdraw_preview("")
            self.report_html = ""
            self._delete_status("idle", CLOSED_MESSAGE if self.client_closed else "")

    def _withdraw_preview(self, message: str) -> None:
        """Forget the pending preview (its list, ETA and command)."""
        with self._lock, self.hold_sync():
            self._pending = ()
            self._pending_positions = np.zeros(0, dtype=np.intp)
            self.set_trait("preview_rows", [])
            self.set_trait("preview_total", 0)
            self.set_trait("preview_hidden", 0)
            self.delete_eta = ""
            self.delete_command = ""
            if message:
                self.report_html = ""
                self._delete_status("idle", message)

    def _render_preview(self) -> None:
        """The current page of the previewed tasks, and how many the filter hides."""
        positions = self._pending_positions
        page = min(self.preview_page, max(0, -(-len(positions) // PREVIEW_PAGE_SIZE) - 1))
        shown = positions[page * PREVIEW_PAGE_SIZE : (page + 1) * PREVIEW_PAGE_SIZE]
        with self.hold_sync():
            self.set_trait("preview_rows", self._engine.records(shown, self._mask))
            self.set_trait("preview_total", len(positions))
            self.set_trait("preview_hidden", int((self._display_rank()[positions] < 0).sum()))

    def _progress_reset(self, total: int, seconds: float) -> None:
        """A run starts with ``total`` reads in its first phase (as the progress tracker counts
        them); ``seconds``: its estimated duration."""
        self.report_html = ""  # the previous report must not look like this run's
        self._run_started = time.monotonic()
        self._run_seconds = seconds
        self.delete_eta_left = self._left(0.0)
        self.delete_done = 0
        self.delete_total = max(total, 1)
        self.delete_progress = 0.0
        self.delete_phase = "snapshots"

    def _publish_progress(self, phase: DeletePhase, done: int, total: int, fraction: float) -> None:
        with self._lock, self.hold_sync():
            if not self._busy():
                return
            self.delete_phase = phase
            self.delete_done = done
            self.delete_total = total
            self.delete_progress = fraction
            self.delete_eta_left = self._left(fraction)

    def _left(self, fraction: float) -> str:
        """The time the run still needs: the estimate minus the time spent until a tenth is
        done, then the pace so far (the fraction is weighted by each phase's time)."""
        from wsnb.grid._eta import format_duration

        spent = time.monotonic() - self._run_started
        if fraction >= 1.0:
            return ""
        if fraction >= 0.1:
            left = spent * (1.0 - fraction) / fraction
        else:
            left = max(self._run_seconds - spent, 0.0)
        return f"about {format_duration(left)} left"

    def _delete_status(self, state: DeleteState, message: str) -> None:
        with self._lock, self.hold_sync():
            if state not in ("previewing", "running"):
                self.delete_eta_left = ""
            self.delete_state = state
            self.delete_message = message

    # -- representations ------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"TaskGrid({self.total:,} tasks, {self.matching:,} matching, "
            f"{self.selected_count:,} selected)"
        )

    def _repr_html_(self) -> str:
        return summary_html(
            frame=self._engine.frame,
            total=self.total,
            matching=self.matching,
            selected=self.selected_count,
            preview=self.rows,
            columns=self._engine.columns,
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        data["text/html"] = self._repr_html_()
        return data, metadata
