"""Elasticsearch-compatible ``_bulk`` with the real clients: the official ``elasticsearch`` Python
client (9 in the venv, 8 from .cache/protocol-clients/es8, both doing their product check) and
``opensearch-py`` helpers — through the real gateway, Kafka and pipeline into OpenSearch, every
event stored exactly once with its timestamp, level, message and fields; a retry of the same
``_id``s stored once; a per-item rejection beside stored neighbours; another tenant's index and a
revoked key refused.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import uuid

import pytest
import requests
from protocol_support import CACHE, INSTALL_HINT, Stack, field, wait_until

pytestmark = [pytest.mark.integration]


def _docs(prefix: str, n: int) -> list[dict]:
    return [
        {
            "_index": "shop-logs",
            "_id": f"{prefix}-{i:05d}",
            "@timestamp": f"2026-01-19T10:{i // 60:02d}:{i % 60:02d}.123Z",
            "message": f"{prefix} checkout {i}",
            "log": {"level": "warn" if i % 2 else "error"},
            "http": {"response": {"status_code": 500 + i % 3}},
            "order_id": f"o-{i}",
        }
        for i in range(n)
    ]


def test_elasticsearch_client_bulk_retry_rejection_and_refusals(stack: Stack) -> None:
    from elasticsearch import AuthenticationException, AuthorizationException, Elasticsearch, helpers

    tenant = "tes" + uuid.uuid4().hex[:8]
    token = stack.key(tenant, "shop")
    es = Elasticsearch(stack.gw.url + "/es", api_key=token, http_compress=True, request_timeout=30)
    info = es.info()  # the client's product check runs on this first call
    assert info["version"]["number"].startswith("8.") and info["tagline"]
    assert es.cluster.health()["status"] == "green"

    docs = _docs("es9", 40)
    bad = {"_index": "shop-logs", "_id": "es9-bad-0001", "@timestamp": "2026-01-19T11:00:00Z", "order_id": "x"}
    ok, errors = helpers.bulk(es, [*docs[:20], bad, *docs[20:]], raise_on_error=False)
    assert ok == 40 and len(errors) == 1
    err = errors[0]["index"]
    assert err["status"] == 400 and err["_id"] == "es9-bad-0001" and "message" in err["error"]["reason"]
    assert err["error"]["type"] == "document_parsing_exception"
    # the client retries the same _ids (e.g. after a timeout): stored once
    ok, errors = helpers.bulk(es, docs, raise_on_error=False)
    assert ok == 40 and not errors
    # create with a known id: 409 per item, as Elasticsearch answers a duplicate
    resp = es.bulk(operations=[{"create": {"_index": "shop-logs", "_id": "es9-00001"}}, {"message": "again"}],
                   filter_path="errors,items.*.status")
    assert resp.body == {"errors": True, "items": [{"create": {"status": 409}}]}

    # another tenant's LogHarbor stream is not a way out of the key: refused per item
    resp = es.bulk(operations=[{"index": {"_index": "logs-tother-standard"}}, {"message": "sneaky"}])
    assert resp["errors"] and resp["items"][0]["index"]["status"] == 403
    with pytest.raises(AuthenticationException):
        Elasticsearch(stack.gw.url + "/es", api_key="lh_live_aaaaaaaaaaaa_" + "x" * 43).info()
    revoked = stack.key(tenant, "shop")
    stack.revoke(revoked)
    es_revoked = Elasticsearch(stack.gw.url + "/es", api_key=revoked)
    wait_until(lambda: _refused(es_revoked), 15, "the revocation to reach the gateway")

    stored = stack.wait_stored(tenant, 40)
    by_msg = stack.by_message(stored)
    d = by_msg["es9 checkout 7"]
    assert d["@timestamp"] == "2026-01-19T10:00:07.123Z" and d["log"]["level"] == "WARN"
    assert d["http"]["response"]["status_code"] == 501 and field(d, "order_id") == "o-7"
    assert d["event"]["id"] == "es9-00007" and d["service"]["name"] == "shop"
    assert by_msg["es9 checkout 8"]["log"]["level"] == "ERROR"
    assert "sneaky" not in by_msg and "again" not in by_msg
    with pytest.raises((AuthorizationException, AuthenticationException)):
        es_revoked.bulk(operations=[{"index": {"_index": "x"}}, {"message": "revoked"}])


def _refused(es) -> bool:
    from elasticsearch import AuthorizationException

    try:
        es.info()
    except AuthorizationException:
        return True
    return False


def test_opensearch_py_bulk_and_streaming_bulk_with_retry(stack: Stack) -> None:
    from opensearchpy import OpenSearch, helpers

    tenant = "tosp" + uuid.uuid4().hex[:8]
    token = stack.key(tenant, "billing")
    host = {"host": "127.0.0.1", "port": stack.gw.port, "url_prefix": "es"}
    client = OpenSearch(hosts=[host], http_auth=("logharbor", token), http_compress=True, timeout=30)
    assert client.info()["version"]["number"]
    docs = [{"_index": "billing", "_id": f"osp-{i:05d}", "@timestamp": f"2026-01-20T08:00:{i:02d}Z",
             "message": f"invoice {i} sent", "level": "info", "host": "billing-1", "amount": i * 10}
            for i in range(30)]
    ok, errors = helpers.bulk(client, docs[:15], raise_on_error=False)
    assert (ok, errors) == (15, [])
    results = list(helpers.streaming_bulk(client, docs, chunk_size=7, raise_on_error=False))
    assert len(results) == 30 and all(ok for ok, _ in results)  # 15 of them are retries of the same _ids
    # a document the gateway cannot take is refused per item while the others of its chunk are stored
    mixed = [{"_index": "billing", "_id": "osp-bad-001", "@timestamp": "not a time", "message": "bad time"},
             {"_index": "billing", "_id": "osp-00100", "@timestamp": "2026-01-20T09:00:00Z", "message": "invoice 100"}]
    results = list(helpers.streaming_bulk(client, mixed, raise_on_error=False))
    assert [ok for ok, _ in results] == [False, True]
    assert results[0][1]["index"]["status"] == 400 and "timestamp" in results[0][1]["index"]["error"]["reason"]
    stored = stack.wait_stored(tenant, 31)
    by_msg = stack.by_message(stored)
    d = by_msg["invoice 3 sent"]
    assert d["@timestamp"] == "2026-01-20T08:00:03.000Z" and d["log"]["level"] == "INFO"
    assert d["host"]["name"] == "billing-1" and field(d, "amount") == 30 and d["event"]["id"] == "osp-00003"


def test_wire_details_content_types_encodings_and_no_id(stack: Stack) -> None:
    """What shippers send beside the clients: ndjson with deflate, vnd.elasticsearch types, no _id
    (a retry of the same body is stored once), probes answered, X-Elastic-Product everywhere."""
    tenant = "twire" + uuid.uuid4().hex[:8]
    token = stack.key(tenant, "edge")
    base = stack.gw.url + "/es"
    auth = {"Authorization": f"Basic {__import__('base64').b64encode(f'elastic:{token}'.encode()).decode()}"}
    for method, path in (("GET", "/_license"), ("GET", "/_xpack"), ("HEAD", "/_index_template/filebeat-8"),
                         ("PUT", "/_index_template/filebeat-8"), ("GET", "/_ilm/policy/logstash-policy"),
                         ("GET", "/_nodes/_local/ingest"), ("HEAD", "/"), ("GET", "/_cat/indices")):
        r = requests.request(method, base + path, headers=auth, json={} if method == "PUT" else None, timeout=10)
        assert r.headers["X-Elastic-Product"] == "Elasticsearch", path
        assert r.status_code == (400 if path == "/_cat/indices" else 200), (path, r.text)
    assert requests.get(base + "/", timeout=10).status_code == 401
    # the same API at the root of its own port (protocols.es_port), and OTLP on protocols.otlp_port
    root = requests.get(f"http://127.0.0.1:{stack.es_port}/", headers=auth, timeout=10)
    assert root.status_code == 200 and root.json()["version"]["number"] and root.headers["X-Elastic-Product"]
    otlp = requests.post(f"http://127.0.0.1:{stack.otlp_port}/v1/logs", json={"resourceLogs": []}, headers=auth)
    assert otlp.status_code == 200
    body = b"".join(
        b'{"create":{"_type":"_doc"}}\n' + f'{{"@timestamp":"2026-01-21T00:00:0{i}Z","message":"edge {i}",'
        f'"log.level":"debug","labels":{{"zone":"z{i}"}}}}\n'.encode() for i in range(5))
    import zlib

    headers = {**auth, "Content-Type": "application/vnd.elasticsearch+x-ndjson; compatible-with=8",
               "Content-Encoding": "deflate"}
    first = requests.post(base + "/edge-2026.01.21/_bulk", data=zlib.compress(body), headers=headers, timeout=30)
    assert first.status_code == 200 and list(first.json()) == ["took", "errors", "items"]
    assert [next(iter(i)) for i in first.json()["items"]] == ["create"] * 5
    again = requests.post(base + "/edge-2026.01.21/_bulk", data=gzip.compress(body), timeout=30,
                          headers={**headers, "Content-Encoding": "gzip"})
    assert [i["create"]["status"] for i in again.json()["items"]] == [409] * 5  # same content → same ids
    ids = {i["create"]["_id"] for i in first.json()["items"]}
    assert ids == {i["create"]["_id"] for i in again.json()["items"]} and len(ids) == 5
    r = requests.post(base + "/_bulk", data=b'{"update":{"_index":"a","_id":"1"}}\n{"doc":{}}\n'
                      b'{"delete":{"_index":"a","_id":"2"}}\n', headers=headers | {"Content-Encoding": "identity"})
    assert [next(iter(i.values()))["status"] for i in r.json()["items"]] == [400, 400]
    stored = stack.wait_stored(tenant, 5)
    d = stack.by_message(stored)["edge 3"]
    assert d["log"]["level"] == "DEBUG" and field(d, "labels.zone") == "z3"
    assert field(d, "labels.es_index") == "edge-2026.01.21" and d["@timestamp"] == "2026-01-21T00:00:03.000Z"


_ES8_SCRIPT = r"""
import sys
from elasticsearch import Elasticsearch, helpers, __versionstr__
assert __versionstr__.startswith("8."), __versionstr__
es = Elasticsearch(sys.argv[1], api_key=sys.argv[2])
assert es.info()["version"]["number"]
docs = [{"_index": "legacy", "_id": f"es8-{i:05d}", "@timestamp": "2026-01-22T00:00:00Z",
         "message": f"es8 event {i}", "severity": "error"} for i in range(10)]
ok, errors = helpers.bulk(es, docs, raise_on_error=False)
assert ok == 10 and not errors, errors
print("ok")
"""


def test_elasticsearch_client_8(stack: Stack) -> None:
    target = CACHE / "es8"
    if not (target / "elasticsearch").is_dir():
        pytest.fail(f"the elasticsearch 8 client is missing in {target}: {INSTALL_HINT}")
    tenant = "tes8" + uuid.uuid4().hex[:8]
    token = stack.key(tenant, "legacy")
    out = subprocess.run([sys.executable, "-c", _ES8_SCRIPT, stack.gw.url + "/es", token], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(target)})
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr
    stored = stack.wait_stored(tenant, 10)
    assert all(d["log"]["level"] == "ERROR" for d in stored)
