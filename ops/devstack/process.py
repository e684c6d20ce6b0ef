"""Background JVM processes: start detached, remember the pid, stop exactly what we started."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from logharbor.config import ConfigError


@dataclass
class ProcessRecord:
    """What ``up`` started, persisted so ``down`` and ``status`` find it again."""

    name: str
    pid: int
    create_time: float
    ports: list[int]
    log: str
    info: dict

    def alive(self) -> bool:
        try:
            proc = psutil.Process(self.pid)
            # the create time guards against a recycled pid belonging to someone else
            return abs(proc.create_time() - self.create_time) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False


def state_file(data_dir: Path, name: str) -> Path:
    return data_dir / f"{name}.state.json"


def load_record(data_dir: Path, name: str) -> ProcessRecord | None:
    path = state_file(data_dir, name)
    if not path.exists():
        return None
    try:
        return ProcessRecord(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None


def save_record(data_dir: Path, record: ProcessRecord) -> None:
    path = state_file(data_dir, record.name)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record), indent=2))
    tmp.replace(path)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def port_owner(port: int) -> str:
    """A short description of who listens on ``port`` (best effort, for error messages)."""
    with contextlib.suppress(psutil.AccessDenied, OSError):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                with contextlib.suppress(psutil.Error):
                    p = psutil.Process(conn.pid)
                    return f"pid {conn.pid} ({p.name()})"
    return "another process"


def ensure_free(ports: list[int], settings_hint: str) -> None:
    """Refuse to start on a port someone else holds, naming the holder and the setting to change."""
    for p in ports:
        if port_in_use(p):
            raise ConfigError(
                f"port {p} is in use by {port_owner(p)}: stop it, or choose other ports with {settings_hint}"
            )


def record_of(name: str, proc: subprocess.Popen, ports: list[int], log_path: Path, info: dict) -> ProcessRecord:
    """The record ``down`` and ``status`` need to find this process again."""
    return ProcessRecord(name=name, pid=proc.pid, create_time=psutil.Process(proc.pid).create_time(),
                         ports=ports, log=str(log_path), info=info)


def spawn(cmd: list[str], log_path: Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``cmd`` in its own session so it outlives the CLI and can be stopped as a group."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")  # handed to the child
    try:
        return subprocess.Popen(
            cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, **(env or {})},
        )
    finally:
        log.close()


def stop(record: ProcessRecord, timeout_s: float = 60.0) -> bool:
    """SIGTERM the process group, wait, then SIGKILL; True if something was stopped."""
    if not record.alive():
        return False
    try:
        pgid = os.getpgid(record.pid)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and record.alive():
        time.sleep(0.2)
    if record.alive():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and record.alive():
            time.sleep(0.1)
    # reap if it is our child (tests call this in-process)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(record.pid, os.WNOHANG)
    return True


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no log yet)"
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 64_000))
        return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])
