"""Configuration from the environment, and the input rules."""

from __future__ import annotations

import pytest

from infra.settings import DEV_JWT_SECRET, Settings, SettingsError
from services.errors import InputValidationError
from services.validation import normalize_tags, validate_details, validate_upload

LAMBDA = {
    "AWS_LAMBDA_FUNCTION_NAME": "picgraph",
    "PICGRAPH_TABLE_NAME": "t",
    "PICGRAPH_BUCKET_NAME": "b",
}


def test_local_defaults_use_the_dev_secret() -> None:
    settings = Settings.from_env({})
    assert settings.jwt_secret == DEV_JWT_SECRET
    assert (settings.table_name, settings.bucket_name) == ("picgraph", "picgraph-images")
    assert settings.max_upload_bytes == 20 * 1024 * 1024
    assert settings.custom_endpoint is False
    assert settings.max_token_lifetime_seconds == 86400
    assert settings.uses_dev_jwt_secret
    assert not Settings.from_env({"PICGRAPH_JWT_SECRET": "s" * 32}).uses_dev_jwt_secret


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({**LAMBDA}, "PICGRAPH_JWT_SECRET is required in Lambda"),
        (
            {**LAMBDA, "PICGRAPH_TABLE_NAME": "", "PICGRAPH_JWT_SECRET": "s" * 32},
            "PICGRAPH_TABLE_NAME is required",
        ),
        ({"PICGRAPH_JWT_SECRET": "short"}, "at least 32"),
        ({"PICGRAPH_MAX_UPLOAD_BYTES": "lots"}, "must be an integer"),
        ({"PICGRAPH_UPLOAD_URL_SECONDS": "3600"}, "between 60 and 900"),
        ({"PICGRAPH_INTROSPECTION": "maybe"}, "true or false"),
        ({"PICGRAPH_AUTH_MODE": "trust-me"}, "'jwt' or 'upstream'"),
        ({"PICGRAPH_MAX_TOKEN_LIFETIME_SECONDS": "59"}, "between 60 and 2592000"),
    ],
)
def test_bad_settings_fail_with_one_clear_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_upstream_auth_in_lambda_needs_no_secret_but_a_cursor_secret() -> None:
    with pytest.raises(SettingsError, match="PICGRAPH_CURSOR_SECRET"):
        Settings.from_env({**LAMBDA, "PICGRAPH_AUTH_MODE": "upstream"})
    settings = Settings.from_env(
        {**LAMBDA, "PICGRAPH_AUTH_MODE": "upstream", "PICGRAPH_CURSOR_SECRET": "c" * 32}
    )
    assert settings.jwt_secret is None


def test_endpoint_overrides_are_boto3_standard_variables() -> None:
    assert Settings.from_env({"AWS_ENDPOINT_URL_S3": "http://localhost:4566"}).custom_endpoint


def test_tags_are_trimmed_case_folded_and_unique_in_order() -> None:
    assert normalize_tags(["  Beach ", "beach", "ÉTÉ", "sea-side", "sea_side"]) == (
        "beach",
        "été",
        "sea-side",
        "sea_side",
    )


def test_details_can_clear_texts_with_an_empty_string() -> None:
    change = validate_details(title="", description=None, tags=None)
    assert change.clear_title
    assert not change.clear_description
    assert change.tags is None


def test_upload_validation_normalises() -> None:
    request = validate_upload(
        filename=" IMG_0001.JPG ",
        content_type="Image/JPEG",
        size_bytes=5,
        title="  Hi ",
        description=None,
        tags=["A"],
        idempotency_key=None,
        max_upload_bytes=10,
    )
    assert (request.filename, request.content_type, request.title, request.tags) == (
        "IMG_0001.JPG",
        "image/jpeg",
        "Hi",
        ("a",),
    )


def test_control_characters_in_filenames_are_refused() -> None:
    with pytest.raises(InputValidationError) as raised:
        validate_upload(
            filename="a\x07.jpg",
            content_type="image/jpeg",
            size_bytes=5,
            title=None,
            description=None,
            tags=None,
            idempotency_key=None,
            max_upload_bytes=10,
        )
    assert [problem.field for problem in raised.value.problems] == [("input", "filename")]
