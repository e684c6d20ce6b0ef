"""The shipper config: the documented minimal file works as written; mistakes name the field."""

from pathlib import Path

import pytest

from logharbor.config import ConfigError
from shipper.config import load_config, parse_config

MINIMAL = """\
gateway:
  url: http://127.0.0.1:8088
  api_key: lh_live_...
data_dir: /var/lib/logharbor-shipper   # checkpoints and spool
sources:
  - type: file
    paths: ["/var/log/app/*.log"]
    format: auto
"""


def test_minimal_yaml_from_the_brief_loads_as_written(tmp_path: Path) -> None:
    path = tmp_path / "shipper.yaml"
    path.write_text(MINIMAL)
    cfg = load_config(path)
    assert cfg.gateway.all_urls() == ["http://127.0.0.1:8088"]
    assert cfg.gateway.api_key == "lh_live_..."
    assert cfg.data_dir == Path("/var/lib/logharbor-shipper")
    (src,) = cfg.sources
    assert src.type == "file" and src.paths == ["/var/log/app/*.log"] and src.format == "auto"
    assert cfg.batch.max_events == 100 and cfg.batch.max_wait_s == 1.0 and cfg.batch.in_flight == 1
    assert cfg.retry.delays_s == [1, 2, 4, 8, 16]


def test_the_example_file_in_the_repo_is_valid() -> None:
    example = Path(__file__).resolve().parents[3] / "shipper" / "shipper.example.yaml"
    cfg = load_config(example)
    assert {s.type for s in cfg.sources} >= {"file", "syslog", "docker"}


def test_failover_urls_keep_order_and_drop_duplicates() -> None:
    cfg = parse_config({"gateway": {"url": "http://a:1/", "urls": ["http://b:2", "http://a:1"], "api_key": "k"},
                        "data_dir": "/tmp/x", "sources": [{"type": "stdin"}]})
    assert cfg.gateway.all_urls() == ["http://a:1", "http://b:2"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"gateway": {"url": "u"}, "data_dir": "/x", "sources": [{"type": "stdin"}]},
         "gateway.api_key: Field required"),
        ({"gateway": {"url": "u", "api_key": "k"}, "data_dir": "/x", "sources": [{"type": "file", "pathz": ["a"]}]},
         "sources.0.pathz: Extra inputs are not permitted"),
        ({"gateway": {"url": "u", "api_key": "k"}, "data_dir": "/x",
          "sources": [{"type": "file", "paths": ["a"], "start_at": "middle"}]}, "sources.0.start_at"),
        ({"gateway": {"api_key": "k"}, "data_dir": "/x", "sources": [{"type": "stdin"}]},
         "gateway.url or gateway.urls"),
        ({"gateway": {"url": "u", "api_key": "k"}, "data_dir": "/x",
          "sources": [{"type": "file", "paths": ["a"], "multiline": {"start_pattern": "("}}]},
         "sources.0.multiline.start_pattern"),
        ({"gateway": {"url": "u", "api_key": "k"}, "data_dir": "/x", "sources": []}, "sources: List should have"),
        ({"gateway": {"url": "u", "api_key": "k"}, "data_dir": "/x",
          "sources": [{"type": "stdin", "format": "nginxx"}]},
         "sources.0.format: Value error, unknown format hint 'nginxx'"),
        ({"gateway": {"url": "u", "api_key": "k"}, "data_dir": "/x", "sources": [{"type": "kafka"}]},
         "sources.0: Input tag 'kafka'"),
    ],
)
def test_errors_name_the_field(data: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert expected in str(info.value)


def test_api_key_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LH_TEST_KEY", "secret123")
    cfg = parse_config({"gateway": {"url": "u", "api_key": "${LH_TEST_KEY}"}, "data_dir": "/x",
                        "sources": [{"type": "stdin"}]})
    assert cfg.gateway.api_key == "secret123"


def test_source_kinds_and_defaults() -> None:
    cfg = parse_config({"gateway": {"url": "u", "api_key": "k"}, "data_dir": "/x", "sources": [
        {"type": "file", "paths": ["a"], "multiline": False},
        {"type": "database", "paths": ["/var/log/postgresql/*.log"]},
        {"type": "docker"},
        {"type": "syslog", "name": "sys"},
        {"type": "journald"},
    ]})
    f, db, docker, sys_, journal = cfg.sources
    assert f.multiline.enabled is False and f.name == "file-0"
    assert db.format == "postgres"
    assert docker.paths == ["/var/lib/docker/containers/*/*-json.log"]
    assert sys_.name == "sys" and sys_.format == "syslog"
    assert journal.start_at == "end"


def test_duplicate_source_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="duplicate source name"):
        parse_config({"gateway": {"url": "u", "api_key": "k"}, "data_dir": "/x",
                      "sources": [{"type": "stdin", "name": "a"}, {"type": "tcp", "listen": ":1", "name": "a"}]})
