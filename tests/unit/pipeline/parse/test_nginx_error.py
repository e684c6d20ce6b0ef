# ruff: noqa: E501  (real log lines are quoted whole)
"""nginx error log through the shipper's nginx-error preset: FastCGI's continuation lines and stray
stderr prompts join the entry before them, and the family parses the joined entry whole.

Lines from elastic/integrations packages/nginx/data_stream/error/_dev/test/pipeline/test-error-raw.log
and 1569501393/laradock logs/nginx/error.log.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.parse.autodetect import Detector
from pipeline.parse.library import load_library
from shipper.config import MultilineConfig
from shipper.multiline import MultilineJoiner
from shipper.presets import multiline_for

DET = Detector(load_library())
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def join(lines: list[str]) -> list[str]:
    joiner = MultilineJoiner(MultilineConfig(**multiline_for("nginx-error")))
    out: list[tuple[str, int, int]] = []
    for i, line in enumerate(lines):
        joiner.feed(line, i, i + 1, 0.0, out)
    joiner.flush(out)
    return [text for text, _, _ in out]


def test_the_family_names_the_preset() -> None:
    assert load_library().get("nginx-error").multiline == "nginx-error"


def test_fastcgi_continuation_lines_stay_with_their_entry() -> None:
    events = join([
        '2019/10/30 23:26:34 [error] 205860#205860: *180289 FastCGI sent in stderr: "PHP message: PHP Warning:  Declaration of FEE_Field_Terms::wrap() should be compatible in /var/www/post.php on line 0',
        "PHP message: PHP Warning:  Declaration of FEE_Field_Tags::wrap() should be compatible in /var/www/post.php on line 0",
        '2019/11/05 14:50:44 [error] 54053#0: *3 open() "/usr/local/Cellar/nginx/1.10.2_1/html/adsasd" failed (2: No such file or directory), client: 127.0.0.1',
    ])
    assert len(events) == 2
    family, fields = DET.detect(events[0], ("unit", "nginx"), UTC, NOW)
    assert family == "nginx-error"
    assert fields["log.level"] == "ERROR" and fields["nginx.error.connection_id"] == 180289
    assert fields["message"].endswith("FEE_Field_Tags::wrap() should be compatible in /var/www/post.php on line 0")
    assert fields["message"].startswith("FastCGI sent in stderr:")


def test_a_stray_prompt_joins_the_entry_before_it() -> None:
    events = join([
        "2023/04/15 15:21:48 [notice] 128#128: signal process started",
        "Enter PEM pass phrase:",
        '2023/04/15 15:21:52 [emerg] 9#9: cannot load certificate key "/etc/nginx/ssl/server.key"',
    ])
    assert events[0] == "2023/04/15 15:21:48 [notice] 128#128: signal process started\nEnter PEM pass phrase:"
    _, fields = DET.detect(events[1], ("unit", "nginx"), UTC, NOW)
    assert fields["log.level"] == "FATAL" and fields["process.pid"] == 9
