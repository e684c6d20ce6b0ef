"""Running a real shipper in tests: fast-timing configs, in-process and subprocess runners, checkers.

The shipper under test is the production code path: ``Shipper.run`` in a thread with its own
event loop, or ``python -m ops.cli shipper --config ...`` as a child process (for SIGTERM and
SIGKILL tests). Timings are shrunk through the config, never by patching code.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from shipper.agent import Shipper
from shipper.config import ShipperConfig, parse_config
from tests.shipper_support.recording_gateway import RecordingGateway

REPO = Path(__file__).resolve().parents[2]


def fast_config(data_dir: Path, gateway: RecordingGateway | str | list[str], sources: list[dict[str, Any]],
                **overrides: Any) -> dict[str, Any]:
    """A config dict with test-speed timings (still the same code paths)."""
    urls = [gateway.url] if isinstance(gateway, RecordingGateway) else (
        [gateway] if isinstance(gateway, str) else gateway)
    cfg: dict[str, Any] = {
        "gateway": {"urls": urls, "api_key": "test-key", "timeout_s": 2, "probe_interval_s": 0.2},
        "data_dir": str(data_dir),
        "sources": sources,
        "batch": {"max_events": 100, "max_wait_s": 0.05},
        "retry": {"delays_s": [0.05, 0.1], "jitter": 0.1},
        "spool": {"resend_interval_s": 0.5},
        "checkpoint_interval_s": 0.05,
        "status_interval_s": 0.2,
        "shutdown_timeout_s": 5,
        "log_level": "WARNING",
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg


def file_source(*paths: str, **extra: Any) -> dict[str, Any]:
    src = {"type": "file", "paths": list(paths), "rotate_wait_s": 0.3, "poll_interval_s": 0.05,
           "rescan_interval_s": 0.2, "multiline": False}
    src.update(extra)
    return src


def _listening(src: Any) -> bool:
    """Network sources have bound their ports (tests read the ports from them)."""
    if hasattr(src, "udp_bound"):
        return (src.cfg.udp is None or src.udp_bound is not None) and (src.cfg.tcp is None or src.tcp_bound is not None)
    if hasattr(src, "bound"):
        return src.bound is not None
    return True


class InProcessShipper:
    """``Shipper.run`` on its own loop in a thread."""

    def __init__(self, cfg: dict[str, Any] | ShipperConfig) -> None:
        self.cfg = cfg if isinstance(cfg, ShipperConfig) else parse_config(cfg)
        self.shipper: Shipper | None = None
        self.exit_code: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True, name="shipper-under-test")

    def _main(self) -> None:
        async def go() -> int:
            self._loop = asyncio.get_running_loop()
            self.shipper = Shipper(self.cfg)
            self._ready.set()
            return await self.shipper.run()

        self.exit_code = asyncio.run(go())

    def start(self) -> InProcessShipper:
        self._thread.start()
        self._ready.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(_listening(src) for src in self.shipper.sources):  # type: ignore[union-attr]
            time.sleep(0.02)
        time.sleep(0.15)  # let file sources scan
        return self

    def stop(self, timeout: float = 15) -> int | None:
        if self._loop is not None and self.shipper is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self.shipper.request_stop)
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "shipper did not stop"
        return self.exit_code

    def source(self, name: str) -> Any:
        assert self.shipper is not None
        return next(s for s in self.shipper.sources if s.name == name)

    def metric(self, name: str) -> float:
        assert self.shipper is not None
        return self.shipper.metrics.get(name)


class ShipperProcess:
    """The real CLI in a child process."""

    def __init__(self, cfg: dict[str, Any], workdir: Path, light_entry: bool = False) -> None:
        # light_entry: ``python -m shipper`` (faster start) instead of ``python -m ops.cli shipper``
        self.argv = ["-m", "shipper"] if light_entry else ["-m", "ops.cli", "shipper"]
        self.config_path = workdir / "shipper.yaml"
        self.config_path.write_text(yaml.safe_dump(cfg))
        self.log_path = workdir / "shipper.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, stdin: Any = None, wait_ready: bool = True) -> ShipperProcess:
        log = open(self.log_path, "ab")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, *self.argv, "--config", str(self.config_path)],
                                     stdout=log, stderr=log, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                     cwd=REPO, env=env)
        log.close()
        if wait_ready:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        """Until the child wrote its status file (signal handlers are installed by then)."""
        assert self.proc is not None
        status = Path(yaml.safe_load(self.config_path.read_text())["data_dir"]) / "status.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if json.loads(status.read_text()).get("pid") == self.proc.pid:
                    return
            except (OSError, ValueError):
                pass
            if self.proc.poll() is not None:
                raise AssertionError(f"shipper exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        raise AssertionError("shipper did not become ready")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 20) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


class LineWriter:
    """Appends numbered, unique lines to files and remembers every line written."""

    def __init__(self, prefix: str = "line") -> None:
        self.prefix = prefix
        self.n = 0
        self.written: list[str] = []

    def line(self) -> str:
        self.n += 1
        text = f"{self.prefix}-{self.n:07d} payload {'x' * (self.n % 37)}"
        self.written.append(text)
        return text

    def write(self, path: Path | str, count: int, flush_each: bool = False) -> None:
        with open(path, "a") as f:
            for _ in range(count):
                f.write(self.line() + "\n")
                if flush_each:
                    f.flush()


def check_exactly_once(gw: RecordingGateway, expected: list[str]) -> dict[str, Any]:
    """Every expected line arrived under exactly one event id and nothing else arrived.

    Re-sends of the same id are allowed (at-least-once transport); the pipeline drops them by id,
    so what counts is one id per line. Returns a report for assertions and messages.
    """
    by_id: dict[str, str] = {}
    for event in list(gw.events):
        by_id.setdefault(event["id"], event["raw"])
    ids_per_line = collections.Counter(by_id.values())
    want = collections.Counter(expected)
    missing = [line for line in want if line not in ids_per_line]
    doubled = [line for line, n in ids_per_line.items() if n > want.get(line, 0) and line in want]
    unexpected = [line for line in ids_per_line if line not in want]
    return {"missing": missing, "doubled": doubled, "unexpected": unexpected,
            "resent_same_id": len(gw.events) - len(by_id), "ok": not (missing or doubled or unexpected)}


def wait_all(gw: RecordingGateway, expected: list[str], timeout: float = 15) -> dict[str, Any]:
    """Wait until every expected line arrived (or time out), then check."""
    want = set(expected)
    # Cheap count test first: building the set under the gateway's lock on every poll would
    # starve the gateway thread when tens of thousands of lines are expected.
    gw.wait_for(lambda g: g.count >= len(want) and want <= set(g.raws()), timeout)
    return check_exactly_once(gw, expected)
