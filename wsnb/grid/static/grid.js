// @ts-check
// wsnb TaskGrid front end (anywidget ES module, no build step).
// The kernel owns the data: this view renders `rows` (one page, preformatted) and sends
// gestures back, either as trait changes (page, page_size, sort, filters, query) or as custom
// messages ({action: "toggle" | "select_page" | ...}). Selection lives in the kernel as task ids.
// The message and trait shapes below mirror wsnb/grid/_messages.py (a test keeps them equal).

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
 * @typedef {ToggleMessage | SelectPageMessage | SelectMatchingMessage | ClearMessage
 *   | InvertMessage | DeletePreviewMessage | DeleteConfirmMessage | DeleteCancelMessage} BrowserMessage
 */

// -- traits the kernel sets (and the ones this view sets) -------------------------------------
/**
 * @typedef {"idle" | "previewing" | "confirm" | "running" | "done" | "error"} DeleteState
 * @typedef {"id" | "enum" | "date" | "text"} ColumnKind
 * @typedef {{ name: string, label: string, kind: ColumnKind }} Column
 * @typedef {{ column: string, descending?: boolean }} SortKey
 * @typedef {{ from?: string | null, to?: string | null }} DateRange
 * @typedef {string | boolean | null} FilterValue
 * @typedef {FilterValue[] | DateRange} FilterSpec
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
 * @property {Row[]} rows
 * @property {Column[]} columns
 * @property {Record<string, FilterValue[]>} filter_options
 * @property {number} total
 * @property {number} matching
 * @property {number} page_count
 * @property {number} selected_count
 * @property {number} matching_selected
 * @property {string} error
 * @property {boolean} can_delete
 * @property {number} max_deletions
 * @property {DeleteState} delete_state
 * @property {number} delete_count
 * @property {string} delete_message
 * @property {number} delete_progress
 * @property {string} report_html
 */
/**
 * The part of anywidget's model API this view uses.
 * @typedef {object} GridModel
 * @property {<K extends keyof GridTraits>(name: K) => GridTraits[K]} get
 * @property {<K extends keyof GridTraits>(name: K, value: GridTraits[K]) => void} set
 * @property {() => void} save_changes
 * @property {(content: BrowserMessage) => void} send
 * @property {(event: string, handler: () => void) => void} on
 * @property {(event: string, handler: () => void) => void} off
 */
/** @typedef {Node | string | number | boolean | null | undefined} Child */

const SEARCH_DELAY_MS = 250;
const PAGE_SIZES = [25, 50, 100, 200, 500];

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

/** @param {number} n */
const fmt = (n) => Number(n).toLocaleString("en-US");
/** @param {FilterValue} v */
const valueLabel = (v) => (v === null ? "(none)" : v === true ? "yes" : v === false ? "no" : v);

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
      (!Array.isArray(spec) && !spec.from && !spec.to);
    if (empty) delete filters[column];
    else filters[column] = spec;
    save("filters", filters);
  };

  // -- toolbar ------------------------------------------------------------------------------
  /** @type {number | undefined} */
  let searchTimer;
  const search = h("input", {
    type: "search",
    class: "wsnb-search",
    placeholder: "Search id, name, description…",
    "aria-label": "Search tasks",
    oninput: () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => save("query", search.value), SEARCH_DELAY_MS);
    },
  });
  search.value = model.get("query");
  const badge = h("span", { class: "wsnb-badge", "data-testid": "selected-count" });
  const matchingButton = h("button", {
    class: "wsnb-btn",
    "data-action": "select_matching",
    onclick: () => send({ action: "select_matching" }),
  });
  const toolbar = h(
    "div",
    { class: "wsnb-toolbar" },
    search,
    h("button", { class: "wsnb-btn", "data-action": "select_page", onclick: () => send({ action: "select_page", value: true }) }, "Select page"),
    matchingButton,
    h("button", { class: "wsnb-btn", "data-action": "invert", onclick: () => send({ action: "invert" }) }, "Invert"),
    h("button", { class: "wsnb-btn", "data-action": "clear", onclick: () => send({ action: "clear" }) }, "Clear"),
    badge,
  );

  // -- filters --------------------------------------------------------------------------------
  const filterBar = h("div", { class: "wsnb-filters" });
  function renderFilters() {
    const options = model.get("filter_options");
    const filters = model.get("filters");
    const labels = Object.fromEntries(model.get("columns").map((c) => [c.name, c.label]));
    const openColumns = new Set(
      [.../** @type {NodeListOf<HTMLElement>} */ (filterBar.querySelectorAll("details[open]"))].map((d) => d.dataset.column),
    );
    filterBar.replaceChildren();
    for (const [column, values] of Object.entries(options)) {
      const chosen = /** @type {FilterValue[]} */ (filters[column] || []);
      const boxes = values.map((value) => {
        const box = h("input", { type: "checkbox", "data-value": JSON.stringify(value) });
        box.checked = chosen.some((c) => c === value);
        box.addEventListener("change", () => {
          const picked = [.../** @type {NodeListOf<HTMLInputElement>} */ (details.querySelectorAll("input:checked"))].map((b) =>
            JSON.parse(String(b.dataset.value)),
          );
          setFilter(column, picked);
        });
        return h("label", { class: "wsnb-option" }, box, valueLabel(value));
      });
      const details = h(
        "details",
        { class: "wsnb-filter", "data-column": column, open: openColumns.has(column) },
        h("summary", {}, `${labels[column] || column}${chosen.length ? ` (${chosen.length})` : ""}`),
        h("div", { class: "wsnb-options" }, boxes),
      );
      filterBar.append(details);
    }
    for (const column of model.get("columns").filter((c) => c.kind === "date").map((c) => c.name)) {
      const spec = /** @type {DateRange} */ (filters[column] || {});
      const from = h("input", { type: "date", "data-column": column, "data-bound": "from", "aria-label": `${labels[column]} from` });
      const to = h("input", { type: "date", "data-column": column, "data-bound": "to", "aria-label": `${labels[column]} to` });
      from.value = spec.from || "";
      to.value = spec.to || "";
      const update = () => setFilter(column, { from: from.value || null, to: to.value || null });
      from.addEventListener("change", update);
      to.addEventListener("change", update);
      filterBar.append(h("span", { class: "wsnb-range" }, `${labels[column]}: `, from, " – ", to));
    }
    if (Object.keys(filters).length || model.get("query")) {
      filterBar.append(
        h("button", {
          class: "wsnb-btn wsnb-link",
          onclick: () => {
            search.value = "";
            model.set("query", "");
            save("filters", {});
          },
        }, "Reset filters"),
      );
    }
  }

  // -- table --------------------------------------------------------------------------------
  const pageBox = h("input", { type: "checkbox", "aria-label": "Select page", class: "wsnb-page-check" });
  pageBox.addEventListener("click", (event) => {
    event.preventDefault();
    const rows = model.get("rows");
    const all = rows.length > 0 && rows.every((r) => r.selected);
    send({ action: "select_page", value: !all });
  });
  const headRow = h("tr");
  const thead = h("thead", {}, headRow);
  const tbody = h("tbody");
  const table = h("table", { class: "wsnb-table" }, thead, tbody);

  function renderHead() {
    const sort = model.get("sort");
    const primary = sort[0];
    headRow.replaceChildren(h("th", { class: "wsnb-check" }, pageBox));
    for (const column of model.get("columns")) {
      const active = primary && primary.column === column.name;
      const arrow = active ? (primary.descending ? " ▼" : " ▲") : "";
      headRow.append(
        h("th", {
          "data-column": column.name,
          class: `wsnb-sortable${active ? " wsnb-sorted" : ""}`,
          title: "Sort (click again to reverse, a third time to clear)",
          "aria-sort": active ? (primary.descending ? "descending" : "ascending") : "none",
          onclick: () => {
            let next = [{ column: column.name, descending: false }];
            if (active && !primary.descending) next = [{ column: column.name, descending: true }];
            else if (active) next = [];
            save("sort", next);
          },
        }, column.label + arrow),
      );
    }
  }

  function renderBody() {
    const columns = model.get("columns");
    const rows = model.get("rows");
    tbody.replaceChildren(
      ...rows.map((row) => {
        const box = h("input", { type: "checkbox", "aria-label": `Select ${row.id}`, tabindex: "-1" });
        box.checked = row.selected;
        const cells = columns.map((column) => {
          const value = column.name === "task_id" ? row.id : row[column.name];
          const title = column.kind === "date" ? row[`${column.name}_utc`] : value;
          return h("td", { class: `wsnb-${column.kind}`, title }, value);
        });
        return h(
          "tr",
          { "data-id": row.id, class: row.selected ? "wsnb-selected" : "", "aria-selected": String(row.selected) },
          h("td", { class: "wsnb-check" }, box),
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
    el.dataset.rendered = String(rows.length);
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
  const status = h("span", { class: "wsnb-status", "data-testid": "status" });
  const pageLabel = h("span", { class: "wsnb-page-label" });
  /** @param {number} page */
  const go = (page) => save("page", Math.max(0, Math.min(page, model.get("page_count") - 1)));
  const sizeSelect = h(
    "select",
    { "aria-label": "Rows per page", onchange: () => save("page_size", Number(sizeSelect.value)) },
    PAGE_SIZES.map((n) => h("option", { value: n }, `${n} / page`)),
  );
  const pager = h(
    "div",
    { class: "wsnb-pager" },
    h("button", { class: "wsnb-btn", "aria-label": "First page", onclick: () => go(0) }, "«"),
    h("button", { class: "wsnb-btn", "aria-label": "Previous page", "data-action": "prev", onclick: () => go(model.get("page") - 1) }, "‹"),
    pageLabel,
    h("button", { class: "wsnb-btn", "aria-label": "Next page", "data-action": "next", onclick: () => go(model.get("page") + 1) }, "›"),
    h("button", { class: "wsnb-btn", "aria-label": "Last page", onclick: () => go(model.get("page_count") - 1) }, "»"),
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
  const panel = h("div", { class: "wsnb-delete", "data-testid": "delete-panel" });
  function renderDelete() {
    if (!model.get("can_delete")) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    const state = model.get("delete_state");
    const message = model.get("delete_message");
    const count = model.get("delete_count");
    const selected = model.get("selected_count");
    const cap = model.get("max_deletions");
    const report = h("div", { class: "wsnb-grid-report", "data-testid": "report" });
    report.innerHTML = model.get("report_html"); // kernel-rendered DeletionReport HTML
    const parts = [];
    parts.push(h("span", { class: "wsnb-delete-state", "data-state": state }));
    if (state === "idle" || state === "error" || state === "done") {
      parts.push(
        h("button", {
          class: "wsnb-btn wsnb-danger",
          "data-action": "delete_preview",
          disabled: selected === 0,
          onclick: () => send({ action: "delete_preview" }),
        }, `Delete ${fmt(selected)} selected…`),
      );
      if (cap) parts.push(h("span", { class: "wsnb-note" }, ` at most ${fmt(cap)} per run`));
    } else if (state === "previewing" || state === "running") {
      const bar = h("progress", { max: 1, "aria-label": state });
      const done = model.get("delete_progress");
      if (state === "running" && done > 0) bar.value = done; // else indeterminate
      parts.push(bar);
    } else if (state === "confirm") {
      parts.push(
        h("button", {
          class: "wsnb-btn wsnb-danger",
          "data-action": "delete_confirm",
          onclick: () => send({ action: "delete_confirm", count }),
        }, `Yes, delete ${fmt(count)} tasks`),
        h("button", { class: "wsnb-btn", "data-action": "delete_cancel", onclick: () => send({ action: "delete_cancel" }) }, "Cancel"),
      );
    }
    if (state === "done") {
      parts.push(
        h("button", { class: "wsnb-btn", "data-action": "delete_cancel", onclick: () => send({ action: "delete_cancel" }) }, "Close report"),
      );
    }
    if (message) parts.push(h("div", { class: `wsnb-message wsnb-${state}` }, message));
    panel.replaceChildren(...parts);
    if (model.get("report_html")) panel.append(report);
  }

  const root = h("div", { class: "wsnb-grid" }, toolbar, filterBar, errorBox, h("div", { class: "wsnb-scroll" }, table), pager, panel);
  el.replaceChildren(root);

  /** @type {Record<string, () => void>} */
  const handlers = {
    "change:rows": renderBody,
    "change:columns": () => { renderHead(); renderBody(); renderFilters(); },
    "change:sort": renderHead,
    "change:filters": renderFilters,
    "change:filter_options": renderFilters,
    "change:query": () => { if (document.activeElement !== search) search.value = model.get("query"); },
    "change:error": renderError,
  };
  for (const name of ["page", "page_size", "page_count", "matching", "total", "selected_count",
    "matching_selected", "can_delete", "delete_state", "delete_message", "delete_count",
    "delete_progress", "report_html", "max_deletions"]) {
    handlers[`change:${name}`] = renderCounts;
  }
  for (const [event, handler] of Object.entries(handlers)) model.on(event, handler);

  renderHead();
  renderFilters();
  renderBody();
  renderCounts();
  renderError();

  return () => {
    clearTimeout(searchTimer);
    for (const [event, handler] of Object.entries(handlers)) model.off(event, handler);
  };
}

export default { render };
