"""What a page's URL means: URL state → query-API parameters, links and query edits.

Every dashboard page keeps its whole state in the URL (shareable links), and each one is a
view over a query-API call; this module is the single translation between the two, so the
page, the JSON link under it and the JavaScript all ask the API the same question.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from logharbor.levels import LEVELS

RANGES: dict[str, str] = {"15m": "Last 15 minutes", "1h": "Last hour", "24h": "Last 24 hours",
                          "7d": "Last 7 days", "custom": "Custom range"}
DEFAULT_RANGE = "24h"
SORTABLE: dict[str, str] = {"timestamp": "@timestamp", "level": "log.level", "source": "service.name"}
BUSINESS_HOURS = "during business hours"
_BARE_VALUE = re.compile(r"^[A-Za-z0-9_.\-@/]+$")


@dataclass(slots=True)
class SearchState:
    """The search page's URL parameters, validated only as far as display needs; the API
    validates the rest and its 400s are shown on the page."""

    q: str = ""
    range: str = DEFAULT_RANGE
    start: str = ""
    end: str = ""
    business_hours: bool = False
    levels: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    sort: str = "@timestamp:desc"
    offset: int = 0
    cursor: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> SearchState:
        """Read the URL (``level`` and ``source`` may repeat or be comma lists)."""

        def many(name: str) -> list[str]:
            getall = getattr(query, "getall", None)
            raw = getall(name, []) if getall else ([query[name]] if name in query else [])
            return [p.strip() for v in raw for p in str(v).split(",") if p.strip()]

        rng = str(query.get("range") or "")
        start, end = str(query.get("from") or ""), str(query.get("to") or "")
        if rng not in RANGES:
            rng = "custom" if (start or end) else DEFAULT_RANGE
        try:
            offset = max(0, int(query.get("offset") or 0))
        except ValueError:
            offset = 0
        return cls(
            q=str(query.get("q") or ""), range=rng, start=start if rng == "custom" else "",
            end=end if rng == "custom" else "", business_hours=str(query.get("bh") or "") in ("1", "on", "true"),
            levels=[lv.upper() for lv in many("level")], sources=many("source"),
            sort=str(query.get("sort") or "@timestamp:desc"), offset=offset, cursor=str(query.get("cursor") or ""),
        )

    def effective_q(self) -> str:
        """``q`` as sent to the API: the business-hours toggle is the query engine's own clause."""
        if self.business_hours:
            return f"({self.q}) {BUSINESS_HOURS}" if self.q.strip() else BUSINESS_HOURS
        return self.q

    def time_params(self) -> dict[str, str]:
        if self.range == "custom":
            return {k: v for k, v in (("from", self.start), ("to", self.end)) if v}
        return {"from": f"now-{self.range}"}

    def filter_params(self) -> dict[str, str]:
        """The API's shared filter parameters (search, aggregate, fields, export, stream)."""
        out: dict[str, str] = {}
        if self.effective_q().strip():
            out["q"] = self.effective_q()
        out.update(self.time_params())
        if self.levels:
            out["level"] = ",".join(self.levels)
        if self.sources:
            out["source"] = ",".join(self.sources)
        return out

    def search_params(self, limit: int) -> dict[str, str]:
        if self.cursor:
            return {"cursor": self.cursor, "limit": str(limit)}
        return {**self.filter_params(), "sort": self.sort, "limit": str(limit), "offset": str(self.offset)}

    def url_params(self) -> list[tuple[str, str]]:
        """The state as URL parameters (defaults left out, so links stay short)."""
        out: list[tuple[str, str]] = []
        if self.q:
            out.append(("q", self.q))
        if self.range != DEFAULT_RANGE:
            out.append(("range", self.range))
        if self.range == "custom":
            out += [(k, v) for k, v in (("from", self.start), ("to", self.end)) if v]
        if self.business_hours:
            out.append(("bh", "1"))
        out += [("level", lv) for lv in self.levels]
        out += [("source", s) for s in self.sources]
        if self.sort != "@timestamp:desc":
            out.append(("sort", self.sort))
        if self.offset:
            out.append(("offset", str(self.offset)))
        if self.cursor:
            out.append(("cursor", self.cursor))
        return out

    def url(self, path: str = "/search", **changes: Any) -> str:
        """This state with ``changes`` applied, as a link; paging resets unless asked for."""
        state = dataclasses.replace(self, **{"offset": 0, "cursor": "", **changes})
        query = urlencode(state.url_params())
        return f"{path}?{query}" if query else path

    def saved_form(self) -> dict[str, Any]:
        """What a saved query stores: the URL state minus paging."""
        return {"q": self.q, "range": self.range, "from": self.start, "to": self.end,
                "bh": self.business_hours, "level": self.levels, "source": self.sources}


def state_from_saved(query: Mapping[str, Any]) -> SearchState:
    """A saved query's stored form back into a search state."""
    return SearchState.from_query({
        "q": query.get("q") or "", "range": query.get("range") or "", "from": query.get("from") or "",
        "to": query.get("to") or "", "bh": "1" if query.get("bh") else "",
        "level": ",".join(query.get("level") or []), "source": ",".join(query.get("source") or []),
    })


def quote_value(value: Any) -> str:
    """A value as the query syntax reads it literally (quoted unless it is a plain word)."""
    text = str(value)
    if _BARE_VALUE.match(text) and text.upper() not in ("AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def add_clause(q: str, fld: str, value: Any, negate: bool = False) -> str:
    """``q`` narrowed by ``field:value`` (or ``NOT field:value``): what the sidebar's +/− and the
    filter builder do. The existing query is parenthesised so its ORs keep their meaning."""
    clause = f"{'NOT ' if negate else ''}{fld}:{quote_value(value)}"
    q = q.strip()
    if not q:
        return clause
    if clause in q:
        return q
    if re.search(r"\bOR\b", q, re.IGNORECASE):
        q = f"({q})"
    return f"{q} AND {clause}"


def sort_link(state: SearchState, column: str) -> tuple[str, str]:
    """(link, current direction or '') for a sortable column header."""
    fld = SORTABLE[column]
    current, _, order = state.sort.partition(":")
    if current == fld:
        return state.url(sort=f"{fld}:{'asc' if order == 'desc' else 'desc'}"), order
    return state.url(sort=f"{fld}:desc"), ""


def mark_position(text: str, position: int | None) -> tuple[str, str, str] | None:
    """Split ``text`` around the 1-based column of a syntax error, for the page to highlight."""
    if position is None or not isinstance(position, int) or position < 1:
        return None
    i = min(position - 1, len(text))
    return text[:i], text[i:i + 1] or " ", text[i + 1:]


def level_options(selected: list[str]) -> list[tuple[str, bool]]:
    return [(lv, lv in selected) for lv in LEVELS]


# ---------------------------------------------------------------- dashboards

@dataclass(frozen=True, slots=True)
class Panel:
    """One chart: the API call that feeds it, how to draw it, and the search behind it."""

    id: str
    title: str
    kind: str  # line, stacked, bars, donut, heatmap, gauge, events, health, percentiles, table
    api: str  # path + query of the feeding API call
    search: str  # the search page link that produces the same events
    refresh_s: float = 0.0
    wide: bool = False
    divide: int = 1  # bucket counts → rates (60 turns per-minute buckets into events/s)


def _link(path: str, params: dict[str, str]) -> str:
    return f"{path}?{urlencode(params)}"


def overview_panels() -> list[Panel]:
    """The overview's panels over /api/v1 endpoints. The per-second view (volume, error-rate
    gauge, recent errors) is the live card above them, fed by ``/api/v1/live/overview`` (SSE
    from the stream); these refresh every few seconds (the hourly view is answered from the
    streaming rollup when it covers the range)."""
    hour = {"from": "now-1h"}
    return [
        Panel("rate", "Events per second, last hour (1-minute average, by level)", "stacked",
              _link("/api/v1/logs/aggregate", {**hour, "interval": "1m", "group_by": "level", "size": "5"}),
              _link("/search", {"range": "1h"}), 10.0, wide=True, divide=60),
        Panel("error-rate", "Error rate, last 5 minutes", "gauge", "/api/v1/metrics",
              _link("/search", {"range": "15m", "level": "ERROR,FATAL"}), 5.0),
        Panel("health", "Health", "health", "/api/v1/status", "/admin", 2.0),
        Panel("top-sources", "Busiest sources, last 15 minutes", "bars",
              _link("/api/v1/logs/aggregate", {"from": "now-15m", "group_by": "service.name", "size": "8"}),
              _link("/search", {"range": "15m"}), 5.0),
        Panel("recent-errors", "Recent errors", "events",
              _link("/api/v1/logs/search", {**hour, "level": "ERROR,FATAL", "limit": "10"}),
              _link("/search", {"range": "1h", "level": "ERROR,FATAL"}), 10.0, wide=True),
    ]


def analytics_panels(range_: str = "24h") -> dict[str, list[Panel]]:
    """Analytics tabs: errors, performance, activity, services (each panel links to its search)."""
    rng = {"from": f"now-{range_}"}
    srange = {"range": range_}
    errors = {**rng, "level": "ERROR,FATAL"}
    serrors = {**srange, "level": "ERROR,FATAL"}
    return {
        "errors": [
            Panel("top-errors", "Top errors by pattern", "bars",
                  _link("/api/v1/logs/aggregate", {**errors, "group_by": "logharbor.pattern.template", "size": "10"}),
                  _link("/search", serrors), wide=True),
            Panel("error-trend", "Errors over time by service", "line",
                  _link("/api/v1/logs/aggregate", {**errors, "interval": "auto", "group_by": "service.name",
                                                   "size": "5"}),
                  _link("/search", serrors)),
            Panel("error-types", "Errors by type", "donut",
                  _link("/api/v1/logs/aggregate", {**errors, "group_by": "error.type", "size": "8"}),
                  _link("/search", {**serrors, "q": "error.type EXISTS"})),
        ],
        "performance": [
            Panel("latency", "Response time percentiles per endpoint (ms)", "percentiles",
                  _link("/api/v1/logs/aggregate", {**rng, "metric": "percentiles", "field": "event.duration_ms",
                                                   "group_by": "url.path", "size": "10", "percents": "50,95,99"}),
                  _link("/search", {**srange, "q": "event.duration_ms EXISTS"}), wide=True),
            Panel("slow-endpoints", "Mean response time per endpoint (ms)", "bars",
                  _link("/api/v1/logs/aggregate", {**rng, "metric": "avg", "field": "event.duration_ms",
                                                   "group_by": "url.path", "size": "10"}),
                  _link("/search", {**srange, "q": "event.duration_ms > 1000"})),
        ],
        "activity": [
            Panel("per-user", "Requests per user", "bars",
                  _link("/api/v1/logs/aggregate", {**rng, "group_by": "user.id", "size": "10"}),
                  _link("/search", {**srange, "q": "user.id EXISTS"})),
            Panel("week-heatmap", "Events by hour of week (last 7 days)", "heatmap",
                  _link("/api/v1/logs/aggregate", {"from": "now-7d", "interval": "1h"}),
                  _link("/search", {"range": "7d"}), wide=True),
            Panel("levels", "Events by level", "donut",
                  _link("/api/v1/logs/aggregate", {**rng, "group_by": "level", "size": "5"}),
                  _link("/search", srange)),
        ],
        "services": [
            Panel("service-errors", "Error rate per service", "bars",
                  _link("/api/v1/logs/aggregate", {**rng, "metric": "error_rate", "group_by": "service.name",
                                                   "size": "20"}),
                  _link("/search", serrors)),
            Panel("service-volume", "Events per service over time", "line",
                  _link("/api/v1/logs/aggregate", {**rng, "interval": "auto", "group_by": "service.name",
                                                   "size": "6"}),
                  _link("/search", srange), wide=True),
        ],
    }
