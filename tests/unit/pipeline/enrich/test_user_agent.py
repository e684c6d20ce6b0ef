"""pipeline/enrich/user_agent.py: browser, OS and device from real user-agent strings."""

from __future__ import annotations

import pytest

from pipeline.enrich.user_agent import parse_user_agent


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.6099.109 Safari/537.36",
            {
                "name": "Chrome",
                "version": "120.0.6099.109",
                "os.name": "Windows",
                "os.version": "10",
                "device.name": "Other",
            },
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.2 Mobile/15E148 Safari/604.1",
            {
                "name": "Mobile Safari",
                "version": "17.2",
                "os.name": "iOS",
                "os.version": "17.2",
                "device.name": "iPhone",
            },
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
            {
                "name": "Firefox",
                "version": "121.0",
                "os.name": "Mac OS X",
                "os.version": "10.15",
                "device.name": "Mac",
            },
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Mobile Safari/537.36",
            {
                "name": "Chrome Mobile",
                "version": "120.0.0.0",
                "os.name": "Android",
                "os.version": "14",
                "device.name": "Pixel 8",
            },
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
            "Safari/537.36 Edg/120.0.2210.91",
            {
                "name": "Edge",
                "version": "120.0.2210.91",
                "os.name": "Windows",
                "os.version": "10",
                "device.name": "Other",
            },
        ),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            {"name": "Googlebot", "version": "2.1", "device.name": "Spider"},
        ),
        ("curl/8.5.0", {"name": "curl", "version": "8.5.0", "device.name": "Other"}),
        ("Mozilla/5.0", {"name": "Other", "device.name": "Other"}),
    ],
)
def test_user_agent(ua: str, expected: dict[str, str]) -> None:
    got = dict(parse_user_agent(ua))  # uap-core answers (the corpus test: test_user_agent_corpus.py)
    if "os.name" in expected:
        assert got.pop("os.full") == f"{expected['os.name']} {expected['os.version']}"
    assert got == expected
