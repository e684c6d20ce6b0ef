"""The subcommand is collected by ops/cli.py; its --config does not clash with the global one."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.cli import build_parser, main
from shipper.cli import print_status


def test_shipper_subcommand_config_options() -> None:
    parser = build_parser()
    args = parser.parse_args(["shipper", "--config", "s.yaml"])
    assert args.shipper_config == "s.yaml" and args.config is None and args.status is False
    args = parser.parse_args(["--config", "global.yaml", "shipper", "--status"])
    assert args.config == "global.yaml" and args.shipper_config is None and args.status is True
    assert callable(args.handler)


def test_missing_config_file_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shipper", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_status_without_a_status_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert print_status(tmp_path / "status.json") == 3
    assert "no status file" in capsys.readouterr().out
