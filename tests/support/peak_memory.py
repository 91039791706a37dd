"""How much one upload's processing raises a fresh interpreter's peak memory (Linux VmHWM)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[2])
from services.imaging import PillowImageProcessor
def high_water_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
data = open(sys.argv[1], "rb").read()
processor = PillowImageProcessor(**json.loads(sys.argv[3]))
before = high_water_kib()
processor.process(data)
print(before, high_water_kib())
"""


def peak_growth_bytes(path: Path, **options: Any) -> int:
    """Peak RSS growth of a fresh process while PillowImageProcessor(**options) (JSON
    values) processes the file at `path` once, imports excluded."""
    output = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(ROOT), json.dumps(options)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.split()
    before, after = (int(value) * 1024 for value in output[-2:])
    return after - before
