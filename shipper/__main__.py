"""``python -m shipper --config shipper.yaml [--status]``: the light entry point.

``logharbor shipper`` works too, but the ``logharbor`` command imports every role's CLI (and
their libraries) to build its help; on application hosts this entry keeps the shipper's
memory to what it uses.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from shipper.cli import main as run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shipper", description="LogHarbor shipper agent")
    parser.add_argument("--config", dest="shipper_config", metavar="FILE", help="shipper YAML file")
    parser.add_argument("--status", action="store_true", help="print the running shipper's status and exit")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except Exception as exc:
        config = sys.modules.get("logharbor.config")
        if config is not None and isinstance(exc, config.ConfigError):
            print(f"logharbor shipper: configuration error: {exc}", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
