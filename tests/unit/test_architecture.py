"""The layering of docs/ARCHITECTURE.md, checked by import-linter's contracts in pyproject.toml.

Layers (logharbor → opensearch → alerting → gateway/pipeline/ui/shipper → ops), the shipper
importing only logharbor, gateway and ui independent, and no import cycle inside a package.
A failure prints import-linter's report: which import breaks which contract.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    assert lint.exists(), "import-linter is missing: pip install -e '.[dev]' (it is in the dev extra)"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([str(lint), str(REPO / "pyproject.toml"), "--no-cache"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "4 kept, 0 broken" in proc.stdout, proc.stdout[-3000:]
