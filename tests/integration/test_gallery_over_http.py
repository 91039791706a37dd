"""updateImage, listing and the trash, over HTTP with the gql client."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from PIL import Image as PILImage

from tests.integration.conftest import Api
from tests.support.graphql import DELETE_IMAGE, IMAGE, RESTORE_IMAGE, UPDATE_IMAGE
from tests.support.uploads import upload_and_complete

LIST = """
query List($filter: ImageFilter, $sort: ImageSort, $first: Int, $after: String,
           $last: Int, $before: String) {
  images(filter: $filter, sort: $sort, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id tags title status } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


def small_jpeg(shade: int) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (40, 30), (shade, 100, 150)).save(buffer, format="JPEG")
    return buffer.getvalue()


def ready(api: Api, owner: str, tags: list[str], shade: int = 10) -> str:
    completed = upload_and_complete(api, owner, small_jpeg(shade), tags=tags)
    assert completed["image"]["status"] == "READY"
    return str(completed["image"]["id"])


def listing(api: Api, viewer: str, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = api.execute(viewer, LIST, **variables)["images"]
    return result


def ids(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


def test_tag_changes_are_visible_in_tag_listings_at_once(api: Api) -> None:
    """GIVEN a READY image tagged a, b WHEN its owner changes the tags to b, c
    THEN the a-listing drops it, the c-listing has it, and the b-listing still has it."""
    owner = "ursula"
    image_id = ready(api, owner, ["tag-a", "tag-b"])
    updated = api.execute(owner, UPDATE_IMAGE, id=image_id, input={"tags": ["Tag-B", "tag-c"]})
    assert updated["updateImage"]["userErrors"] == []
    assert updated["updateImage"]["image"]["tags"] == ["tag-b", "tag-c"]
    assert image_id not in ids(listing(api, "viewer", filter={"tags": ["tag-a"]}))
    assert image_id in ids(listing(api, "viewer", filter={"tags": ["tag-c"]}))
    assert image_id in ids(listing(api, "viewer", filter={"tags": ["tag-b", "tag-c"]}))


@pytest.mark.parametrize(
    ("viewer", "image_kind", "code"),
    [
        ("other", "ready", "FORBIDDEN"),
        ("other", "missing", "NOT_FOUND"),
        ("owner", "ready", "INVALID_INPUT"),
    ],
)
def test_update_errors(api: Api, viewer: str, image_kind: str, code: str) -> None:
    image_id = ready(api, "owner", ["x"]) if image_kind == "ready" else "no-such-image"
    payload = api.execute(viewer, UPDATE_IMAGE, id=image_id, input={"title": "t" * 201})[
        "updateImage"
    ]
    assert [error["code"] for error in payload["userErrors"]] == [code]
    assert payload["image"] is None


def test_concurrent_updates_of_different_fields_both_survive(api: Api) -> None:
    owner = "vera"
    image_id = ready(api, owner, ["one"])
    changes = [{"title": "New title"}, {"description": "New description"}, {"tags": ["two"]}] * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(
                lambda change: api.execute(owner, UPDATE_IMAGE, id=image_id, input=change), changes
            )
        )
    assert all(result["updateImage"]["userErrors"] == [] for result in results)
    final = api.execute(owner, IMAGE, id=image_id)["image"]
    assert (final["title"], final["description"], final["tags"]) == (
        "New title",
        "New description",
        ["two"],
    )


def test_pages_walk_forwards_and_backwards_over_http(api: Api) -> None:
    """GIVEN five images of one owner WHEN listed two at a time
    THEN forwards and backwards walks return all five, newest first, with exact pageInfo."""
    owner = "walter"
    created = [ready(api, owner, ["walk"], shade=n * 40) for n in range(5)]
    newest_first = list(reversed(created))
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = listing(api, "any-viewer", filter={"ownerId": owner}, first=2, after=after)
        seen += ids(page)
        pages += 1
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == newest_first
    assert pages == 3
    # `after` is now the 4th newest image: the two just before it are the 2nd and 3rd.
    backwards = listing(api, "any-viewer", filter={"ownerId": owner}, last=2, before=after)
    assert ids(backwards) == newest_first[1:3]
    assert backwards["pageInfo"]["hasPreviousPage"] is True
    oldest_first = listing(
        api, "any-viewer", filter={"ownerId": owner}, sort="OLDEST_FIRST", first=10
    )
    assert ids(oldest_first) == created


def test_a_cursor_from_another_filter_is_bad_user_input(api: Api) -> None:
    owner = "xena"
    ready(api, owner, ["c1"])
    ready(api, owner, ["c1"])
    cursor = listing(api, owner, filter={"ownerId": owner}, first=1)["pageInfo"]["endCursor"]
    body = api.raw(
        LIST,
        {"filter": {"tags": ["c1"]}, "first": 1, "after": cursor},
        headers={"Authorization": f"Bearer {api.token(owner)}"},
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["message"] == "invalid cursor"


def test_delete_moves_to_trash_and_restore_brings_it_back(api: Api) -> None:
    owner = "yuri"
    image_id = ready(api, owner, ["trash-test"])
    deleted = api.execute(owner, DELETE_IMAGE, id=image_id)["deleteImage"]
    assert deleted["image"]["status"] == "DELETED"
    assert api.execute("stranger", IMAGE, id=image_id)["image"] is None
    assert image_id not in ids(listing(api, "stranger", filter={"tags": ["trash-test"]}))
    trash = listing(api, owner, filter={"ownerId": owner, "status": "DELETED"})
    assert ids(trash) == [image_id]
    again = api.execute(owner, DELETE_IMAGE, id=image_id)["deleteImage"]
    assert again["userErrors"] == []
    assert again["image"]["deletedAt"] == deleted["image"]["deletedAt"]
    restored = api.execute(owner, RESTORE_IMAGE, id=image_id)["restoreImage"]
    assert restored["image"]["status"] == "READY"
    assert [variant["name"] for variant in restored["image"]["variants"]] == [
        "thumbnail",
        "medium",
        "feed",
    ]
    assert image_id in ids(listing(api, "stranger", filter={"tags": ["trash-test"]}))
