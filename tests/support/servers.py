"""Real servers on 127.0.0.1 for integration tests: moto, LocalStack S3 and the app."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    from resolvers.emulator import serialize_dynamodb_requests

    serialize_dynamodb_requests()  # as `picgraph serve`'s emulator does (tests do it anyway)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


class LocalStackUnavailableError(RuntimeError):
    """LocalStack could not be started; the message is the tool's own one-line reason."""


@contextmanager
def localstack_server(tool_dir: Path, *, timeout: float = 600.0) -> Iterator[str]:
    """A real LocalStack S3 from ../shared/tools/localstack-host, stopped on exit.

    start.sh prints `LOCALSTACK_PID=<pid> LOCALSTACK_URL=<url>` once S3 answers; the
    first run installs LocalStack into the tool's cache (about 45 s).
    """
    start = tool_dir / "start.sh"
    if not start.is_file():
        raise LocalStackUnavailableError(
            f"localstack-host: {start} not found (the LocalStack backend needs it)"
        )
    try:
        done = subprocess.run(
            ["bash", str(start), str(free_port())],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise LocalStackUnavailableError(
            f"localstack-host: start.sh did not finish within {timeout:.0f} s"
        ) from None
    started = dict(
        item.split("=", 1) for item in done.stdout.split() if item.startswith("LOCALSTACK_")
    )
    if done.returncode != 0 or "LOCALSTACK_PID" not in started:
        raise LocalStackUnavailableError(_reason(done))
    pid = int(started["LOCALSTACK_PID"])
    try:
        yield started["LOCALSTACK_URL"]
    finally:
        stop_process(pid)


def _reason(done: subprocess.CompletedProcess[str]) -> str:
    """The tool's own line (it prefixes its messages), else its last line of output."""
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    own = [line for line in lines if line.startswith("localstack-host:")]
    reason = own[-1] if own else (lines[-1] if lines else "no output")
    return f"{reason} (start.sh exit status {done.returncode})"


def stop_process(pid: int, *, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds (LocalStack may hang in "Stopping all
    services"; a test instance keeps nothing worth a clean stop)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its new parent) is not alive
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


@contextmanager
def app_server(asgi_app: Any) -> Iterator[str]:
    """The ASGI app under uvicorn in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(asgi_app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    _wait_until(lambda: requests.get(f"{base}/health", timeout=1).ok)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise TimeoutError("server did not start")
