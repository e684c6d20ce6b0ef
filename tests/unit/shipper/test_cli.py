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


def test_shipper_imports_only_the_shared_core_and_light_libraries() -> None:
    """docs/ARCHITECTURE.md §4: the shipper runs on every host; it must not pull in other roles or aiohttp."""
    import subprocess
    import sys

    code = (
        "import sys, shipper.__main__, shipper.agent\n"
        "from shipper.agent import build_sources\n"
        "import shipper.sources.docker, shipper.sources.journald, shipper.sources.syslog\n"
        "import shipper.sources.stdin, shipper.sources.net_lines, shipper.sources.file_tail\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'gateway', 'pipeline', 'opensearch', 'ui',"
        " 'ops', 'aiohttp', 'pydantic_settings', 'aiokafka'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=str(Path(__file__).resolve().parents[3]))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"shipper imports {out.stdout.strip()}"
