// Hand-written SVG charts. Every label and tooltip is set with textContent, so a service name or
// error message from a log event can never become markup. Colours come from CSS classes.
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const TIME = "@timestamp";
  const C = {};

  function svgEl(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    if (attrs) for (const k of Object.keys(attrs)) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function tip(node, text) { node.appendChild(svgEl("title", null, text)); return node; }
  function svgRoot(container, w, h, label) {
    const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, width: "100%", height: h, role: "img",
      preserveAspectRatio: "none", class: "chart-svg" });
    if (label) svg.setAttribute("aria-label", label);
    container.replaceChildren(svg);
    return svg;
  }
  function fmtNum(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(0) + "k";
    if (Math.abs(v) >= 100 || Number.isInteger(v)) return String(Math.round(v));
    return v.toFixed(2);
  }
  C.fmtNum = fmtNum;
  function fmtTime(ms, span) {
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, "0");
    const hm = p(d.getHours()) + ":" + p(d.getMinutes());
    return span > 36 * 3600e3 ? (d.getMonth() + 1) + "/" + d.getDate() + " " + hm : hm;
  }
  const LEVEL_ORDER = ["FATAL", "ERROR", "WARN", "INFO", "DEBUG"];
  /** CSS class of a series: levels have fixed colours, other series cycle through a palette. */
  function seriesClass(name, i) {
    const l = String(name).toUpperCase();
    return LEVEL_ORDER.includes(l) ? "fill-" + l.toLowerCase() : "s" + (i % 8);
  }

  /** Aggregate rows → {times, groups, values[group] aligned on times}. */
  C.pivot = function (rows) {
    const times = new Set();
    const groups = new Map();
    for (const r of rows) {
      const key = r.key || {};
      const t = Date.parse(key[TIME]);
      const gk = Object.keys(key).find((k) => k !== TIME);
      const g = gk === undefined ? "events" : String(key[gk]);
      times.add(t);
      if (!groups.has(g)) groups.set(g, new Map());
      groups.get(g).set(t, typeof r.value === "number" ? r.value : r.count);
    }
    const ts = Array.from(times).sort((a, b) => a - b);
    let names = Array.from(groups.keys());
    names.sort((a, b) => {
      const ia = LEVEL_ORDER.indexOf(a.toUpperCase()), ib = LEVEL_ORDER.indexOf(b.toUpperCase());
      if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
      return a < b ? -1 : 1;
    });
    const values = {};
    for (const n of names) values[n] = ts.map((t) => groups.get(n).get(t) || 0);
    return { times: ts, groups: names, values };
  };

  function legend(container, names) {
    const ul = document.createElement("ul");
    ul.className = "legend";
    names.forEach((n, i) => {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = "swatch " + seriesClass(n, i);
      li.appendChild(sw);
      li.appendChild(document.createTextNode(n));
      ul.appendChild(li);
    });
    container.appendChild(ul);
  }

  /** Stacked bars over time; drag across to select a range (opts.onSelect(fromMs, toMs)). */
  C.stacked = function (container, data, opts) {
    opts = opts || {};
    const w = Math.max(300, container.clientWidth || 800), h = opts.height || 150;
    const pad = { l: 44, r: 8, t: 8, b: 20 };
    const n = data.times.length;
    const svg = svgRoot(container, w, h, opts.label || "stacked bars");
    const totals = data.times.map((_, i) => data.groups.reduce((s, g) => s + data.values[g][i], 0));
    const max = Math.max(1e-9, ...totals);
    const step = n > 1 ? data.times[1] - data.times[0] : 60000;
    const t0 = data.times[0], t1 = data.times[n - 1] + step;
    const x = (t) => pad.l + ((t - t0) / (t1 - t0)) * (w - pad.l - pad.r);
    const y = (v) => h - pad.b - (v / max) * (h - pad.t - pad.b);
    svg.appendChild(svgEl("line", { x1: pad.l, y1: h - pad.b, x2: w - pad.r, y2: h - pad.b, class: "axis" }));
    svg.appendChild(svgEl("text", { x: pad.l - 4, y: pad.t + 8, class: "tick", "text-anchor": "end" }, fmtNum(max)));
    svg.appendChild(svgEl("text", { x: pad.l - 4, y: h - pad.b, class: "tick", "text-anchor": "end" }, "0"));
    const bw = Math.max(1, (w - pad.l - pad.r) / Math.max(n, 1) - 1);
    data.times.forEach((t, i) => {
      let acc = 0;
      data.groups.forEach((g, gi) => {
        const v = data.values[g][i];
        if (!v) return;
        const r = svgEl("rect", { x: x(t), y: y(acc + v), width: bw, height: Math.max(0.5, y(acc) - y(acc + v)),
          class: seriesClass(g, gi) });
        tip(r, `${new Date(t).toISOString()} · ${g}: ${fmtNum(v)}`);
        svg.appendChild(r);
        acc += v;
      });
    });
    const ticks = Math.min(6, n);
    for (let k = 0; k < ticks; k++) {
      const t = t0 + ((t1 - t0) * k) / ticks;
      svg.appendChild(svgEl("text", { x: x(t), y: h - 5, class: "tick" }, fmtTime(t, t1 - t0)));
    }
    if (opts.onSelect) {
      const sel = svgEl("rect", { x: 0, y: pad.t, width: 0, height: h - pad.t - pad.b, class: "selection" });
      svg.appendChild(sel);
      let start = null;
      const toX = (ev) => {
        const b = svg.getBoundingClientRect();
        return ((ev.clientX - b.left) / b.width) * w;
      };
      const toT = (px) => t0 + ((Math.min(Math.max(px, pad.l), w - pad.r) - pad.l) / (w - pad.l - pad.r)) * (t1 - t0);
      svg.addEventListener("mousedown", (ev) => { start = toX(ev); sel.setAttribute("width", 0); ev.preventDefault(); });
      svg.addEventListener("mousemove", (ev) => {
        if (start === null) return;
        const cur = toX(ev);
        sel.setAttribute("x", Math.min(start, cur));
        sel.setAttribute("width", Math.abs(cur - start));
      });
      window.addEventListener("mouseup", (ev) => {
        if (start === null) return;
        const end = toX(ev);
        const a = Math.min(start, end), b = Math.max(start, end);
        start = null;
        if (b - a < 4) { sel.setAttribute("width", 0); return; }
        opts.onSelect(Math.floor(toT(a)), Math.ceil(toT(b)));
      });
    }
    if (data.groups.length > 1 || opts.legend) legend(container, data.groups);
  };

  /** One line per group over time. */
  C.line = function (container, data, opts) {
    opts = opts || {};
    const w = Math.max(300, container.clientWidth || 600), h = opts.height || 170;
    const pad = { l: 44, r: 8, t: 8, b: 20 };
    const svg = svgRoot(container, w, h, opts.label || "line chart");
    const n = data.times.length;
    let max = 0;
    for (const g of data.groups) for (const v of data.values[g]) max = Math.max(max, v);
    max = max || 1;
    const t0 = data.times[0], t1 = data.times[n - 1] === t0 ? t0 + 1 : data.times[n - 1];
    const x = (t) => pad.l + ((t - t0) / (t1 - t0)) * (w - pad.l - pad.r);
    const y = (v) => h - pad.b - (v / max) * (h - pad.t - pad.b);
    svg.appendChild(svgEl("line", { x1: pad.l, y1: h - pad.b, x2: w - pad.r, y2: h - pad.b, class: "axis" }));
    svg.appendChild(svgEl("text", { x: pad.l - 4, y: pad.t + 8, class: "tick", "text-anchor": "end" }, fmtNum(max)));
    data.groups.forEach((g, gi) => {
      const pts = data.times.map((t, i) => `${x(t).toFixed(1)},${y(data.values[g][i]).toFixed(1)}`).join(" ");
      const pl = svgEl("polyline", { points: pts, class: "line stroke-" + seriesClass(g, gi) });
      tip(pl, g);
      svg.appendChild(pl);
    });
    const nt = w > 700 ? 4 : 2; // long date labels need room
    for (let k = 0; k <= nt; k++) {
      const t = t0 + ((t1 - t0) * k) / nt;
      const anchor = k === 0 ? "start" : k === nt ? "end" : "middle";
      svg.appendChild(svgEl("text", { x: x(t), y: h - 5, class: "tick", "text-anchor": anchor }, fmtTime(t, t1 - t0)));
    }
    if (data.groups.length > 1 || opts.legend) legend(container, data.groups);
  };

  /** Horizontal top-N bars: items [{label, value, sub}] (labels in HTML, so long text wraps). */
  C.hbars = function (container, items, fmt) {
    fmt = fmt || fmtNum;
    const max = Math.max(1e-9, ...items.map((i) => i.value || 0));
    const ol = document.createElement("ol");
    ol.className = "hbars";
    for (const it of items) {
      const li = document.createElement("li");
      const label = document.createElement("span");
      label.className = "hb-label";
      label.textContent = it.label;
      label.title = it.label;
      const track = document.createElement("span");
      track.className = "hb-track";
      const bar = document.createElement("span");
      bar.className = "hb-bar";
      bar.style.width = Math.max(0.5, (100 * (it.value || 0)) / max) + "%"; // CSSOM, allowed by the CSP
      track.appendChild(bar);
      const val = document.createElement("span");
      val.className = "hb-value";
      val.textContent = fmt(it.value) + (it.sub ? " " + it.sub : "");
      li.append(label, track, val);
      ol.appendChild(li);
    }
    container.replaceChildren(ol);
  };

  /** Donut of shares: items [{label, value}]. */
  C.donut = function (container, items) {
    const size = 160, r = 60, cx = 80, cy = 80, sw = 26;
    const wrap = document.createElement("div");
    wrap.className = "donut-wrap";
    const svg = svgEl("svg", { viewBox: `0 0 ${size} ${size}`, width: size, height: size, role: "img", class: "donut" });
    const total = items.reduce((s, i) => s + i.value, 0) || 1;
    let a = -Math.PI / 2;
    items.forEach((it, i) => {
      const frac = it.value / total;
      const b = a + frac * 2 * Math.PI;
      let node;
      if (frac >= 0.9999) {
        node = svgEl("circle", { cx, cy, r, class: "arc stroke-" + seriesClass(it.label, i), "stroke-width": sw, fill: "none" });
      } else {
        const large = b - a > Math.PI ? 1 : 0;
        const d = `M ${cx + r * Math.cos(a)} ${cy + r * Math.sin(a)} A ${r} ${r} 0 ${large} 1 ${cx + r * Math.cos(b)} ${cy + r * Math.sin(b)}`;
        node = svgEl("path", { d, class: "arc stroke-" + seriesClass(it.label, i), "stroke-width": sw, fill: "none" });
      }
      tip(node, `${it.label}: ${it.value} (${(100 * frac).toFixed(1)}%)`);
      svg.appendChild(node);
      a = b;
    });
    svg.appendChild(svgEl("text", { x: cx, y: cy + 5, class: "donut-total", "text-anchor": "middle" }, fmtNum(total)));
    wrap.appendChild(svg);
    const ul = document.createElement("ul");
    ul.className = "legend vertical";
    items.forEach((it, i) => {
      const li = document.createElement("li");
      const sw2 = document.createElement("span");
      sw2.className = "swatch " + seriesClass(it.label, i);
      li.append(sw2, document.createTextNode(`${it.label} — ${it.value} (${(100 * it.value / total).toFixed(1)}%)`));
      ul.appendChild(li);
    });
    wrap.appendChild(ul);
    container.replaceChildren(wrap);
  };

  /** Hour-of-week heatmap from hourly rows (local time): 7 rows × 24 columns. */
  C.heatmap = function (container, rows) {
    const grid = Array.from({ length: 7 }, () => new Array(24).fill(0));
    for (const r of rows) {
      const d = new Date(Date.parse((r.key || {})[TIME]));
      grid[(d.getDay() + 6) % 7][d.getHours()] += r.count || 0;
    }
    // Quantile colour scale: one busy hour must not flatten the weekly pattern into one colour.
    const sorted = grid.flat().filter((v) => v > 0).sort((a, b) => a - b);
    const rank = (v) => { let lo = 0, hi = sorted.length - 1; while (lo < hi) { const m = (lo + hi) >> 1; if (sorted[m] < v) lo = m + 1; else hi = m; } return lo; };
    const cell = 22, padL = 36, padT = 16;
    const w = padL + 24 * cell, h = padT + 7 * cell;
    const svg = svgRoot(container, w, h, "events by hour of week");
    svg.setAttribute("preserveAspectRatio", "xMinYMin meet");
    svg.setAttribute("class", "chart-svg heatmap");
    svg.setAttribute("width", w); // natural size: cells stay square and readable on wide screens
    svg.setAttribute("height", h);
    const days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    for (let hr = 0; hr < 24; hr += 3) svg.appendChild(svgEl("text", { x: padL + hr * cell + 2, y: 11, class: "tick" }, hr + "h"));
    days.forEach((day, di) => {
      svg.appendChild(svgEl("text", { x: 2, y: padT + di * cell + 15, class: "tick" }, day));
      for (let hr = 0; hr < 24; hr++) {
        const v = grid[di][hr];
        const level = v === 0 ? 0 : 1 + Math.min(4, Math.floor((rank(v) / Math.max(1, sorted.length)) * 5));
        const rect = svgEl("rect", { x: padL + hr * cell, y: padT + di * cell, width: cell - 2, height: cell - 2, rx: 3, class: "heat heat-" + level });
        tip(rect, `${day} ${hr}:00 — ${v} events`);
        svg.appendChild(rect);
      }
    });
  };

  /** Semicircle gauge for a ratio 0..1 (null = no data). */
  C.gauge = function (container, ratio, label) {
    const w = 200, h = 120, cx = 100, cy = 100, r = 80;
    const svg = svgRoot(container, w, h, label || "gauge");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    svg.setAttribute("class", "chart-svg gauge");
    const arc = (from, to) => {
      const a = Math.PI * (1 + from), b = Math.PI * (1 + to);
      return `M ${cx + r * Math.cos(a)} ${cy + r * Math.sin(a)} A ${r} ${r} 0 0 1 ${cx + r * Math.cos(b)} ${cy + r * Math.sin(b)}`;
    };
    svg.appendChild(svgEl("path", { d: arc(0, 1), class: "gauge-track", fill: "none", "stroke-width": 16 }));
    if (ratio !== null && ratio !== undefined) {
      const v = Math.max(0, Math.min(1, ratio * 10)); // full scale = 10 % errors
      const cls = ratio >= 0.05 ? "gauge-bad" : ratio >= 0.01 ? "gauge-warn" : "gauge-ok";
      if (v > 0) svg.appendChild(svgEl("path", { d: arc(0, Math.max(0.005, v)), class: "gauge-value " + cls, fill: "none", "stroke-width": 16 }));
    }
    svg.appendChild(svgEl("text", { x: cx, y: cy - 8, class: "gauge-text", "text-anchor": "middle" },
      ratio === null || ratio === undefined ? "no data" : (ratio * 100).toFixed(2) + " %"));
    svg.appendChild(svgEl("text", { x: 20, y: h - 4, class: "tick", "text-anchor": "middle" }, "0"));
    svg.appendChild(svgEl("text", { x: 180, y: h - 4, class: "tick", "text-anchor": "middle" }, "10 %"));
  };

  window.LHCharts = C;
})();
