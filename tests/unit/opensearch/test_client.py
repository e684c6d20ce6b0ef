"""Issue 16 item 13: docker-compose runs OpenSearch with its security plugin (TLS, no anonymous
access) and LogHarbor as a least-privilege service user; the client settings carry it through.

No Docker engine here, so the files are checked for what matters, and the client options are
checked on the real opensearch-py client objects they build.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from logharbor.config import OpenSearchSettings
from opensearch.client import _kwargs, ssl_context, sync_client

ROOT = Path(__file__).parents[3]
SEC = ROOT / "ops/opensearch-security"


def _services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_compose_opensearch_has_security_and_tls_on():
    env = _services()["opensearch"]["environment"]
    assert "DISABLE_SECURITY_PLUGIN" not in env
    assert env["plugins.security.ssl.http.enabled"] == "true"
    for key in ("http", "transport"):
        assert env[f"plugins.security.ssl.{key}.pemtrustedcas_filepath"].endswith("root-ca.pem")
    assert "https://" in _services()["opensearch"]["healthcheck"]["test"][1]
    dashboards = _services()["opensearch-dashboards"]["environment"]
    assert "DISABLE_SECURITY_DASHBOARDS_PLUGIN" not in dashboards
    assert dashboards["OPENSEARCH_HOSTS"].startswith('["https://')


def test_compose_logharbor_roles_authenticate_over_tls():
    for role in ("init", "gateway", "pipeline", "ui"):
        env = _services()[role]["environment"]
        assert env["LOGHARBOR_OPENSEARCH_URL"].startswith("https://"), role
        assert env["LOGHARBOR_OPENSEARCH_USERNAME"] == "logharbor", role
        assert "LOGHARBOR_OPENSEARCH_PASSWORD" in env and env["LOGHARBOR_OPENSEARCH_CA_CERTS"], role
        # every setting named in the environment exists (extra="forbid" would refuse a typo)
        fields = {"LOGHARBOR_OPENSEARCH_" + f.upper() for f in OpenSearchSettings.model_fields}
        assert {k for k in env if k.startswith("LOGHARBOR_OPENSEARCH_")} <= fields, role


def test_security_config_refuses_anonymous_and_gives_logharbor_least_privilege():
    config = yaml.safe_load((SEC / "config.yml").read_text())["config"]["dynamic"]
    assert config["http"]["anonymous_auth_enabled"] is False
    roles = yaml.safe_load((SEC / "roles.yml").read_text())
    mapping = yaml.safe_load((SEC / "roles_mapping.yml").read_text())
    users_roles = {r for r, m in mapping.items() if r != "_meta" and "logharbor" in m.get("users", [])}
    assert users_roles == {"logharbor_service"}
    role = roles["logharbor_service"]
    assert "*" not in role["cluster_permissions"] and "cluster_all" not in role["cluster_permissions"]
    patterns = {p for ip in role["index_permissions"] for p in ip["index_patterns"]}
    # never "*" or the security index; lhverify-* are snapshot verify's scratch restores
    assert patterns == {"logs-*", ".ds-logs-*", ".logharbor-*", "lhverify-*"}
    for ip in role["index_permissions"]:
        assert "*" not in ip["allowed_actions"] and "indices_all" not in ip["allowed_actions"]
    users = (SEC / "internal_users.yml.template").read_text()
    assert "@LOGHARBOR_HASH@" in users  # hashed at setup time from the environment, never committed


def test_client_settings_support_password_client_cert_and_ca(tmp_path):
    s = OpenSearchSettings(url="https://os.example:9200", username="logharbor", password="pw",
                           ca_certs=str(tmp_path / "ca.pem"), client_cert="/c.pem", client_key="/k.pem")
    kw = _kwargs(s)
    assert kw["http_auth"] == ("logharbor", "pw")
    assert kw["ca_certs"].endswith("ca.pem") and kw["client_cert"] == "/c.pem" and kw["client_key"] == "/k.pem"
    assert ssl_context(OpenSearchSettings(url="http://x:9200")) is None
    assert ssl_context(OpenSearchSettings(url="https://x:9200", verify_certs=False)) is False
    client = sync_client(OpenSearchSettings(url="https://os.example:9200", username="u", password="p"))
    conn = client.transport.get_connection()
    assert conn.use_ssl and conn.host.startswith("https://")
    client.close()


def test_several_node_urls_become_several_hosts():
    s = OpenSearchSettings(url="http://127.0.0.1:9201, http://127.0.0.1:9202,http://127.0.0.1:9203")
    assert s.urls == ["http://127.0.0.1:9201", "http://127.0.0.1:9202", "http://127.0.0.1:9203"]
    client = sync_client(s)
    try:
        assert sorted(c.host for c in client.transport.connection_pool.connections) == s.urls  # pool shuffles
    finally:
        client.close()
    assert _kwargs(OpenSearchSettings(url="http://a:9200"))["hosts"] == ["http://a:9200"]


def test_shards_starting_is_only_the_no_shard_started_503():
    from opensearchpy import TransportError

    from opensearch.client import shards_starting

    def err(status: int, **error: object) -> TransportError:
        return TransportError(status, "search_phase_execution_exception", {"error": error, "status": status})

    starting = {"type": "search_phase_execution_exception", "reason": "all shards failed",
                "root_cause": [], "failed_shards": []}
    assert shards_starting(err(503, **starting))
    assert not shards_starting(err(500, **starting))
    failed = {**starting, "failed_shards": [{"shard": 0, "reason": {"type": "query_shard_exception"}}]}
    assert not shards_starting(err(503, **failed))
    assert not shards_starting(err(503, type="circuit_breaking_exception", reason="data too large"))
    assert not shards_starting(ValueError("x"))
