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

