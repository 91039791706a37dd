"""`picgraph serve` under load on 127.0.0.1, against a thin peer measured in the same run.

(a) In-memory fakes, one process each: picgraph's ASGI app vs a thin Starlette +
    graphql-core peer (the same schema.graphql, the same fakes, the same JWT check,
    parse + validate + execute per request) for `image(id)` and a 20-item page.
    Goal: picgraph's req/s within 2x of the peer's.
(b) `picgraph serve --workers 2` with its embedded emulator: req/s at 8 clients over
    req/s at 1 client for `image(id)`. Goal: >= 1.6 on 2 cores. Also prints the CPU
    per request of the API workers, the emulator and the load generator: one client's
    request is serial (load generator -> worker -> emulator -> worker), one process
    busy at a time, so 1 client gets at most one core; 8 clients get at most
    2 cores / (the whole path's CPU per request), and the emulator (one Python thread)
    at most 1 / (its CPU per request). The ratio's ceiling on 2 cores is thus about 2,
    a little more where one client's request also waits for wake-ups.
(c) The same server while it processes a 49 MP PNG: latency of `{ __typename }`.
    Goal: < 100 ms.

Load comes from `wrk` when it is on PATH (Debian: apt-get install wrk), else from a
bounded Python loop; each run is a few seconds, contenders are interleaved over three
rounds and the median run is reported. Prints ratios and writes
build/bench/bench_server.json.

    .venv/bin/python scripts/bench_server.py [--seconds 3] [--clients 8]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_rows import write_rows  # noqa: E402

SECRET = "bench-secret-0123456789-abcdefghijkl"  # noqa: S105 (a bench-only key)
VIEWER = "bench-user"
IMAGES = 40
FIELDS = "id filename status width height tags createdAt"
IMAGE_QUERY = f"query($id: ID!) {{ image(id: $id) {{ {FIELDS} }} }}"
PAGE_QUERY = (
    f"query {{ images(first: 20) {{ edges {{ cursor node {{ {FIELDS} }} }}"
    " pageInfo { hasNextPage endCursor } } }"
)
TRIVIAL_QUERY = "{ __typename }"
ROUNDS = 3  # interleaved load runs per contender; the median is reported


# -- the servers (run as `bench_server.py --serve KIND --port N`) ------------------------


def seeded_app() -> Any:
    from infra.records import ImagePage, ImageQuery, Position
    from infra.settings import Settings
    from resolvers.bootstrap import build_app
    from services.models import Image, ImageStatus
    from tests.support.fakes import FakeRepository, FakeStore

    class ListingRepository(FakeRepository):
        """The fakes plus a newest-first feed of READY images (what the page reads)."""

        def list_page(
            self, query: ImageQuery, *, limit: int, after: Position | None, backwards: bool
        ) -> ImagePage:
            del query, backwards
            ordered = sorted(
                (image for image in self.images.values() if image.status is ImageStatus.READY),
                key=lambda image: (image.created_at, image.id),
                reverse=True,
            )
            if after is not None:
                ordered = [
                    i for i in ordered if (i.created_at, i.id) < (after.created_at, after.image_id)
                ]
            page = tuple(ordered[:limit])
            resume = Position(page[-1].created_at, page[-1].id) if page else None
            return ImagePage(page, len(ordered) > limit, resume)

    repository = ListingRepository()
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for index in range(IMAGES):
        created = start + timedelta(minutes=index)
        repository.create(
            Image(
                id=f"00000000-0000-4000-8000-{index:012d}",
                owner_id=VIEWER,
                filename=f"photo-{index}.jpg",
                content_type="image/jpeg",
                declared_size=2_000_000,
                created_at=created,
                updated_at=created,
                status=ImageStatus.READY,
                tags=("beach", "sunset"),
                size_bytes=2_000_000,
                width=4032,
                height=3024,
            )
        )
    settings = Settings.from_env({"PICGRAPH_JWT_SECRET": SECRET, "PICGRAPH_LOG_LEVEL": "WARNING"})
    return build_app(settings, repository=repository, store=FakeStore())


def picgraph_app() -> Any:
    from resolvers.http import create_asgi_app

    app = seeded_app()
    return create_asgi_app(lambda: app)


def peer_app() -> Any:
    """The thin peer: Starlette + graphql-core, the same SDL and services, no extras."""
    from enum import Enum

    from graphql import build_schema, graphql_sync
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from resolvers.identity import viewer_from_bearer
    from services.listing import Connection, Edge

    app = seeded_app()
    schema = build_schema((ROOT / "schema.graphql").read_text())
    snake = re.compile(r"(?<!^)(?=[A-Z])")

    def resolve(source: Any, info: Any, **args: Any) -> Any:
        name = info.field_name
        if source is None:  # the root
            viewer = info.context
            if name == "image":
                return app.reader.get(viewer, args["id"])
            return app.listing.list_images(viewer, first=args.get("first"), after=args.get("after"))
        if isinstance(source, Connection) and name in ("edges", "pageInfo"):
            return source.edges if name == "edges" else source
        if isinstance(source, Edge):
            return source.image if name == "node" else source.cursor
        value = getattr(source, snake.sub("_", name).lower())
        if isinstance(value, Enum):
            return value.name
        if isinstance(value, datetime):
            return value.isoformat()
        return value

    async def graphql_endpoint(request: Request) -> JSONResponse:
        body = await request.json()
        viewer = viewer_from_bearer(request.headers.get("authorization"), SECRET)
        result = graphql_sync(
            schema,
            body["query"],
            variable_values=body.get("variables"),
            context_value=viewer,
            field_resolver=resolve,
        )
        return JSONResponse(result.formatted)

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/graphql", graphql_endpoint, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


def serve(kind: str, port: int) -> None:
    import uvicorn

    asgi = picgraph_app() if kind == "picgraph" else peer_app()
    uvicorn.run(asgi, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- load ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    errors: int


def post(url: str, body: dict[str, Any], token: str, timeout: float = 30) -> dict[str, Any]:
    import requests

    response = requests.post(
        url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
    )
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    if answer.get("errors"):
        raise RuntimeError(f"{url} answered errors: {answer['errors']}")
    return answer


def load(url: str, body: dict[str, Any], token: str, clients: int, seconds: float) -> Load:
    post(url, body, token)  # the request under load must be a correct one
    if shutil.which("wrk"):
        return _wrk(url, body, token, clients, seconds)
    return _python_load(url, body, token, clients, seconds)


def _wrk(url: str, body: dict[str, Any], token: str, clients: int, seconds: float) -> Load:
    script = (
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        done = subprocess.run(
            [
                *("wrk", f"-t{min(clients, 2)}", f"-c{clients}", f"-d{seconds:g}s"),
                *("--latency", "-s", handle.name, url),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        )
    finally:
        os.unlink(handle.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", done.stdout)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done.stdout)
    return Load(
        rate,
        float(p50.group(1)) * scale[p50.group(2)] if p50 else float("nan"),
        int(errors.group(1)) if errors else 0,
    )


def _python_load(url: str, body: dict[str, Any], token: str, clients: int, seconds: float) -> Load:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        mine: list[float] = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            connection.request("POST", parts.path, payload, headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                errors[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    elapsed = time.perf_counter() - started
    return Load(len(latencies) / elapsed, statistics.median(latencies) * 1000, errors[0])


def wait_for(base: str, process: subprocess.Popen[Any], timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if requests.get(f"{base}/health", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def started(argv: list[str], port: int, env: dict[str, str] | None = None) -> subprocess.Popen[Any]:
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for(f"http://127.0.0.1:{port}", process)
    return process


def stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- the three measurements ---------------------------------------------------------------


def on_fakes(clients: int, seconds: float) -> list[dict[str, str]]:
    from resolvers.identity import issue_token
    from tests.support.servers import free_port

    token = issue_token(VIEWER, SECRET)
    cases: dict[str, dict[str, Any]] = {
        "image(id)": {
            "query": IMAGE_QUERY,
            "variables": {"id": "00000000-0000-4000-8000-000000000007"},
        },
        "images(first: 20)": {"query": PAGE_QUERY},
    }
    servers: dict[str, tuple[subprocess.Popen[Any], str]] = {}
    samples: dict[tuple[str, str], list[Load]] = {}
    try:
        for kind in ("picgraph", "peer"):
            port = free_port()
            argv = [sys.executable, __file__, "--serve", kind, "--port", str(port)]
            servers[kind] = (started(argv, port), f"http://127.0.0.1:{port}/graphql")
        for _, url in servers.values():
            for case, body in cases.items():
                _check_answer(case, post(url, body, token))
        # Interleaved rounds: machine load that comes and goes hits both contenders.
        for _ in range(ROUNDS):
            for case, body in cases.items():
                for kind, (_, url) in servers.items():
                    sample = load(url, body, token, clients, seconds)
                    samples.setdefault((kind, case), []).append(sample)
    finally:
        for process, _ in servers.values():
            stop(process)
    results = {key: _median_load(values) for key, values in samples.items()}
    rows = []
    print(
        f"(a) in-memory fakes, one process each, {clients} clients,"
        f" median of {ROUNDS} interleaved {seconds:g} s runs:"
    )
    for case in cases:
        ours, peer = results["picgraph", case], results["peer", case]
        ratio = peer.requests_per_second / ours.requests_per_second
        verdict = "within" if ratio <= 2 else "NOT within"
        print(
            f"  {case:<18} picgraph {ours.requests_per_second:7.0f} req/s"
            f" (p50 {ours.p50_ms:.1f} ms)"
            f"  peer {peer.requests_per_second:7.0f} req/s (p50 {peer.p50_ms:.1f} ms)"
            f"  peer/picgraph {ratio:.2f}: {verdict} 2x"
        )
        rows.append(
            {
                "what": f"serve on in-memory fakes, {case}, {clients} clients",
                "figure": f"{ours.requests_per_second:.0f} req/s; thin Starlette + graphql-core"
                f" peer {peer.requests_per_second:.0f} req/s"
                f" (peer/picgraph {ratio:.2f}, goal <= 2)",
            }
        )
    return rows


def _median_load(samples: list[Load]) -> Load:
    """The run with the median rate (its own p50 and errors with it)."""
    ordered = sorted(samples, key=lambda sample: sample.requests_per_second)
    return ordered[len(ordered) // 2]


def _check_answer(case: str, answer: dict[str, Any]) -> None:
    """Both contenders must return the same, full answer, or the race is not fair."""
    data = answer["data"]
    if case.startswith("images"):
        if len(data["images"]["edges"]) != 20 or not data["images"]["pageInfo"]["hasNextPage"]:
            raise RuntimeError(f"{case} answered {answer}")
    elif data["image"] is None or data["image"]["width"] != 4032:
        raise RuntimeError(f"{case} answered {answer}")


def with_emulator(clients: int, seconds: float) -> list[dict[str, str]]:
    from resolvers.identity import issue_token
    from tests.support.servers import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PICGRAPH_"))}
    env.update({"PICGRAPH_JWT_SECRET": SECRET, "PICGRAPH_LOG_LEVEL": "WARNING"})
    argv = [sys.executable, "-m", "resolvers.cli", "serve", "--port", str(port), "--workers", "2"]
    process = started(argv, port, env)
    url = f"http://127.0.0.1:{port}/graphql"
    token = issue_token(VIEWER, SECRET)
    try:
        create = (
            "mutation($input: CreateImageUploadInput!) { createImageUpload(input: $input)"
            " { image { id } upload { url fields { name value } } } }"
        )
        made = post(
            url,
            {
                "query": create,
                "variables": {
                    "input": {"filename": "a.jpg", "contentType": "image/jpeg", "sizeBytes": 10}
                },
            },
            token,
        )
        body = {
            "query": "query($id: ID!) { image(id: $id) { id status filename } }",
            "variables": {"id": made["data"]["createImageUpload"]["image"]["id"]},
        }
        ones: list[Load] = []
        manys: list[Load] = []
        cpu = {1: CpuPerRequest(), clients: CpuPerRequest()}
        for _ in range(ROUNDS):  # interleaved, like (a)
            for count, samples in ((1, ones), (clients, manys)):
                before = cpu_seconds(process.pid)
                samples.append(load(url, body, token, count, seconds))
                cpu[count].add(before, cpu_seconds(process.pid), samples[-1], seconds)
        one, many = _median_load(ones), _median_load(manys)
        latency = latency_while_processing(url, token)
    finally:
        stop(process)
    ratio = many.requests_per_second / one.requests_per_second
    verdict = "meets" if ratio >= 1.6 else "does NOT meet"
    print("(b) picgraph serve --workers 2, embedded emulator in its own process, image(id):")
    print(
        f"  1 client {one.requests_per_second:.0f} req/s (p50 {one.p50_ms:.1f} ms);"
        f" {clients} clients {many.requests_per_second:.0f} req/s (p50 {many.p50_ms:.1f} ms);"
        f" ratio {ratio:.2f}: {verdict} >= 1.6"
    )
    for count, usage in cpu.items():
        who = "1 client" if count == 1 else f"{count} clients"
        print(f"  CPU per request at {who}: {usage.describe()}")
    print(
        "  (1 client: the path is serial, one process busy at a time, at most one core;"
        f" {clients} clients: at most 2 cores / the whole path's CPU per request)"
    )
    during, health = latency
    p95 = statistics.quantiles(during, n=20)[-1] if len(during) >= 2 else during[0]
    print("(c) the same server while completeImageUpload processes a 7000x7000 (49 MP) PNG:")
    print(
        f"  {{ __typename }} x{len(during)}: p50 {statistics.median(during):.1f} ms,"
        f" p95 {p95:.1f} ms, max {max(during):.1f} ms (goal < 100 ms);"
        f" /health max {max(health):.1f} ms"
    )
    return [
        {
            "what": f"serve --workers 2 on the embedded emulator, image(id), 1 vs {clients}"
            " clients",
            "figure": f"{one.requests_per_second:.0f} -> {many.requests_per_second:.0f} req/s"
            f" (ratio {ratio:.2f}, goal >= 1.6)",
        },
        {
            "what": "trivial query while a 49 MP PNG is processed (serve, emulator)",
            "figure": f"p50 {statistics.median(during):.1f} ms, p95 {p95:.1f} ms,"
            f" max {max(during):.1f} ms (goal < 100 ms)",
        },
    ]


@dataclass
class CpuPerRequest:
    """CPU seconds spent by each kind of process, summed over load runs."""

    seconds: dict[str, float] = field(default_factory=dict)
    requests: float = 0

    def add(
        self, before: dict[str, float], after: dict[str, float], run: Load, length: float
    ) -> None:
        for kind, value in after.items():
            self.seconds[kind] = self.seconds.get(kind, 0) + value - before.get(kind, 0)
        self.requests += run.requests_per_second * length

    def describe(self) -> str:
        parts = [
            f"{kind} {seconds / self.requests * 1e6:.0f} us"
            for kind, seconds in sorted(self.seconds.items())
        ]
        return ", ".join(parts) + f" (over {self.requests:.0f} requests)"


def cpu_seconds(root: int) -> dict[str, float]:
    """user + system CPU seconds of `serve`'s API workers and of its emulator (with its
    children), read from /proc, and of the load generator (wrk, or this process's loop)."""
    import resource

    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {"load generator": 0.0}
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        found["load generator"] += usage.ru_utime + usage.ru_stime
    for pid, command in _process_tree(root):
        kind = (
            "emulator"
            if "emulator" in command or "moto" in command
            else "API workers"
            if "multiprocessing.spawn" in command
            else None
        )
        if kind is None:
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[kind] = found.get(kind, 0) + (int(fields[11]) + int(fields[12])) / ticks
    return found


def _process_tree(root: int) -> list[tuple[int, str]]:
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        commands[int(entry.name)] = command
    tree, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        tree.append((pid, commands.get(pid, "")))
        frontier.extend(child for child, parent in parents.items() if parent == pid)
    return tree


def latency_while_processing(url: str, token: str) -> tuple[list[float], list[float]]:
    """Milliseconds of `{ __typename }` and /health, sampled while one image is processed."""
    import requests
    from PIL import Image

    buffer = io.BytesIO()
    gradient = Image.linear_gradient("L").resize((7000, 7000))
    Image.merge("RGB", (gradient, gradient.rotate(90), gradient.rotate(180))).save(
        buffer, "PNG", compress_level=1
    )
    data = buffer.getvalue()
    create = (
        "mutation($input: CreateImageUploadInput!) { createImageUpload(input: $input)"
        " { image { id } upload { url fields { name value } } } }"
    )
    made = post(
        url,
        {
            "query": create,
            "variables": {
                "input": {"filename": "big.png", "contentType": "image/png", "sizeBytes": len(data)}
            },
        },
        token,
    )["data"]["createImageUpload"]
    fields = {field["name"]: field["value"] for field in made["upload"]["fields"]}
    requests.post(
        made["upload"]["url"], data=fields, files={"file": ("big.png", data)}, timeout=60
    ).raise_for_status()
    complete = {
        "query": "mutation($id: ID!) { completeImageUpload(id: $id) { image { status } } }",
        "variables": {"id": made["image"]["id"]},
    }
    base = url.rsplit("/", 1)[0]
    during: list[float] = []
    health: list[float] = []
    with ThreadPoolExecutor(1) as pool:
        processing = pool.submit(post, url, complete, token, 120)
        time.sleep(0.05)
        while not processing.done():
            during.append(_timed(lambda: post(url, {"query": TRIVIAL_QUERY}, token)))
            health.append(_timed(lambda: requests.get(f"{base}/health", timeout=30)))
        status = processing.result()["data"]["completeImageUpload"]["image"]["status"]
    if status != "READY" or not during:
        raise RuntimeError(f"processing ended {status} after {len(during)} samples")
    return during, health


def _timed(action: Callable[[], Any]) -> float:
    begun = time.perf_counter()
    action()
    return (time.perf_counter() - begun) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each load run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument(
        "--only",
        choices=("fakes", "emulator"),
        help="run only (a) the fakes or only (b)+(c) the emulator measurements",
    )
    parser.add_argument("--serve", choices=("picgraph", "peer"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return 0
    tool = "wrk" if shutil.which("wrk") else "a Python load loop (wrk not on PATH)"
    print(f"load from {tool}; machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows = [] if args.only == "emulator" else on_fakes(args.clients, args.seconds)
    if args.only != "fakes":
        rows += with_emulator(args.clients, args.seconds)
    for row in rows:
        row["figure"] += f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    if args.only is None:  # the README rows come from a whole run only
        write_rows("bench_server", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
