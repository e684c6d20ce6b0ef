"""``python -m pipeline.parse.doc``: regenerate the families table in docs/PIPELINE.md from the YAML."""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.parse.library import load_library

DOC = Path(__file__).resolve().parents[2] / "docs" / "PIPELINE.md"
BEGIN, END = "<!-- families:begin", "<!-- families:end -->"


def table() -> str:
    """Markdown rows: family, what it is, one example line."""
    rows = ["| family | what | example |", "|---|---|---|"]
    for fam in sorted(load_library().families.values(), key=lambda f: f.name):
        example = (fam.examples[0] if fam.examples else "").split("\n")[0].replace("|", "\\|")
        what = fam.description.replace("|", "\\|")
        rows.append(f"| `{fam.name}` | {what} | `{example[:110]}` |")
    rows.append(
        "| `nginx`, `app`, `json`, `logfmt` | the original code parsers (access logs, the spec's app line, JSON, "
        "logfmt) | see *Step types* |"
    )
    rows.append("| `generic` | the fallback described above | |")
    return "\n".join(rows)


def main() -> int:
    text = DOC.read_text()
    start = text.index(BEGIN)
    head_end = text.index("\n", start) + 1
    end = text.index(END)
    DOC.write_text(text[:head_end] + table() + "\n" + text[end:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
