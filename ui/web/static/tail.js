// Live tail over the WebSocket /api/v1/stream (the session cookie authenticates it).
"use strict";
(function () {
  const LH = window.LH;
  const MAX_ROWS = 2000;

  document.addEventListener("DOMContentLoaded", () => {
    const box = document.getElementById("tail");
    if (!box) return;
    const body = document.getElementById("tail-body"), empty = document.getElementById("tail-empty");
    const status = document.getElementById("tail-status"), count = document.getElementById("tail-count");
    const droppedBox = document.getElementById("tail-dropped"), follow = document.getElementById("tail-follow");
    const pauseBtn = document.getElementById("tail-pause");
    let ws = null, paused = false, autoScroll = true, received = 0, dropped = 0, retry = 1000, closedByUs = false;

    function setStatus(kind, text) { status.className = "status status-" + kind; status.textContent = text; }
    function atBottom() { return box.scrollTop + box.clientHeight >= box.scrollHeight - 24; }
    box.addEventListener("scroll", () => {
      autoScroll = atBottom();
      follow.textContent = autoScroll ? "auto-scroll on" : "auto-scroll paused (scroll to bottom to resume)";
    });

    // Rows are queued and rendered once per animation frame: a burst of a thousand events costs
    // one layout, not a thousand (reading scrollHeight after each append would force one each).
    let queue = [], scheduled = false;
    function flush() {
      scheduled = false;
      if (!queue.length) return;
      const frag = document.createDocumentFragment();
      for (const r of queue) frag.appendChild(LH.resultRow(r, "new"));
      queue = [];
      empty.hidden = true;
      body.appendChild(frag);
      let extra = body.children.length - MAX_ROWS;
      while (extra-- > 0) body.removeChild(body.firstChild);
      count.textContent = received + " events";
      if (autoScroll) box.scrollTop = box.scrollHeight;
    }
    function add(r) {
      received += 1;
      queue.push(r);
      if (queue.length > MAX_ROWS) queue.shift(); // hidden tabs get no frames: keep memory bounded
      if (!scheduled) { scheduled = true; requestAnimationFrame(flush); }
    }

    function connect() {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      ws = new WebSocket(proto + "//" + location.host + "/api/v1/stream?" + box.dataset.params);
      setStatus("wait", "connecting…");
      ws.onmessage = (ev) => {
        let msg;
        try { msg = JSON.parse(ev.data); } catch (e) { return; }
        if (msg.type === "ready") { setStatus("ok", paused ? "paused" : "live"); retry = 1000; if (paused) ws.send(JSON.stringify({ type: "pause" })); }
        else if (msg.type === "log") add(msg.data || {});
        else if (msg.type === "dropped") {
          dropped += Number(msg.count) || 0;
          droppedBox.hidden = false;
          droppedBox.textContent = dropped + " dropped (the browser fell behind or was paused too long)";
        } else if (msg.type === "error") setStatus("error", String(msg.error || "error"));
      };
      ws.onclose = (ev) => {
        if (closedByUs) return;
        setStatus("error", "disconnected" + (ev.reason ? ": " + ev.reason : "") + " — retrying");
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 30000);
      };
      ws.onerror = () => setStatus("error", "live tail unavailable — retrying");
    }

    pauseBtn.addEventListener("click", () => {
      paused = !paused;
      pauseBtn.textContent = paused ? "Resume" : "Pause";
      if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: paused ? "pause" : "resume" }));
      setStatus(paused ? "wait" : "ok", paused ? "paused" : "live");
    });
    document.getElementById("tail-clear").addEventListener("click", () => {
      queue = []; body.replaceChildren(); received = 0; count.textContent = "0 events"; empty.hidden = false;
    });
    window.addEventListener("beforeunload", () => { closedByUs = true; if (ws) ws.close(); });
    connect();
  });
})();
