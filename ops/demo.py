"""Demo data: realistic multi-service logs, written as files a real shipper tails.

Four services, each with the log format it would have in production:

* ``web-api``  — nginx "combined" access lines (plus request time and request id),
* ``orders``   — a Java service's text log with WARN/ERROR lines and multi-line stack traces,
* ``auth``     — sign-in successes and failures (bad passwords, locked accounts, brute force),
* ``payments`` — one JSON object per line with trace ids, durations, amounts.

Requests are correlated the way real ones are: a checkout shows up in nginx, orders and
payments with the same request id and trace id, so the event viewer's "related events" has
something to show. Traffic follows a daily curve and errors come in small bursts.

``python -m ops.demo --out DIR --rate N`` writes continuously (N events per second across
all files) and writes ``DIR/shipper.yaml`` for ``logharbor shipper``. The same generator
also yields ECS documents (what the pipeline would index), which ``ops/screenshots.py`` and
tests bulk-index directly: :func:`ecs_documents`.

Checked through the real chain (files → ``logharbor shipper`` → gateway → Kafka → pipeline →
OpenSearch): nginx lines parse as ``nginx``, the Java and auth lines as ``app`` with their
stack traces joined by the multiline rule, payments as ``json``; trace and request ids are
picked up from every format. One difference from :func:`ecs_documents`: the pipeline names
the service after the ingest key's source, so one shipper with one key files all four under
that name (each file's source name arrives as ``source_name``); run a shipper and key per
service to see four services.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FILES: dict[str, str] = {
    "web-api": "nginx/access.log",
    "orders": "orders/app.log",
    "auth": "auth/auth.log",
    "payments": "payments/payments.json.log",
}
FORMATS: dict[str, str] = {"web-api": "nginx", "orders": "auto", "auth": "auto", "payments": "json"}
HOSTS = ("app-01", "app-02", "app-03")
USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory")
COUNTRIES = ("Germany", "France", "United States", "Japan", "Brazil", "India")
ENDPOINTS = (  # (method, path template, weight, median ms)
    ("GET", "/api/products", 30, 25), ("GET", "/api/products/{id}", 25, 18), ("GET", "/api/cart", 12, 30),
    ("POST", "/api/cart/items", 8, 45), ("POST", "/api/checkout", 5, 220), ("GET", "/api/orders/{id}", 8, 60),
    ("POST", "/api/login", 6, 120), ("GET", "/health", 6, 2),
)
AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "curl/8.5.0", "okhttp/4.12.0",
)
JAVA_ERRORS = (
    ("java.lang.IllegalStateException", "Stock reservation failed for order {order}: warehouse timeout",
     ["com.shop.orders.StockClient.reserve(StockClient.java:88)",
      "com.shop.orders.OrderService.place(OrderService.java:142)",
      "com.shop.orders.api.OrderController.create(OrderController.java:57)"]),
    ("java.sql.SQLTransientConnectionException", "HikariPool-1 - Connection is not available, request timed out "
     "after 30000ms", ["com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)",
                       "com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:197)",
                       "com.shop.orders.repo.OrderRepository.save(OrderRepository.java:41)"]),
    ("java.lang.NullPointerException", "Cannot invoke \"Address.getCountry()\" because \"customer.address\" is null",
     ["com.shop.orders.ShippingQuote.compute(ShippingQuote.java:33)",
      "com.shop.orders.OrderService.quote(OrderService.java:201)"]),
)


@dataclass(slots=True)
class DemoEvent:
    """One log event: the text written to its file and the ECS document it becomes."""

    service: str
    at: datetime
    text: str
    doc: dict[str, Any] = field(default_factory=dict)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DemoGenerator:
    """Produces correlated events; deterministic for a given seed (screenshots look the same)."""

    def __init__(self, seed: int | None = None, burst: tuple[datetime, datetime] | None = None) -> None:
        self.rng = random.Random(seed)
        self.n = 0
        self.burst_until: datetime | None = None
        self.forced_burst = burst  # an incident window (errors spike), for demos that need one on screen

    def _id(self) -> str:
        self.n += 1
        return uuid.UUID(int=self.rng.getrandbits(128)).hex

    def _base(self, service: str, at: datetime, level: str, message: str, host: str) -> dict[str, Any]:
        return {"@timestamp": _iso(at), "message": message, "log": {"level": level},
                "service": {"name": service}, "host": {"name": host}, "event": {"id": self._id()},
                "labels": {"env": "prod"}}

    def request(self, at: datetime) -> list[DemoEvent]:
        """One user request: an nginx line, and for some endpoints app and payment events."""
        rng = self.rng
        if self.burst_until is None or at > self.burst_until:
            self.burst_until = at + timedelta(minutes=rng.randint(2, 6)) if rng.random() < 0.002 else None
        bursting = self.burst_until is not None or (
            self.forced_burst is not None and self.forced_burst[0] <= at <= self.forced_burst[1])
        method, template, _w, median = rng.choices(ENDPOINTS, weights=[e[2] for e in ENDPOINTS])[0]
        path = template.replace("{id}", str(rng.randint(1000, 9999)))
        user = rng.choice(USERS)
        host = rng.choice(HOSTS)
        ip = f"{rng.choice((81, 93, 145, 203))}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        request_id = f"req-{rng.getrandbits(48):012x}"
        trace_id = f"{rng.getrandbits(128):032x}"
        ms = max(1.0, rng.lognormvariate(math.log(median), 0.6))
        status = 200 if method == "GET" else 201
        if rng.random() < (0.15 if bursting else 0.01):
            status, ms = 500, ms * 4
        elif rng.random() < 0.03:
            status = 404
        out: list[DemoEvent] = []
        if template == "/api/login":
            out.append(self.login(at, user, ip, host, request_id))
            if out[-1].doc["log"]["level"] != "INFO":
                status = 401
        if template == "/api/checkout":
            out += self.checkout(at, user, host, request_id, trace_id, fail=status == 500)
        elif status == 500:
            out.append(self.java_error(at + timedelta(milliseconds=ms * 0.8), host, request_id, trace_id))
        elif rng.random() < 0.02:
            out.append(self.java_warn(at, host, request_id, trace_id))
        size = rng.randint(200, 9000)
        agent = rng.choice(AGENTS)
        ts = at.strftime("%d/%b/%Y:%H:%M:%S +0000")
        text = (f'{ip} - {user} [{ts}] "{method} {path} HTTP/1.1" {status} {size} "https://shop.example.com/" '
                f'"{agent}" rt={ms / 1000:.3f} request_id={request_id} trace_id={trace_id}')
        level = "ERROR" if status >= 500 else "WARN" if status >= 400 else "INFO"
        doc = self._base("web-api", at, level, f"{method} {path} {status}", host)
        doc.update({"http": {"request": {"method": method, "id": request_id}, "response": {"status_code": status,
                                                                                           "bytes": size}},
                    "url": {"path": template.replace("{id}", ":id"), "original": path},
                    "client": {"ip": ip, "geo": {"country_name": rng.choice(COUNTRIES)}},
                    "user": {"id": user}, "user_agent": {"original": agent}, "trace": {"id": trace_id}})
        doc["event"].update({"duration": int(ms * 1e6), "duration_ms": round(ms, 3)})
        doc["event.original"] = text
        out.insert(0, DemoEvent("web-api", at, text, _fold(doc)))
        return out

    def login(self, at: datetime, user: str, ip: str, host: str, request_id: str) -> DemoEvent:
        rng = self.rng
        roll = rng.random()
        if roll < 0.75:
            level, message = "INFO", f"login succeeded for user={user} ip={ip} method=password"
        elif roll < 0.95:
            level, message = "WARN", f"login failed for user={user} ip={ip} reason=bad_password"
        elif roll < 0.99:
            level, message = "WARN", f"login failed for user={user} ip={ip} reason=account_locked attempts=5"
        else:
            level, message = "ERROR", f"brute force suspected: 40 failed logins for user=admin from ip={ip} in 60s"
        text = f"{_iso(at)} {level} auth[{rng.randint(1000, 1100)}]: {message} request_id={request_id}"
        doc = self._base("auth", at, level, message, host)
        doc.update({"user": {"id": user}, "client": {"ip": ip}, "http": {"request": {"id": request_id}},
                    "event.action": "login", "event.outcome": "success" if level == "INFO" else "failure"})
        return DemoEvent("auth", at, text, _fold(doc))

    def checkout(self, at: datetime, user: str, host: str, request_id: str, trace_id: str,
                 fail: bool) -> list[DemoEvent]:
        rng = self.rng
        order = f"o-{rng.randint(100000, 999999)}"
        amount = round(rng.uniform(5, 400), 2)
        out = [self.java_line(at, "INFO", host, request_id, trace_id, "com.shop.orders.OrderService",
                              f"Placing order {order} for user {user} total={amount} EUR")]
        ms = max(5.0, rng.lognormvariate(math.log(180), 0.5))
        pay_at = at + timedelta(milliseconds=20)
        if fail:
            outcome, level, msg = "declined", "ERROR", f"payment declined for order {order}: card expired"
        elif rng.random() < 0.05:
            outcome, level, msg = "retry", "WARN", f"payment provider slow for order {order}, retrying"
            ms *= 3
        else:
            outcome, level, msg = "captured", "INFO", f"payment captured for order {order}"
        record = {"timestamp": _iso(pay_at), "level": level, "message": msg, "service": "payments",
                  "trace_id": trace_id, "span_id": f"{rng.getrandbits(64):016x}", "request_id": request_id,
                  "user_id": user, "order_id": order, "amount": amount, "currency": "EUR", "outcome": outcome,
                  "provider": rng.choice(("stripe", "adyen")), "duration_ms": round(ms, 1)}
        import json

        doc = self._base("payments", pay_at, level, msg, host)
        doc.update({"trace": {"id": trace_id}, "http": {"request": {"id": request_id}}, "user": {"id": user},
                    "labels": {"env": "prod", "order_id": order, "provider": record["provider"],
                               "currency": "EUR", "outcome": outcome}})
        doc["event"].update({"duration": int(ms * 1e6), "duration_ms": round(ms, 1)})
        out.append(DemoEvent("payments", pay_at, json.dumps(record), _fold(doc)))
        if fail:
            out.append(self.java_error(pay_at + timedelta(milliseconds=ms), host, request_id, trace_id, order))
        return out

    def java_line(self, at: datetime, level: str, host: str, request_id: str, trace_id: str, logger: str,
                  message: str, stack: str | None = None) -> DemoEvent:
        ts = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.") + f"{at.microsecond // 1000:03d}"
        text = f"{ts} {level:<5} [{logger.rsplit('.', 1)[-1]}] {message} trace_id={trace_id} request_id={request_id}"
        if stack:
            text += "\n" + stack
        doc = self._base("orders", at, level, message, host)
        doc.update({"trace": {"id": trace_id}, "http": {"request": {"id": request_id}}, "log.logger": logger})
        if stack:
            first = stack.splitlines()[0]
            doc["error"] = {"type": first.split(":")[0], "message": message, "stack_trace": stack}
        return DemoEvent("orders", at, text, _fold(doc))

    def java_error(self, at: datetime, host: str, request_id: str, trace_id: str, order: str | None = None
                   ) -> DemoEvent:
        exc, template, frames = self.rng.choice(JAVA_ERRORS)
        message = template.format(order=order or f"o-{self.rng.randint(100000, 999999)}")
        stack = f"{exc}: {message}\n" + "\n".join(f"\tat {f}" for f in frames) + \
            "\n\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897)\n\t... 42 more"
        return self.java_line(at, "ERROR", host, request_id, trace_id, "com.shop.orders.api.ErrorHandler",
                              f"Request failed: {message}", stack)

    def java_warn(self, at: datetime, host: str, request_id: str, trace_id: str) -> DemoEvent:
        ms = self.rng.randint(800, 4000)
        return self.java_line(at, "WARN", host, request_id, trace_id, "com.shop.orders.repo.OrderRepository",
                              f"Slow query on orders took {ms}ms (threshold 500ms)")


def _fold(doc: dict[str, Any]) -> dict[str, Any]:
    """Expand dotted keys (``"event.action"``) into nested objects, as the pipeline writes them."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        parts = key.split(".") if key != "@timestamp" else [key]
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]].update(value)
        else:
            node[parts[-1]] = value
    return out


def daily_factor(at: datetime) -> float:
    """Traffic shape: quiet at night, a morning and an evening peak, calmer weekends."""
    h = at.hour + at.minute / 60
    day = 0.25 + 0.75 * math.exp(-((h - 11) ** 2) / 18) + 0.5 * math.exp(-((h - 19) ** 2) / 8)
    return day * (0.6 if at.weekday() >= 5 else 1.0)


def ecs_documents(start: datetime, end: datetime, requests: int, seed: int = 42,
                  burst: tuple[datetime, datetime] | None = None) -> Iterator[dict[str, Any]]:
    """About ``requests`` requests spread over [start, end) following the daily curve, as ECS documents
    (with an error burst during ``burst``)."""
    gen = DemoGenerator(seed, burst)
    span = (end - start).total_seconds()
    rng = random.Random(seed + 1)
    produced = 0
    while produced < requests:
        at = start + timedelta(seconds=rng.random() * span)
        if rng.random() > daily_factor(at):
            continue
        produced += 1
        for ev in gen.request(at):
            yield ev.doc


def shipper_config(out: Path, gateway_url: str, api_key: str, data_dir: Path) -> str:
    """A ``logharbor shipper`` config tailing the demo files (YAML text)."""
    lines = ["# written by python -m ops.demo", "gateway:", f"  url: {gateway_url}", f"  api_key: {api_key}",
             f"data_dir: {data_dir}", "sources:"]
    for service, rel in FILES.items():
        lines += ["  - type: file", f"    name: {service}", f"    paths: [{out / rel}]",
                  f"    format: {FORMATS[service]}", "    start_at: beginning"]
        if service == "orders":
            lines += ["    multiline:", "      start_pattern: '^\\d{4}-\\d{2}-\\d{2} '"]
    return "\n".join(lines) + "\n"


class DemoWriter:
    """Appends generated lines to the service files at ``rate`` events per second."""

    def __init__(self, out: Path, rate: float, seed: int | None = None) -> None:
        self.out = out
        self.rate = rate
        self.gen = DemoGenerator(seed)
        self.written = 0
        self._files: dict[str, Any] = {}

    def _file(self, service: str) -> Any:
        f = self._files.get(service)
        if f is None:
            path = self.out / FILES[service]
            path.parent.mkdir(parents=True, exist_ok=True)
            f = self._files[service] = path.open("a", encoding="utf-8")
        return f

    def write_batch(self, n: int, now: datetime | None = None) -> int:
        """Write about ``n`` events stamped around ``now``; returns how many were written."""
        now = now or datetime.now(UTC)
        events: list[DemoEvent] = []
        while len(events) < n:
            events += self.gen.request(now - timedelta(milliseconds=self.gen.rng.randint(0, 999)))
        events.sort(key=lambda ev: ev.at)  # files read in time order, like real logs
        for ev in events:
            self._file(ev.service).write(ev.text + "\n")
        written = len(events)
        for f in self._files.values():
            f.flush()
        self.written += written
        return written

    async def run(self, stop: asyncio.Event) -> None:
        """Write continuously until ``stop`` is set (what ``logharbor run --demo`` drives)."""
        debt = 0.0
        last = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            debt += (now - last) * self.rate
            last = now
            if debt >= 1:
                debt -= self.write_batch(int(debt))
            try:
                await asyncio.wait_for(stop.wait(), timeout=0.2)
            except TimeoutError:
                pass

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="directory for the log files")
    parser.add_argument("--rate", type=float, default=20.0, help="events per second (default 20)")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0: run until ^C)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (repeatable output)")
    parser.add_argument("--gateway", default="http://127.0.0.1:8088", help="gateway URL for the shipper config")
    parser.add_argument("--api-key", default="${LOGHARBOR_SHIPPER_API_KEY}", help="ingest key for the shipper config")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    config = args.out / "shipper.yaml"
    config.write_text(shipper_config(args.out.resolve(), args.gateway, args.api_key, args.out.resolve() / ".shipper"))
    writer = DemoWriter(args.out, args.rate, args.seed)
    print(f"writing ~{args.rate:g} events/s under {args.out} (shipper config: {config}); ^C stops", file=sys.stderr)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if args.duration:
            loop.call_later(args.duration, stop.set)
        await writer.run(stop)

    try:
        asyncio.run(go())
    finally:
        writer.close()
    print(f"wrote {writer.written} events", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
