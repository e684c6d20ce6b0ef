"""Fetch the devstack's jars from Maven Central with Maven, once, into a versioned cache folder.

Maven's own repository (~/.m2) is the download cache; we copy the resolved jars into
``<cache_dir>/<profile>-<version>/`` and write a ``.complete`` marker carrying the pom's
hash, so a second ``devstack up`` neither downloads nor copies anything.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

from logharbor.config import ConfigError

POM = "pom.xml"
VERSION_PROPERTY = {"opensearch": "opensearch.runner.version", "opensearch-security": "opensearch.security.version"}


def pom_path() -> Path:
    return Path(str(resources.files("ops.devstack").joinpath(POM)))


def pom_property(name: str) -> str:
    """A ``<properties>`` value of the devstack pom (versions are reported by ``status``)."""
    m = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", pom_path().read_text())
    if not m:
        raise KeyError(name)
    return m.group(1)


def _pom_hash() -> str:
    return hashlib.sha256(pom_path().read_bytes()).hexdigest()[:16]


def lib_dir(cache_dir: Path, profile: str) -> Path:
    version = pom_property(VERSION_PROPERTY.get(profile, "kafka.version"))
    return cache_dir / f"{profile}-{version}"


def fetch(profile: str, cache_dir: Path, maven: str = "mvn", log=print) -> Path:
    """Make sure the jars for ``profile`` (opensearch|kafka) are in the cache; return their folder."""
    target = lib_dir(cache_dir, profile)
    marker = target / ".complete"
    if marker.exists() and marker.read_text().strip() == _pom_hash():
        return target
    mvn = shutil.which(maven)
    if mvn is None:
        raise ConfigError(
            f"Maven ('{maven}') not found: install it (for example `apt-get install maven`) "
            "or set LOGHARBOR_DEVSTACK_MAVEN to the mvn binary"
        )
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    log(f"fetching {profile} jars from Maven Central into {target} (first run only) ...")
    cmd = [
        mvn, "-B", "-f", str(pom_path()), f"-P{profile}", "dependency:copy-dependencies",
        f"-DoutputDirectory={target}", "-Dmdep.useRepositoryLayout=false",
    ]
    started = time.monotonic()
    downloaded = 0
    tail: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        last_report = 0.0
        for line in proc.stdout:
            tail = [*tail, line.rstrip()][-25:]
            if line.startswith(("Downloaded from", "[INFO] Downloaded from")):
                downloaded += 1
            now = time.monotonic()
            if now - last_report > 2:
                last_report = now
                sys.stderr.write(f"\r  maven: {downloaded} artifacts downloaded, {now - started:.0f}s")
                sys.stderr.flush()
        code = proc.wait()
    sys.stderr.write("\n")
    if code != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise ConfigError(
            f"Maven could not fetch the {profile} jars (exit {code}); check access to Maven Central "
            "(or a mirror in ~/.m2/settings.xml), then run `logharbor devstack up` again. Last lines:\n"
            + "\n".join(tail)
        )
    marker.write_text(_pom_hash())
    jars = len(list(target.glob("*.jar")))
    log(f"  {profile}: {jars} jars ready ({downloaded} downloaded, {time.monotonic() - started:.0f}s)")
    return target
