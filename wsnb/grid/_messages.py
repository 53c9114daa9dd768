"""The messages between the grid's front end (``static/grid.js``) and the kernel, as types.

Two channels, one contract:

* browser → kernel, custom messages (``model.send(...)``): a dict whose ``action`` is one of
  :data:`ACTIONS`, with the payload of the matching ``*Message`` TypedDict. ``TaskGrid`` applies
  them (``_on_browser_msg``); an unknown action or a bad payload is reported in the ``error``
  trait, never raised into the comm.
* kernel → browser: the kernel answers by setting synced traits. The shapes the front end reads
  from them are :class:`Column`, :class:`SortKey`, :class:`DateRange`, :data:`DeleteState` and
  :data:`DeletePhase` here (``rows`` and ``preview_rows`` are flat ``{"id", "selected", column:
  text}`` records). One custom message goes the other way, :class:`DownloadMessage` (a file the
  browser saves, e.g. the selected ids), because a file has no place in the widget's state.

``static/grid.js`` declares the same shapes as JSDoc ``@typedef``s; ``tests/grid/test_messages.py``
checks that the two sides name the same actions, states and keys, so they cannot drift.
"""

# No ``from __future__ import annotations`` here: on Python 3.11 TypedDict reads NotRequired[...]
# only from evaluated annotations (``__required_keys__`` / ``__optional_keys__`` would be wrong).
from typing import Final, Literal, NotRequired, TypedDict, get_args

__all__ = [
    "ACTIONS",
    "DELETE_PHASES",
    "DELETE_STATES",
    "Action",
    "BrowserMessage",
    "ClearMessage",
    "Column",
    "ColumnKind",
    "DateRange",
    "DeleteCancelMessage",
    "DeleteConfirmMessage",
    "DeletePhase",
    "DeletePreviewMessage",
    "DeleteState",
    "DeleteStopMessage",
    "DownloadMessage",
    "ExportIdsMessage",
    "InvertMessage",
    "KernelMessage",
    "SelectMatchingMessage",
    "SelectPageMessage",
    "SetCapMessage",
    "SortKey",
    "ToggleMessage",
]

#: The custom-message kinds the browser sends (the ``action`` key).
Action = Literal[
    "toggle",
    "select_page",
    "select_matching",
    "clear",
    "invert",
    "delete_preview",
    "delete_confirm",
    "delete_cancel",
    "delete_stop",
    "set_cap",
    "export_ids",
]
ACTIONS: Final[frozenset[str]] = frozenset(get_args(Action))


class ToggleMessage(TypedDict):
    """A click on a row: flip it, or with ``shift`` give the range from the anchor its state."""

    action: Literal["toggle"]
    id: str
    shift: NotRequired[bool]


class SelectPageMessage(TypedDict):
    """Select (``value`` true, the default) or deselect the rows of the current page."""

    action: Literal["select_page"]
    value: NotRequired[bool]


class SelectMatchingMessage(TypedDict):
    """Add every task matching the filters and search, on all pages."""

    action: Literal["select_matching"]


class ClearMessage(TypedDict):
    """Select nothing."""

    action: Literal["clear"]


class InvertMessage(TypedDict):
    """Invert the selection among the matching tasks."""

    action: Literal["invert"]


class DeletePreviewMessage(TypedDict):
    """Dry-run the deletion of the selection (the panel then asks for confirmation)."""

    action: Literal["delete_preview"]


class DeleteConfirmMessage(TypedDict):
    """Delete the previewed tasks; ``count`` is the count the confirmation button named."""

    action: Literal["delete_confirm"]
    count: int


class DeleteCancelMessage(TypedDict):
    """Leave the confirmation (or close the report) without deleting."""

    action: Literal["delete_cancel"]


class DeleteStopMessage(TypedDict):
    """Stop the dry run or the deletion under way (sets the grid's cancel flag)."""

    action: Literal["delete_stop"]


class SetCapMessage(TypedDict):
    """Set the grid's ``max_deletions`` to the number the user typed and confirmed."""

    action: Literal["set_cap"]
    value: int


class ExportIdsMessage(TypedDict):
    """Ask for the selected ids as a file (answered with a :class:`DownloadMessage`)."""

    action: Literal["export_ids"]


BrowserMessage = (
    ToggleMessage
    | SelectPageMessage
    | SelectMatchingMessage
    | ClearMessage
    | InvertMessage
    | DeletePreviewMessage
    | DeleteConfirmMessage
    | DeleteCancelMessage
    | DeleteStopMessage
    | SetCapMessage
    | ExportIdsMessage
)


class DownloadMessage(TypedDict):
    """Kernel → browser: save ``text`` as ``filename`` (``mime`` type)."""

    kind: Literal["download"]
    filename: str
    mime: str
    text: str


#: The custom messages the kernel sends.
KernelMessage = DownloadMessage

#: The delete panel's states (``delete_state`` trait), in the order a deletion goes through them.
DeleteState = Literal["idle", "previewing", "confirm", "running", "done", "error"]
DELETE_STATES: Final[tuple[str, ...]] = get_args(DeleteState)

#: What a dry run or a deletion is doing (``delete_phase`` trait; ``""`` when nothing runs).
DeletePhase = Literal["", "snapshots", "deleting", "verifying"]
DELETE_PHASES: Final[tuple[str, ...]] = get_args(DeletePhase)

#: How the front end renders and filters a column.
ColumnKind = Literal["id", "enum", "date", "text", "history"]


class Column(TypedDict):
    """One entry of the ``columns`` trait."""

    name: str
    label: str
    kind: ColumnKind


class SortKey(TypedDict):
    """One entry of the ``sort`` trait (the browser sends one key; the kernel accepts several)."""

    column: str
    descending: NotRequired[bool]


#: A date-range filter (``filters[column]`` for a date column): ISO dates, bounds inclusive,
#: either may be missing or null. Functional syntax because ``from`` is a Python keyword.
DateRange = TypedDict("DateRange", {"from": str | None, "to": str | None}, total=False)
