// Shared helpers. Rule for every script here: data from the server or from events is put into
// the page with textContent / setAttribute on elements we create, never with innerHTML.
"use strict";
(function () {
  const LH = {};

  /** Create an element; `text` is set with textContent, attrs with setAttribute. */
  LH.el = function (tag, attrs, text) {
    const e = document.createElement(tag);
    if (attrs) for (const k of Object.keys(attrs)) {
      if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, String(attrs[k]));
    }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };

  /** Replace the children of `node` with a loading/empty/error state line. */
  LH.state = function (node, kind, text) {
    node.replaceChildren(LH.el("p", { class: "state state-" + kind }, text));
  };

  LH.csrf = function () {
    const m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  };

  /** fetch + JSON; rejects with {status, body} so callers can show the API's error message. */
  LH.api = async function (url, opts) {
    opts = opts || {};
    const headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    if (opts.method && opts.method !== "GET") headers["X-CSRF-Token"] = LH.csrf();
    let resp;
    try {
      resp = await fetch(url, Object.assign({}, opts, { headers, credentials: "same-origin" }));
    } catch (e) {
      throw { status: 0, body: { error: "network error: the ui server is unreachable" } };
    }
    let body = null;
    try { body = await resp.json(); } catch (e) { body = { error: "bad response (" + resp.status + ")" }; }
    if (!resp.ok) throw { status: resp.status, body };
    return body;
  };

  LH.errorText = function (err) {
    if (err && err.body && err.body.error) return String(err.body.error);
    return "request failed";
  };

  /** A value as the query syntax reads it literally (the twin of ui.web.views.quote_value). */
  LH.quote = function (v) {
    const s = String(v);
    if (/^[A-Za-z0-9_.\-@/]+$/.test(s) && !["AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL"].includes(s.toUpperCase())) return s;
    return '"' + s.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
  };

  const LEVELS = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
  /** A CSS class from a fixed list, whatever the event says its level is. */
  LH.levelClass = function (level) {
    const l = String(level || "").toUpperCase();
    return LEVELS.includes(l) ? "lvl-" + l.toLowerCase() : "lvl-unknown";
  };

  LH.copy = async function (text, button) {
    try {
      await navigator.clipboard.writeText(text);
      if (button) { const old = button.textContent; button.textContent = "Copied"; setTimeout(() => { button.textContent = old; }, 1200); }
    } catch (e) {
      if (button) button.textContent = "Copy failed";
    }
  };

  /** A result row (search table, live tail, context lists) built from an API result. */
  LH.resultRow = function (r, extraClass) {
    const tr = LH.el("tr", { class: "row " + LH.levelClass(r.level) + (extraClass ? " " + extraClass : "") });
    const href = "/event/" + encodeURIComponent(String(r.id || ""));
    tr.dataset.href = href;
    tr.appendChild(LH.el("td", { class: "ts" }, r.timestamp || ""));
    const lv = LH.el("td");
    lv.appendChild(LH.el("span", { class: "lvl " + LH.levelClass(r.level) }, r.level || ""));
    tr.appendChild(lv);
    tr.appendChild(LH.el("td", { class: "src" }, r.source || ""));
    const msg = LH.el("td", { class: "msg" });
    const text = r.message === null || r.message === undefined ? "" : String(r.message);
    const nl = text.indexOf("\n"); // one line per row: a stack trace stays for the event page
    const first = nl >= 0 ? text.slice(0, nl) : text;
    msg.appendChild(LH.el("a", { href, class: "row-link" },
      first.length > 400 ? first.slice(0, 400) + "…" : first + (nl >= 0 ? " …" : "")));
    tr.appendChild(msg);
    return tr;
  };

  window.LH = LH;

  document.addEventListener("DOMContentLoaded", function () {
    const toggle = document.getElementById("theme-toggle");
    if (toggle) toggle.addEventListener("click", function () {
      const root = document.documentElement;
      const dark = root.dataset.theme ? root.dataset.theme === "dark"
        : window.matchMedia("(prefers-color-scheme: dark)").matches;
      root.dataset.theme = dark ? "light" : "dark";
      try { localStorage.setItem("lh-theme", root.dataset.theme); } catch (e) { /* ignore */ }
    });
    document.querySelectorAll("form.confirm").forEach(function (f) {
      f.addEventListener("submit", function (ev) {
        if (!window.confirm(f.dataset.confirm || "Are you sure?")) ev.preventDefault();
      });
    });
    document.querySelectorAll("[data-copy-target]").forEach(function (b) {
      b.addEventListener("click", function () {
        const t = document.getElementById(b.dataset.copyTarget);
        if (t) LH.copy(t.textContent, b);
      });
    });
    const share = document.getElementById("copy-share");
    if (share) share.addEventListener("click", function () {
      LH.copy(new URL(share.dataset.link, location.href).href, share);
    });
    // Clicking anywhere on a result row opens the event (the message cell is the real link).
    document.addEventListener("click", function (ev) {
      const tr = ev.target.closest && ev.target.closest("tr[data-href]");
      if (!tr || ev.target.closest("a, button, input")) return;
      if (window.getSelection && String(window.getSelection())) return; // selecting text, not clicking
      location.href = tr.dataset.href;
    });
    // Leave empty fields out of the URL, so shared links stay short and readable.
    const qf = document.getElementById("query-form");
    if (qf) {
      qf.addEventListener("submit", function () {
        qf.querySelectorAll("input[name], select[name]").forEach(function (i) { if (!i.value) i.disabled = true; });
      });
      window.addEventListener("pageshow", function () {
        qf.querySelectorAll("[disabled]").forEach(function (i) { i.disabled = false; });
      });
    }
    // "/" focuses the query bar from anywhere but a text field.
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "/" && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) {
        const q = document.getElementById("q");
        if (q) { ev.preventDefault(); q.focus(); q.select(); }
      }
    });
  });
})();
