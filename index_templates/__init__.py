"""JSON definitions applied by ``logharbor indices bootstrap`` (a package only so it ships in the wheel)."""

from pathlib import Path

DEFINITIONS_DIR = Path(__file__).parent
