"""The transport around /graphql, over real HTTP (uvicorn): odd bodies, size limit, the loop.

Every transport error is a 4xx with a JSON `{"errors": [...]}` body carrying
extensions.code; blocking GraphQL work never stops the server answering others.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image as PILImage

from infra.settings import Settings
from resolvers.bootstrap import App, build_app
from resolvers.http import create_asgi_app
from resolvers.identity import issue_token
from services.imaging import PillowImageProcessor
from services.models import Image, ProcessedImage
from tests.support.clock import FakeClock
from tests.support.fakes import FakeRepository, FakeStore
from tests.support.servers import app_server

SECRET = "transport-test-secret-0123456789-abcdef"
TEN_MB = 10 * 1024 * 1024
TRIVIAL = {"query": "{ __typename }"}


@dataclass
class Server:
    base: str
    app: App

    @property
    def url(self) -> str:
        return f"{self.base}/graphql"

    def headers(self, viewer: str = "ann") -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(viewer, SECRET)}"}


def fake_app(repository: FakeRepository | None = None, processor: Any = None, **env: str) -> App:
    settings = Settings.from_env({"PICGRAPH_JWT_SECRET": SECRET, **env})
    return build_app(
        settings,
        repository=repository or FakeRepository(),
        store=FakeStore(),
        clock=FakeClock(),
        processor=processor,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    app = fake_app()
    with app_server(create_asgi_app(lambda: app)) as base:
        yield Server(base, app)


def assert_json_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"errors"}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == code
    assert isinstance(error["message"], str)
    assert "Traceback" not in response.text
    return dict(error)


# -- odd bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"null",
        b"5",
        b"true",
        b'"x"',
        b"{}",
        b'{"query": 5}',
        b'{"query": ""}',
        b'{"query": "{ __typename }", "variables": [1]}',
        b'{"query": "{ __typename }", "variables": "x"}',
        b'{"query": "{ __typename }", "operationName": 7}',
        b'{"query": "{ __typename }", "extensions": 1}',
        b"{",
        b"\xff\xfe",
        b"",
    ],
)
def test_odd_json_bodies_are_400_with_a_json_error(server: Server, body: bytes) -> None:
    """GIVEN a body that is not a GraphQL request object THEN 400 BAD_REQUEST, JSON."""
    response = requests.post(
        server.url, data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert_json_error(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize("depth", [40, 5000])
def test_deeply_nested_variables_are_400(server: Server, depth: int) -> None:
    body = '{"query": "{ __typename }", "variables": {"v": ' + "[" * depth + "]" * depth + "}}"
    response = requests.post(
        server.url, data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert_json_error(response, 400, "BAD_REQUEST")


def test_deeply_nested_variables_over_get_are_400(server: Server) -> None:
    response = requests.get(
        server.url,
        params={"query": "{ __typename }", "variables": "[" * 3000 + "]" * 3000},
        timeout=10,
    )
    assert_json_error(response, 400, "BAD_REQUEST")


def test_a_batch_is_refused_with_a_json_error(server: Server) -> None:
    response = requests.post(server.url, json=[TRIVIAL, TRIVIAL], timeout=10)
    assert_json_error(response, 400, "BATCHING_NOT_SUPPORTED")


def test_a_mutation_over_get_is_405_with_a_json_error(server: Server) -> None:
    response = requests.get(
        server.url,
        params={"query": 'mutation { deleteImage(id: "x") { image { id } } }'},
        headers=server.headers(),
        timeout=10,
    )
    assert_json_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/graphql"]
)
def test_unsupported_content_types_are_415(server: Server, content_type: str) -> None:
    response = requests.post(
        server.url,
        data=json.dumps(TRIVIAL),
        headers={"Content-Type": content_type},
        timeout=10,
    )
    assert_json_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_multipart_is_415(server: Server) -> None:
    response = requests.post(server.url, files={"operations": ("o", b"{}")}, timeout=10)
    assert_json_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_other_methods_and_paths_answer_json(server: Server) -> None:
    assert_json_error(requests.put(server.url, json=TRIVIAL, timeout=10), 405, "METHOD_NOT_ALLOWED")
    assert_json_error(requests.get(f"{server.base}/nope", timeout=10), 404, "NOT_FOUND")


def test_a_get_without_a_query_is_400(server: Server) -> None:
    response = requests.get(server.url, headers={"Accept": "application/json"}, timeout=10)
    assert_json_error(response, 400, "BAD_REQUEST")


def test_a_well_formed_request_still_works(server: Server) -> None:
    response = requests.post(server.url, json=TRIVIAL, headers=server.headers(), timeout=10)
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


# -- body size -----------------------------------------------------------------------------


def _raw_request(base: str, head: bytes, chunks: Iterator[bytes] = iter(())) -> bytes:
    """Send a request head (and body chunks) on a raw socket; the response bytes."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server may stop reading once it has answered
        received = b""
        while b"\r\n\r\n" not in received or not _complete(received):
            data = sock.recv(65536)
            if not data:
                break
            received += data
        return received


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def _parse(response: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, json.loads(body)


def test_a_declared_body_over_10_mb_is_413_before_it_is_sent(server: Server) -> None:
    """GIVEN Content-Length: 10 MB + 1 and no body sent THEN 413 arrives anyway (nothing read)."""
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {TEN_MB + 1}\r\n\r\n".encode()
    )
    status, body = _parse(_raw_request(server.base, head))
    assert status == 413
    assert body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_chunked_body_over_10_mb_is_413(server: Server) -> None:
    """GIVEN no Content-Length and a streamed body THEN 413 once it passes 10 MB."""
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * (1024 * 1024)
    chunks = iter([b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 11)  # never terminated
    status, body = _parse(_raw_request(server.base, head, chunks))
    assert status == 413
    assert body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_body_under_10_mb_is_read(server: Server) -> None:
    padding = "x" * (9 * 1024 * 1024)
    response = requests.post(
        server.url,
        json={**TRIVIAL, "extensions": {"padding": padding}},
        headers=server.headers(),
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


# -- blocking work never runs on the event loop --------------------------------------------


class StalledRepository(FakeRepository):
    """`get` blocks until released: a frozen DynamoDB endpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def get(self, image_id: str) -> Image | None:
        self.entered.set()
        self.release.wait(timeout=30)
        return super().get(image_id)


def _timed_post(url: str, body: dict[str, Any], headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = requests.post(url, json=body, headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json()
    return time.perf_counter() - started


def _timed_health(base: str) -> float:
    started = time.perf_counter()
    assert requests.get(f"{base}/health", timeout=5).json() == {"status": "ok"}
    return time.perf_counter() - started


def test_health_and_trivial_queries_answer_while_the_backend_is_stalled() -> None:
    """GIVEN a request stuck on a frozen backend THEN /health and a trivial query still answer."""
    repository = StalledRepository()
    app = fake_app(repository)
    with app_server(create_asgi_app(lambda: app)) as base, ThreadPoolExecutor(1) as pool:
        server = Server(base, app)
        stuck = pool.submit(
            requests.post,
            server.url,
            json={"query": '{ image(id: "stuck") { id } }'},
            headers=server.headers(),
            timeout=30,
        )
        try:
            assert repository.entered.wait(timeout=10)
            latencies = [_timed_post(server.url, TRIVIAL, server.headers()) for _ in range(5)]
            health = [_timed_health(base) for _ in range(5)]
            assert not stuck.done()  # all of that happened while the backend was frozen
        finally:
            repository.release.set()
        assert stuck.result().json() == {"data": {"image": None}}
    assert min(latencies) < 0.1, latencies
    assert min(health) < 0.1, health


class ObservedProcessor:
    """The real Pillow processor, telling the test when it starts and ends."""

    def __init__(self) -> None:
        self.real = PillowImageProcessor(max_pixels=60_000_000)
        self.started = threading.Event()
        self.finished = threading.Event()

    def process(self, data: bytes) -> ProcessedImage:
        self.started.set()
        try:
            return self.real.process(data)
        finally:
            self.finished.set()


def _big_png(width: int = 7000, height: int = 7000) -> bytes:
    buffer = io.BytesIO()
    PILImage.linear_gradient("L").resize((width, height)).convert("RGB").save(
        buffer, "PNG", compress_level=1
    )
    return buffer.getvalue()


def test_trivial_queries_answer_while_an_image_is_processed() -> None:
    """GIVEN a 49 MP PNG being processed THEN trivial queries answer meanwhile, not after."""
    processor = ObservedProcessor()
    app = fake_app(processor=lambda: processor, PICGRAPH_MAX_PIXELS="60000000")
    data = _big_png()
    ticket = app.uploads.create_upload(
        "ann", filename="big.png", content_type="image/png", size_bytes=len(data)
    )
    app.store.write(ticket.image.staging_key, data, content_type="image/png")
    complete: dict[str, Any] = {
        "query": "mutation($id: ID!) { completeImageUpload(id: $id) { image { status } } }",
        "variables": {"id": ticket.image.id},
    }
    with app_server(create_asgi_app(lambda: app)) as base, ThreadPoolExecutor(1) as pool:
        server = Server(base, app)
        processing = pool.submit(
            requests.post, server.url, json=complete, headers=server.headers(), timeout=60
        )
        assert processor.started.wait(timeout=30)
        during: list[float] = []
        while not processor.finished.is_set():
            latency = _timed_post(server.url, TRIVIAL, server.headers())
            if not processor.finished.is_set():
                during.append(latency)
        body = processing.result().json()
    assert body["data"]["completeImageUpload"]["image"]["status"] == "READY", body
    assert during, "no trivial query was answered while the image was processed"
    assert min(during) < 0.1, during


class GatedProcessor:
    """The real Pillow processor behind a gate: each run waits until released."""

    def __init__(self) -> None:
        self.real = PillowImageProcessor(max_pixels=1_000_000)
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def process(self, data: bytes) -> ProcessedImage:
        self.entered.release()
        self.release.wait(timeout=60)
        return self.real.process(data)


def _small_jpeg() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (64, 48), (10, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_burst_of_processing_never_takes_the_threads_other_requests_need() -> None:
    """GIVEN more completeImageUpload calls in flight than there are execution threads, all
    stuck processing THEN a trivial query still answers at once."""
    from resolvers.http import EXECUTION_THREADS

    processor = GatedProcessor()
    app = fake_app(processor=lambda: processor)
    data = _small_jpeg()
    burst = EXECUTION_THREADS + 2
    ids = []
    for index in range(burst):
        ticket = app.uploads.create_upload(
            "ann", filename=f"{index}.jpg", content_type="image/jpeg", size_bytes=len(data)
        )
        app.store.write(ticket.image.staging_key, data, content_type="image/jpeg")
        ids.append(ticket.image.id)
    complete = "mutation($id: ID!) { completeImageUpload(id: $id) { image { status } } }"
    with app_server(create_asgi_app(lambda: app)) as base, ThreadPoolExecutor(burst) as pool:
        server = Server(base, app)
        futures = [
            pool.submit(
                requests.post,
                server.url,
                json={"query": complete, "variables": {"id": image_id}},
                headers=server.headers(),
                timeout=90,
            )
            for image_id in ids
        ]
        try:
            assert processor.entered.acquire(timeout=30)  # processing has begun
            time.sleep(0.5)  # let the rest of the burst arrive and queue
            latency = _timed_post(server.url, TRIVIAL, server.headers())
            assert not any(future.done() for future in futures)
        finally:
            processor.release.set()
        statuses = [f.result().json()["data"]["completeImageUpload"]["image"] for f in futures]
    assert statuses == [{"status": "READY"}] * burst
    assert latency < 1.0


def test_an_unexpected_failure_outside_graphql_is_a_masked_json_500() -> None:
    """GIVEN wiring that fails while a request is being read THEN JSON 500 with a request id."""
    app = fake_app()
    calls = []

    def failing_provider() -> App:
        calls.append(1)
        if len(calls) > 1:  # the first call builds the schema; later ones serve requests
            raise RuntimeError("wiring exploded: secret detail")
        return app

    with app_server(create_asgi_app(failing_provider)) as base:
        response = requests.post(f"{base}/graphql", json=TRIVIAL, timeout=10)
    error = assert_json_error(response, 500, "INTERNAL_SERVER_ERROR")
    assert error["message"] == "Unexpected error."
    assert error["extensions"]["requestId"]
    assert "secret detail" not in response.text
