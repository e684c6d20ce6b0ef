"""The hand-written user-agent table the pipeline used before uap-core, kept as a baseline.

Only ``ops.bench.user_agents`` imports it: it measures the uap-core step against this table
(speed and accuracy on tests/data/user_agents). Not used by the pipeline.
"""

from __future__ import annotations

import re
from functools import lru_cache

_V = r"(\d++(?:\.\d++)*+)"
BOTS = re.compile(
    r"(?i)(Googlebot|bingbot|YandexBot|DuckDuckBot|Baiduspider|Slurp|facebookexternalhit|Twitterbot|"
    r"Applebot|AhrefsBot|SemrushBot|GPTBot|ClaudeBot|PetalBot|MJ12bot)(?:/" + _V + ")?"
)
TOOLS = re.compile(
    r"^(curl|Wget|python-requests|python-urllib3|Python-urllib|aiohttp|Go-http-client|okhttp|"
    r"PostmanRuntime|Java|axios|node-fetch|Apache-HttpClient|libwww-perl|HTTPie|Prometheus|"
    r"kube-probe|ELB-HealthChecker|Ruby)/" + _V
)
# (regex, family); the first match wins, so more specific browsers come first.
BROWSERS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), name)
    for p, name in (
        (r"Edg(?:e|A|iOS)?/" + _V, "Edge"),
        (r"OPR/" + _V, "Opera"),
        (r"SamsungBrowser/" + _V, "Samsung Internet"),
        (r"YaBrowser/" + _V, "Yandex Browser"),
        (r"(?:Firefox|FxiOS)/" + _V, "Firefox"),
        (r"CriOS/" + _V, "Chrome Mobile iOS"),
        (r"Chrome/" + _V + r".*?Mobile", "Chrome Mobile"),
        (r"Chrom(?:e|ium)/" + _V, "Chrome"),
        (r"Version/" + _V + r".*?Mobile.*?Safari/", "Mobile Safari"),
        (r"Version/" + _V + r".*?Safari/", "Safari"),
        (r"MSIE (\d++(?:\.\d++)*+)", "IE"),
        (r"Trident/.*?rv:" + _V, "IE"),
    )
)
WINDOWS = {"10.0": "10", "6.3": "8.1", "6.2": "8", "6.1": "7", "6.0": "Vista", "5.1": "XP"}
OS_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), name)
    for p, name in (
        (r"Windows NT (\d++\.\d++)", "Windows"),
        (r"(?:iPhone|CPU) OS (\d++(?:_\d++)*+)", "iOS"),
        (r"iPad.*?OS (\d++(?:_\d++)*+)", "iOS"),
        (r"Android (\d++(?:\.\d++)*+)", "Android"),
        (r"Mac OS X (\d++(?:[_.]\d++)*+)", "Mac OS X"),
        (r"CrOS [\w]++ (\d++(?:\.\d++)*+)", "Chrome OS"),
        (r"(Ubuntu|Fedora|Debian)", "Linux"),
        (r"(Linux)", "Linux"),
    )
)
ANDROID_MODEL = re.compile(r"Android [\d.]++; (?:[a-z]{2}(?:[-_][A-Za-z]{2})?; )?([^;)]{1,40}?)(?: Build/|\))")


@lru_cache(maxsize=8192)
def parse_user_agent(ua: str) -> dict[str, str]:
    """ECS ``user_agent.*`` sub-fields (without the prefix) for one User-Agent string."""
    ua = ua[:1024]
    out: dict[str, str] = {}
    if m := BOTS.search(ua):
        out["name"] = m.group(1)
        if m.group(2):
            out["version"] = m.group(2)
        out["device.name"] = "Spider"
        return out
    if m := TOOLS.match(ua):
        out["name"] = m.group(1)
        out["version"] = m.group(2)
        out["device.name"] = "Other"
        return out
    for rx, family in BROWSERS:
        if m := rx.search(ua):
            out["name"] = family
            out["version"] = m.group(1)
            break
    else:
        out["name"] = "Other"
    for rx, os_name in OS_RULES:
        if m := rx.search(ua):
            out["os.name"] = os_name
            version = m.group(1)
            if os_name == "Windows":
                out["os.version"] = WINDOWS.get(version, version)
            elif os_name != "Linux" or version != "Linux":
                if version[0].isdigit():
                    out["os.version"] = version.replace("_", ".")
            break
    if "iPhone" in ua:
        out["device.name"] = "iPhone"
    elif "iPad" in ua:
        out["device.name"] = "iPad"
    elif "Android" in ua:
        model = ANDROID_MODEL.search(ua)
        name = model.group(1).strip() if model else ""
        out["device.name"] = (
            name if name and name != "K" else ("Generic Smartphone" if "Mobile" in ua else "Generic Tablet")
        )
    else:
        out["device.name"] = "Other"
    return out
