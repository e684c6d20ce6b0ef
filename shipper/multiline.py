"""Multiline joining: stack traces and other continuation lines become one event.

Why in the shipper and not the pipeline: only the shipper sees lines in file order, and the
joined event keeps the byte offset of its first line, so its id stays stable across restarts.
Per-line work is a few prefix checks (no backtracking regex on the hot path unless the operator
configures a pattern). A pending event is flushed when the next event starts, when it reaches
``max_lines``/``max_bytes``, or ``flush_timeout_s`` after its last line arrived.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from shipper.model_base import StrictModel


class MultilineConfig(StrictModel):
    """Joins continuation lines into one event.

    With no patterns the built-in rules apply (lines starting with whitespace, ``Caused by:``,
    Python ``Traceback`` blocks and Java exception headers continue the previous event).
    ``start_pattern``: a line matching it starts an event, every other line continues.
    ``continue_pattern``: a line matching it continues, every other line starts an event.
    """

    enabled: bool = True
    start_pattern: str | None = None
    continue_pattern: str | None = None
    # A named rule set from shipper/presets.py (postgres, mysql-slow, go, ...); explicit patterns win.
    preset: str | None = None
    # With start_pattern: a start line right after a lone start line joins it (MySQL slow log's
    # "# Time:" then "# User@Host:").
    start_joins_header: bool = False
    flush_timeout_s: float = Field(default=0.3, gt=0)
    max_bytes: int = Field(default=65_536, ge=64)
    max_lines: int = Field(default=500, ge=1)

    @field_validator("start_pattern", "continue_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _apply_preset(self) -> MultilineConfig:
        if self.preset is not None:
            from shipper.presets import multiline_for

            for key, value in multiline_for(self.preset).items():
                if key not in self.model_fields_set:
                    setattr(self, key, value)
        return self


def multiline_option(value: object) -> object:
    """``multiline: false`` / ``true`` in a source's YAML, as a MultilineConfig mapping."""
    if value is False:
        return {"enabled": False}
    if value is True or value is None:
        return {}
    return value


# (raw text, start offset, end offset)
Joined = tuple[str, int, int]

_CONTINUATION_PREFIXES = (
    "Caused by:",
    "Suppressed:",
    "During handling of the above exception",
    "The above exception was the direct cause",
)
_PY_TRACEBACK = "Traceback (most recent call last):"
_JAVA_EXCEPTION = re.compile(r"(?:[A-Za-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)(?::|$)")


class MultilineJoiner:
    """Feed lines in order; completed events are appended to the caller's list."""

    __slots__ = ("_body", "_bytes", "_cfg", "_continue_re", "_end", "_last_at", "_lines", "_py_tb", "_start",
                 "_start_re")

    def __init__(self, cfg: MultilineConfig) -> None:
        self._cfg = cfg
        self._start_re = re.compile(cfg.start_pattern) if cfg.start_pattern else None
        self._continue_re = re.compile(cfg.continue_pattern) if cfg.continue_pattern else None
        self._lines: list[str] = []
        self._start = 0
        self._end = 0
        self._bytes = 0
        self._last_at = 0.0
        self._py_tb = False
        self._body = False  # the pending event has a line that is not a start line

    @property
    def pending_start(self) -> int | None:
        """Offset of the first line still waiting for its continuation, if any."""
        return self._start if self._lines else None

    @property
    def deadline(self) -> float | None:
        """When the pending event will be flushed for lack of new lines."""
        return self._last_at + self._cfg.flush_timeout_s if self._lines else None

    def _continues(self, line: str) -> bool:
        if self._start_re is not None:
            if self._start_re.match(line) is None:
                self._body = True
                return True
            return self._cfg.start_joins_header and not self._body
        if self._continue_re is not None:
            return self._continue_re.match(line) is not None
        if not line:
            return True
        c0 = line[0]
        if c0 == " " or c0 == "\t":
            return True
        if self._py_tb:
            # The exception line closes a Python traceback ("ValueError: bad").
            self._py_tb = False
            return True
        if line.startswith(_PY_TRACEBACK):
            self._py_tb = True
            return True
        if line.startswith(_CONTINUATION_PREFIXES):
            return True
        if ("Exception" in line or "Error" in line or "Throwable" in line) and _JAVA_EXCEPTION.match(line):
            return True
        return False

    def feed(self, line: str, start: int, end: int, now: float, out: list[Joined]) -> None:
        """Add one line (without newline) spanning bytes [start, end) of the stream."""
        cfg = self._cfg
        if self._lines and self._continues(line):
            if len(self._lines) < cfg.max_lines and self._bytes + len(line) < cfg.max_bytes:
                self._lines.append(line)
                self._bytes += len(line) + 1
                self._end = end
                self._last_at = now
                return
        self.flush(out)
        if self._start_re is None and self._continue_re is None:
            self._py_tb = line.startswith(_PY_TRACEBACK)
        self._lines = [line]
        self._body = False
        self._start = start
        self._end = end
        self._bytes = len(line)
        self._last_at = now

    def flush_due(self, now: float, out: list[Joined]) -> None:
        """Flush the pending event if its timeout passed."""
        if self._lines and now - self._last_at >= self._cfg.flush_timeout_s:
            self.flush(out)

    def flush(self, out: list[Joined]) -> None:
        """Emit the pending event now (end of stream, shutdown, timeout)."""
        if not self._lines:
            return
        text = "\n".join(self._lines).rstrip("\n") if len(self._lines) > 1 else self._lines[0]
        out.append((text, self._start, self._end))
        self._lines = []
        self._py_tb = False
