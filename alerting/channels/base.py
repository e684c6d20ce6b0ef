"""What every channel shares: the send context, the delivery error, HTTP posting, message text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson

from alerting.settings import AlertingSettings


class DeliveryError(Exception):
    """A failed delivery. ``permanent``: retrying cannot help (4xx); ``retry_after``: the
    receiver said when to come back (HTTP 429/503 ``Retry-After``)."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status


@dataclass
class SendContext:
    session: aiohttp.ClientSession
    settings: AlertingSettings


def retry_after_s(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


async def post_json(ctx: SendContext, url: str, body: Any, headers: dict[str, str] | None = None,
                    raw: bytes | None = None) -> str:
    """POST JSON; 2xx → status text, else :class:`DeliveryError` (the URL is never in the message)."""
    data = raw if raw is not None else orjson.dumps(body)
    h = {"Content-Type": "application/json", "User-Agent": "LogHarbor-Alerting/1"}
    h.update(headers or {})
    timeout = aiohttp.ClientTimeout(total=ctx.settings.send_timeout_s)
    try:
        async with ctx.session.post(url, data=data, headers=h, timeout=timeout) as resp:
            text = (await resp.text())[:200]
            if 200 <= resp.status < 300:
                return f"HTTP {resp.status}"
            ra = retry_after_s(resp.headers.get("Retry-After"))
            if resp.status == 429 or resp.status >= 500 or resp.status == 408:
                raise DeliveryError(f"HTTP {resp.status}: {text}", retry_after=ra, status=resp.status)
            raise DeliveryError(f"HTTP {resp.status}: {text}", permanent=True, status=resp.status)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {str(exc).split(' url=')[0][:200]}") from None


def fmt_value(v: Any) -> str:
    if v is None:
        return "no data"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def headline(n: dict[str, Any]) -> str:
    """One line saying what happened: ``[FIRING] api errors (service.name=api): count 130 > 100``."""
    kind = n["transition"]
    base = kind.removeprefix("summary-")
    tag = {"firing": "FIRING", "resolved": "RESOLVED", "test": "TEST", "match": "MATCH",
           "repeat": "STILL FIRING"}.get(base, base.upper())
    group = "" if n.get("group") in (None, "*") else f" ({n['group']})"
    if kind == "summary-match":
        return f"[MATCH] {n['rule_name']}: {n.get('total_groups', 0)} more matching events (over the per-minute cap)"
    if kind.startswith("summary"):
        what = "still firing" if base == "repeat" else base
        return f"[{tag}] {n['rule_name']}: {n.get('total_groups', 0)} groups {what}"
    if kind == "match":
        return f"[MATCH] {n['rule_name']}{group}: {str((n.get('event') or {}).get('message', ''))[:200]}"
    cond = (f"{n.get('condition_type', 'count')} {fmt_value(n.get('value'))} {n.get('op', '>')} "
            f"{fmt_value(n.get('threshold'))}")
    return f"[{tag}] {n['rule_name']}{group}: {cond}"


def detail_lines(n: dict[str, Any]) -> list[str]:
    lines = [f"Severity: {n.get('severity', 'warning')}", f"Query: {n.get('query') or '(all events)'}"]
    if n.get("window_start") and n.get("window_end"):
        lines.append(f"Window: {iso(n['window_start'])} – {iso(n['window_end'])}")
    for g in (n.get("groups") or [])[:20]:
        lines.append(f"  • {g['group']}: {fmt_value(g.get('value'))}")
    if n.get("link"):
        lines.append(f"Search: {n['link']}")
    return lines


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
