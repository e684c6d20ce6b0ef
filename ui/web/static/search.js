// Search page: histogram (stacked by level, drag to zoom), query autocomplete, custom range
// toggle, j/k row navigation. The table and sidebar are server-rendered; this only enhances.
"use strict";
(function () {
  const LH = window.LH, C = window.LHCharts;
  const SHORT = { level: "log.level", source: "service.name", service: "service.name", host: "host.name",
    status: "http.response.status_code", method: "http.request.method", path: "url.path", user_id: "user.id",
    trace_id: "trace.id", request_id: "http.request.id", ip: "client.ip" };
  const KEYWORDS = ["AND", "OR", "NOT", "IN", "LIKE", "EXISTS", "IS NULL", "last 15 minutes", "today", "during business hours"];

  function navigateWith(changes) {
    const url = new URL(location.href);
    for (const [k, v] of Object.entries(changes)) {
      url.searchParams.delete(k);
      if (v !== null) url.searchParams.set(k, v);
    }
    url.searchParams.delete("offset");
    url.searchParams.delete("cursor");
    location.href = url.pathname + "?" + url.searchParams.toString();
  }

  async function histogram() {
    const box = document.getElementById("histogram");
    if (!box) return;
    const url = "/api/v1/logs/aggregate?" + box.dataset.params + "&interval=auto&group_by=level&size=5";
    try {
      const body = await LH.api(url);
      if (!body.aggregations.length || !body.total) {
        LH.state(box, "empty", "No events in this time range.");
        return;
      }
      C.stacked(box, C.pivot(body.aggregations), {
        label: "events over time by level", legend: true,
        onSelect: (a, b) => navigateWith({ range: "custom", from: new Date(a).toISOString(), to: new Date(b).toISOString() }),
      });
    } catch (err) {
      LH.state(box, "error", "Histogram unavailable: " + LH.errorText(err));
    }
  }


  function autocomplete() {
    const input = document.getElementById("q");
    const list = document.getElementById("ac-list");
    if (!input || !list) return;
    let fields = null, items = [], active = -1, loading = false;
    async function load() {
      if (fields || loading) return;
      loading = true;
      try {
        const hist = document.getElementById("histogram");
        const params = new URLSearchParams(hist ? hist.dataset.params : "from=now-24h");
        params.delete("q");
        fields = (await LH.api("/api/v1/fields?" + params.toString())).fields;
      } catch (e) {
        fields = [];
      }
      loading = false;
      update();
    }
    function token() {
      const pos = input.selectionStart || input.value.length;
      const before = input.value.slice(0, pos);
      const m = before.match(/[^\s()]*$/);
      return { text: m ? m[0] : "", start: pos - (m ? m[0].length : 0), end: pos };
    }
    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; items = []; }
    function update() {
      const tok = token();
      if (!fields || tok.text.length === 0) { close(); return; }
      let suggestions = [];
      const colon = tok.text.indexOf(":");
      if (colon > 0) {
        const name = tok.text.slice(0, colon), prefix = tok.text.slice(colon + 1).replace(/^"/, "").toLowerCase();
        const full = SHORT[name] || name;
        const f = fields.find((x) => x.name === full);
        if (f) suggestions = f.top_values.filter((tv) => String(tv.value).toLowerCase().startsWith(prefix))
          .map((tv) => ({ text: name + ":" + LH.quote(tv.value), hint: String(tv.count) }));
      } else {
        const low = tok.text.toLowerCase();
        const names = Object.keys(SHORT).concat(fields.map((f) => f.name));
        suggestions = Array.from(new Set(names)).filter((n) => n.toLowerCase().startsWith(low))
          .slice(0, 12).map((n) => ({ text: n + ":", hint: SHORT[n] || "field" }));
        suggestions = suggestions.concat(KEYWORDS.filter((k) => k.toLowerCase().startsWith(low) && low.length > 1)
          .map((k) => ({ text: k + " ", hint: "syntax" })));
      }
      items = suggestions.slice(0, 12);
      if (!items.length) { close(); return; }
      list.replaceChildren(...items.map((s, i) => {
        const li = LH.el("li", { role: "option", id: "ac-" + i, class: i === active ? "active" : "" });
        li.appendChild(LH.el("span", null, s.text));
        li.appendChild(LH.el("span", { class: "muted" }, s.hint));
        li.addEventListener("mousedown", (ev) => { ev.preventDefault(); accept(i); });
        return li;
      }));
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    function accept(i) {
      const tok = token();
      const s = items[i].text;
      input.value = input.value.slice(0, tok.start) + s + input.value.slice(tok.end);
      const caret = tok.start + s.length;
      input.setSelectionRange(caret, caret);
      close();
      if (s.endsWith(":")) update();
    }
    input.addEventListener("focus", load);
    input.addEventListener("input", update);
    input.addEventListener("blur", () => setTimeout(close, 100));
    input.addEventListener("keydown", (ev) => {
      if (list.hidden) return;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        active = (active + (ev.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
        list.querySelectorAll("li").forEach((li, i) => li.classList.toggle("active", i === active));
        input.setAttribute("aria-activedescendant", "ac-" + active);
      } else if ((ev.key === "Enter" || ev.key === "Tab") && active >= 0) {
        ev.preventDefault();
        accept(active);
      } else if (ev.key === "Escape") {
        close();
      }
    });
  }

  function rangeToggle() {
    const sel = document.getElementById("range"), custom = document.getElementById("custom-range");
    if (!sel || !custom) return;
    const sync = () => { if (sel.value === "custom") custom.removeAttribute("data-hidden"); else custom.setAttribute("data-hidden", "1"); };
    sel.addEventListener("change", sync);
    sync();
  }

  function rowKeys() {
    let idx = -1;
    document.addEventListener("keydown", (ev) => {
      if (/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) return;
      const links = Array.from(document.querySelectorAll("#results .row-link"));
      if (!links.length) return;
      if (ev.key === "j" || ev.key === "k") {
        idx = Math.max(0, Math.min(links.length - 1, idx + (ev.key === "j" ? 1 : -1)));
        links[idx].focus();
        links.forEach((l, i) => l.closest("tr").classList.toggle("kbd-active", i === idx));
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => { histogram(); autocomplete(); rangeToggle(); rowKeys(); });
})();
