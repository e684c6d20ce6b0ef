"""The format library: one YAML rule file per log family, compiled once into a matcher.

Why data and not code: operators add their own families without a release, and a family's whole
contract (how it is recognised, its timestamp layout, which ECS fields it fills, its level
words) is one readable file — ``pipeline/parse/families/*.yaml`` for the built-in ones, plus the
files under ``pipeline.formats_path``. docs/PIPELINE.md documents the keys.

Cost per line is one anchored regex attempt per candidate family. Patterns are written with
possessive quantifiers and negated classes, and operator patterns are screened like the
``extract`` step's (no nested repeats), so a near-miss fails in linear time. Candidates are
narrowed by the first character of the line; the per-source cache in
:mod:`pipeline.parse.autodetect` usually makes the first candidate the right one.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import orjson
import yaml

from logharbor import ecs
from logharbor.levels import normalize_level
from pipeline.parse import errors as stack
from pipeline.parse.posthooks import HOOKS
from pipeline.patterns import check_pattern  # the same backtracking screen as extract rules
from pipeline.timeparse import layout_regex, parse_layout

BUILTIN_DIR = Path(__file__).with_name("families")
FIRST_CLASSES = frozenset({"digit", "upper", "lower", "any"})
# Shared snippets a pattern may use as %{NAME}; %{TS:layout} captures a timestamp as group ts.
MACROS: dict[str, str] = {
    "LEVEL": r"(?P<level>[A-Za-z]++)",
    "LOGGER": r"(?P<logger>[\w$-]++(?:\.[\w$-]++)++)",
    "INT": r"\d++",
    "WORD": r"[^\s]++",
    "IP": r"[0-9A-Fa-f:.]++",
    "MSG": r"(?P<message>.*)",
}
_TS_CACHE: dict[tuple[str, str, tzinfo], datetime] = {}
_MACRO_RE = re.compile(r"%\{(?P<name>[A-Z]+)(?::(?P<arg>[a-z_]+))?\}")


def first_class(line: str) -> str:
    """The dispatch class of a line's first character: digit, upper, lower or the character."""
    c = line[:1]
    if c.isdigit():
        return "digit"
    if c.isalpha():
        return "upper" if c.isupper() else "lower"
    return c


@dataclass(slots=True)
class Pattern:
    regex: re.Pattern[str]
    layout: str | None  # timestamp layout of group ts (from %{TS:layout})
    groups: frozenset[str]


@dataclass(slots=True)
class Family:
    """One compiled family. ``parse`` returns flat ECS fields or None."""

    name: str
    description: str = ""
    examples: list[str] = field(default_factory=list)
    priority: int = 100
    first: frozenset[str] = frozenset({"any"})
    kind: str = "regex"
    patterns: list[Pattern] = field(default_factory=list)
    levels: dict[str, str] = field(default_factory=dict)
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)  # group/key → (ecs name, type)
    default_level: str | None = None
    level_required: bool = True
    multiline: str | None = None
    hooks: list[Callable[[dict[str, Any], dict[str, str]], None]] = field(default_factory=list)
    # json kind: keys that must all be present; dotted paths for ts/level/message
    require: tuple[str, ...] = ()
    json_ts: str | None = None
    json_level: str | None = None
    json_message: str | None = None
    # csv kind
    columns: tuple[str, ...] = ()
    min_columns: int = 0
    ts_layout: str | None = None
    source: str = ""  # file it came from (shown by test-parse)

    def level_of(self, raw: str | None) -> str | None:
        if raw is None:
            return None
        hit = self.levels.get(raw)
        if hit is None:
            hit = self.levels.get(raw.lower())
        return normalize_level(hit) if hit is not None else normalize_level(raw)

    def parse(self, line: str, tz: tzinfo = UTC, now: datetime | None = None) -> dict[str, Any] | None:
        """Fields of ``line`` (a whole event, possibly several joined lines), or None."""
        if self.kind == "json":
            return self._parse_json(line, tz, now)
        if self.kind == "csv":
            return self._parse_csv(line, tz, now)
        for pat in self.patterns:
            m = pat.regex.match(line)
            if m is None:
                continue
            out = self._build(m.groupdict(), pat.layout, tz, now)
            if out is not None:
                return out
        return None

    def _build(
        self, groups: dict[str, Any], layout: str | None, tz: tzinfo, now: datetime | None
    ) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        raw_level = groups.get("level")
        if raw_level is not None:
            level = self.level_of(raw_level)
            if level is None:
                if self.level_required:
                    return None
            else:
                out[ecs.LEVEL] = level
        elif self.default_level:
            out[ecs.LEVEL] = self.default_level
        ts_text = groups.get("ts")
        if ts_text is not None and layout is not None:
            # Lines of a burst share their second (or millisecond): parse each text once.
            ckey = (ts_text, layout, tz)
            ts = _TS_CACHE.get(ckey) if now is None else None
            if ts is None:
                ts = parse_layout(layout, ts_text, tz, now)
                if ts is None:
                    return None
                if now is None:
                    if len(_TS_CACHE) >= 8192:
                        _TS_CACHE.clear()
                    _TS_CACHE[ckey] = ts
            out[ecs.TIMESTAMP] = ts
        for group, (target, kind) in self.fields.items():
            value = groups.get(group)
            if value is None or value == "" or value == "-":
                continue
            if kind == "int":
                try:
                    out[target] = int(value)
                except ValueError:
                    out[target] = value
            else:
                out[target] = value
        message = groups.get("message")
        if message is not None:
            out[ecs.MESSAGE] = message
        for hook in self.hooks:
            hook(out, groups)
        if ecs.LEVEL not in out and self.default_level:
            out[ecs.LEVEL] = self.default_level
        _finish_message(out)
        return out

    def _parse_json(self, line: str, tz: tzinfo, now: datetime | None) -> dict[str, Any] | None:
        if not line.startswith("{"):
            return None
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(obj, dict) or any(k not in obj for k in self.require):
            return None
        groups: dict[str, Any] = {}
        for name, path in (("ts", self.json_ts), ("level", self.json_level), ("message", self.json_message)):
            if path:
                value = _dig(obj, path)
                if value is not None:
                    groups[name] = value if isinstance(value, str) else str(value)
        for key in self.fields:
            value = _dig(obj, key)
            if value is not None:
                groups[key] = value if isinstance(value, (str, int, float, bool)) else orjson.dumps(value).decode()
        groups["_obj"] = obj
        return self._build(groups, self.ts_layout, tz, now)

    def _parse_csv(self, line: str, tz: tzinfo, now: datetime | None) -> dict[str, Any] | None:
        if '"' not in line and "," not in line:
            return None
        try:
            # keepends: a quoted field spanning lines (a multi-line statement) keeps its newlines
            row = next(csv.reader(line.splitlines(keepends=True)))
        except (csv.Error, StopIteration):
            return None
        if len(row) < self.min_columns or len(row) > len(self.columns) + 2:
            return None
        groups = dict(zip(self.columns, row, strict=False))
        return self._build(groups, self.ts_layout, tz, now)


def _dig(obj: dict[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        if part in value:
            value = value[part]
        else:
            return None
    return value


def _finish_message(out: dict[str, Any]) -> None:
    """Split a joined multi-line event: the first line is the message, a trace fills error.*."""
    message = out.get(ecs.MESSAGE)
    if not isinstance(message, str):
        return
    if "\n" in message:
        head, _, rest = message.partition("\n")
        info = stack.extract(head, rest)
        if info is not None:
            out.update(info)
            out[ecs.MESSAGE] = head.strip()
            return
    out[ecs.MESSAGE] = message.strip()


# -- compiling ------------------------------------------------------------------------------
def _expand(pattern: str) -> tuple[str, str | None]:
    layout: str | None = None

    def sub(m: re.Match[str]) -> str:
        nonlocal layout
        name, arg = m["name"], m["arg"]
        if name == "TS":
            if arg is None:
                raise ValueError("%{TS:layout} needs a layout name")
            layout = arg
            return f"(?P<ts>{layout_regex(arg)})"
        if name not in MACROS:
            raise ValueError(f"unknown macro %{{{name}}}; known: TS, {', '.join(MACROS)}")
        return MACROS[name]

    return _MACRO_RE.sub(sub, pattern), layout


def compile_family(spec: dict[str, Any], source: str = "") -> Family:
    """Validate one YAML family and compile its patterns; errors name the family and the key."""
    name = spec.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,63}", name):
        raise ValueError(f"{source}: family 'name' must be lower-case letters, digits, - _ . (got {name!r})")
    known = {
        "name", "description", "examples", "example", "priority", "first", "kind", "patterns", "pattern",
        "levels", "fields", "default_level", "level_required", "multiline", "hooks", "require", "json",
        "columns", "min_columns", "timestamp",
    }
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"family {name}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
    kind = spec.get("kind", "regex")
    if kind not in ("regex", "json", "csv"):
        raise ValueError(f"family {name}: kind must be regex, json or csv")
    first = spec.get("first", ["any"])
    if isinstance(first, str):
        first = [first]
    for c in first:
        if c not in FIRST_CLASSES and len(c) != 1:
            raise ValueError(f"family {name}: first entries are digit, upper, lower, any or one character")
    fam = Family(
        name=name,
        description=str(spec.get("description", "")).strip(),
        examples=list(spec.get("examples") or ([spec["example"]] if "example" in spec else [])),
        priority=int(spec.get("priority", 100)),
        first=frozenset(first),
        kind=kind,
        levels={str(k): str(v) for k, v in (spec.get("levels") or {}).items()},
        default_level=normalize_level(spec["default_level"]) if spec.get("default_level") else None,
        level_required=bool(spec.get("level_required", True)),
        multiline=spec.get("multiline"),
        source=source,
    )
    for raw_level in fam.levels.values():
        if normalize_level(raw_level) is None:
            raise ValueError(f"family {name}: level {raw_level!r} is not DEBUG, INFO, WARN, ERROR or FATAL")
    for group, target in (spec.get("fields") or {}).items():
        target = str(target)
        ecs_name, _, typ = target.partition(":")
        fam.fields[str(group)] = (ecs_name, typ or "str")
    for hook in spec.get("hooks") or []:
        if hook not in HOOKS:
            raise ValueError(f"family {name}: unknown hook {hook!r}; known: {', '.join(sorted(HOOKS))}")
        fam.hooks.append(HOOKS[hook])
    if kind == "regex":
        patterns = spec.get("patterns") or ([spec["pattern"]] if "pattern" in spec else [])
        if not patterns:
            raise ValueError(f"family {name}: needs 'patterns' (a list of regexes)")
        for raw in patterns:
            text, layout = _expand(str(raw))
            try:
                rx = check_pattern(text)
            except ValueError as exc:
                raise ValueError(f"family {name}: {exc}") from None
            rx = re.compile(text, re.DOTALL)
            fam.patterns.append(Pattern(rx, layout, frozenset(rx.groupindex)))
    else:
        ts = spec.get("timestamp")
        if ts is not None:
            layout_regex(str(ts))  # validates the name
            fam.ts_layout = str(ts)
        if kind == "json":
            js = spec.get("json") or {}
            fam.require = tuple(spec.get("require") or ())
            fam.json_ts, fam.json_level, fam.json_message = js.get("timestamp"), js.get("level"), js.get("message")
        else:
            fam.columns = tuple(spec.get("columns") or ())
            fam.min_columns = int(spec.get("min_columns", len(fam.columns)))
            if not fam.columns:
                raise ValueError(f"family {name}: kind csv needs 'columns'")
    return fam


def load_dir(path: Path) -> list[Family]:
    """Every ``*.yaml``/``*.yml`` family in ``path`` (a file or a directory)."""
    files = [path] if path.is_file() else sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
    out: list[Family] = []
    for f in files:
        docs = yaml.safe_load(f.read_text())
        specs = docs if isinstance(docs, list) else [docs]
        for spec in specs:
            if not isinstance(spec, dict):
                raise ValueError(f"{f}: a family file holds a mapping (or a list of them)")
            out.append(compile_family(spec, str(f)))
    return out


class Library:
    """All families, indexed by name and by first-character class, in priority order."""

    def __init__(self, families: Iterable[Family]) -> None:
        self.families: dict[str, Family] = {}
        for fam in families:
            self.families[fam.name] = fam  # a later file (operator's) replaces a built-in of that name
        self._ordered = sorted(self.families.values(), key=lambda f: (f.priority, f.name))
        self._by_class: dict[str, tuple[Family, ...]] = {}

    def candidates(self, line: str) -> tuple[Family, ...]:
        cls = first_class(line)
        hit = self._by_class.get(cls)
        if hit is None:
            hit = tuple(f for f in self._ordered if "any" in f.first or cls in f.first)
            self._by_class[cls] = hit
        return hit

    def get(self, name: str) -> Family | None:
        return self.families.get(name)

    def __len__(self) -> int:
        return len(self.families)


_DEFAULT: dict[str, Library] = {}


def load_library(extra: Path | None = None) -> Library:
    """The built-in families plus the operator's (``pipeline.formats_path``), cached per path
    and modification time, so an edited file is picked up when the rules are next reloaded."""
    key = str(extra or "")
    if extra is not None and extra.exists():
        files = [extra] if extra.is_file() else [*extra.glob("*.yaml"), *extra.glob("*.yml")]
        key += ":" + ",".join(str(f.stat().st_mtime_ns) for f in sorted(files))
    lib = _DEFAULT.get(key)
    if lib is None:
        fams = load_dir(BUILTIN_DIR)
        if extra is not None:
            if not extra.exists():
                raise ValueError(f"pipeline.formats_path {extra} does not exist")
            fams += load_dir(extra)
        lib = _DEFAULT[key] = Library(fams)
    return lib
