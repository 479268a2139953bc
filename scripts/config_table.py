"""Print README's configuration table from ``src/config.py``'s SETTINGS.

A unit test checks that README.md carries exactly this table, so the two
cannot drift apart: after changing a setting, run this and paste the output.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from config import SETTINGS


def table() -> str:
    rows = ["| Setting | Kind | Default | What it does |", "|---|---|---|---|"]
    for s in SETTINGS:
        kind = "secret" if s.secret else "var"
        default = "(unset)" if s.default is None else f"`{s.default}`"
        if s.default == "":
            default = "(empty)"
        rows.append(f"| `{s.name}` | {kind} | {default} | {s.doc} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
