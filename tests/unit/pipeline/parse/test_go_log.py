# ruff: noqa: E501  (real log lines are quoted whole)
"""Go's log package with the bracketed level HashiCorp tools (Terraform, Packer) and many
Go programs write: the level is read, not left at the default, and the message follows it.

Lines from Diz0m/terraform and AnuyogChauhan/sampleterraform crash.log (Terraform 0.12, 0.9) and
CHimaLeo/packer crash.log (Packer 1.6).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.parse.autodetect import Detector
from pipeline.parse.library import load_library

DET = Detector(load_library())
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "level", "message"),
    [
        ("2021/05/27 10:46:32 [INFO] Terraform version: 0.12.24", "INFO", "Terraform version: 0.12.24"),
        ("2021/05/27 10:46:32 [TRACE] Meta.Backend: no config given or present on disk, so returning nil config",
         "DEBUG", "Meta.Backend: no config given or present on disk, so returning nil config"),
        ("2021/05/27 10:46:33 [ERROR] <root>: eval: *terraform.EvalRefresh, err: rpc error: code = Unavailable desc = transport is closing",
         "ERROR", "<root>: eval: *terraform.EvalRefresh, err: rpc error: code = Unavailable desc = transport is closing"),
        ("2017/05/05 17:55:54 [ERROR] root: eval: *terraform.EvalApplyPost, err: 1 error(s) occurred:", "ERROR",
         "root: eval: *terraform.EvalApplyPost, err: 1 error(s) occurred:"),
        ("2023/11/26 06:13:51 Checking 'PACKER_CONFIG' for a config file path", "INFO",
         "Checking 'PACKER_CONFIG' for a config file path"),
    ],
)
def test_bracketed_level(line: str, level: str, message: str) -> None:
    family, fields = DET.detect(line, ("unit", "go"), UTC, NOW)
    assert family == "go-log"
    assert fields["log.level"] == level
    assert fields["message"] == message



def test_one_source_mixing_go_and_nginx_error_lines_keeps_each_family() -> None:
    """Both start with ``yyyy/MM/dd HH:mm:ss [``: the detection cache must not hand the nginx
    lines to the Go family cached first for the source (a container's stdout mixes them)."""
    det = Detector(load_library())
    key = ("unit", "mixed")
    go = "2021/05/27 10:46:32 [INFO] Terraform version: 0.12.24"
    nginx = ('2016/10/25 14:49:34 [error] 54053#0: *1 open() "/usr/local/Cellar/nginx/1.10.2_1/html/favicon.ico" '
             'failed (2: No such file or directory)')
    for _ in range(3):
        assert det.detect(go, key, UTC, NOW)[0] == "go-log"
        family, fields = det.detect(nginx, key, UTC, NOW)
        assert family == "nginx-error" and fields["log.level"] == "ERROR"
        assert fields["message"].startswith("open() ")
