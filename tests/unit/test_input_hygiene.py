"""Hostile and odd input, as GraphQL clients send it (variables), through the real schema."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.settings import Settings
from resolvers.bootstrap import App, build_app
from services.errors import MAX_PROBLEMS
from services.validation import normalize_tag
from tests.support.clock import FakeClock
from tests.support.fakes import FakeRepository, FakeStore
from tests.support.inprocess import execute_as

SECRET = "hygiene-test-secret-0123456789-abcdef"
CREATE = """mutation Create($input: CreateImageUploadInput!) {
  createImageUpload(input: $input) {
    image { id filename title description tags contentType }
    upload { url }
    userErrors { field message code }
  }
}"""
UPDATE = """mutation Update($id: ID!, $input: UpdateImageInput!) {
  updateImage(id: $id, input: $input) {
    image { id title description tags }
    userErrors { field message code }
  }
}"""
DELETE = "mutation Delete($id: ID!) { deleteImage(id: $id) { userErrors { code } } }"
VALID = {"filename": "a.jpg", "contentType": "image/jpeg", "sizeBytes": 1000}


class Api:
    def __init__(self) -> None:
        settings = Settings.from_env({"PICGRAPH_JWT_SECRET": SECRET})
        self.repository = FakeRepository()
        self.app: App = build_app(
            settings, repository=self.repository, store=FakeStore(), clock=FakeClock()
        )
        self.viewer = f"viewer-{uuid.uuid4().hex[:8]}"

    def execute(self, document: str, **variables: Any) -> dict[str, Any]:
        return execute_as(self.app, self.viewer, document, **variables)

    def create(self, **fields: Any) -> dict[str, Any]:
        payload: dict[str, Any] = self.execute(CREATE, input={**VALID, **fields})[
            "createImageUpload"
        ]
        return payload

    def update(self, image_id: str, **fields: Any) -> dict[str, Any]:
        payload: dict[str, Any] = self.execute(UPDATE, id=image_id, input=fields)["updateImage"]
        return payload


@pytest.fixture
def api() -> Api:
    return Api()


def errors(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


# -- item 4: a long list costs one error, and no response carries more than 20 ---------------


@pytest.mark.parametrize("mutation", ["create", "update"])
def test_an_over_long_tag_list_is_one_error_checked_before_its_items(
    api: Api, mutation: str
) -> None:
    """GIVEN tags: ["#"] x 10,000 (each one invalid) THEN one userError for the list."""
    tags = ["#"] * 10_000
    if mutation == "create":
        payload = api.create(tags=tags)
    else:
        image_id = api.create()["image"]["id"]
        payload = api.update(image_id, tags=tags)
    assert errors(payload) == [(["input", "tags"], "INVALID_INPUT")]
    assert "At most 20 tags" in payload["userErrors"][0]["message"]
    assert payload["image"] is None
    assert len(json.dumps(payload)) < 500


def test_user_errors_are_capped_and_the_last_says_how_many_were_left_out(api: Api) -> None:
    """GIVEN 26 invalid fields THEN 20 userErrors, the last counting the 7 not shown."""
    payload = api.create(
        filename="",
        contentType="nope",
        sizeBytes=0,
        title="t" * 201,
        description="d" * 2001,
        tags=["#"] * 20,
        idempotencyKey="",
    )
    assert len(payload["userErrors"]) == MAX_PROBLEMS == 20
    assert [field for field, _ in errors(payload)][:3] == [
        ["input", "filename"],
        ["input", "contentType"],
        ["input", "sizeBytes"],
    ]
    last = payload["userErrors"][-1]
    assert last["field"] is None
    assert last["message"].startswith("7 more problems")


def test_a_huge_bad_tag_is_not_echoed_back(api: Api) -> None:
    payload = api.create(tags=["!" * 100_000])
    assert errors(payload) == [(["input", "tags", "0"], "INVALID_INPUT")]
    assert len(payload["userErrors"][0]["message"]) < 200


# -- item 11: invisible and control characters in what others see ---------------------------


@pytest.mark.parametrize(
    "hidden",
    [
        "\u202e",  # right-to-left override: "photo\u202egpj.exe" shows as "photoexe.jpg"
        "\u2066",  # left-to-right isolate
        "\u200b",  # zero-width space
        "\ufeff",  # byte order mark
        "\u00ad",  # soft hyphen
        "\u2028",  # line separator
        "\u2029",  # paragraph separator
        "\x00",
        "\x1b[31m",  # ANSI colour escape
        "\x07",
        "\ud800",  # a lone surrogate (valid in JSON, not in UTF-8)
        "\u3164",  # Hangul filler: a "letter" that renders as nothing
    ],
)
@pytest.mark.parametrize("field", ["filename", "title", "description"])
def test_invisible_and_control_characters_are_refused(api: Api, field: str, hidden: str) -> None:
    """GIVEN a hidden character in a shown text THEN INVALID_INPUT for it; nothing stored."""
    value = f"photo{hidden}gpj.exe" if field == "filename" else f"Nice{hidden} view"
    payload = api.create(**{field: value})
    assert errors(payload) == [(["input", field], "INVALID_INPUT")]
    assert "invisible or control characters" in payload["userErrors"][0]["message"]
    assert api.repository.images == {}


@pytest.mark.parametrize("field", ["title", "description"])
def test_updates_refuse_hidden_characters_too(api: Api, field: str) -> None:
    image_id = api.create(title="Before")["image"]["id"]
    payload = api.update(image_id, **{field: "a\u202eb"})
    assert errors(payload) == [(["input", field], "INVALID_INPUT")]
    assert api.repository.images[image_id].title == "Before"


def test_texts_are_stored_in_nfc(api: Api) -> None:
    """GIVEN decomposed "é" (e + U+0301) THEN the stored text is the composed U+00E9."""
    payload = api.create(filename="cafe\u0301.jpg", title="Cafe\u0301", description="e\u0301")
    assert errors(payload) == []
    image = payload["image"]
    assert (image["filename"], image["title"], image["description"]) == (
        "caf\u00e9.jpg",
        "Caf\u00e9",
        "\u00e9",
    )


def test_descriptions_keep_line_breaks_and_tabs_titles_do_not(api: Api) -> None:
    payload = api.create(description="First line\r\nsecond\tline\rthird")
    assert errors(payload) == []
    assert payload["image"]["description"] == "First line\nsecond\tline\nthird"
    for field in ("title", "filename"):
        assert errors(api.create(**{field: "one\ntwo"})) == [(["input", field], "INVALID_INPUT")]


def test_real_writing_that_uses_joiners_is_accepted(api: Api) -> None:
    """Emoji ZWJ sequences, Persian ZWNJ and subdivision flags are text, not tricks."""
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    scotland = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    title = f"{family} {persian} {scotland}"
    payload = api.create(title=title)
    assert errors(payload) == []
    assert payload["image"]["title"] == title
    assert errors(api.create(title="dangling joiner\u200d")) == [
        (["input", "title"], "INVALID_INPUT")
    ]


# -- item 12: tags compare equal however typed; one script per tag --------------------------


def test_tags_compare_equal_however_typed(api: Api) -> None:
    payload = api.create(
        tags=[
            "Beach",
            "BEACH",
            "\uff22\uff45\uff41\uff43\uff48",
            "Stra\u00dfe",
            "STRASSE",
            "caf\u00e9",
            "cafe\u0301",
        ]
    )
    assert errors(payload) == []
    assert payload["image"]["tags"] == ["beach", "strasse", "caf\u00e9"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12))
def test_tag_normalisation_is_stable_and_ignores_the_normal_form(raw: str) -> None:
    """Normalising twice changes nothing, and NFC, NFD, NFKC and NFKD input agree."""
    import unicodedata

    tag = normalize_tag(raw)
    assert normalize_tag(tag) == tag
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        assert normalize_tag(unicodedata.normalize(form, raw)) == tag


def test_istanbul_is_a_valid_tag_however_typed(api: Api) -> None:
    """casefold turns "İ" into "i" + U+0307 (a combining mark): still one valid tag."""
    payload = api.create(tags=["\u0130stanbul", "i\u0307stanbul", "\u0130STANBUL"])
    assert errors(payload) == []
    assert payload["image"]["tags"] == ["i\u0307stanbul"]


def test_tags_in_scripts_with_combining_marks_are_valid(api: Api) -> None:
    tags = [
        "\u0939\u093f\u0928\u094d\u0926\u0940",
        "\u0e44\u0e17\u0e22",
        "\u6771\u4eac\u30bf\u30ef\u30fc",
    ]
    payload = api.create(tags=tags)
    assert errors(payload) == []
    assert payload["image"]["tags"] == tags


def test_mixed_script_look_alikes_are_refused(api: Api) -> None:
    """GIVEN "beach" spelt with a Cyrillic U+0435 THEN INVALID_INPUT, not a second tag."""
    payload = api.create(tags=["beach", "b\u0435ach"])
    assert errors(payload) == [(["input", "tags", "1"], "INVALID_INPUT")]
    assert "scripts" in payload["userErrors"][0]["message"]
    assert errors(api.create(tags=["\u0430lpha"])) == [(["input", "tags", "0"], "INVALID_INPUT")]
    assert errors(api.create(tags=["\u3164"])) == [(["input", "tags", "0"], "INVALID_INPUT")]
    # a whole word in one script is a different tag, and Latin mixes with CJK as people write
    payload = api.create(tags=["\u0432\u0435\u0441\u043d\u0430", "tokyo\u30bf\u30ef\u30fc"])
    assert errors(payload) == []


# -- item 16: a type outside the allowlist is UNSUPPORTED_MEDIA_TYPE ------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "image/svg+xml", "application/pdf"])
def test_a_type_outside_the_allowlist_is_unsupported_media_type(
    api: Api, content_type: str
) -> None:
    payload = api.create(contentType=content_type)
    assert errors(payload) == [(["input", "contentType"], "UNSUPPORTED_MEDIA_TYPE")]
    assert "image/jpeg" in payload["userErrors"][0]["message"]


@pytest.mark.parametrize("content_type", ["", "jpeg", "image/", "image/jpeg; x=\u202e"])
def test_a_malformed_type_is_invalid_input(api: Api, content_type: str) -> None:
    payload = api.create(contentType=content_type)
    assert errors(payload) == [(["input", "contentType"], "INVALID_INPUT")]
