"""The README rows a bench script writes: build/bench/<script-name>.json.

A JSON list of {"what": ..., "figure": ...}; each figure names the peer it was
measured against in the same run. scripts/update_readme_figures.py turns every
such file into the README's "Measured here" table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(os.environ.get("PICGRAPH_BENCH_DIR", ROOT / "build" / "bench"))


def write_rows(script: str, rows: list[dict[str, str]]) -> Path:
    """Write `rows` for `script` (its file name without .py); returns the path."""
    for row in rows:
        if set(row) != {"what", "figure"}:
            raise ValueError(f"a bench row has exactly 'what' and 'figure': {row}")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"{Path(script).stem}.json"
    path.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path
