// The lifecycle page: four panels over the lifecycle JSON API. Text only via textContent.
"use strict";
(function () {
  const LH = window.LH;
  const $ = (id) => document.getElementById(id);

  function msg(text, kind) {
    const m = $("lc-message");
    m.textContent = text;
    m.className = "notice notice-" + (kind || "info");
    m.hidden = false;
  }

  function errText(e) {
    return (e && e.body && e.body.error) || "request failed (" + (e && e.status) + ")";
  }

  function bytes(n) {
    if (n === null || n === undefined) return "-";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    let v = Number(n);
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return v.toFixed(i ? 1 : 0) + " " + u[i];
  }

  function age(s) {
    return s >= 86400 ? (s / 86400).toFixed(1) + " d" : (s / 3600).toFixed(1) + " h";
  }

  function when(t) {
    if (t === null || t === undefined) return "-";
    const d = new Date(t * 1000);
    return t * 1000 <= Date.now() ? "due now" : d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
  }

  function table(head, rows) {
    const t = LH.el("table", { class: "results-table" });
    const tr = LH.el("tr");
    head.forEach((h) => tr.appendChild(LH.el("th", null, h)));
    t.appendChild(LH.el("thead")).appendChild(tr);
    const body = t.appendChild(LH.el("tbody"));
    rows.forEach((r) => {
      const row = LH.el("tr");
      r.forEach((c) => {
        const td = LH.el("td");
        if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? "-" : String(c);
        row.appendChild(td);
      });
      body.appendChild(row);
    });
    return t;
  }

  async function loadIndices() {
    const node = $("lc-indices");
    try {
      const data = await LH.api("/api/v1/lifecycle");
      if (!data.indices.length) return LH.state(node, "empty", "No data streams match " + data.pattern);
      node.replaceChildren(table(
        ["Data stream", "Backing index", "Phase", "Age", "Size", "Docs", "Next action", "Due"],
        data.indices.map((r) => [r.data_stream, r.index + (r.write_index ? " (write)" : "") + (r.status === "close" ? " (closed)" : ""),
          r.phase, age(r.age_s), bytes(r.bytes), r.docs, (r.held ? "[held] " : "") + (r.next_action || "-"), when(r.due_at)])));
    } catch (e) { LH.state(node, "error", errText(e)); }
  }

  let retention = {};
  async function loadRetention() {
    const node = $("lc-retention");
    try {
      const data = await LH.api("/api/v1/retention");
      retention = data.retention_days;
      const rows = Object.keys(retention).sort().map((cls) => {
        const input = LH.el("input", { type: "number", min: 1, max: 3650, name: cls, value: retention[cls],
          id: "retention-" + cls, "aria-label": "days for " + cls });
        const dflt = data.defaults ? data.defaults[cls] : null;
        return [cls, input, dflt === null || dflt === undefined ? "-" : dflt + " d"];
      });
      node.replaceChildren(LH.el("p", { class: "muted" }, data.scope === "tenant" ? "Tenant " + data.tenant +
        " (changes apply to this tenant only)" : "Cluster-wide defaults"), table(["Class", "Days", "Default"], rows));
    } catch (e) { LH.state(node, "error", errText(e)); }
  }

  async function saveRetention(ev) {
    ev.preventDefault();
    const changed = {};
    document.querySelectorAll("#lc-retention input[type=number]").forEach((i) => {
      const v = parseInt(i.value, 10);
      if (v !== retention[i.name]) changed[i.name] = v;
    });
    const names = Object.keys(changed);
    if (!names.length) return msg("Nothing changed.", "info");
    const cluster = $("lc-retention-cluster") && $("lc-retention-cluster").checked;
    const text = names.map((c) => c + ": " + retention[c] + " → " + changed[c] + " days").join(", ");
    if (!window.confirm("Change retention" + (cluster ? " for ALL tenants" : "") + "? " + text +
      ". Shorter retention deletes older data on the next lifecycle run.")) return msg("Retention not changed.", "info");
    try {
      const body = { retention_days: changed };
      if (cluster) body.scope = "cluster";
      await LH.api("/api/v1/retention", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body) });
      msg("Retention saved: " + text, "ok");
      await loadRetention();
      await loadIndices();
    } catch (e) { msg(errText(e), "error"); }
  }

  async function loadDisk() {
    const node = $("lc-disk");
    try {
      const d = await LH.api("/api/v1/lifecycle/disk");
      const wm = d.watermarks;
      const rows = d.nodes.map((n) => [n.node, n.state, bytes(n.free) + " of " + bytes(n.total),
        n.percent + " %", bytes(n.free_required.low), bytes(n.free_required.high), bytes(n.free_required.flood_stage)]);
      const parts = [LH.el("p", { class: "muted" }, "Watermarks: low " + wm.low + ", high " + wm.high +
        ", flood stage " + wm.flood_stage + (wm.enabled ? "" : " (disabled)")),
        table(["Node", "State", "Free", "Used", "Low needs free", "High needs free", "Flood needs free"], rows)];
      if (d.blocked_indices.length) parts.push(LH.el("p", { class: "notice notice-error" },
        "Flood-stage block on " + d.blocked_indices.length + " indices: ingest is paused"));
      if (d.last_emergency) parts.push(LH.el("p", { class: "muted" }, "Last emergency retention: " +
        d.last_emergency["@timestamp"] + " " + d.last_emergency.outcome + " — " + (d.last_emergency.detail || "")));
      node.replaceChildren(...parts);
    } catch (e) { LH.state(node, "error", errText(e)); }
  }

  async function loadSnapshots() {
    const node = $("lc-snapshots");
    try {
      const d = await LH.api("/api/v1/snapshots");
      if (!d.configured) return LH.state(node, "empty", "No snapshot repository '" + d.repository + "' is registered.");
      const v = d.health.last_verify;
      const parts = [LH.el("p", { id: "lc-last-verify" }, "Last verify: " + (v ? v["@timestamp"] + " " + v.outcome +
        " in " + v.duration_s + " s (" + (v.detail || "") + ")" : "never"))];
      const rows = d.snapshots.map((s) => {
        const b = LH.el("button", { type: "button", class: "link", "data-snapshot": s.snapshot }, "Restore…");
        b.addEventListener("click", () => planRestore(s));
        return [s.snapshot, s.state, s.trigger || (s.logharbor ? "-" : "foreign"), s.start_time,
          s.data_streams.length + " streams", s.state === "SUCCESS" ? b : "-"];
      });
      parts.push(table(["Snapshot", "State", "Trigger", "Started", "Contents", ""], rows));
      node.replaceChildren(...parts);
    } catch (e) { LH.state(node, "error", errText(e)); }
  }

  async function planRestore(s) {
    const ds = window.prompt("Data streams to restore from " + s.snapshot + " (comma-separated; empty = all):",
      s.data_streams.join(","));
    if (ds === null) return;
    const body = { dry_run: true };
    const names = ds.split(",").map((x) => x.trim()).filter(Boolean);
    if (names.length) body.data_streams = names;
    const box = $("lc-restore-plan");
    try {
      const out = await LH.api("/api/v1/snapshots/" + encodeURIComponent(s.snapshot) + "/restore",
        { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const plan = out.plan;
      box.hidden = false;
      box.replaceChildren(LH.el("h3", null, "Dry run: restore from " + plan.snapshot),
        table(["From", "To"], Object.keys(plan.targets).map((k) => [k, plan.targets[k]])));
      if (plan.conflicts.length) {
        box.appendChild(LH.el("p", { class: "notice notice-error" }, "Refused: open indices in the way: " +
          plan.conflicts.join(", ")));
        return;
      }
      if (!window.confirm("Restore " + Object.keys(plan.targets).length + " names from " + plan.snapshot + "?")) return;
      body.dry_run = false;
      await LH.api("/api/v1/snapshots/" + encodeURIComponent(s.snapshot) + "/restore",
        { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      msg("Restored from " + plan.snapshot, "ok");
      await loadIndices();
    } catch (e) { msg(errText(e), "error"); }
  }

  async function verify() {
    const out = $("lc-verify-result");
    out.textContent = "verifying… (restores into scratch names, compares, cleans up)";
    try {
      const r = await LH.api("/api/v1/snapshots/verify", { method: "POST",
        headers: { "Content-Type": "application/json" }, body: "{}" });
      out.textContent = "Verify " + (r.ok ? "OK" : "FAILED") + ": " + r.snapshot + ", " + r.restored_docs +
        " docs, " + r.sampled + " hashes compared in " + r.duration_s + " s";
      await loadSnapshots();
    } catch (e) { out.textContent = errText(e); }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("lc-retention-form").addEventListener("submit", saveRetention);
    $("lc-verify").addEventListener("click", verify);
    loadIndices(); loadRetention(); loadDisk(); loadSnapshots();
  });
})();
