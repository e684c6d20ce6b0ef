"""Every source type a shipper config can name — one table.

``type`` in the YAML → the source's config model (in the source's own module) and the class
that collects it. ``config.py`` builds the ``sources:`` union from this table and
``agent.build_sources`` instantiates from it, so adding a source type is a module under
``shipper/sources/`` (config model + source class + tests), one line here, and its section in
docs/SHIPPER.md. ``checkpointed`` sources also get the checkpoint store (they resume where
they stopped); the others are live listeners.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from shipper.sources.database import DatabaseSource, DatabaseSourceConfig
from shipper.sources.docker import DockerSource, DockerSourceConfig
from shipper.sources.file_tail import FileSource, FileSourceConfig
from shipper.sources.journald import JournaldSource, JournaldSourceConfig
from shipper.sources.net_lines import TcpLineSource, TcpSourceConfig, UdpLineSource, UdpSourceConfig
from shipper.sources.stdin import StdinSource, StdinSourceConfig
from shipper.sources.syslog import SyslogSource, SyslogSourceConfig


@dataclass(frozen=True, slots=True)
class SourceType:
    config: type[BaseModel]
    source: type[Any]
    checkpointed: bool = False


SOURCE_TYPES: dict[str, SourceType] = {
    "file": SourceType(FileSourceConfig, FileSource, checkpointed=True),
    "database": SourceType(DatabaseSourceConfig, DatabaseSource, checkpointed=True),
    "docker": SourceType(DockerSourceConfig, DockerSource, checkpointed=True),
    "journald": SourceType(JournaldSourceConfig, JournaldSource, checkpointed=True),
    "syslog": SourceType(SyslogSourceConfig, SyslogSource),
    "tcp": SourceType(TcpSourceConfig, TcpLineSource),
    "udp": SourceType(UdpSourceConfig, UdpLineSource),
    "stdin": SourceType(StdinSourceConfig, StdinSource),
}
