// Event viewer: collapsible, highlighted JSON tree; surrounding and related events.
// Everything from the event goes into the page through textContent only.
"use strict";
(function () {
  const LH = window.LH;
  const SHOWN = 20;
  let eventDoc = null;


  function scalar(v) {
    const cls = v === null ? "j-null" : typeof v === "string" ? "j-str" : typeof v === "number" ? "j-num" : "j-bool";
    const text = typeof v === "string" ? JSON.stringify(v) : String(v);
    return LH.el("span", { class: cls }, text);
  }

  /** A JSON value as nested <details> (objects, arrays) and highlighted scalars. */
  function tree(value, key, depth) {
    const isObj = value !== null && typeof value === "object";
    if (!isObj) {
      const row = LH.el("div", { class: "j-row" });
      if (key !== null) row.append(LH.el("span", { class: "j-key" }, key), LH.el("span", { class: "j-punct" }, ": "));
      const s = scalar(value);
      if (typeof value === "string" && value.includes("\n")) s.classList.add("j-multiline");
      row.appendChild(s);
      return row;
    }
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    const det = LH.el("details", { class: "j-node" });
    det.open = depth < 3;
    const sum = LH.el("summary");
    if (key !== null) sum.append(LH.el("span", { class: "j-key" }, key), LH.el("span", { class: "j-punct" }, ": "));
    sum.appendChild(LH.el("span", { class: "j-punct" },
      Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`));
    det.appendChild(sum);
    const body = LH.el("div", { class: "j-children" });
    for (const [k, v] of entries) body.appendChild(tree(v, k, depth + 1));
    det.appendChild(body);
    return det;
  }

  function listInto(node, results, emptyText, currentId) {
    if (!results.length) { LH.state(node, "empty", emptyText); return; }
    const table = LH.el("table", { class: "results-table compact" });
    const tb = LH.el("tbody");
    for (const r of results) tb.appendChild(LH.resultRow(r, r.id === currentId ? "current" : ""));
    table.appendChild(tb);
    node.replaceChildren(table);
  }

  async function load(n) {
    const box = document.getElementById("event");
    const ctxBox = document.getElementById("context"), relBox = document.getElementById("related");
    const treeBox = document.getElementById("json-tree");
    try {
      const body = await LH.api(box.dataset.api + "?context=" + n + "&related=request_id,trace_id,user_id");
      eventDoc = body;
      if (!treeBox.dataset.done) { treeBox.replaceChildren(tree(body.fields, null, 0)); treeBox.dataset.done = "1"; }
      const ctx = body.context || { before: [], after: [] };
      const self = { id: body.id, timestamp: body.timestamp, level: body.level, source: body.source, message: body.message };
      listInto(ctxBox, ctx.before.concat([self], ctx.after), "No surrounding events.", body.id);
      const more = document.getElementById("more-context");
      more.hidden = ctx.before.length < n && ctx.after.length < n;
      relBox.replaceChildren();
      for (const [name, rel] of Object.entries(body.related || {})) {
        // A busy user id can relate hundreds of events: show a few, link to the full search.
        const sec = LH.el("details", { class: "related-group" });
        const results = rel.results || [];
        sec.open = rel.value !== null && results.length > 0 && results.length <= SHOWN;
        const sum = LH.el("summary", null, name.replace("_", " ") + " ");
        sum.appendChild(LH.el("code", null, rel.value === null ? "—" : String(rel.value)));
        sum.appendChild(LH.el("span", { class: "muted" }, " · " + results.length + (results.length >= 200 ? "+" : "") + " events"));
        sec.appendChild(sum);
        const list = LH.el("div");
        if (rel.value === null) LH.state(list, "empty", "This event has no " + name + ".");
        else listInto(list, results.slice(0, SHOWN), "No other events share it.", body.id);
        sec.appendChild(list);
        if (rel.value !== null && results.length) {
          const q = rel.field + ":" + LH.quote(rel.value);
          sec.appendChild(LH.el("a", { href: "/search?range=7d&q=" + encodeURIComponent(q), class: "related-all" },
            "All events with this " + name.replace("_", " ") + " ›"));
        }
        relBox.appendChild(sec);
      }
    } catch (err) {
      const msg = "Could not load: " + LH.errorText(err);
      LH.state(ctxBox, "error", msg);
      LH.state(relBox, "error", msg);
      if (!treeBox.dataset.done) LH.state(treeBox, "error", msg);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const box = document.getElementById("event");
    if (!box) return;
    let n = parseInt(box.dataset.context, 10) || 10;
    load(n);
    document.getElementById("more-context").addEventListener("click", () => { n = Math.min(100, n * 2); load(n); });
    document.getElementById("copy-json").addEventListener("click", (ev) => {
      if (eventDoc) LH.copy(JSON.stringify(eventDoc.fields, null, 2), ev.currentTarget);
    });
  });
})();
