"""The task selection grid: ``TaskGrid``, an anywidget whose data and selection live in the kernel.

Layout (one concern per module):

* ``widget.py`` — :class:`TaskGrid`: traits synced with the browser, the selection API
  (``selected_ids``, ``select``, ``toggle``, ...), the browser-message handler, the delete panel's
  state machine and the widget's representations;
* ``_engine.py`` — filter, sort, page and format a tasks frame with numpy (no widget code);
* ``_delete.py`` — the delete panel's dry run and real run through ``wsnb.delete_tasks``;
* ``_progress.py`` — the run's phase and counts, derived from the deleter's progress callable
  and the client's call counters;
* ``_eta.py`` — how long a deletion takes under the API quota;
* ``_fallback.py`` — the small static HTML shown where widgets do not render (nbconvert);
* ``_sample.py`` — synthetic frames with the ``tasks_frame`` schema (demos, tests, benchmarks);
* ``_messages.py`` — the custom messages exchanged with the browser (kinds and payload shapes),
  mirrored by the JSDoc typedefs in ``static/grid.js``;
* ``static/grid.js``, ``static/grid.css`` — the front end (ES module, no build step).
"""

from __future__ import annotations

from wsnb.grid.widget import MAX_PAGE_SIZE, TaskGrid

__all__ = ["MAX_PAGE_SIZE", "TaskGrid"]
