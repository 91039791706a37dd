"""`make integration-localstack` where LocalStack cannot run: the run fails, loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_requested_localstack_backend_that_cannot_start_fails_the_run(tmp_path: Path) -> None:
    """GIVEN INTEGRATION_BACKENDS=localstack and no tool THEN pytest exits non-zero with the
    reason, after the moto tests of the same run have run (never a silent skip)."""
    env = {
        **os.environ,
        "INTEGRATION_BACKENDS": "moto,localstack",
        "LOCALSTACK_HOST_TOOL": str(tmp_path / "nowhere"),
    }
    env.pop("INTEGRATION_LOCALSTACK_URL", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/integration/test_http_surface.py::test_batched_requests_are_refused",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert (
        "the LocalStack backend was requested but cannot run: localstack-host: "
        f"{tmp_path / 'nowhere' / 'start.sh'} not found"
    ) in done.stdout
