"""`picgraph serve`'s embedded emulator process (resolvers/emulator.py): started on a free
port of 127.0.0.1, waited for, stopped with `serve` (and killed with it on Linux)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from resolvers.dev_endpoint import DEV_CREDENTIALS as _DEV_CREDENTIALS

__all__ = ["Emulator", "start_emulator"]


class Emulator:
    """moto (S3 + DynamoDB) in a process of its own, so that it never takes the API's GIL."""

    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        self.process = process
        self.url = url

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_emulator() -> Emulator:
    """A moto server on 127.0.0.1 for a newcomer with no AWS at all; it dies with us."""
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, "-m", "resolvers.emulator", "--host", "127.0.0.1", "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_for_port(port, process)
    for name, value in _DEV_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    os.environ["AWS_ENDPOINT_URL"] = url
    return Emulator(process, url)


def _die_with_parent() -> None:
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the emulator did not start within 30 s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
