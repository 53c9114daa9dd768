"""``TaskGrid``: an anywidget grid that pages, sorts, filters and selects tasks in the kernel.

The kernel owns the DataFrame; the browser only ever receives the page it shows, as
preformatted records. Selection is a set of task ids (``selected_ids``), never row positions, so
it survives sorting, filtering, paging and ``refresh``. Browser gestures (clicks, shift-clicks,
select page / matching / clear / invert, the delete panel) arrive as custom messages and are
applied here, so a notebook can drive the same methods headlessly.

``selected_ids`` is deliberately kernel-only (observable, not synced): "select all" over 100k
tasks would otherwise ship megabytes to the browser on every click and into saved widget state.
The browser gets a per-row ``selected`` flag and the counts instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import anywidget
import numpy as np
import pandas as pd
import traitlets

from wsnb.grid._engine import (
    DATE_COLUMNS,
    ENUM_COLUMNS,
    ID_COLUMN,
    BoolArray,
    FrameEngine,
    IntArray,
    normalize_filters,
    normalize_sort,
)
from wsnb.grid._fallback import summary_html
from wsnb.grid._messages import Column, ColumnKind, DeleteState

if TYPE_CHECKING:
    from wsnb.report import DeletionReport

__all__ = ["MAX_PAGE_SIZE", "TaskGrid"]

#: Largest page the browser may ask for (rows rendered at once).
MAX_PAGE_SIZE: Final = 1000
_HERE = Path(__file__).parent
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
}

SelectionLike = (
    str | pd.Series | pd.DataFrame | pd.Index | np.ndarray | Iterable[str] | Iterable[bool]
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

    # -- state the kernel computes ---------------------------------------------------------------
    rows: traitlets.List[dict[str, Any]] = traitlets.List(read_only=True).tag(sync=True)
    columns: traitlets.List[dict[str, str]] = traitlets.List(read_only=True).tag(sync=True)
    filter_options = traitlets.Dict(read_only=True).tag(sync=True)
    total = traitlets.Int(0, read_only=True).tag(sync=True)
    matching = traitlets.Int(0, read_only=True).tag(sync=True)
    page_count = traitlets.Int(1, read_only=True).tag(sync=True)
    selected_count = traitlets.Int(0, read_only=True).tag(sync=True)
    matching_selected = traitlets.Int(0, read_only=True).tag(sync=True)
    anchor = traitlets.Unicode("", read_only=True).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    #: The selection, in frame order: the one source of truth (kernel-side, observable).
    selected_ids: traitlets.List[str] = traitlets.List()

    # -- delete panel ------------------------------------------------------------------------------
    can_delete = traitlets.Bool(False, read_only=True).tag(sync=True)
    max_deletions = traitlets.Int(0, read_only=True).tag(sync=True)
    delete_state = traitlets.Unicode("idle").tag(sync=True)
    delete_count = traitlets.Int(0).tag(sync=True)
    delete_message = traitlets.Unicode("").tag(sync=True)
    delete_progress = traitlets.Float(0.0).tag(sync=True)
    report_html = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        client: Any = None,
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
        self._engine = FrameEngine(frame)
        self._mask: BoolArray = np.zeros(self._engine.n, dtype=bool)
        self._order: IntArray = np.arange(self._engine.n, dtype=np.intp)
        self._rank: IntArray | None = None  # position in display order, by frame position
        self._internal_ids: list[str] | None = None
        self._client = client
        self._ledger = ledger
        self._max_deletions = max_deletions
        self._delete_options = dict(delete_options or {})
        self._pending: tuple[str, ...] = ()
        self._select_handlers: dict[Callable[[list[str]], object], Callable[..., None]] = {}
        self.last_report: DeletionReport | None = None
        super().__init__(page_size=page_size, **kwargs)
        self.set_trait("can_delete", client is not None)
        if client is not None:
            from wsnb.deletion import DEFAULT_MAX

            self.set_trait("max_deletions", DEFAULT_MAX if max_deletions is None else max_deletions)
        self.on_msg(self._on_browser_msg)
        self._load_frame()

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
        long as the frame. Unknown ids raise ``KeyError``.
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

        Filters or a sort that the new frame cannot apply (a missing column) are dropped.
        """
        engine = FrameEngine(frame)
        keep = [tid for tid in self.selected_ids if engine.position_of(tid) is not None]
        self._engine = engine
        mask = np.zeros(engine.n, dtype=bool)
        if keep:
            mask[engine.positions_of(keep)] = True
        self._mask = mask
        if self.anchor and engine.position_of(self.anchor) is None:
            self.set_trait("anchor", "")
        try:
            normalize_filters(self.filters, engine.columns)
            normalize_sort(self.sort, engine.columns)
        except ValueError:
            with self.hold_trait_notifications():
                self.filters, self.sort = {}, []
        self._load_frame(keep_page=True)
        self._publish_selection()

    # -- frame & view --------------------------------------------------------------------------

    def _load_frame(self, *, keep_page: bool = False) -> None:
        engine = self._engine
        columns: list[Column] = [{"name": ID_COLUMN, "label": _LABELS[ID_COLUMN], "kind": "id"}]
        for name in engine.columns:
            kind: ColumnKind = (
                "enum" if name in ENUM_COLUMNS else "date" if name in DATE_COLUMNS else "text"
            )
            columns.append({"name": name, "label": _LABELS.get(name, name), "kind": kind})
        with self.hold_sync():
            self.set_trait("columns", columns)
            self.set_trait(
                "filter_options",
                {c: engine.enum_values(c) for c in ENUM_COLUMNS if c in engine.columns},
            )
            self.set_trait("total", engine.n)
            self._recompute(keep_page=keep_page)

    def _recompute(self, *, keep_page: bool = False) -> None:
        """Re-filter and re-sort; back to the first page unless ``keep_page`` (then clamped)."""
        enums, dates = normalize_filters(self.filters, self._engine.columns)
        sort = normalize_sort(self.sort, self._engine.columns)
        matched = self._engine.match(enums, dates, self.query)
        self._order = self._engine.order(matched, sort)
        self._rank = None
        with self.hold_sync():
            self.set_trait("matching", len(self._order))
            self.set_trait("page_count", max(1, -(-len(self._order) // self.page_size)))
            self.set_trait("matching_selected", int(self._mask[self._order].sum()))
            page = min(self.page, self.page_count - 1) if keep_page else 0
            if self.page != page:
                self.page = page  # the observer renders
            else:
                self._render_page()

    def _page_positions(self) -> IntArray:
        start = self.page * self.page_size
        return self._order[start : start + self.page_size]

    def _render_page(self) -> None:
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
        ids = [str(i) for i in items]  # type: ignore[union-attr]
        return engine.positions_of(ids)

    def _set_mask(self, mask: BoolArray) -> None:
        self._mask = mask
        self._publish_selection()

    def _publish_selection(self) -> None:
        ids: list[str] = self._engine.ids[self._mask].tolist()
        with self.hold_sync():
            self._internal_ids = ids
            try:
                self.selected_ids = ids
            finally:
                self._internal_ids = None
            self.set_trait("selected_count", len(ids))
            self.set_trait("matching_selected", int(self._mask[self._order].sum()))
            self._render_page()

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

    @traitlets.validate("filters")
    def _check_filters(self, proposal: dict[str, Any]) -> dict[str, Any]:
        try:
            normalize_filters(proposal["value"], self._engine.columns)
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

    @traitlets.observe("filters", "query", "sort")
    def _view_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "_engine"):
            self._recompute()

    @traitlets.observe("page_size")
    def _page_size_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "_engine"):
            self.set_trait("page_count", max(1, -(-len(self._order) // self.page_size)))
            self.page = min(self.page, self.page_count - 1)
            self._render_page()

    @traitlets.observe("page")
    def _page_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "_engine"):
            self._render_page()

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Apply a browser update; invalid values are reported in ``error`` and reverted."""
        try:
            super().set_state(sync_data)
        except traitlets.TraitError as exc:
            self.error = str(exc)
            self.send_state(list(sync_data))
        else:
            if self.error:
                self.error = ""

    # -- browser gestures ------------------------------------------------------------------------

    def _on_browser_msg(self, _widget: object, content: dict[str, Any], _buffers: object) -> None:
        action = content.get("action") if isinstance(content, dict) else None
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
                self.preview_delete()
            elif action == "delete_confirm":
                self.confirm_delete(int(content.get("count", -1)))
            elif action == "delete_cancel":
                self.cancel_delete()
            else:
                raise ValueError(f"unknown grid action {action!r}")
        except (KeyError, ValueError) as exc:
            self.error = str(exc)

    # -- delete panel --------------------------------------------------------------------------

    def _require_client(self) -> Any:
        if self._client is None:
            raise ValueError("this grid has no client: pass TaskGrid(df, client=...) to delete")
        return self._client

    def preview_delete(self) -> None:
        """Dry-run the deletion of the current selection and ask for confirmation."""
        client = self._require_client()
        from wsnb.grid._delete import dry_run

        ids = tuple(self.selected_ids)
        if not ids:
            self._delete_status("idle", "Select tasks first.")
            return
        self._delete_status("previewing", f"Checking {len(ids):,} tasks (dry run)…")
        try:
            report = dry_run(
                client,
                ids,
                ledger=self._ledger,
                max_deletions=self._max_deletions,
                options=self._delete_options,
            )
        except Exception as exc:  # shown in the panel; the kernel log keeps the traceback
            self._delete_status("error", f"Dry run failed: {type(exc).__name__}: {exc}")
            return
        self._pending = ids
        self.last_report = report.report
        with self.hold_sync():
            self.delete_count = len(ids)
            self.report_html = report.html
            self._delete_status("confirm", report.summary)

    def confirm_delete(self, count: int) -> None:
        """Delete the previewed tasks; ``count`` must equal the count the preview named."""
        client = self._require_client()
        from wsnb.grid._delete import run_delete

        if self.delete_state != "confirm" or not self._pending:
            raise ValueError("confirm_delete: run the dry-run preview first")
        if count != len(self._pending) or tuple(self.selected_ids) != self._pending:
            self._pending = ()
            self._delete_status("idle", "The selection changed since the preview; preview again.")
            return
        ids, self._pending = self._pending, ()
        self.delete_progress = 0.0
        self._delete_status("running", f"Deleting {len(ids):,} tasks…")

        def progress(done: int, total: int) -> None:
            self.delete_progress = done / total if total else 1.0

        try:
            outcome = run_delete(
                client,
                ids,
                ledger=self._ledger,
                max_deletions=self._max_deletions,
                options=self._delete_options,
                progress=progress,
            )
        except Exception as exc:
            self._delete_status("error", f"Deletion failed: {type(exc).__name__}: {exc}")
            return
        self.last_report = outcome.report
        gone = [tid for tid in outcome.gone if self._engine.position_of(tid) is not None]
        with self.hold_sync():
            self.delete_progress = 1.0
            self.report_html = outcome.html
            self.refresh(self._engine.frame.drop(index=gone))
            self._delete_status("done", outcome.summary)

    def cancel_delete(self) -> None:
        """Leave the confirmation without deleting."""
        self._pending = ()
        with self.hold_sync():
            self.report_html = ""
            self._delete_status("idle", "")

    def _delete_status(self, state: DeleteState, message: str) -> None:
        with self.hold_sync():
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
