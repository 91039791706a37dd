"""createImageUpload's idempotencyKey, through the real schema, on DynamoDB (moto) and fakes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from resolvers.bootstrap import App, build_app
from tests.support.clock import FakeClock
from tests.support.fakes import FakeRepository, FakeStore
from tests.support.inprocess import execute_as
from tests.support.world import MotoWorld, build_moto_world

CREATE = """mutation Create($input: CreateImageUploadInput!) {
  createImageUpload(input: $input) {
    image { id status contentType title tags }
    upload { url fields { name value } }
    userErrors { field message code }
  }
}"""
DELETE = "mutation Delete($id: ID!) { deleteImage(id: $id) { userErrors { code } } }"
FIRST = {
    "filename": "a.jpg",
    "contentType": "image/jpeg",
    "sizeBytes": 1000,
    "title": "Sunset",
    "description": "Over the sea",
    "tags": ["beach", "sea"],
}


class Api:
    def __init__(self, app: App, clock: FakeClock) -> None:
        self.app = app
        self.clock = clock
        self.viewer = f"viewer-{uuid.uuid4().hex[:8]}"

    def execute(self, document: str, **variables: Any) -> dict[str, Any]:
        return execute_as(self.app, self.viewer, document, **variables)

    def create(self, key: str, **fields: Any) -> dict[str, Any]:
        variables = {**FIRST, "idempotencyKey": key, **fields}
        payload: dict[str, Any] = self.execute(CREATE, input=variables)["createImageUpload"]
        return payload


@pytest.fixture(params=["dynamodb", "fakes"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    if request.param == "fakes":
        from infra.settings import Settings

        settings = Settings.from_env({"PICGRAPH_JWT_SECRET": "idem-test-secret-0123456789-abcdef"})
        clock = FakeClock()
        yield Api(
            build_app(settings, repository=FakeRepository(), store=FakeStore(), clock=clock),
            clock,
        )
        return
    with mock_aws():
        world = build_moto_world(MotoWorld, name_prefix="picgraph-idem")
        yield Api(world.app, world.clock)


def codes(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


def test_the_same_request_replays_the_same_image_with_a_fresh_upload_target(api: Api) -> None:
    first = api.create("k1")
    again = api.create("k1", tags=["Beach", "SEA"], title="  Sunset ")  # normalises the same
    assert codes(first) == codes(again) == []
    assert again["image"]["id"] == first["image"]["id"]
    assert again["upload"] is not None


@pytest.mark.parametrize(
    "change",
    [
        {"contentType": "image/png"},
        {"sizeBytes": 999},
        {"filename": "b.jpg"},
        {"tags": ["beach"]},
        {"tags": ["sea", "beach"]},
        {"title": "Sunrise"},
        {"title": None},
        {"description": "Over the hills"},
    ],
)
def test_a_different_request_under_a_used_key_is_a_conflict(
    api: Api, change: dict[str, Any]
) -> None:
    """GIVEN a key used for one upload WHEN any field differs THEN CONFLICT, nothing new."""
    first = api.create("k2")
    other = api.create("k2", **change)
    assert codes(other) == [(["input", "idempotencyKey"], "CONFLICT")]
    assert other["image"] is None
    assert other["upload"] is None
    assert first["image"]["contentType"] == "image/jpeg"


def test_a_replay_after_the_image_was_deleted_says_so(api: Api) -> None:
    """GIVEN the key's image was deleted THEN CONFLICT naming it, never a bare upload: null."""
    image_id = api.create("k3")["image"]["id"]
    assert api.execute(DELETE, id=image_id)["deleteImage"]["userErrors"] == []
    replay = api.create("k3")
    assert codes(replay) == [(["input", "idempotencyKey"], "CONFLICT")]
    assert image_id in replay["userErrors"][0]["message"]
    assert "deleted" in replay["userErrors"][0]["message"]
    assert replay["image"] is None


def test_a_replay_after_the_upload_expired_hands_out_no_upload_target(api: Api) -> None:
    """GIVEN the key's upload was abandoned (past PICGRAPH_PENDING_UPLOAD_HOURS)
    WHEN the same request is replayed THEN CONFLICT saying it expired, no presigned POST
    (completing it would be refused and the purge would remove the bytes)."""
    image_id = api.create("k4")["image"]["id"]
    api.clock.advance(hours=api.app.settings.pending_upload_hours, seconds=1)
    replay = api.create("k4")
    assert codes(replay) == [(["input", "idempotencyKey"], "CONFLICT")]
    assert image_id in replay["userErrors"][0]["message"]
    assert "expired" in replay["userErrors"][0]["message"]
    assert replay["upload"] is None
