"""How the tests start and stop LocalStack, and how they fail when it cannot start.

A stand-in start.sh (same output contract as ../shared/tools/localstack-host/start.sh)
replaces the real one: no LocalStack is started here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.servers import LocalStackUnavailableError, localstack_server


def fake_tool(tmp_path: Path, body: str) -> Path:
    tool = tmp_path / "localstack-host"
    tool.mkdir()
    (tool / "start.sh").write_text("#!/usr/bin/env bash\nset -euo pipefail\n" + body)
    return tool


def test_the_url_is_yielded_and_the_process_is_stopped(tmp_path: Path) -> None:
    """GIVEN a start.sh that starts a process and prints its pid and URL
    THEN the context yields the URL and the process is gone afterwards."""
    pid_file = tmp_path / "pid"
    tool = fake_tool(
        tmp_path,
        f"sleep 300 >/dev/null 2>&1 &\necho $! > {pid_file}\n"
        'echo "LOCALSTACK_PID=$! LOCALSTACK_URL=http://127.0.0.1:$1"\n',
    )
    with localstack_server(tool) as url:
        pid = int(pid_file.read_text())
        assert url.startswith("http://127.0.0.1:")
        assert int(url.rsplit(":", 1)[1]) > 0
        os.kill(pid, 0)  # running
    state = Path(f"/proc/{pid}/stat")
    assert not state.exists() or state.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_the_tools_own_line_is_the_reason(tmp_path: Path) -> None:
    tool = fake_tool(
        tmp_path,
        "echo 'WARNING: pip noise' >&2\n"
        "echo 'localstack-host: no Python 3.13 found (set LOCALSTACK_PYTHON)' >&2\nexit 3\n",
    )
    with pytest.raises(LocalStackUnavailableError) as raised, localstack_server(tool):
        pass
    assert str(raised.value) == (
        "localstack-host: no Python 3.13 found (set LOCALSTACK_PYTHON) (start.sh exit status 3)"
    )


def test_a_missing_tool_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(LocalStackUnavailableError) as raised, localstack_server(missing):
        pass
    assert str(raised.value) == (
        f"localstack-host: {missing / 'start.sh'} not found (the LocalStack backend needs it)"
    )
