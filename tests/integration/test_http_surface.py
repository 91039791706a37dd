"""The HTTP surface a browser or client sees: GraphiQL, GET rules, batching, auth errors."""

from __future__ import annotations

import requests

from tests.integration.conftest import Api


def test_mutations_over_get_are_refused(api: Api) -> None:
    response = requests.get(
        api.url,
        params={"query": 'mutation { deleteImage(id: "x") { image { id } } }'},
        headers={"Authorization": f"Bearer {api.token('ann')}"},
        timeout=10,
    )
    assert response.status_code == 405  # GraphQL over HTTP: mutations need POST


def test_queries_over_get_work(api: Api) -> None:
    response = requests.get(
        api.url,
        params={"query": '{ image(id: "x") { id } }'},
        headers={"Authorization": f"Bearer {api.token('ann')}"},
        timeout=10,
    )
    assert response.json() == {"data": {"image": None}}


def test_batched_requests_are_refused(api: Api) -> None:
    response = requests.post(api.url, json=[{"query": "{ __typename }"}] * 2, timeout=10)
    assert response.status_code == 400


def test_graphiql_is_served_to_browsers(api: Api) -> None:
    response = requests.get(api.url, headers={"Accept": "text/html"}, timeout=10)
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_a_tampered_token_is_unauthenticated(api: Api) -> None:
    token = api.token("ann")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    body = api.raw('{ image(id: "x") { id } }', headers={"Authorization": f"Bearer {tampered}"})
    assert body == {
        "data": None,
        "errors": [{"message": "The token is invalid.", "extensions": {"code": "UNAUTHENTICATED"}}],
    }
