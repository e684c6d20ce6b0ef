"""Crash test: SIGKILL the shipper process at random moments while an application writes and
rotates its log and the gateway goes down and comes back; after every kill it restarts, and in
the end every line arrived under exactly one id (re-sends of the same id are allowed: the
pipeline drops them by id). Kills therefore also land while batches are being spooled and
resent.

50 kills by default (``SHIPPER_CRASH_KILLS`` to change); each cycle is a process start plus a
random 0.15-1.2 s of life, so the test takes about a minute.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.shipper_support.harness import LineWriter, ShipperProcess, check_exactly_once, fast_config, file_source
from tests.shipper_support.recording_gateway import RecordingGateway

KILLS = int(os.environ.get("SHIPPER_CRASH_KILLS", "50"))


def test_sigkill_at_random_moments_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("SHIPPER_CRASH_SEED", "0")) or None)
    gw = RecordingGateway().start()
    logs = tmp_path / "logs"
    logs.mkdir()
    app = logs / "app.log"
    app.touch()
    w = LineWriter()
    stop = threading.Event()

    def application() -> None:
        """~2,000 lines/s, rename rotation every 2 s (rotated names stay in the glob)."""
        f = open(app, "a")
        rotated_at = time.monotonic()
        n = 0
        while not stop.is_set():
            for _ in range(20):
                f.write(w.line() + "\n")
            f.flush()
            time.sleep(0.01)
            if time.monotonic() - rotated_at > 2:
                n += 1
                app.rename(logs / f"app.log.{n}")
                f.write(w.line() + "\n")  # a late line into the rotated file
                f.close()
                f = open(app, "a")
                rotated_at = time.monotonic()
        f.close()

    cfg = fast_config(
        tmp_path / "data",
        gw,
        [file_source(str(logs / "app.log*"), rotate_wait_s=1.0)],
        batch={"max_events": 200, "max_wait_s": 0.05},
    )
    proc = ShipperProcess(cfg, tmp_path, light_entry=True)
    writer = threading.Thread(target=application)
    writer.start()
    kill_moments = []
    spool_seen = 0
    try:
        for i in range(KILLS):
            if i % 10 == 3:
                gw.down()  # outage for the next few lives: retries, spooling, resends
            elif i % 10 == 7:
                gw.up()
            proc.start(wait_ready=False)
            life = rng.uniform(0.15, 1.2)
            time.sleep(life)
            kill_moments.append(round(life, 2))
            proc.kill()
            spool_seen = max(spool_seen, len(list((tmp_path / "data" / "spool").glob("*.gz"))))
        stop.set()
        writer.join()
        gw.up()
        proc.start()
        want = set(w.written)
        arrived = gw.wait_for(lambda g: g.count >= len(want) and want <= set(g.raws()), 60)
        code = proc.terminate()
        report = check_exactly_once(gw, w.written)
        assert arrived and report["ok"], {k: (v[:5] if isinstance(v, list) else v) for k, v in report.items()}
        assert code == 0
        assert len(w.written) > 10_000
        assert any(r.status == 202 for r in gw.requests)
        assert spool_seen > 0, "the outages never made the shipper spool; the test proved less than it claims"
        assert not list((tmp_path / "data" / "spool").glob("*.gz")), "spool must be empty at the end"
        print(f"{KILLS} kills, {len(w.written)} lines, {report['resent_same_id']} re-sent under the same id")
    finally:
        stop.set()
        if proc.proc and proc.proc.poll() is None:
            proc.kill()
        gw.stop()
