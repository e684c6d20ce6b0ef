// Alerts: the builder's live preview (count of the query over the last 6 hours) and the
// overview page's active-alerts panel. textContent only.
"use strict";
(function () {
  const LH = window.LH;

  function preview() {
    const input = document.getElementById("alert-q");
    const out = document.getElementById("alert-preview");
    const bars = document.getElementById("alert-preview-bars");
    if (!input || !out) return;
    let timer = null, seq = 0;
    async function run() {
      const mine = ++seq;
      try {
        const body = await LH.api("/api/v1/alerts/preview?hours=6&q=" + encodeURIComponent(input.value));
        if (mine !== seq) return;
        out.textContent = "Preview: " + body.total + " matching events in the last 6 hours";
        out.setAttribute("data-total", String(body.total));
        const max = Math.max(1, ...body.buckets.map((b) => b.count));
        bars.replaceChildren(...body.buckets.map((b) => {
          const bar = LH.el("span", { class: "bar", title: new Date(b.t).toISOString() + ": " + b.count });
          bar.style.height = Math.round(2 + 38 * b.count / max) + "px";
          return bar;
        }));
      } catch (err) {
        if (mine === seq) { out.textContent = "Preview: " + LH.errorText(err); out.removeAttribute("data-total"); }
      }
    }
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 300); });
    run();
  }

  function active() {
    const panel = document.getElementById("active-alerts");
    if (!panel) return;
    const list = panel.querySelector(".active-list");
    async function refresh() {
      try {
        const body = await LH.api("/api/v1/alerts/active");
        if (!body.active.length) { LH.state(list, "empty", "No active alerts."); return; }
        const ul = LH.el("ul", { class: "active-alerts" });
        for (const a of body.active) {
          const li = LH.el("li", { class: "alert-" + a.state + (a.silenced ? " silenced" : ""), "data-rule": a.rule_id });
          const link = LH.el("a", { href: "/alerts/" + encodeURIComponent(a.rule_id) }, a.rule_name);
          li.appendChild(LH.el("span", { class: "badge alert-state-" + a.state }, a.state));
          li.appendChild(document.createTextNode(" "));
          li.appendChild(link);
          if (a.group && a.group !== "*") li.appendChild(LH.el("code", null, " " + a.group));
          if (a.value !== undefined && a.value !== null) li.appendChild(LH.el("span", { class: "muted" }, " value " + a.value));
          if (a.silenced) li.appendChild(LH.el("span", { class: "badge silenced-badge" }, "silenced"));
          if (a.acked) li.appendChild(LH.el("span", { class: "badge" }, "acknowledged"));
          if (a.error) li.appendChild(LH.el("span", { class: "muted" }, " " + a.error));
          ul.appendChild(li);
        }
        list.replaceChildren(ul);
      } catch (err) {
        LH.state(list, "error", LH.errorText(err));
      }
    }
    refresh();
    setInterval(refresh, 2000);
  }

  document.addEventListener("DOMContentLoaded", () => { preview(); active(); });
})();
