// Overview and analytics panels: each .chart names its API call (data-api) and chart kind
// (data-kind); refreshed every data-refresh seconds when > 0.
"use strict";
(function () {
  const LH = window.LH, C = window.LHCharts;

  function groupItems(rows, valueOf) {
    return rows.map((r) => {
      const key = r.key || {};
      const names = Object.keys(key).filter((k) => k !== "@timestamp");
      return { label: names.length ? String(key[names[0]]) : "all", value: valueOf(r) };
    });
  }

  function health(node, body) {
    const ul = LH.el("ul", { class: "health" });
    const comps = body.components || {};
    for (const [name, c] of Object.entries(comps)) {
      const li = LH.el("li", { class: c.ok ? "ok" : "bad" });
      li.appendChild(LH.el("span", { class: "dot" }));
      li.appendChild(LH.el("strong", null, name));
      let detail = c.ok ? "ok" : String(c.error || "down");
      const full = detail;
      if (detail.length > 90) detail = detail.slice(0, 90) + "…";
      if (name === "opensearch" && c.status) detail = c.status + " · " + (c.nodes || "?") + " node(s)";
      if (name === "gateway" && c.status_code) detail = "HTTP " + c.status_code;
      li.appendChild(LH.el("span", { class: "muted", title: full }, detail));
      ul.appendChild(li);
      if (name === "kafka" && c.pipeline_lag) {
        const lag = LH.el("li", { class: c.pipeline_lag.total > 10000 ? "bad" : "ok" });
        lag.appendChild(LH.el("span", { class: "dot" }));
        lag.appendChild(LH.el("strong", null, "pipeline lag"));
        lag.appendChild(LH.el("span", { class: "muted" }, c.pipeline_lag.total + " records"));
        ul.appendChild(lag);
      }
    }
    node.replaceChildren(ul);
  }

  function draw(node, kind, body) {
    if (kind === "health") return health(node, body);
    if (kind === "gauge") {
      C.gauge(node, body.error_rate, "error rate");
      node.appendChild(LH.el("p", { class: "muted center" },
        `${body.errors} errors of ${body.events} events · ${body.ingest_rate_per_s} events/s (last ${body.window_s}s)`));
      return;
    }
    if (kind === "events") {
      if (!body.results.length) return LH.state(node, "empty", "No errors in the last hour.");
      const table = LH.el("table", { class: "results-table compact" });
      const tb = LH.el("tbody");
      body.results.forEach((r) => tb.appendChild(LH.resultRow(r)));
      table.appendChild(tb);
      return node.replaceChildren(table);
    }
    const divide = parseFloat(node.dataset.divide) || 1;
    const rows = (body.aggregations || []).map((r) => (divide === 1 ? r
      : Object.assign({}, r, { count: r.count / divide, value: typeof r.value === "number" ? r.value / divide : r.value })));
    if (!rows.length || body.total === 0) return LH.state(node, "empty", "No data in this range.");
    if (kind === "stacked") return C.stacked(node, C.pivot(rows), { legend: true });
    if (kind === "line") return C.line(node, C.pivot(rows));
    if (kind === "heatmap") return C.heatmap(node, rows);
    if (kind === "donut") return C.donut(node, groupItems(rows, (r) => r.count));
    if (kind === "bars") {
      const metric = body.metric;
      const fmt = metric === "error_rate" ? (v) => (v === null ? "–" : (100 * v).toFixed(1) + " %") : C.fmtNum;
      const items = groupItems(rows, (r) => (metric === "count" ? r.count : r.value));
      items.forEach((it, i) => { if (metric !== "count") it.sub = "(" + rows[i].count + ")"; });
      return C.hbars(node, items, fmt);
    }
    if (kind === "percentiles") {
      const table = LH.el("table", { class: "results-table compact num-table" });
      const head = LH.el("tr");
      const pcts = rows.length ? Object.keys(rows[0].value || {}) : [];
      ["endpoint", "requests"].concat(pcts.map((p) => "p" + parseFloat(p))).forEach((h, i) =>
        head.appendChild(LH.el("th", { scope: "col", class: i ? "num" : "" }, h)));
      const thead = LH.el("thead"); thead.appendChild(head); table.appendChild(thead);
      const tb = LH.el("tbody");
      for (const r of rows) {
        const tr = LH.el("tr");
        const key = r.key || {};
        tr.appendChild(LH.el("td", null, String(Object.values(key)[0])));
        tr.appendChild(LH.el("td", { class: "num" }, r.count));
        for (const p of pcts) tr.appendChild(LH.el("td", { class: "num" }, C.fmtNum((r.value || {})[p])));
        tb.appendChild(tr);
      }
      table.appendChild(tb);
      return node.replaceChildren(table);
    }
    LH.state(node, "error", "unknown chart kind");
  }

  async function refresh(node) {
    try {
      const body = await LH.api(node.dataset.api);
      draw(node, node.dataset.kind, body);
      node.classList.remove("stale");
    } catch (err) {
      if (node.querySelector("svg, table, ol, ul") && err.status !== 400) node.classList.add("stale");
      else LH.state(node, "error", LH.errorText(err));
    }
  }

  // The live card: one Server-Sent Events stream (/api/v1/live/overview), a tick a second with
  // per-second counts by level from the processed topic — no OpenSearch query per tick.
  function live(card) {
    const status = document.getElementById("live-status");
    let ticks = 0;
    const es = new EventSource(card.dataset.stream);
    es.onopen = () => { status.textContent = "streaming"; status.className = "muted small status-ok"; };
    es.onerror = () => { status.textContent = "reconnecting…"; status.className = "muted small status-error"; };
    es.onmessage = (msg) => {
      let t;
      try { t = JSON.parse(msg.data); } catch (_) { return; }
      if (t.type !== "tick") return;
      ticks += 1;
      card.dataset.ticks = String(ticks);
      card.dataset.from = String(t.from);
      card.dataset.to = String(t.to);
      document.getElementById("live-events").textContent = String(t.events);
      document.getElementById("live-errors").textContent = String(t.errors);
      document.getElementById("live-rate").textContent = String(t.rate_per_s);
      C.gauge(document.getElementById("live-gauge"), t.error_rate, "error rate, last " + t.window_s + " s");
      const rows = [];
      for (const s of t.seconds) {
        const at = new Date(s.t * 1000).toISOString();
        const levels = Object.keys(s.levels);
        if (!levels.length) rows.push({ key: { "@timestamp": at, level: "INFO" }, count: 0 });
        for (const l of levels) rows.push({ key: { "@timestamp": at, level: l }, count: s.levels[l] });
      }
      C.stacked(document.getElementById("live-volume"), C.pivot(rows), { legend: true, height: 120, label: "events per second, last " + t.window_s + " s" });
      const list = document.getElementById("live-errors-list");
      if (!t.recent_errors.length) {
        LH.state(list, "empty", "No errors in the last " + t.window_s + " seconds.");
      } else {
        const table = LH.el("table", { class: "results-table compact" });
        const tb = LH.el("tbody");
        t.recent_errors.forEach((r) => tb.appendChild(LH.resultRow(r)));
        table.appendChild(tb);
        list.replaceChildren(table);
      }
    };
    window.addEventListener("beforeunload", () => es.close());
  }

  document.addEventListener("DOMContentLoaded", () => {
    const card = document.getElementById("live-overview");
    if (card && window.EventSource) live(card);
    document.querySelectorAll(".chart[data-api]").forEach((node) => {
      refresh(node);
      const every = parseFloat(node.dataset.refresh) || 0;
      if (every > 0) {
        let busy = false;
        setInterval(async () => {
          if (busy || document.hidden) return;
          busy = true;
          try { await refresh(node); } finally { busy = false; }
        }, every * 1000);
      }
    });
  });
})();
