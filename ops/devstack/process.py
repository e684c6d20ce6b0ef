"""Background JVM processes: start detached, remember the pid, stop exactly what we started."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
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
    # further processes of the same component (``--nodes N``: one JVM per OpenSearch node);
    # each a dict of this record's fields without ``members``. ``down`` stops every one.
    members: list[dict] = field(default_factory=list)

    def processes(self) -> list[ProcessRecord]:
        """This process and each member, as single-process records."""
        own = ProcessRecord(self.name, self.pid, self.create_time, self.ports, self.log, self.info)
        return [own, *(ProcessRecord(**{**m, "members": []}) for m in self.members)]

    def dead(self) -> list[ProcessRecord]:
        """The processes of this record that are no longer running."""
        return [p for p in self.processes() if not p._alive()]

    def alive(self) -> bool:
        """True while any of its processes runs (so ``down`` still has something to stop)."""
        return any(p._alive() for p in self.processes())

    def _alive(self) -> bool:
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


def _signal_groups(procs: list[ProcessRecord], sig: int) -> None:
    for p in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(os.getpgid(p.pid), sig)


def stop(record: ProcessRecord, timeout_s: float = 60.0) -> bool:
    """SIGTERM every process group of the record at once, wait, then SIGKILL; True if something was stopped."""
    procs = [p for p in record.processes() if p._alive()]
    if not procs:
        return False
    _signal_groups(procs, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(p._alive() for p in procs):
        time.sleep(0.2)
    left = [p for p in procs if p._alive()]
    if left:
        _signal_groups(left, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(p._alive() for p in left):
            time.sleep(0.1)
    # reap if they are our children (tests call this in-process)
    for p in record.processes():
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(p.pid, os.WNOHANG)
    return True


def respawn_dead(record: ProcessRecord, cwd: Path) -> list[ProcessRecord]:
    """Start again, with the same command and log, each process of a multi-process record that died.

    Only records with members and a recorded ``info["cmd"]`` (``--nodes N``: one JVM per node)
    qualify; the record is updated in place (new pid and start time) and the restarted ones returned.
    """
    if not record.members:
        return []
    restarted = []
    for i, p in enumerate(record.processes()):
        if p._alive() or not p.info.get("cmd"):
            continue
        proc = spawn(list(p.info["cmd"]), Path(p.log), cwd=cwd)
        fresh = record_of(p.name, proc, p.ports, Path(p.log), p.info)
        if i == 0:
            record.pid, record.create_time = fresh.pid, fresh.create_time
        else:
            record.members[i - 1].update(pid=fresh.pid, create_time=fresh.create_time)
        restarted.append(fresh)
    return restarted


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no log yet)"
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 64_000))
        return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])
