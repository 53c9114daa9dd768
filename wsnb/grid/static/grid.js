// @ts-check
// wsnb TaskGrid front end (anywidget ES module, no build step).
// The kernel owns the data: this view renders `rows` (one page, preformatted) and sends
// gestures back, either as trait changes (page, page_size, sort, filters, query, hidden_columns,
// column_widths, preview_page) or as custom messages ({action: "toggle" | "select_page" | ...}).
// Selection lives in the kernel as task ids (fleet frames: "project_id/task_id" keys). The
// message and trait shapes below mirror wsnb/grid/_messages.py (a test keeps them equal).
// With history columns (wsnb.enrich) the History column shows each task's recent outcomes as
// marks with a text alternative, and the History filter selects by failure streak / idle days.
//
// Accessibility: the table is an ARIA grid with one tab stop (roving tabindex over its cells);
// arrows move, Space toggles a row (Shift: range from the anchor), Shift+arrows extend the
// selection, Enter/Space on a header sorts, PageUp/PageDown page, Escape closes menus. Key
// presses inside the widget never reach the notebook's shortcuts (so "a", "b" or "d d" typed
// here cannot insert or delete cells); Ctrl/Cmd/Alt combinations still do (Ctrl+S saves).

// -- messages to the kernel (model.send) ------------------------------------------------------
/**
 * @typedef {{ action: "toggle", id: string, shift?: boolean }} ToggleMessage
 * @typedef {{ action: "select_page", value?: boolean }} SelectPageMessage
 * @typedef {{ action: "select_matching" }} SelectMatchingMessage
 * @typedef {{ action: "clear" }} ClearMessage
 * @typedef {{ action: "invert" }} InvertMessage
 * @typedef {{ action: "delete_preview" }} DeletePreviewMessage
 * @typedef {{ action: "delete_confirm", count: number }} DeleteConfirmMessage
 * @typedef {{ action: "delete_cancel" }} DeleteCancelMessage
 * @typedef {{ action: "delete_stop" }} DeleteStopMessage
 * @typedef {{ action: "set_cap", value: number }} SetCapMessage
 * @typedef {{ action: "export_ids" }} ExportIdsMessage
 * @typedef {ToggleMessage | SelectPageMessage | SelectMatchingMessage | ClearMessage
 *   | InvertMessage | DeletePreviewMessage | DeleteConfirmMessage | DeleteCancelMessage
 *   | DeleteStopMessage | SetCapMessage | ExportIdsMessage} BrowserMessage
 */
// -- messages from the kernel ("msg:custom") --------------------------------------------------
/**
 * @typedef {{ kind: "download", filename: string, mime: string, text: string }} DownloadMessage
 */

// -- traits the kernel sets (and the ones this view sets) -------------------------------------
/**
 * @typedef {"idle" | "previewing" | "confirm" | "running" | "done" | "error"} DeleteState
 * @typedef {"" | "snapshots" | "deleting" | "verifying"} DeletePhase
 * @typedef {"id" | "enum" | "date" | "text" | "history"} ColumnKind
 * @typedef {{ name: string, label: string, kind: ColumnKind }} Column
 * @typedef {{ column: string, descending?: boolean }} SortKey
 * @typedef {{ from?: string | null, to?: string | null }} DateRange
 * @typedef {string | boolean | null} FilterValue
 * @typedef {{ failed_last?: number | null, idle_days?: number | null }} HistorySpec
 * @typedef {FilterValue[] | DateRange | HistorySpec} FilterSpec
 * @typedef {{ records?: number, idle_days?: number }} HistoryInfo
 * @typedef {{ id: string, selected: boolean, [column: string]: string | boolean }} Row
 *   One displayed row: preformatted text per column, and `<date column>_utc` for tooltips.
 */
/**
 * The synced traits this view reads or writes (kernel side: TaskGrid in wsnb/grid/widget.py).
 * @typedef {object} GridTraits
 * @property {number} page
 * @property {number} page_size
 * @property {SortKey[]} sort
 * @property {Record<string, FilterSpec>} filters
 * @property {string} query
 * @property {string[]} hidden_columns
 * @property {Record<string, number>} column_widths
 * @property {number} preview_page
 * @property {Row[]} rows
 * @property {Column[]} columns
 * @property {Record<string, FilterValue[]>} filter_options
 * @property {Record<string, number[]>} filter_counts
 * @property {number} total
 * @property {number} matching
 * @property {number} page_count
 * @property {number} selected_count
 * @property {number} matching_selected
 * @property {string} error
 * @property {boolean} can_delete
 * @property {number} max_deletions
 * @property {boolean} over_cap
 * @property {boolean} client_closed
 * @property {string} delete_blocked
 * @property {boolean} fleet
 * @property {HistoryInfo} history
 * @property {boolean} can_stop
 * @property {DeleteState} delete_state
 * @property {number} delete_count
 * @property {string} delete_message
 * @property {number} delete_progress
 * @property {DeletePhase} delete_phase
 * @property {number} delete_done
 * @property {number} delete_total
 * @property {string} delete_eta
 * @property {string} delete_eta_left
 * @property {string} delete_command
 * @property {string} report_html
 * @property {Row[]} preview_rows
 * @property {number} preview_total
 * @property {number} preview_hidden
 */
/**
 * The part of anywidget's model API this view uses.
 * @typedef {object} GridModel
 * @property {<K extends keyof GridTraits>(name: K) => GridTraits[K]} get
 * @property {<K extends keyof GridTraits>(name: K, value: GridTraits[K]) => void} set
 * @property {() => void} save_changes
 * @property {(content: BrowserMessage) => void} send
 * @property {(event: string, handler: (...args: any[]) => void) => void} on
 * @property {(event: string, handler: (...args: any[]) => void) => void} off
 */
/** @typedef {Node | string | number | boolean | null | undefined} Child */

const SEARCH_DELAY_MS = 250;
const PAGE_SIZES = [25, 50, 100, 200, 500];
/** Width of the selection column, in px; the other columns share the rest. */
const CHECK_WIDTH = 34;
/** Widths (px) before the first page is measured; then each column's natural width. */
/** @type {Record<string, number>} */
const DEFAULT_WIDTHS = {
  task_id: 120,
  task_name: 200,
  task_type: 125,
  scheduled_type: 90,
  last_status: 90,
  enable: 70,
  next_execution_time: 130,
  expire_time: 130,
  time_zone: 120,
  region: 110,
  project_id: 150,
  recent_outcomes: 90,
  last_run: 130,
};
/** When the natural widths do not fit, these give way first, down to these minimums (px). */
const SHRINK_FIRST = [["task_id", 90], ["task_name", 150], ["project_id", 90], ["time_zone", 95], ["task_type", 95]];
const MIN_WIDTH = 36;
/** The years a date filter accepts (wsnb.grid._engine.DATE_YEARS). */
const DATE_MIN = "1900-01-01";
const DATE_MAX = "2199-12-31";
/** How each run outcome shows: a glyph (so colour is never the only cue) and words. */
/** @type {Record<string, { glyph: string, word: string }>} */
const OUTCOMES = {
  FAIL: { glyph: "✕", word: "failed" },
  SUCCESS: { glyph: "✓", word: "succeeded" },
  SKIP: { glyph: "–", word: "skipped" },
};
/** Columns whose change of value starts a new group when the table is sorted by them. */
const GROUP_COLUMNS = ["region", "project_id"];
/** @type {Record<string, string>} */
const PHASE_NAMES = { snapshots: "reading snapshots", deleting: "deleting", verifying: "verifying" };
// Confirm executes the preview's plan (a fleet grid's runs have no plan): its first reads check
// the plan, they are not snapshots (the preview took those).
const PLAN_PHASE_NAMES = { ...PHASE_NAMES, snapshots: "checking the plan" };

/**
 * Create an element: `attrs` are attributes, except `class`, `text` and `on<event>` handlers.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

/**
 * Replace `node`'s children with `children` (converted as `h` does).
 * @param {HTMLElement} node
 * @param {Child[]} children
 */
function fill(node, children) {
  node.replaceChildren();
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
}

/** @param {number} n */
const fmt = (n) => Number(n).toLocaleString("en-US");
/** @param {FilterValue} v */
const valueLabel = (v) => (v === null ? "(none)" : v === true ? "yes" : v === false ? "no" : v);

/**
 * Re-render inside `container` with `build`; if focus was on an element with a `data-key`
 * inside it, focus the element with the same key afterwards (else call `fallback`).
 * @param {HTMLElement} container
 * @param {() => void} build
 * @param {() => HTMLElement | null} [fallback] what to focus when the focused element is gone
 */
function keepFocus(container, build, fallback) {
  const active = document.activeElement;
  const inside = active instanceof HTMLElement && container.contains(active);
  const key = inside ? active.dataset.key : undefined;
  build();
  if (!inside) return;
  const again = key ? container.querySelector(`[data-key="${CSS.escape(key)}"]`) : null;
  const target = again instanceof HTMLElement ? again : fallback ? fallback() : null;
  if (target && document.activeElement !== target) target.focus();
}

/**
 * Text with every case-insensitive occurrence of `needle` wrapped in <mark>.
 * @param {string} text
 * @param {string} needle lower-case
 * @returns {Child[]}
 */
function highlighted(text, needle) {
  const lower = text.toLowerCase();
  if (!needle || lower.length !== text.length) return [text];
  /** @type {Child[]} */
  const parts = [];
  let at = 0;
  for (let hit = lower.indexOf(needle); hit >= 0; hit = lower.indexOf(needle, at)) {
    if (hit > at) parts.push(text.slice(at, hit));
    parts.push(h("mark", { class: "wsnb-mark" }, text.slice(hit, hit + needle.length)));
    at = hit + needle.length;
  }
  parts.push(text.slice(at));
  return parts;
}

/**
 * A task's recent outcomes as marks: one glyph per run, newest first, coloured by outcome, with
 * the whole history in words for screen readers and as the tooltip.
 * @param {string} outcomes comma-separated, newest first ("" when it never ran)
 * @param {string} lastRun the last run in UTC ("" when none)
 * @returns {HTMLElement}
 */
function historyMarks(outcomes, lastRun) {
  const runs = outcomes ? outcomes.split(",") : [];
  const words = runs.map((o) => (OUTCOMES[o] ? OUTCOMES[o].word : o.toLowerCase() || "unknown"));
  const text = runs.length
    ? `Last ${runs.length} run${runs.length === 1 ? "" : "s"}, newest first: ${words.join(", ")}` + (lastRun ? `; last run ${lastRun}` : "")
    : "No run recorded";
  return h(
    "span",
    { class: "wsnb-runs", role: "img", "aria-label": text, title: text },
    runs.length
      ? runs.map((o) => h("span", { class: `wsnb-run wsnb-run-${(OUTCOMES[o] ? o : "other").toLowerCase()}`, "aria-hidden": "true" }, OUTCOMES[o] ? OUTCOMES[o].glyph : "?"))
      : h("span", { class: "wsnb-run-none", "aria-hidden": "true" }, "never"),
  );
}

/**
 * Render the grid into `el`; returns the cleanup anywidget calls when the view goes away.
 * @param {{ model: GridModel, el: HTMLElement }} context
 * @returns {() => void}
 */
function render({ model, el }) {
  /** @param {BrowserMessage} content */
  const send = (content) => model.send(content);
  /**
   * Set a trait and sync it to the kernel.
   * @template {keyof GridTraits} K
   * @param {K} name
   * @param {GridTraits[K]} value
   */
  const save = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  /** @param {string} column @param {FilterSpec | null} spec null or empty: no filter */
  const setFilter = (column, spec) => {
    const filters = { ...model.get("filters") };
    const empty =
      spec === null ||
      (Array.isArray(spec) && spec.length === 0) ||
      (!Array.isArray(spec) && ("from" in spec || "to" in spec) && !spec.from && !spec.to);
    if (empty) delete filters[column];
    else filters[column] = spec;
    save("filters", filters);
  };
  const labels = () => Object.fromEntries(model.get("columns").map((c) => [c.name, c.label]));

  // -- menus (filter values, column chooser): one at a time, below the filter bar -----------
  // They drop over the table, never over the search box or the date fields, and close on
  // Escape or a click anywhere else.
  const menuHost = h("div", { class: "wsnb-menuhost" });
  /** @type {{ name: string, anchor: HTMLElement, panel: HTMLElement } | null} */
  let openMenu = null;
  /** @param {boolean} [refocus] */
  function closeMenu(refocus = false) {
    if (!openMenu) return;
    const { anchor, panel } = openMenu;
    openMenu = null;
    panel.remove();
    anchor.setAttribute("aria-expanded", "false");
    if (refocus) anchor.focus();
  }
  /**
   * @param {string} name
   * @param {HTMLElement} anchor
   * @param {() => Child[]} content
   */
  function toggleMenu(name, anchor, content) {
    const same = openMenu && openMenu.name === name;
    closeMenu();
    if (same) return;
    const panel = h("div", { class: "wsnb-menu", role: "group", "data-menu": name, "aria-label": anchor.textContent || name }, content());
    menuHost.append(panel);
    const hostBox = menuHost.getBoundingClientRect();
    const left = anchor.getBoundingClientRect().left - hostBox.left;
    panel.style.left = `${Math.max(0, Math.min(left, hostBox.width - panel.offsetWidth))}px`;
    anchor.setAttribute("aria-expanded", "true");
    openMenu = { name, anchor, panel };
    const first = panel.querySelector("input, button");
    if (first instanceof HTMLElement) first.focus();
  }
  /** Rebuild the open menu's content (counts or choices changed), keeping focus. */
  function refreshMenu() {
    if (!openMenu) return;
    const { name, panel } = openMenu;
    const build = name === "columns" ? columnMenu : name === "history" ? historyMenu : () => valueMenu(name);
    keepFocus(panel, () => fill(panel, build()));
  }
  /** @param {PointerEvent} event */
  const outside = (event) => {
    if (!openMenu) return;
    const target = /** @type {Node} */ (event.target);
    if (openMenu.panel.contains(target) || openMenu.anchor.contains(target)) return;
    closeMenu();
  };
  document.addEventListener("pointerdown", outside, true);

  // -- toolbar ------------------------------------------------------------------------------
  /** @type {number | undefined} */
  let searchTimer;
  const search = h("input", {
    type: "search",
    class: "wsnb-search",
    placeholder: "Search id, name, description…",
    "aria-label": "Search tasks",
    "data-key": "search",
    oninput: () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => save("query", search.value), SEARCH_DELAY_MS);
    },
    onkeydown: (/** @type {KeyboardEvent} */ event) => {
      if (event.key === "Enter") {
        clearTimeout(searchTimer);
        save("query", search.value);
      }
    },
  });
  search.value = model.get("query");
  const badge = h("span", { class: "wsnb-badge", "data-testid": "selected-count", role: "status" });
  const matchingButton = h("button", {
    class: "wsnb-btn",
    "data-action": "select_matching",
    "data-key": "select_matching",
    onclick: () => send({ action: "select_matching" }),
  });
  const columnsButton = h("button", {
    class: "wsnb-btn",
    "data-testid": "columns-button",
    "data-key": "columns-button",
    "aria-haspopup": "true",
    "aria-expanded": "false",
    title: "Show, hide and reset columns",
    onclick: () => toggleMenu("columns", columnsButton, columnMenu),
  }, "Columns ▾");
  const exportButton = h("button", {
    class: "wsnb-btn",
    "data-action": "export_ids",
    "data-key": "export_ids",
    title: "Download the selected task ids, one per line (wsnb tasks delete --ids-file reads it)",
    onclick: () => send({ action: "export_ids" }),
  }, "Download ids");
  const toolbar = h(
    "div",
    { class: "wsnb-toolbar" },
    search,
    h("button", { class: "wsnb-btn", "data-action": "select_page", "data-key": "select_page", onclick: () => send({ action: "select_page", value: true }) }, "Select page"),
    matchingButton,
    h("button", { class: "wsnb-btn", "data-action": "invert", "data-key": "invert", onclick: () => send({ action: "invert" }) }, "Invert"),
    h("button", { class: "wsnb-btn", "data-action": "clear", "data-key": "clear", onclick: () => send({ action: "clear" }) }, "Clear"),
    badge,
    h("span", { class: "wsnb-spacer" }),
    exportButton,
    columnsButton,
  );

  /** @returns {Child[]} */
  function columnMenu() {
    const hidden = new Set(model.get("hidden_columns"));
    const boxes = model.get("columns").filter((c) => c.kind !== "id").map((column) => {
      const box = h("input", { type: "checkbox", "data-column": column.name, "data-key": `col:${column.name}` });
      box.checked = !hidden.has(column.name);
      box.addEventListener("change", () => {
        const now = new Set(model.get("hidden_columns"));
        if (box.checked) now.delete(column.name);
        else now.add(column.name);
        save("hidden_columns", model.get("columns").map((c) => c.name).filter((n) => now.has(n)));
      });
      return h("label", { class: "wsnb-option" }, box, column.label);
    });
    const reset = h("button", {
      class: "wsnb-btn wsnb-link",
      "data-key": "reset-widths",
      onclick: () => save("column_widths", {}),
    }, "Reset widths");
    return [...boxes, reset];
  }

  /** @param {string} column @returns {Child[]} */
  function valueMenu(column) {
    const values = model.get("filter_options")[column] || [];
    const counts = model.get("filter_counts")[column] || [];
    const chosen = /** @type {FilterValue[]} */ (model.get("filters")[column] || []);
    return values.map((value, i) => {
      const box = h("input", { type: "checkbox", "data-value": JSON.stringify(value), "data-key": `opt:${column}:${JSON.stringify(value)}` });
      box.checked = chosen.some((c) => c === value);
      box.addEventListener("change", () => {
        const panel = /** @type {HTMLElement} */ (box.closest(".wsnb-menu"));
        const picked = [.../** @type {NodeListOf<HTMLInputElement>} */ (panel.querySelectorAll("input:checked"))].map((b) =>
          JSON.parse(String(b.dataset.value)),
        );
        setFilter(column, picked);
      });
      const count = counts[i];
      return h(
        "label",
        { class: `wsnb-option${count === 0 && !box.checked ? " wsnb-zero" : ""}` },
        box,
        valueLabel(value),
        count === undefined ? null : h("span", { class: "wsnb-count", title: "tasks this value would leave, with the other filters and the search" }, fmt(count)),
      );
    });
  }

  /** The History filter: failed its last N runs (a failure streak of N or more), no run in
   * D days; each choice with the count of tasks it would leave. @returns {Child[]} */
  function historyMenu() {
    const info = model.get("history");
    const records = info.records || 0;
    const counts = model.get("filter_counts").history || [];
    const spec = /** @type {HistorySpec} */ (model.get("filters").history || {});
    const failed = spec.failed_last || 0;
    const idleDefault = info.idle_days || 30;
    /** @param {HistorySpec} change */
    const apply = (change) => {
      const next = { failed_last: spec.failed_last ?? null, idle_days: spec.idle_days ?? null, ...change };
      setFilter("history", next.failed_last || next.idle_days ? next : null);
    };
    const streaks = [0, ...Array.from({ length: records }, (_, i) => i + 1)].map((n) => {
      const radio = h("input", { type: "radio", name: "wsnb-failed-last", "data-failed-last": n, "data-key": `history:failed:${n}` });
      radio.checked = failed === n;
      radio.addEventListener("change", () => apply({ failed_last: n || null }));
      const label = n === 0 ? "any history" : n === 1 ? "failed its last run" : `failed its last ${n} runs`;
      const count = n === 0 ? undefined : counts[n - 1];
      return h("label", { class: `wsnb-option${count === 0 && !radio.checked ? " wsnb-zero" : ""}` },
        radio, label,
        count === undefined ? null : h("span", { class: "wsnb-count", title: "tasks this choice would leave, with the other filters and the search" }, fmt(count)));
    });
    const idleBox = h("input", { type: "checkbox", "data-key": "history:idle", "data-idle": "" });
    idleBox.checked = Boolean(spec.idle_days);
    const days = h("input", {
      type: "number", min: 1, max: 36500, step: 1, class: "wsnb-days", "data-key": "history:days",
      "aria-label": "Days without a run",
    });
    days.value = String(spec.idle_days || idleDefault);
    const readDays = () => {
      const value = Number(days.value);
      const ok = days.value !== "" && Number.isInteger(value) && value >= 1 && value <= 36500;
      days.setAttribute("aria-invalid", String(!ok));
      return ok ? value : null;
    };
    idleBox.addEventListener("change", () => {
      const value = readDays();
      if (idleBox.checked && value === null) return;
      apply({ idle_days: idleBox.checked ? value : null });
    });
    days.addEventListener("change", () => {
      const value = readDays();
      if (value !== null && idleBox.checked) apply({ idle_days: value });
    });
    const idleCount = counts[records];
    return [
      h("fieldset", { class: "wsnb-fieldset" }, h("legend", {}, "Failure streak"), streaks),
      h("fieldset", { class: "wsnb-fieldset" }, h("legend", {}, "Idle"),
        h("label", { class: "wsnb-option" }, idleBox, "no run in ", days, " days",
          idleCount === undefined ? null : h("span", { class: "wsnb-count", title: "tasks with no run in that many days (never-run ones included)" }, fmt(idleCount)))),
    ];
  }

  // -- filters --------------------------------------------------------------------------------
  const enumBox = h("span", { class: "wsnb-enum-filters" });
  const dateBox = h("span", { class: "wsnb-date-filters" });
  const resetButton = h("button", {
    class: "wsnb-btn wsnb-link wsnb-reset",
    "data-key": "reset",
    onclick: () => {
      clearTimeout(searchTimer);
      search.value = "";
      model.set("query", "");
      for (const field of Object.values(dateFields)) field.error.textContent = "";
      save("filters", {});
    },
  }, "Reset filters");
  const filterBar = h("div", { class: "wsnb-filters" }, enumBox, dateBox, resetButton);

  function renderEnumFilters() {
    const options = model.get("filter_options");
    const filters = model.get("filters");
    const names = labels();
    keepFocus(enumBox, () => {
      enumBox.replaceChildren(
        ...[...Object.keys(options), ...(model.get("history").records ? ["history"] : [])].map((column) => {
          if (column === "history") return historyButton(filters);
          const chosen = /** @type {FilterValue[]} */ (filters[column] || []);
          const open = openMenu !== null && openMenu.name === column;
          const button = h("button", {
            class: `wsnb-btn wsnb-filter${chosen.length ? " wsnb-active" : ""}`,
            "data-column": column,
            "data-key": `filter:${column}`,
            "aria-haspopup": "true",
            "aria-expanded": String(open),
            onclick: () => toggleMenu(column, button, () => valueMenu(column)),
          }, `${names[column] || column}${chosen.length ? ` (${chosen.length})` : ""} ▾`);
          if (open && openMenu) openMenu.anchor = button;
          return button;
        }),
      );
    });
    refreshMenu();
  }

  /** The History filter's button; its label says what the filter keeps.
   * @param {Record<string, FilterSpec>} filters */
  function historyButton(filters) {
    const spec = /** @type {HistorySpec} */ (filters.history || {});
    const parts = [];
    if (spec.failed_last) parts.push(`failed last ${spec.failed_last}`);
    if (spec.idle_days) parts.push(`idle ${spec.idle_days} d`);
    const open = openMenu !== null && openMenu.name === "history";
    const button = h("button", {
      class: `wsnb-btn wsnb-filter${parts.length ? " wsnb-active" : ""}`,
      "data-column": "history",
      "data-key": "filter:history",
      "aria-haspopup": "true",
      "aria-expanded": String(open),
      title: "Filter on the tasks' recent runs (wsnb.enrich)",
      onclick: () => toggleMenu("history", button, historyMenu),
    }, `History${parts.length ? `: ${parts.join(", ")}` : ""} ▾`);
    if (open && openMenu) openMenu.anchor = button;
    return button;
  }

  /** @type {Record<string, { from: HTMLInputElement, to: HTMLInputElement, error: HTMLElement }>} */
  let dateFields = {};
  /** Why a date field's content cannot be a bound yet ("" when it can). @param {HTMLInputElement} input */
  const dateProblem = (input) => {
    if (input.validity.badInput) return "incomplete or impossible date";
    if (input.validity.rangeUnderflow || input.validity.rangeOverflow) return "the year must be between 1900 and 2199";
    return "";
  };
  /**
   * Send the column's range if both fields hold complete, valid dates (or nothing). With
   * `report`, also show what is wrong next to the field; while typing, errors wait for blur.
   * @param {string} column @param {boolean} report
   */
  function applyDates(column, report) {
    const { from, to, error } = dateFields[column];
    const problems = [from, to].map((input) => [input, dateProblem(input)]).filter(([, p]) => p);
    let message = problems.length ? `${/** @type {HTMLInputElement} */ (problems[0][0]).dataset.bound}: ${problems[0][1]}` : "";
    if (!message && from.value && to.value && from.value > to.value) message = "“from” is after “to”";
    from.setAttribute("aria-invalid", String(problems.some(([i]) => i === from)));
    to.setAttribute("aria-invalid", String(problems.some(([i]) => i === to)));
    if (message) {
      if (report) error.textContent = message;
      return;
    }
    error.textContent = "";
    const spec = { from: from.value || null, to: to.value || null };
    const current = /** @type {DateRange} */ (model.get("filters")[column] || {});
    if ((current.from || null) === spec.from && (current.to || null) === spec.to) return;
    setFilter(column, spec);
  }

  function buildDateFilters() {
    const names = labels();
    dateFields = {};
    dateBox.replaceChildren(
      ...model.get("columns").filter((c) => c.kind === "date").map((c) => {
        /** @param {"from" | "to"} bound */
        const field = (bound) =>
          h("input", {
            type: "date",
            min: DATE_MIN,
            max: DATE_MAX,
            "data-column": c.name,
            "data-bound": bound,
            "data-key": `date:${c.name}:${bound}`,
            "aria-label": `${names[c.name]} ${bound}`,
            "aria-describedby": `wsnb-date-error-${c.name}`,
            onchange: () => applyDates(c.name, false), // complete and valid only; never year 0002
            onblur: () => applyDates(c.name, true),
            onkeydown: (/** @type {KeyboardEvent} */ event) => {
              if (event.key === "Enter") applyDates(c.name, true);
            },
          });
        const from = field("from");
        const to = field("to");
        const error = h("span", { class: "wsnb-field-error", id: `wsnb-date-error-${c.name}`, "data-column": c.name, role: "alert" });
        dateFields[c.name] = { from, to, error };
        return h("span", { class: "wsnb-range" }, `${c.label}: `, from, " – ", to, error);
      }),
    );
    syncDates();
  }

  /** The kernel's ranges into the fields (a field being edited is left alone). */
  function syncDates() {
    const filters = model.get("filters");
    for (const [column, { from, to }] of Object.entries(dateFields)) {
      const spec = /** @type {DateRange} */ (filters[column] || {});
      if (document.activeElement !== from) from.value = spec.from || "";
      if (document.activeElement !== to) to.value = spec.to || "";
    }
  }

  function renderReset() {
    resetButton.hidden = !(Object.keys(model.get("filters")).length || model.get("query"));
  }

  // -- table --------------------------------------------------------------------------------
  const pageBox = h("input", { type: "checkbox", "aria-label": "Select page", class: "wsnb-page-check", tabindex: "-1" });
  pageBox.addEventListener("click", (event) => {
    event.preventDefault();
    togglePage();
  });
  const togglePage = () => {
    const rows = model.get("rows");
    const all = rows.length > 0 && rows.every((r) => r.selected);
    send({ action: "select_page", value: !all });
  };
  const colgroup = h("colgroup");
  const headRow = h("tr", { role: "row" });
  const thead = h("thead", {}, headRow);
  const tbody = h("tbody");
  const table = h("table", { class: "wsnb-table", role: "grid", "aria-multiselectable": "true", "aria-label": "Tasks" }, colgroup, thead, tbody);
  const tableBox = h("div", { class: "wsnb-tablebox" }, table);

  const visibleColumns = () => {
    const hidden = new Set(model.get("hidden_columns"));
    return model.get("columns").filter((c) => !hidden.has(c.name));
  };
  // Column widths. Each column has a natural width, measured once from its header and the
  // first page of rows (so updates never move the columns). Without widths the user dragged,
  // natural widths are used as they are when they fit, else the id and the name give way
  // first; with dragged widths (`column_widths`, px at the time of the drag) the columns
  // share the width in those proportions. Either way the table is exactly as wide as its box:
  // no sideways scrolling.
  /** @type {Record<string, number> | null} */
  let natural = null;
  /** @type {Record<string, number> | null} while a header edge is dragged */
  let dragWidths = null;
  /** @param {string} name */
  const wanted = (name) => (natural && natural[name]) || DEFAULT_WIDTHS[name] || 110;

  /** Natural widths: the header label and the 90th percentile of the page's texts. */
  function measureNatural() {
    const rows = model.get("rows");
    const context = document.createElement("canvas").getContext("2d");
    if (!rows.length || !context) return;
    /** @param {Element | null | undefined} node */
    const fontOf = (node) => {
      const style = getComputedStyle(node || tbody);
      return `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    };
    /** @type {Record<string, number>} */
    const widths = {};
    visibleColumns().forEach((column, index) => {
      const th = headRow.cells[index + 1];
      context.font = fontOf(th);
      // Headers wrap between words, so the longest word (with the sort arrow) must fit.
      const words = column.label.split(/\s+/).map((w) => context.measureText(w).width);
      const label = Math.max(...words) + context.measureText("\u00a0▼").width + 12;
      const td = tbody.rows[0] && tbody.rows[0].cells[index + 1];
      context.font = fontOf(td);
      const texts = rows.map((row) => context.measureText(column.kind === "history" ? "✕✕✕✕✕" : String(column.name === "task_id" ? row.task_id ?? row.id : row[column.name] ?? "")).width).sort((a, b) => a - b);
      const text = texts[Math.floor((texts.length - 1) * 0.9)] + 14; // padding
      widths[column.name] = Math.ceil(Math.min(Math.max(label, text, MIN_WIDTH), column.name === "task_name" ? 360 : 280));
    });
    natural = { ...(natural || {}), ...widths };
  }

  /** @param {Column[]} columns @param {number} room @returns {number[]} px per column */
  function fit(columns, room) {
    const custom = dragWidths || model.get("column_widths");
    if (Object.keys(custom).length) {
      const weights = columns.map((c) => custom[c.name] || wanted(c.name));
      const sum = weights.reduce((a, b) => a + b, 0) || 1;
      return weights.map((w) => (room * w) / sum);
    }
    const px = columns.map((c) => wanted(c.name));
    let excess = px.reduce((a, b) => a + b, 0) - room;
    const at = (/** @type {string} */ name) => columns.findIndex((c) => c.name === name);
    if (excess <= 0) {
      const name = at("task_name");
      px[name >= 0 ? name : px.length - 1] -= excess; // the spare room goes to the name
      return px;
    }
    for (const [name, min] of SHRINK_FIRST) {
      const i = at(String(name));
      if (i < 0) continue;
      const cut = Math.min(excess, Math.max(0, px[i] - Number(min)));
      px[i] -= cut;
      excess -= cut;
      if (excess <= 0) return px;
    }
    const sum = px.reduce((a, b) => a + b, 0);
    return px.map((w) => (w * room) / sum);
  }

  function applyWidths() {
    const width = tableBox.clientWidth;
    if (!width) return; // not on screen yet: the resize observer calls again
    if (!natural && model.get("rows").length && tbody.rows.length) measureNatural();
    const columns = visibleColumns();
    const px = fit(columns, Math.max(width - CHECK_WIDTH, 0));
    const cols = /** @type {HTMLElement[]} */ ([...colgroup.children]);
    if (cols[0]) cols[0].style.width = `${CHECK_WIDTH}px`;
    let used = CHECK_WIDTH;
    px.forEach((w, i) => {
      const rounded = i === px.length - 1 ? width - used : Math.floor(w);
      used += rounded;
      if (cols[i + 1]) cols[i + 1].style.width = `${rounded}px`;
    });
    table.style.width = `${width}px`;
  }
  const resizeObserver = new ResizeObserver(() => applyWidths());
  resizeObserver.observe(tableBox);

  /**
   * Drag a header's right edge: the column and its right neighbour trade width. The widths
   * on screen become the user's widths (kept in `column_widths` when the drag ends).
   * @param {PointerEvent} event @param {number} index in visibleColumns()
   */
  function startResize(event, index) {
    event.preventDefault();
    event.stopPropagation();
    const columns = visibleColumns();
    if (index >= columns.length - 1) return;
    const start = event.clientX;
    const cols = /** @type {HTMLElement[]} */ ([...colgroup.children]).slice(1);
    /** @type {Record<string, number>} */
    const base = {};
    columns.forEach((c, i) => { base[c.name] = cols[i] ? cols[i].getBoundingClientRect().width : wanted(c.name); });
    const left = columns[index].name;
    const right = columns[index + 1].name;
    const pair = base[left] + base[right];
    const handle = /** @type {HTMLElement} */ (event.currentTarget);
    handle.setPointerCapture(event.pointerId);
    /** @param {PointerEvent} move */
    const onMove = (move) => {
      const a = Math.min(Math.max(base[left] + move.clientX - start, MIN_WIDTH), pair - MIN_WIDTH);
      dragWidths = { ...base, [left]: a, [right]: pair - a };
      applyWidths();
    };
    const onUp = () => {
      handle.removeEventListener("pointermove", onMove);
      handle.removeEventListener("pointerup", onUp);
      if (dragWidths) {
        const widths = { ...model.get("column_widths") };
        for (const [name, w] of Object.entries(dragWidths)) widths[name] = Math.round(w * 10) / 10;
        dragWidths = null;
        save("column_widths", widths);
      }
    };
    handle.addEventListener("pointermove", onMove);
    handle.addEventListener("pointerup", onUp);
  }

  // Roving tabindex: one cell of the grid is in the tab order; arrows move it.
  let focusRow = 0; // -1: the header row
  let focusCol = 1;
  const bodyRowCount = () => tbody.querySelectorAll("tr[data-id]").length;
  /** @param {number} r @param {number} c */
  const cellAt = (r, c) => {
    const tr = r < 0 ? headRow : /** @type {HTMLTableRowElement | undefined} */ (tbody.rows[r]);
    return tr && tr.hasAttribute(r < 0 ? "role" : "data-id") ? /** @type {HTMLElement | undefined} */ (tr.cells[c]) : undefined;
  };
  function setTabStop() {
    const rows = bodyRowCount();
    focusRow = Math.max(-1, Math.min(focusRow, rows - 1));
    focusCol = Math.max(0, Math.min(focusCol, headRow.cells.length - 1));
    for (const cell of table.querySelectorAll("[tabindex='0']")) cell.setAttribute("tabindex", "-1");
    const cell = cellAt(focusRow, focusCol);
    if (cell) cell.setAttribute("tabindex", "0");
    return cell;
  }
  /** @param {number} r @param {number} c */
  function moveFocus(r, c) {
    focusRow = r;
    focusCol = c;
    const cell = setTabStop();
    if (cell) cell.focus();
  }
  /** Re-render the table's `part`, keeping the focused cell focused. @param {() => void} build */
  const keepCell = (build) => {
    const had = table.contains(document.activeElement);
    build();
    if (had) moveFocus(focusRow, focusCol);
    else setTabStop();
  };
  table.addEventListener("focusin", (event) => {
    const cell = /** @type {HTMLElement} */ (event.target).closest("td, th");
    if (!(cell instanceof HTMLTableCellElement)) return;
    const tr = /** @type {HTMLTableRowElement} */ (cell.parentElement);
    focusRow = tr.parentElement === thead ? -1 : tr.sectionRowIndex;
    focusCol = cell.cellIndex;
    setTabStop();
  });
  /** @param {number} r @param {boolean} shift */
  const toggleRow = (r, shift) => {
    const tr = /** @type {HTMLElement | undefined} */ (tbody.rows[r]);
    if (tr && tr.dataset.id) send({ action: "toggle", id: tr.dataset.id, shift });
  };
  /** @param {string} name */
  const cycleSort = (name) => {
    const primary = model.get("sort")[0];
    const active = primary && primary.column === name;
    let next = [{ column: name, descending: false }];
    if (active && !primary.descending) next = [{ column: name, descending: true }];
    else if (active) next = [];
    save("sort", next);
  };
  /** @param {number} c */
  const activateHeader = (c) => {
    if (c === 0) togglePage();
    else {
      const column = visibleColumns()[c - 1];
      if (column) cycleSort(column.name);
    }
  };
  /** @param {number} delta */
  const go = (delta) => save("page", Math.max(0, Math.min(model.get("page") + delta, model.get("page_count") - 1)));
  table.addEventListener("keydown", (event) => {
    const rows = bodyRowCount();
    const cols = headRow.cells.length;
    let handled = true;
    switch (event.key) {
      case "ArrowDown":
        if (focusRow < rows - 1) {
          moveFocus(focusRow + 1, focusCol);
          if (event.shiftKey) toggleRow(focusRow, true);
        }
        break;
      case "ArrowUp":
        if (focusRow > -1) {
          moveFocus(focusRow - 1, focusCol);
          if (event.shiftKey && focusRow >= 0) toggleRow(focusRow, true);
        }
        break;
      case "ArrowLeft":
        moveFocus(focusRow, Math.max(0, focusCol - 1));
        break;
      case "ArrowRight":
        moveFocus(focusRow, Math.min(cols - 1, focusCol + 1));
        break;
      case "Home":
        moveFocus(event.ctrlKey ? 0 : focusRow, 0);
        break;
      case "End":
        moveFocus(event.ctrlKey ? rows - 1 : focusRow, cols - 1);
        break;
      case "PageDown":
        go(1);
        break;
      case "PageUp":
        go(-1);
        break;
      case " ":
      case "Enter":
        if (focusRow < 0) activateHeader(focusCol);
        else toggleRow(focusRow, event.shiftKey);
        break;
      default:
        handled = false;
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation(); // Ctrl+Home and the like are the grid's here, not the notebook's
    }
  });

  function renderHead() {
    keepCell(() => {
      const sort = model.get("sort");
      const primary = sort[0];
      const columns = visibleColumns();
      colgroup.replaceChildren(h("col"), ...columns.map((c) => h("col", { "data-column": c.name })));
      headRow.replaceChildren(h("th", { class: "wsnb-check", role: "columnheader", tabindex: "-1", "aria-label": "Select page" }, pageBox));
      columns.forEach((column, index) => {
        const active = primary && primary.column === column.name;
        const arrow = active ? (primary.descending ? "\u00a0▼" : "\u00a0▲") : "";
        const handle = index < columns.length - 1
          ? h("span", { class: "wsnb-resize", title: "Drag to resize", "aria-hidden": "true" })
          : null;
        if (handle) handle.addEventListener("pointerdown", (event) => startResize(event, index));
        headRow.append(
          h("th", {
            "data-column": column.name,
            role: "columnheader",
            tabindex: "-1",
            class: `wsnb-sortable${active ? " wsnb-sorted" : ""}`,
            title: `${column.label}: sort (click or Enter again to reverse, a third time to clear)`,
            "aria-sort": active ? (primary.descending ? "descending" : "ascending") : "none",
            onclick: (/** @type {MouseEvent} */ event) => {
              if (!(/** @type {HTMLElement} */ (event.target).classList.contains("wsnb-resize"))) cycleSort(column.name);
            },
          }, h("span", { class: "wsnb-label" }, column.label + arrow), handle),
        );
      });
      applyWidths();
    });
  }

  function renderBody() {
    keepCell(() => {
      const columns = visibleColumns();
      const rows = model.get("rows");
      const needle = model.get("query").trim().toLowerCase();
      const primary = model.get("sort")[0];
      const group = primary && GROUP_COLUMNS.includes(primary.column) ? primary.column : null;
      tbody.replaceChildren(
        ...rows.map((row, index) => {
          const box = h("input", { type: "checkbox", "aria-label": `Select ${row.id}`, tabindex: "-1" });
          box.checked = row.selected;
          const cells = columns.map((column) => {
            if (column.kind === "history") {
              return h("td", { class: "wsnb-history", role: "gridcell", tabindex: "-1" }, historyMarks(String(row[column.name] ?? ""), String(row.last_run_utc ?? "")));
            }
            const value = String(column.name === "task_id" ? row.task_id ?? row.id : row[column.name]);
            const title = column.kind === "date" ? row[`${column.name}_utc`] : value;
            const searched = column.name === "task_id" || column.name === "task_name" || column.name === "project_id";
            return h("td", { class: `wsnb-${column.kind}`, role: "gridcell", tabindex: "-1", title }, searched ? highlighted(value, needle) : value);
          });
          const starts = group !== null && index > 0 && row[group] !== rows[index - 1][group];
          const classes = [row.selected ? "wsnb-selected" : "", starts ? "wsnb-group-start" : ""].filter(Boolean).join(" ");
          return h(
            "tr",
            { "data-id": row.id, role: "row", class: classes, "aria-selected": String(row.selected) },
            h("td", { class: "wsnb-check", role: "gridcell", tabindex: "-1" }, box),
            cells,
          );
        }),
      );
      if (!rows.length) {
        tbody.append(h("tr", {}, h("td", { colspan: columns.length + 1, class: "wsnb-empty" }, "No tasks match.")));
      }
      const selectedOnPage = rows.filter((r) => r.selected).length;
      pageBox.checked = rows.length > 0 && selectedOnPage === rows.length;
      pageBox.indeterminate = selectedOnPage > 0 && selectedOnPage < rows.length;
      table.setAttribute("aria-rowcount", String(model.get("matching") + 1));
    });
    if (!natural) applyWidths(); // the first rows: measure the natural widths once
    el.dataset.rendered = String(model.get("rows").length);
  }

  // Clicks anywhere on a row toggle it; with Shift they select the range from the anchor.
  tbody.addEventListener("mousedown", (event) => {
    if (event.shiftKey) event.preventDefault(); // no text selection on shift-click
  });
  tbody.addEventListener("click", (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const tr = /** @type {HTMLElement | null} */ (target.closest("tr[data-id]"));
    if (!tr) return;
    if (target.matches("input[type=checkbox]")) event.preventDefault(); // kernel decides
    send({ action: "toggle", id: String(tr.dataset.id), shift: event.shiftKey });
  });

  // -- pager ----------------------------------------------------------------------------------
  const status = h("span", { class: "wsnb-status", "data-testid": "status", "aria-live": "polite" });
  const pageLabel = h("span", { class: "wsnb-page-label" });
  const sizeSelect = h(
    "select",
    { "aria-label": "Rows per page", "data-key": "page-size", onchange: () => save("page_size", Number(sizeSelect.value)) },
    PAGE_SIZES.map((n) => h("option", { value: n }, `${n} / page`)),
  );
  const pager = h(
    "div",
    { class: "wsnb-pager" },
    h("button", { class: "wsnb-btn", "aria-label": "First page", onclick: () => go(-model.get("page")) }, "«"),
    h("button", { class: "wsnb-btn", "aria-label": "Previous page", "data-action": "prev", onclick: () => go(-1) }, "‹"),
    pageLabel,
    h("button", { class: "wsnb-btn", "aria-label": "Next page", "data-action": "next", onclick: () => go(1) }, "›"),
    h("button", { class: "wsnb-btn", "aria-label": "Last page", onclick: () => go(model.get("page_count")) }, "»"),
    sizeSelect,
    status,
  );

  function renderCounts() {
    const page = model.get("page");
    const size = model.get("page_size");
    const matching = model.get("matching");
    const total = model.get("total");
    const selected = model.get("selected_count");
    const hidden = selected - model.get("matching_selected");
    badge.textContent = `${fmt(selected)} selected` + (hidden > 0 ? ` (${fmt(hidden)} hidden by filter)` : "");
    badge.classList.toggle("wsnb-badge-on", selected > 0);
    exportButton.disabled = selected === 0;
    matchingButton.textContent = `Select all ${fmt(matching)} matching`;
    pageLabel.textContent = `Page ${fmt(page + 1)} of ${fmt(model.get("page_count"))}`;
    const first = matching ? page * size + 1 : 0;
    const last = Math.min(matching, (page + 1) * size);
    status.textContent = `${fmt(first)}–${fmt(last)} of ${fmt(matching)} matching (${fmt(total)} tasks)`;
    if (![...sizeSelect.options].some((o) => Number(o.value) === size)) {
      sizeSelect.append(h("option", { value: size }, `${size} / page`));
    }
    sizeSelect.value = String(size);
    renderDelete();
  }

  const errorBox = h("div", { class: "wsnb-error", role: "alert" });
  const renderError = () => {
    errorBox.textContent = model.get("error");
    errorBox.hidden = !model.get("error");
  };

  // -- delete panel -------------------------------------------------------------------------
  const panel = h("div", { class: "wsnb-delete", "data-testid": "delete-panel", tabindex: "-1" });
  let capDraft = "";
  /** Where focus goes when the focused control left the panel (its state changed). */
  const panelFallback = () => {
    const state = model.get("delete_state");
    const selector =
      state === "confirm" || state === "done"
        ? "[data-action='delete_cancel']"
        : state === "previewing" || state === "running"
          ? ".wsnb-progress"
          : "[data-action='delete_preview']:not(:disabled), [data-key='cap-input']";
    const pick = panel.querySelector(selector);
    return pick instanceof HTMLElement ? pick : panel;
  };

  /** @returns {Child[]} */
  function progressParts() {
    const state = model.get("delete_state");
    const phase = model.get("delete_phase");
    const done = model.get("delete_done");
    const total = model.get("delete_total");
    const bar = h("progress", { max: 1, "aria-label": state === "running" ? "Deletion progress" : "Dry-run progress" });
    bar.value = model.get("delete_progress");
    const step = phase === "deleting" ? 2 : phase === "verifying" ? 3 : 1;
    const unit = phase === "deleting" ? "tasks" : "reads";
    const names = state === "running" && !model.get("fleet") ? PLAN_PHASE_NAMES : PHASE_NAMES;
    const head = state === "running" ? `Step ${step} of 3: ${names[phase] || "starting"}` : `Dry run: ${names[phase] || "starting"}`;
    const left = model.get("delete_eta_left");
    const label = (phase ? `${head} — ${fmt(done)} of ${fmt(total)} ${unit}` : head) + (left ? ` — ${left}` : "");
    return [
      h("div", { class: "wsnb-progress", "data-testid": "progress", "data-phase": phase, tabindex: "-1", role: "status" }, bar, h("span", {}, label)),
      model.get("can_stop")
        ? h("button", { class: "wsnb-btn", "data-action": "delete_stop", "data-key": "delete_stop", onclick: () => send({ action: "delete_stop" }) }, "Stop")
        : null,
    ];
  }

  /** @returns {Child[]} */
  function capParts() {
    const selected = model.get("selected_count");
    const cap = model.get("max_deletions");
    const input = h("input", {
      type: "number",
      min: 0,
      step: 1,
      class: "wsnb-cap-input",
      "data-key": "cap-input",
      placeholder: String(selected),
      "aria-label": "New cap: tasks per run",
      oninput: () => {
        capDraft = input.value;
        raise.textContent = capDraft ? `Raise cap to ${fmt(Number(capDraft))}` : "Raise cap";
      },
      onkeydown: (/** @type {KeyboardEvent} */ event) => {
        if (event.key === "Enter") raise.click();
      },
    });
    input.value = capDraft;
    const raise = h("button", {
      class: "wsnb-btn",
      "data-action": "set_cap",
      "data-key": "set_cap",
      onclick: () => {
        const value = Number(input.value);
        if (input.value === "" || !Number.isInteger(value) || value < 0) {
          input.setAttribute("aria-invalid", "true");
          input.focus();
          return;
        }
        capDraft = "";
        send({ action: "set_cap", value });
      },
    }, capDraft ? `Raise cap to ${fmt(Number(capDraft))}` : "Raise cap");
    return [
      h("div", { class: "wsnb-cap", "data-testid": "cap" },
        h("p", {},
          `${fmt(selected)} tasks are selected, but this grid deletes at most ${fmt(cap)} per run `,
          h("code", {}, "max_deletions"),
          ": a guard against deleting more than you meant. To go ahead, type the new cap and press Raise cap (this grid only); or select fewer tasks."),
        h("label", {}, "New cap ", input), " ", raise),
    ];
  }

  /** @returns {Child[]} */
  function previewParts() {
    const total = model.get("preview_total");
    const hidden = model.get("preview_hidden");
    const page = model.get("preview_page");
    const rows = model.get("preview_rows");
    const size = 10;
    const first = total ? page * size + 1 : 0;
    const last = Math.min(total, (page + 1) * size);
    const lastPage = Math.max(0, Math.ceil(total / size) - 1);
    const fleet = model.get("fleet");
    const head = ["Name", ...(fleet ? ["Region", "Project"] : []), "Type", "Next run", "Time zone", "Task id"];
    const table = h(
      "table",
      { class: "wsnb-preview-table" },
      h("thead", {}, h("tr", {}, head.map((t) => h("th", {}, t)))),
      h("tbody", {}, rows.map((row) =>
        h("tr", { "data-id": row.id },
          h("td", {}, String(row.task_name ?? "")),
          fleet ? h("td", {}, String(row.region ?? "")) : null,
          fleet ? h("td", { class: "wsnb-id" }, String(row.project_id ?? "")) : null,
          h("td", {}, String(row.task_type ?? "")),
          h("td", { title: String(row.next_execution_time_utc ?? "") }, String(row.next_execution_time ?? "")),
          h("td", {}, String(row.time_zone ?? "")),
          h("td", { class: "wsnb-id" }, String(row.task_id ?? row.id))),
      )),
    );
    const command = model.get("delete_command");
    const copy = h("button", {
      class: "wsnb-btn",
      "data-key": "copy-command",
      onclick: () => {
        navigator.clipboard?.writeText(command).then(
          () => { copy.textContent = "Copied"; },
          () => { copy.textContent = "Select and copy"; },
        );
      },
    }, "Copy");
    return [
      h("div", { class: "wsnb-preview", "data-testid": "preview" },
        h("p", { class: "wsnb-preview-head" },
          h("strong", {}, `The ${fmt(total)} tasks to delete`),
          hidden ? ` (${fmt(hidden)} of them hidden by the current filter)` : "",
          ":"),
        table,
        h("div", { class: "wsnb-pager" },
          h("button", { class: "wsnb-btn", "data-key": "preview-prev", "aria-label": "Previous tasks", disabled: page <= 0, onclick: () => save("preview_page", page - 1) }, "‹"),
          h("span", {}, `Tasks ${fmt(first)}–${fmt(last)} of ${fmt(total)}`),
          h("button", { class: "wsnb-btn", "data-key": "preview-next", "aria-label": "Next tasks", disabled: page >= lastPage, onclick: () => save("preview_page", page + 1) }, "›"),
          h("button", { class: "wsnb-btn", "data-action": "export_ids", "data-key": "preview-export", onclick: () => send({ action: "export_ids" }) }, "Download all ids (CSV)")),
        h("p", { class: "wsnb-eta", "data-testid": "eta" }, "Estimated time: ", model.get("delete_eta")),
        command
          ? h("div", { class: "wsnb-cli" },
            h("p", {}, "Or from a shell, with the downloaded file (drop ", h("code", {}, "--dry-run"), " to delete): ", copy),
            h("code", { class: "wsnb-command", "data-testid": "command" }, command))
          : null,
      ),
    ];
  }

  function renderDelete() {
    const blocked = model.get("delete_blocked");
    if (blocked) {
      panel.hidden = false;
      keepFocus(panel, () => fill(panel, [
        h("button", { class: "wsnb-btn wsnb-danger", "data-action": "delete_preview", "data-key": "delete_preview", disabled: true, "aria-describedby": "wsnb-delete-blocked" }, `Delete ${fmt(model.get("selected_count"))} selected…`),
        h("div", { class: "wsnb-message wsnb-blocked", id: "wsnb-delete-blocked", "data-testid": "delete-blocked", role: "status" }, blocked),
      ]), panelFallback);
      return;
    }
    if (!model.get("can_delete")) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    keepFocus(panel, () => {
      const state = model.get("delete_state");
      const message = model.get("delete_message");
      const count = model.get("delete_count");
      const selected = model.get("selected_count");
      const cap = model.get("max_deletions");
      const closed = model.get("client_closed");
      const overCap = model.get("over_cap");
      /** @type {Child[]} */
      const parts = [h("span", { class: "wsnb-delete-state", "data-state": state })];
      /** @type {Child[]} */
      const below = [];
      if (state === "idle" || state === "error" || state === "done") {
        parts.push(
          h("button", {
            class: "wsnb-btn wsnb-danger",
            "data-action": "delete_preview",
            "data-key": "delete_preview",
            disabled: selected === 0 || closed || overCap,
            title: closed ? "The client is closed" : overCap ? "More tasks are selected than the cap allows" : "Dry run first: nothing is deleted before you confirm",
            onclick: () => send({ action: "delete_preview" }),
          }, `Delete ${fmt(selected)} selected…`),
        );
        if (cap && !closed) parts.push(h("span", { class: "wsnb-note" }, ` at most ${fmt(cap)} per run`));
        if (state === "done") {
          parts.push(h("button", { class: "wsnb-btn", "data-action": "delete_cancel", "data-key": "delete_cancel", onclick: () => send({ action: "delete_cancel" }) }, "Close report"));
        }
        if (overCap && !closed) below.push(...capParts());
      } else if (state === "previewing" || state === "running") {
        parts.push(...progressParts());
      } else if (state === "confirm") {
        parts.push(
          h("button", {
            class: "wsnb-btn wsnb-danger",
            "data-action": "delete_confirm",
            "data-key": "delete_confirm",
            onclick: () => send({ action: "delete_confirm", count }),
          }, `Yes, delete ${fmt(count)} tasks`),
          h("button", { class: "wsnb-btn", "data-action": "delete_cancel", "data-key": "delete_cancel", onclick: () => send({ action: "delete_cancel" }) }, "Cancel"),
        );
        below.push(...previewParts());
      }
      if (message) parts.push(h("div", { class: `wsnb-message wsnb-${state}${closed ? " wsnb-closed" : ""}`, role: "status" }, message));
      fill(panel, [...parts, ...below]);
      if (model.get("report_html") && (state === "confirm" || state === "done")) {
        const report = h("div", { class: "wsnb-grid-report", "data-testid": "report" });
        report.innerHTML = model.get("report_html"); // kernel-rendered DeletionReport HTML
        panel.append(report);
      }
    }, panelFallback);
  }

  /** A file the kernel sends (the selected ids): save it through a temporary link. */
  const onCustom = (/** @type {DownloadMessage} */ content) => {
    if (!content || content.kind !== "download") return;
    const url = URL.createObjectURL(new Blob([content.text], { type: content.mime }));
    const link = h("a", { href: url, download: content.filename, hidden: true });
    root.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };

  const root = h(
    "div",
    { class: "wsnb-grid" },
    toolbar,
    filterBar,
    menuHost,
    errorBox,
    tableBox,
    pager,
    panel,
  );
  // Keys typed in the grid are the grid's: the notebook must not turn "a", "b", "d d", "0 0"
  // or Shift+Enter into cell commands. Combinations with Ctrl/Cmd/Alt (save, undo) still pass.
  // JupyterLab handles shortcuts as keydown bubbles to the document: stopping it at the root
  // is enough there. Notebook 7 handles them while the event is captured, before it reaches
  // the grid; Lumino skips shortcuts for a target marked `data-lm-suppress-shortcuts`, so a
  // window-level capture listener (which runs first) marks the target for this key press.
  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && openMenu) {
      closeMenu(true);
      event.stopPropagation();
      return;
    }
    if (!(event.ctrlKey || event.metaKey || event.altKey)) event.stopPropagation();
  });
  /** @param {KeyboardEvent} event */
  const markTarget = (event) => {
    const target = event.target;
    if (!(target instanceof Element) || !root.contains(target)) return;
    if (event.ctrlKey || event.metaKey || event.altKey) target.removeAttribute("data-lm-suppress-shortcuts");
    else target.setAttribute("data-lm-suppress-shortcuts", "true");
  };
  window.addEventListener("keydown", markTarget, true);
  el.replaceChildren(root);

  /** @type {Record<string, (...args: any[]) => void>} */
  const handlers = {
    "change:rows": renderBody,
    "change:columns": () => {
      closeMenu();
      natural = null; // another frame: measure again
      renderHead();
      renderBody();
      renderEnumFilters();
      buildDateFilters();
    },
    "change:hidden_columns": () => { renderHead(); renderBody(); refreshMenu(); },
    "change:column_widths": applyWidths,
    "change:sort": renderHead,
    "change:filters": () => { renderEnumFilters(); syncDates(); renderReset(); },
    "change:filter_options": renderEnumFilters,
    "change:history": renderEnumFilters,
    "change:filter_counts": refreshMenu,
    "change:query": () => {
      if (document.activeElement !== search) search.value = model.get("query");
      renderReset();
    },
    "change:error": renderError,
    "msg:custom": onCustom,
  };
  for (const name of ["page", "page_size", "page_count", "matching", "total", "selected_count",
    "matching_selected", "can_delete", "max_deletions", "over_cap", "client_closed", "can_stop",
    "delete_state", "delete_message", "delete_count", "delete_progress", "delete_phase",
    "delete_done", "delete_total", "delete_eta", "delete_eta_left", "delete_command", "report_html",
    "delete_blocked", "fleet",
    "preview_rows", "preview_total", "preview_hidden", "preview_page"]) {
    handlers[`change:${name}`] = renderCounts;
  }
  for (const [event, handler] of Object.entries(handlers)) model.on(event, handler);

  renderHead();
  renderEnumFilters();
  buildDateFilters();
  renderReset();
  renderBody();
  renderCounts();
  renderError();

  return () => {
    clearTimeout(searchTimer);
    resizeObserver.disconnect();
    document.removeEventListener("pointerdown", outside, true);
    window.removeEventListener("keydown", markTarget, true);
    for (const [event, handler] of Object.entries(handlers)) model.off(event, handler);
  };
}

export default { render };
