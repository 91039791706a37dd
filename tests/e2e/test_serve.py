"""`picgraph serve --workers N`: API processes apart from the emulator's, as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from resolvers.identity import issue_token
from tests.conftest import REPO_ROOT
from tests.support.servers import free_port

SECRET = "serve-test-secret-0123456789abcdef"
CREATE = """mutation {
  createImageUpload(input: {filename: "a.jpg", contentType: "image/jpeg", sizeBytes: 10}) {
    image { id status }
  }
}"""


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    base: str

    def children(self) -> dict[int, str]:
        """Direct child processes of `serve`: pid -> command line."""
        found: dict[int, str] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid:
                found[int(entry.name)] = cmdline
        return found


def _serve(workers: int) -> Served:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_ENDPOINT", "PICGRAPH_"))
    }
    env["PICGRAPH_JWT_SECRET"] = SECRET
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            *("-m", "resolvers.cli", "serve", "--port", str(port), "--workers", str(workers)),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    served = Served(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{served.base}/health", timeout=1).ok:
                return served
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("serve did not answer /health within 60 s")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def two_workers() -> Iterator[Served]:
    served = _serve(2)
    try:
        yield served
    finally:
        served.process.terminate()
        served.process.wait(timeout=30)


def test_serve_with_two_workers_runs_the_emulator_in_its_own_process(
    two_workers: Served,
) -> None:
    """GIVEN serve --workers 2 THEN one emulator process and two API workers answer as one API."""
    children = two_workers.children()
    emulators = [pid for pid, cmd in children.items() if "resolvers.emulator" in cmd]
    workers = [pid for pid, cmd in children.items() if "multiprocessing" in cmd]
    assert len(emulators) == 1, children
    assert len(workers) >= 2, children
    headers = {"Authorization": f"Bearer {issue_token('dev-user', SECRET)}"}
    url = f"{two_workers.base}/graphql"
    created = requests.post(url, json={"query": CREATE}, headers=headers, timeout=10).json()
    image_id = created["data"]["createImageUpload"]["image"]["id"]
    query: dict[str, Any] = {
        "query": "query($id: ID!) { image(id: $id) { id status } }",
        "variables": {"id": image_id},
    }
    for _ in range(6):  # whichever worker answers, it sees the same emulator
        body = requests.post(url, json=query, headers=headers, timeout=10).json()
        assert body == {"data": {"image": {"id": image_id, "status": "PENDING_UPLOAD"}}}


def test_workers_answer_without_waiting_for_delayed_acks(two_workers: Served) -> None:
    """GIVEN --workers 2 (uvicorn binds the socket) THEN no ~40 ms Nagle/delayed-ACK stall."""
    session = requests.Session()
    latencies = []
    for _ in range(20):
        started = time.perf_counter()
        session.post(
            f"{two_workers.base}/graphql", json={"query": "{ __typename }"}, timeout=10
        ).raise_for_status()
        latencies.append(time.perf_counter() - started)
    assert sorted(latencies)[len(latencies) // 2] < 0.03, latencies  # stalled: ~45 ms each


def test_the_emulator_stops_with_serve_even_when_it_is_killed() -> None:
    served = _serve(1)
    (emulator,) = [pid for pid, cmd in served.children().items() if "resolvers.emulator" in cmd]
    served.process.send_signal(signal.SIGKILL)
    served.process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _alive(emulator) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(emulator)
