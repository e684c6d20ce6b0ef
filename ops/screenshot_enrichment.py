"""Screenshot of one demo event as the real chain enriched it → ``docs/screenshots/event-enriched.png``.

Unlike ``ops.screenshots`` (which bulk-indexes generated ECS documents), this runs what
``./ops/run.sh`` runs — ``logharbor run --demo``: real shippers → gateway → Kafka → pipeline —
with its own topics, tenant and ports, waits for an nginx access line whose client IP got
GeoIP fields (bundled GeoLite2-City unless ``LOGHARBOR_PIPELINE_GEOIP_PATH`` is set) and whose
user agent got uap-core fields, and opens its event page in Debian's chromium.

    LOGHARBOR_OPENSEARCH_URL=… LOGHARBOR_KAFKA_BOOTSTRAP=… python -m ops.screenshot_enrichment [--out DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from ops.screenshots import free_port, launch_chromium, sign_in

QUERY = "user_agent.name:Chrome AND user_agent.os.name EXISTS AND client.geo.city_name EXISTS"


def _get(url: str, key: str) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=20) as resp:
        return json.loads(resp.read())


async def _topics(bootstrap: str, names: list[str]) -> None:
    from logharbor.topics import ensure_topics

    await ensure_topics(bootstrap, dict.fromkeys(names, 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.screenshot_enrichment", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from logharbor.config import KafkaSettings
    from opensearch.client import sync_client

    suffix = uuid.uuid4().hex[:6]
    tenant = f"demo{suffix}"
    raw, processed = f"lh-shot-raw-{suffix}", f"lh-shot-processed-{suffix}"
    asyncio.run(_topics(KafkaSettings().bootstrap, [raw, processed]))
    gw, ui, pl = free_port(), free_port(), free_port()
    data = tempfile.mkdtemp(prefix="logharbor-shot-")
    env = {**os.environ, "LOGHARBOR_DATA_DIR": data, "LOGHARBOR_KAFKA_RAW_TOPIC": raw,
           "LOGHARBOR_KAFKA_PROCESSED_TOPIC": processed, "LOGHARBOR_KAFKA_CONSUMER_GROUP": f"lh-shot-{suffix}",
           "LOGHARBOR_STORAGE_DEFAULT_TENANT": tenant, "LOGHARBOR_PIPELINE_HTTP_PORT": str(pl)}
    proc = subprocess.Popen([sys.executable, "-m", "ops.cli", "run", "--demo", "--gateway-port", str(gw),
                             "--ui-port", str(ui), "--no-lifecycle", "--no-alerter"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    client = sync_client()
    try:
        key = None
        while key is None:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit("logharbor run exited early")
            sys.stderr.write(line)
            if m := re.search(r"with this key \(shown once\): (lh_live_\S+)", line):
                key = m.group(1)
        base = f"http://127.0.0.1:{ui}"
        url = f"{base}/api/v1/logs/search?" + urllib.parse.urlencode({"q": QUERY, "limit": 1})
        deadline, found = time.monotonic() + 180, None
        while found is None and time.monotonic() < deadline:
            body = _get(url, key)
            found = body["results"][0] if body["results"] else None
            time.sleep(2)
        if found is None:
            raise SystemExit("no demo event with GeoIP and user-agent fields within 180 s")
        print(json.dumps({k: v for k, v in found.items() if k in ("id", "message")}), file=sys.stderr)
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_context(viewport={"width": 1366, "height": 1500}).new_page()
            sign_in(page, base, key)
            page.goto(f"{base}/event/{urllib.parse.quote(found['id'], safe='')}")
            page.wait_for_selector("text=user_agent", timeout=15_000)
            # the fields tree opens three levels; open the rest so client.geo.location (a geo_point) shows
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            page.wait_for_timeout(500)
            args.out.mkdir(parents=True, exist_ok=True)
            target = args.out / "event-enriched.png"
            page.screenshot(path=str(target), full_page=False)
            browser.close()
        print(f"wrote {target}", file=sys.stderr)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        client.indices.delete_data_stream(name=f"logs-{tenant}-*", ignore=[404])
        client.delete_by_query(index=".logharbor-keys", body={"query": {"term": {"tenant": tenant}}},
                               params={"refresh": "true", "ignore_unavailable": "true"})
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
