"""``logharbor alerts create --file | list | test | silence | delete`` against the real OpenSearch."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alert_support import cleanup_alerting

from logharbor.config import OpenSearchSettings
from opensearch.client import async_client

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_alerts_cli_round_trip(os_url, unique_tenant, tmp_path, capsys):
    from ops.cli import main

    def cli(*args: str) -> subprocess.CompletedProcess:
        code = main(["alerts", *args])
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)

    # One subprocess: the real entry point is wired.
    r = subprocess.run([sys.executable, "-m", "ops.cli", "alerts", "list", "--tenant", unique_tenant], cwd=REPO,
                       env=os.environ, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout == "", r.stderr

    rule = tmp_path / "rule.yaml"
    rule.write_text("name: cli errors\nquery: level:ERROR\ncondition: {type: count, op: '>', threshold: 5}\n"
                    "channels:\n  - {type: webhook, url: 'http://127.0.0.1:9/h/TOPSECRET', secret: s3}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncondition: {type: metric}\n")
    try:
        r = cli("create", "--file", str(bad), "--tenant", unique_tenant)
        assert r.returncode == 1 and "condition" in r.stderr
        r = cli("create", "--file", str(rule), "--tenant", unique_tenant)
        assert r.returncode == 0, r.stderr
        created = json.loads(r.stdout)
        assert "TOPSECRET" not in r.stdout
        r = cli("list", "--json", "--tenant", unique_tenant)
        assert [x["id"] for x in json.loads(r.stdout)] == [created["id"]]
        r = cli("test", created["id"], "--tenant", unique_tenant)
        assert r.returncode == 0 and json.loads(r.stdout)["channels"] == ["webhook"]
        r = cli("silence", created["id"], "--duration", "10m", "--comment", "cli", "--tenant", unique_tenant)
        assert r.returncode == 0 and json.loads(r.stdout)["matchers"] == [{"name": "rule_id", "value": created["id"]}]
        assert cli("list", "--tenant", "other" + unique_tenant).stdout == ""
        assert cli("delete", created["id"], "--tenant", unique_tenant).returncode == 0
        assert cli("list", "--json", "--tenant", unique_tenant).stdout.strip() == "[]"
    finally:
        async def clean() -> None:
            client = async_client(OpenSearchSettings(url=os_url))
            try:
                await cleanup_alerting(client, unique_tenant)
            finally:
                await client.close()

        asyncio.run(clean())
