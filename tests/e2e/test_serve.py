"""`picgraph serve --workers N`: API processes apart from the emulator's, as a user runs it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
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


def _connections_per_worker(served: Served, port: int) -> dict[int, int]:
    """Established TCP connections on `port` that each API worker holds open."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                established.add(fields[9])  # the socket's inode
    held: dict[int, int] = {}
    for pid, cmd in served.children().items():
        if "multiprocessing" not in cmd or "resource_tracker" in cmd:
            continue
        inodes = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
        held[pid] = len(inodes & established)
    return held


def test_clients_that_connect_at_once_are_shared_by_the_workers(two_workers: Served) -> None:
    """GIVEN --workers 2 WHEN 8 keep-alive clients connect at once (a load test, a browser's
    pool) THEN both workers serve some of them (asyncio accepted every pending connection
    in whichever worker woke first: 8 clients on one core)."""
    port = int(two_workers.base.rsplit(":", 1)[1])
    deadline = time.monotonic() + 20  # the second worker may still be starting
    while True:
        held = _burst_of_clients(two_workers, port, 8)
        if min(held.values()) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert sum(held.values()) == 8, held
    assert min(held.values()) >= 2, held


def _burst_of_clients(served: Served, port: int, count: int) -> dict[int, int]:
    clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    try:
        request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for client in clients:
            client.sendall(request)
        for client in clients:
            assert client.recv(65536).startswith(b"HTTP/1.1 200")
        return _connections_per_worker(served, port)
    finally:
        for client in clients:
            client.close()


def test_the_emulator_keeps_connections_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN serve's embedded emulator WHEN DynamoDB calls follow each other on one
    connection THEN it stays open (moto's own server closed it after every response: a
    TCP handshake and an emulator thread per call)."""
    import http.client

    from resolvers.emulator_process import start_emulator

    monkeypatch.setattr(os, "environ", dict(os.environ))  # start_emulator sets endpoints
    emulator = start_emulator()
    try:
        port = int(emulator.url.rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": "AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/dynamodb/"
            "aws4_request, SignedHeaders=host, Signature=0",
        }
        sockets = []
        for _ in range(3):
            connection.request("POST", "/", b"{}", headers)
            response = connection.getresponse()
            assert response.status == 200
            assert "TableNames" in json.loads(response.read())
            assert (response.getheader("Connection") or "").lower() != "close"
            sockets.append(connection.sock)
        assert sockets[0] is not None
        assert all(sock is sockets[0] for sock in sockets)
        connection.close()
    finally:
        emulator.stop()


def test_the_emulators_worker_ends_with_it_even_when_it_is_killed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN the emulator (a main process and the worker granian spawned) WHEN its main
    process is killed with -9 THEN the worker ends too (and frees the port)."""
    from resolvers.emulator_process import start_emulator

    monkeypatch.setattr(os, "environ", dict(os.environ))
    emulator = start_emulator()
    served = Served(emulator.process, emulator.url)
    workers = list(served.children())
    try:
        assert workers, "granian spawned no worker"
        emulator.process.send_signal(signal.SIGKILL)
        emulator.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers)
    finally:
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
