"""Integration fixtures: the S3 backends, the app under uvicorn, the gql client.

Every test here runs once per selected S3 backend (the `s3_backend` parameter):

- `moto`: moto's server for S3 and DynamoDB (accepts every presigned POST, checks no
  signature);
- `localstack`: real LocalStack S3 (../shared/tools/localstack-host, started once per
  session) with DynamoDB on moto. It enforces POST policy conditions, GET signatures,
  expiry and CORS.

Both go through one code path: boto3's own `AWS_ENDPOINT_URL_S3` and
`AWS_ENDPOINT_URL_DYNAMODB`, credentials `test`/`test` (LocalStack verifies presigned GET
signatures against the secret `test`; moto accepts any).

Select backends with `INTEGRATION_BACKENDS=moto,localstack` (default `moto`;
`make integration-localstack` sets `localstack`). Tests marked `localstack_only` need an S3
that refuses what moto accepts; they run only when `localstack` is selected. When
LocalStack is selected but cannot start (no tool folder, no Python 3.13), the run stops
with the tool's one-line reason: it never skips silently.
`INTEGRATION_LOCALSTACK_URL` uses a LocalStack already running (docker compose) instead;
`LOCALSTACK_HOST_TOOL` points at another copy of the tool.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests
from gql import Client, gql
from gql.transport.requests import RequestsHTTPTransport

from resolvers.bootstrap import App
from resolvers.http import create_asgi_app
from resolvers.identity import issue_token
from tests.support.servers import LocalStackUnavailableError, app_server, localstack_server

BACKENDS = ("moto", "localstack")
LOCALSTACK_ONLY = "localstack_only"
DEFAULT_TOOL = Path(__file__).resolve().parents[3] / "shared" / "tools" / "localstack-host"


def selected_backends() -> list[str]:
    raw = os.environ.get("INTEGRATION_BACKENDS", "moto")
    chosen = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(BACKENDS))
    if unknown or not chosen:
        raise pytest.UsageError(
            f"INTEGRATION_BACKENDS={raw!r}: use a comma-separated list of {', '.join(BACKENDS)}"
        )
    return chosen


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{LOCALSTACK_ONLY}: needs an S3 that enforces POST policies, signatures and CORS "
        "(runs on the localstack backend only)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "s3_backend" not in metafunc.fixturenames:
        return
    only_localstack = metafunc.definition.get_closest_marker(LOCALSTACK_ONLY) is not None
    names = ["localstack"] if only_localstack else selected_backends()
    metafunc.parametrize("s3_backend", names, indirect=True, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """LocalStack-only tests leave the run when LocalStack is not selected."""
    chosen = set(selected_backends())
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("s3_backend") if callspec is not None else None
        (dropped if backend is not None and backend not in chosen else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@dataclass(frozen=True)
class S3Backend:
    """Where the app's S3 and DynamoDB clients go, and what that S3 enforces."""

    name: str
    s3_url: str
    dynamodb_url: str

    @property
    def enforces_post_policy(self) -> bool:
        return self.name == "localstack"


@pytest.fixture(scope="session")
def localstack_endpoint() -> Iterator[str]:
    """One LocalStack S3 for the whole session (≈ 4 s to start, ≈ 45 s the first time)."""
    running = os.environ.get("INTEGRATION_LOCALSTACK_URL")
    if running:
        yield running.rstrip("/")
        return
    tool = Path(os.environ.get("LOCALSTACK_HOST_TOOL", DEFAULT_TOOL))
    try:
        with localstack_server(tool) as url:  # stopped at the end of the session
            yield url
    except LocalStackUnavailableError as exc:  # raised only while starting
        pytest.exit(f"the LocalStack backend was requested but cannot run: {exc}", returncode=1)


@pytest.fixture(scope="session")
def s3_backend(request: pytest.FixtureRequest, moto_endpoint: str) -> S3Backend:
    name: str = request.param
    if name == "moto":
        return S3Backend(name, s3_url=moto_endpoint, dynamodb_url=moto_endpoint)
    url: str = request.getfixturevalue("localstack_endpoint")
    return S3Backend(name, s3_url=url, dynamodb_url=moto_endpoint)


@pytest.fixture
def aws_endpoint(monkeypatch: pytest.MonkeyPatch, s3_backend: S3Backend) -> str:
    """boto3's per-service endpoints and the credentials LocalStack signs with."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_backend.s3_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", s3_backend.dynamodb_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return s3_backend.s3_url


@dataclass
class Api:
    """A running picgraph API and ways to call it as a given viewer."""

    url: str
    app: App

    def token(self, viewer: str) -> str:
        assert self.app.settings.jwt_secret is not None
        return issue_token(viewer, self.app.settings.jwt_secret)

    def client(self, viewer: str) -> Client:
        transport = RequestsHTTPTransport(
            url=self.url, headers={"Authorization": f"Bearer {self.token(viewer)}"}, timeout=60
        )
        return Client(transport=transport)

    def execute(self, viewer: str, query: str, **variables: Any) -> dict[str, Any]:
        with self.client(viewer) as session:
            request = gql(query)
            request.variable_values = variables
            result: dict[str, Any] = session.execute(request)
            return result

    def raw(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = requests.post(
            self.url,
            json={"query": query, "variables": variables or {}},
            headers=headers or {},
            timeout=60,
        )
        body: dict[str, Any] = response.json()
        return body


RENDITIONS_IN_EVERY_FORMAT = """
query Renditions($id: ID!) {
  image(id: $id) {
    jpeg: variants(format: JPEG) { url }
    webp: variants(format: WEBP) { url }
    avif: variants(format: AVIF) { url }
  }
}"""


def served_rendition_keys(api: Api, viewer: str, image_id: str) -> set[str]:
    """The S3 key behind every rendition URL the API hands out, in every format."""
    image = api.execute(viewer, RENDITIONS_IN_EVERY_FORMAT, id=image_id)["image"]
    bucket_prefix = f"/{api.app.settings.bucket_name}/"
    keys: set[str] = set()
    for alias in ("jpeg", "webp", "avif"):
        for variant in image[alias]:
            path = unquote(urlsplit(variant["url"]).path)
            assert path.startswith(bucket_prefix), path
            keys.add(path.removeprefix(bucket_prefix))
    return keys


@pytest.fixture
def api(app: App) -> Iterator[Api]:
    with app_server(create_asgi_app(lambda: app)) as base:
        yield Api(url=f"{base}/graphql", app=app)


@pytest.fixture
def viewer() -> Callable[[], str]:
    import uuid

    return lambda: f"user-{uuid.uuid4().hex[:8]}"
