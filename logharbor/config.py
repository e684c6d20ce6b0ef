"""Settings: pydantic-settings with the ``LOGHARBOR_`` env prefix plus an optional YAML file.

Each component owns a settings class (Vector's "one config type per component") built on
:class:`SectionSettings`. A class declares the YAML section it reads, so one file such as

.. code-block:: yaml

    opensearch: {url: http://127.0.0.1:9200}
    gateway: {port: 8088}

configures every role. Precedence, highest first: constructor arguments, environment
variables (``LOGHARBOR_<SECTION>_<FIELD>``, nested with ``__``), the YAML file named by
``LOGHARBOR_CONFIG`` (or ``--config`` on the CLI), then the defaults, which suit a single node.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

CONFIG_ENV = "LOGHARBOR_CONFIG"


class ConfigError(ValueError):
    """A setting is wrong; the message says which and what to do."""


@lru_cache(maxsize=8)
def _load_yaml(path: str) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file {path} does not exist (set {CONFIG_ENV} or --config to a YAML file)")
    data = yaml.safe_load(p.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: top level must be a mapping of sections")
    return data


def yaml_section(section: str) -> dict[str, Any]:
    """The mapping under ``section`` in the YAML file named by ``LOGHARBOR_CONFIG`` (or {})."""
    path = os.environ.get(CONFIG_ENV)
    if not path:
        return {}
    value = _load_yaml(path).get(section) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"config file {path}: section '{section}' must be a mapping")
    return value


class _YamlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], section: str) -> None:
        super().__init__(settings_cls)
        self._data = yaml_section(section) if section else {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class SectionSettings(BaseSettings):
    """Base for every component's settings: env prefix ``LOGHARBOR_<SECTION>_`` and a YAML section."""

    section: ClassVar[str] = ""
    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="forbid")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls, cls.section))


def default_data_dir() -> Path:
    """Where the devstack and local state live unless configured (``LOGHARBOR_DATA_DIR``)."""
    return Path(os.environ.get("LOGHARBOR_DATA_DIR", Path.home() / ".local/share/logharbor"))


class OpenSearchSettings(SectionSettings):
    """How every component reaches OpenSearch. ``LOGHARBOR_OPENSEARCH_URL`` points at an existing cluster."""

    section: ClassVar[str] = "opensearch"
    model_config = SettingsConfigDict(env_prefix="LOGHARBOR_OPENSEARCH_", env_nested_delimiter="__", extra="forbid")

    # one URL, or several separated by commas (nodes of one cluster: requests go round-robin and
    # move to another node when one is unreachable)
    url: str = "http://127.0.0.1:9200"
    username: str | None = None
    password: str | None = None
    verify_certs: bool = True
    timeout_s: float = 30.0
    # TLS and client-certificate authentication for a cluster with the security plugin
    # (docs/SECURITY.md): the CA that signed the cluster's certificate, and optionally a client
    # certificate + key instead of (or besides) username/password.
    ca_certs: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    ssl_assert_hostname: bool = True

    @property
    def urls(self) -> list[str]:
        """The node URLs of ``url`` (comma-separated), in order."""
        return [u.strip() for u in self.url.split(",") if u.strip()]


class KafkaSettings(SectionSettings):
    """How every component reaches Kafka, and the topic names (one place for them)."""

    section: ClassVar[str] = "kafka"
    model_config = SettingsConfigDict(env_prefix="LOGHARBOR_KAFKA_", env_nested_delimiter="__", extra="forbid")

    bootstrap: str = "127.0.0.1:9092"
    raw_topic: str = "logharbor.raw"
    processed_topic: str = "logharbor.processed"
    dlq_topic: str = "logharbor.dlq"
    raw_partitions: int = Field(default=6, ge=1)
    processed_partitions: int = Field(default=3, ge=1)
    dlq_partitions: int = Field(default=1, ge=1)
    consumer_group: str = "logharbor-pipeline"


RETENTION_CLASSES_DEFAULT: dict[str, int] = {"errors": 90, "standard": 30, "debug": 7, "audit": 365}


class StorageSettings(SectionSettings):
    """Retention classes, their days, rollover conditions and the lifecycle driver."""

    section: ClassVar[str] = "storage"
    model_config = SettingsConfigDict(env_prefix="LOGHARBOR_STORAGE_", env_nested_delimiter="__", extra="forbid")

    default_tenant: str = "default"
    retention_days: dict[str, int] = Field(default_factory=lambda: dict(RETENTION_CLASSES_DEFAULT))
    warm_after_days: int = Field(default=2, ge=0)
    cold_after_days: int = Field(default=7, ge=0)
    rollover_max_age: str = "1d"
    rollover_max_primary_shard_size: str = "25gb"
    rollover_max_docs: int = Field(default=50_000_000, ge=1)
    # "auto" uses ISM when the cluster has the plugin, else LogHarbor's own lifecycle runner.
    lifecycle_driver: str = Field(default="auto", pattern="^(auto|ism|logharbor)$")
    lifecycle_schedule: str = "*/5 * * * *"
    # Per class: keep the raw line (``event.original``) where it differs from ``message``? Every
    # class keeps it unless set to false here, e.g. ``{debug: false}`` (issue 13: the raw line is
    # 93 B of ~410 B per stored ingest-mix event, 242 B per real-format line). Where it is not
    # kept, free text finds only what the parsed ``message`` and fields hold. Applied by the
    # pipeline's ``route`` step, which decides the class.
    keep_original: dict[str, bool] = Field(default_factory=dict)

    def check_class(self, name: str) -> str:
        """Return ``name`` if it is a configured retention class, else raise a helpful error."""
        if name not in self.retention_days:
            known = ", ".join(sorted(self.retention_days))
            raise ConfigError(
                f"unknown retention class '{name}': known classes are {known} "
                f"(add it under storage.retention_days in the config file)"
            )
        return name
