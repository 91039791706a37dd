"""Where `make dev`'s embedded emulator listens, so that a second terminal finds it.

`picgraph serve` with its embedded emulator records the endpoint (and the table, bucket
and region it provisioned) in `<project>/.picgraph/dev-endpoint.json`, and removes the
file when it exits. `<project>` is the nearest directory, from the current one upwards,
that holds `.picgraph/` or `pyproject.toml` (else the current directory). A record whose
endpoint no longer answers (a serve killed with -9) is ignored.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from infra.settings import Settings
from resolvers.cli_edge import CommandError

STATE_DIR = ".picgraph"
FILE_NAME = "dev-endpoint.json"
_PROBE_SECONDS = 0.5
DEV_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "picgraph-local",
    "AWS_SECRET_ACCESS_KEY": "picgraph-local",
    "AWS_REGION": "us-east-1",
}


@dataclass(frozen=True)
class DevEndpoint:
    endpoint: str
    table_name: str
    bucket_name: str
    region: str
    pid: int
    path: Path


def project_root(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / STATE_DIR).is_dir() or (candidate / "pyproject.toml").is_file():
            return candidate
    return here


def record_path(start: Path | None = None) -> Path:
    return project_root(start) / STATE_DIR / FILE_NAME


def record(endpoint: str, settings: Settings) -> Path:
    """Write the record (atomically) and remove it when this process exits."""
    path = record_path()
    path.parent.mkdir(exist_ok=True)
    pid = os.getpid()
    content = {
        "endpoint": endpoint,
        "table_name": settings.table_name,
        "bucket_name": settings.bucket_name,
        "region": settings.region,
        "pid": pid,
    }
    partial = path.with_name(f"{FILE_NAME}.{pid}.tmp")
    partial.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    atexit.register(_remove, path, pid)
    _exit_cleanly_on_termination()
    return path


def find(start: Path | None = None) -> DevEndpoint | None:
    """The running emulator's record, or None (no record, unreadable, or not answering)."""
    path = record_path(start)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        found = DevEndpoint(
            endpoint=str(content["endpoint"]),
            table_name=str(content["table_name"]),
            bucket_name=str(content["bucket_name"]),
            region=str(content["region"]),
            pid=int(content["pid"]),
            path=path,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if _answers(found.endpoint) else None


def use_local_aws(*, real_aws: bool) -> None:
    """Point boto3 at `make dev`'s emulator, unless an endpoint or --aws says otherwise.

    A local command never reaches a real AWS account by accident.
    """
    if Settings.from_env().custom_endpoint or real_aws:
        return
    found = find()
    if found is None:
        raise CommandError(
            "no local emulator found: start `make dev` in this checkout (or set "
            "AWS_ENDPOINT_URL), or pass --aws to act on your real AWS account",
            exit_code=2,
        )
    os.environ["AWS_ENDPOINT_URL"] = found.endpoint
    os.environ.update(DEV_CREDENTIALS)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_REGION"] = found.region
    os.environ.setdefault("PICGRAPH_TABLE_NAME", found.table_name)
    os.environ.setdefault("PICGRAPH_BUCKET_NAME", found.bucket_name)
    print(f"picgraph: using the `make dev` emulator at {found.endpoint}", file=sys.stderr)


def _answers(endpoint: str) -> bool:
    parts = urlsplit(endpoint)
    if parts.hostname is None or parts.port is None:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=_PROBE_SECONDS):
            return True
    except OSError:
        return False


def _exit_cleanly_on_termination() -> None:
    """SIGTERM/SIGHUP end the process through SystemExit, so that atexit removes the record.

    (uvicorn handles the signal while it runs, then re-raises it to the handler it found.)
    """
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is signal.SIG_DFL:
            signal.signal(number, _raise_system_exit)


def _raise_system_exit(number: int, frame: object) -> None:
    del frame
    raise SystemExit(128 + number)


def _remove(path: Path, pid: int) -> None:
    """Only the process that wrote the record removes it (not a forked worker, not a later
    serve that replaced it)."""
    if os.getpid() != pid:
        return
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            path.unlink()
