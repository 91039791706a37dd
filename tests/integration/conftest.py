"""Integration fixtures: moto over real HTTP, the app under uvicorn, the gql client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from gql import Client, gql
from gql.transport.requests import RequestsHTTPTransport

from resolvers.bootstrap import App
from resolvers.http import create_asgi_app
from resolvers.identity import issue_token
from tests.support.servers import app_server


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


@pytest.fixture
def api(app: App) -> Iterator[Api]:
    with app_server(create_asgi_app(lambda: app)) as base:
        yield Api(url=f"{base}/graphql", app=app)


@pytest.fixture
def viewer() -> Callable[[], str]:
    import uuid

    return lambda: f"user-{uuid.uuid4().hex[:8]}"
