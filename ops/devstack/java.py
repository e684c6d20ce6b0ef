"""Find a JDK of at least a given major version (OpenSearch 3.x needs 21+, Kafka 4.x needs 17+)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from logharbor.config import ConfigError

_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


@lru_cache(maxsize=32)
def java_major(java: str) -> int | None:
    """The major version of a ``java`` binary, or None if it does not run."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = _VERSION.search(out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def _candidates(explicit: Path | None) -> list[str]:
    found: list[str] = []
    if explicit:
        found.append(str(Path(explicit) / "bin/java"))
    if os.environ.get("JAVA_HOME"):
        found.append(str(Path(os.environ["JAVA_HOME"]) / "bin/java"))
    on_path = shutil.which("java")
    if on_path:
        found.append(on_path)
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        found.extend(str(p / "bin/java") for p in sorted(jvm.iterdir()) if (p / "bin/java").exists())
    return found


def find_java(min_major: int, *, explicit: Path | None, what: str, setting: str) -> tuple[str, int]:
    """The first JDK that is at least ``min_major`` (an explicit one must qualify itself)."""
    if explicit is not None:
        path = str(Path(explicit) / "bin/java")
        major = java_major(path)
        if major is None or major < min_major:
            raise ConfigError(
                f"{setting}={explicit} is not a Java {min_major}+ home (found {major}); "
                f"point it at a JDK {min_major} or newer"
            )
        return path, major
    for cand in _candidates(None):
        major = java_major(cand)
        if major is not None and major >= min_major:
            return cand, major
    raise ConfigError(
        f"no Java {min_major}+ found for {what}: install a JDK {min_major} or newer "
        f"(for example `apt-get install openjdk-{max(min_major, 21)}-jdk-headless`) or set {setting} to its home"
    )
