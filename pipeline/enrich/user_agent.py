"""``user_agent``: user_agent.original → ECS user_agent.* by the uap-core rules (``ua-parser``).

Why a library and not our own table: uap-core is the maintained, community-kept rule set
(browsers, bots, apps, devices) that Logstash, Fluentd and most log tools use; ``ua-parser``
ships it precompiled (``ua-parser-builtins``) and resolves with the Rust accelerator
``ua-parser-rs`` when it is installed (pure-Python matching otherwise). The hand-written table
this replaced got 43 % of a 500-string uap-core sample right; uap-core 100 %, and with the
accelerator it is also faster per new string (figures: docs/PIPELINE.md, ``ops.bench.user_agents``).

Results are cached per string (agents repeat: a busy site sees a few thousand distinct ones),
so the steady-state cost is one dict lookup. Field names follow ECS: ``name``, ``version``
(major.minor.patch as uap-core gives them), ``os.name``, ``os.version``, ``os.full``,
``device.name``; uap-core's ``Other`` is kept for ``name`` and ``device.name`` (unknown agent)
and left out for the OS.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from typing import Literal

import ua_parser
from ua_parser import BasicResolver, Domain, Parser, load_builtins, load_lazy_builtins

from pipeline.event import Event
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig

MAX_UA_CHARS = 1024  # longer strings are cut before matching (bounded work per event)
CACHE_SIZE = 8192


def _best_parser() -> tuple[Parser, str]:
    """The Rust resolver when ``ua-parser-rs`` is importable, else the pure-Python one."""
    if importlib.util.find_spec("ua_parser_rs") is not None:
        from ua_parser.regex import Resolver as RegexResolver

        return Parser(RegexResolver(load_lazy_builtins())), "ua-parser-rs"
    return Parser(BasicResolver(load_builtins())), "ua-parser (python)"


PARSER, ENGINE = _best_parser()
"""The parser the step uses and its name (shown in docs and the benchmark)."""


def _version(*parts: str | None) -> str | None:
    out: list[str] = []
    for part in parts:
        if not part:
            break
        out.append(part)
    return ".".join(out) or None


def ecs_fields(result: ua_parser.Result) -> dict[str, str]:
    """ECS ``user_agent.*`` sub-fields (without the prefix) from one ua-parser result."""
    out: dict[str, str] = {}
    defaulted = result.with_defaults()  # a domain with no match becomes uap-core's "Other"
    ua, os_, device = defaulted.user_agent, defaulted.os, defaulted.device
    out["name"] = ua.family
    if version := _version(ua.major, ua.minor, ua.patch, ua.patch_minor):
        out["version"] = version
    if os_.family and os_.family != "Other":
        out["os.name"] = os_.family
        if os_version := _version(os_.major, os_.minor, os_.patch, os_.patch_minor):
            out["os.version"] = os_version
            out["os.full"] = f"{os_.family} {os_version}"
        else:
            out["os.full"] = os_.family
    out["device.name"] = device.family or "Other"
    return out


@lru_cache(maxsize=CACHE_SIZE)
def parse_user_agent(ua: str) -> dict[str, str]:
    """ECS ``user_agent.*`` sub-fields (without the prefix) for one User-Agent string (cached).

    The returned dict is shared by the cache: copy, never mutate it.
    """
    return ecs_fields(PARSER(ua[:MAX_UA_CHARS], Domain.ALL).complete())


class UserAgentConfig(StepConfig):
    type: Literal["user_agent"] = "user_agent"
    source_field: str = "user_agent.original"
    target: str = "user_agent"

    def build(self, settings: PipelineSettings) -> Step:
        return UserAgentStep(self)


class UserAgentStep(Step):
    fail_open = True

    def __init__(self, config: UserAgentConfig) -> None:
        self.name = config.rule_name
        self.source_field = config.source_field
        self.prefix = config.target + "."

    def process(self, event: Event) -> Event:
        ua = event.doc.get(self.source_field)
        if isinstance(ua, str) and ua and ua != "-":
            doc = event.doc
            prefix = self.prefix
            for key, value in parse_user_agent(ua).items():
                doc[prefix + key] = value
        return event
