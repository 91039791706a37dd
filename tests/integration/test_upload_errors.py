"""Every bad input gets a clear error, and nothing is lost or orphaned."""

from __future__ import annotations

import io
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from tests.integration.conftest import Api, S3Backend, served_rendition_keys
from tests.support.aws import s3_keys, table_items
from tests.support.graphql import COMPLETE_UPLOAD, CREATE_UPLOAD, IMAGE
from tests.support.uploads import create_upload, post_to_s3, upload_and_complete
from tests.support.world import JPEG

VALID = {"filename": "ok.jpg", "contentType": "image/jpeg", "sizeBytes": 1000}


def _errors(api: Api, viewer: str, **changes: Any) -> list[dict[str, Any]]:
    payload = api.execute(viewer, CREATE_UPLOAD, input={**VALID, **changes})["createImageUpload"]
    assert payload["image"] is None
    assert payload["upload"] is None
    return list(payload["userErrors"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"filename": ""}, ["input", "filename"]),
        ({"filename": "x" * 256}, ["input", "filename"]),
        ({"filename": "../etc/passwd"}, ["input", "filename"]),
        ({"filename": "C:\\\\photos\\\\a.jpg"}, ["input", "filename"]),
        ({"sizeBytes": 0}, ["input", "sizeBytes"]),
        ({"sizeBytes": -5}, ["input", "sizeBytes"]),
        ({"sizeBytes": 20 * 1024 * 1024 + 1}, ["input", "sizeBytes"]),
        ({"title": "t" * 201}, ["input", "title"]),
        ({"description": "d" * 2001}, ["input", "description"]),
        ({"tags": ["ok", "not ok!"]}, ["input", "tags", "1"]),
        ({"tags": ["x" * 51]}, ["input", "tags", "0"]),
        ({"tags": [f"t{n}" for n in range(21)]}, ["input", "tags"]),
        ({"idempotencyKey": ""}, ["input", "idempotencyKey"]),
    ],
)
def test_create_rejects_each_bad_field(api: Api, changes: dict[str, Any], field: list[str]) -> None:
    """GIVEN one invalid input field THEN one INVALID_INPUT userError names it; nothing stored."""
    before = len(table_items(api.app.settings))
    errors = _errors(api, "alice", **changes)
    assert [(error["field"], error["code"]) for error in errors] == [(field, "INVALID_INPUT")]
    assert errors[0]["message"]
    assert len(table_items(api.app.settings)) == before


def test_all_problems_are_reported_at_once(api: Api) -> None:
    errors = _errors(api, "alice", filename="", contentType="text/plain", sizeBytes=0)
    assert [error["field"][-1] for error in errors] == ["filename", "contentType", "sizeBytes"]


def test_presigned_post_pins_key_type_size_and_expiry(api: Api) -> None:
    """GIVEN a create THEN the POST policy pins the staging key, the declared type and size."""
    import base64
    import json

    created = create_upload(
        api, "alice", filename="a.png", content_type="image/png", size_bytes=4321
    )
    fields = {field["name"]: field["value"] for field in created["upload"]["fields"]}
    assert fields["key"] == f"uploads/{created['image']['id']}"
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"Content-Type": "image/png"} in policy["conditions"]
    assert ["content-length-range", 1, 4321] in policy["conditions"]
    assert {"key": fields["key"]} in policy["conditions"]
    assert created["upload"]["maxSizeBytes"] == 4321


def test_idempotency_key_returns_the_same_image(api: Api) -> None:
    """GIVEN the same viewer and idempotencyKey twice THEN one image, a fresh upload target."""
    first = create_upload(api, "kim", idempotencyKey="k-1", **_lower(VALID))
    second = create_upload(api, "kim", idempotencyKey="k-1", **_lower(VALID))
    other_viewer = create_upload(api, "lee", idempotencyKey="k-1", **_lower(VALID))
    assert first["image"]["id"] == second["image"]["id"] != other_viewer["image"]["id"]
    assert second["upload"] is not None
    mismatch = create_upload(
        api,
        "kim",
        idempotencyKey="k-1",
        filename="other.jpg",
        content_type="image/jpeg",
        size_bytes=5,
    )
    assert [error["code"] for error in mismatch["userErrors"]] == ["CONFLICT"]


def test_parallel_creates_with_one_idempotency_key_make_one_image(api: Api) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda _: create_upload(api, "max", idempotencyKey="same", **_lower(VALID)),
                range(8),
            )
        )
    assert len({result["image"]["id"] for result in results}) == 1
    owned = [
        item
        for item in table_items(api.app.settings)
        if item.get("ownerId") == "max" and item["SK"] == "IMAGE"
    ]
    assert len(owned) == 1


def test_complete_before_upload_is_retryable(api: Api, samples_dir: Path) -> None:
    """GIVEN no bytes were POSTed THEN UPLOAD_NOT_FOUND, the image stays PENDING_UPLOAD,
    and completing after the POST succeeds."""
    data = (samples_dir / "exif-samples/cameras/Sony_HDR-HC3.jpg").read_bytes()
    created = create_upload(
        api, "nina", filename="s.jpg", content_type="image/jpeg", size_bytes=len(data)
    )
    image_id = created["image"]["id"]
    early = api.execute("nina", COMPLETE_UPLOAD, id=image_id)["completeImageUpload"]
    assert [error["code"] for error in early["userErrors"]] == ["UPLOAD_NOT_FOUND"]
    assert early["image"]["status"] == "PENDING_UPLOAD"
    post_to_s3(created["upload"], data, filename="s.jpg", content_type="image/jpeg")
    done = api.execute("nina", COMPLETE_UPLOAD, id=image_id)["completeImageUpload"]
    assert done["image"]["status"] == "READY"


def test_larger_than_declared_is_rejected_and_removed(
    api: Api, samples_dir: Path, s3_backend: S3Backend
) -> None:
    """GIVEN a POST of more bytes than declared
    THEN an S3 that enforces the policy (LocalStack, AWS) refuses it and the image stays
    PENDING_UPLOAD, retryable; one that does not (moto) stores it, and the service's own
    re-check rejects it (UPLOAD_TOO_LARGE) and removes the bytes."""
    data = (samples_dir / "exif-samples/cameras/Canon_40D.jpg").read_bytes()
    created = create_upload(
        api, "olga", filename="c.jpg", content_type="image/jpeg", size_bytes=100
    )
    image_id = created["image"]["id"]
    status = post_to_s3(created["upload"], data, filename="c.jpg", content_type="image/jpeg")
    completed = api.execute("olga", COMPLETE_UPLOAD, id=image_id)["completeImageUpload"]
    if s3_backend.enforces_post_policy:
        assert status == 400
        assert [error["code"] for error in completed["userErrors"]] == ["UPLOAD_NOT_FOUND"]
        assert completed["image"]["status"] == "PENDING_UPLOAD"
    else:
        assert status == 204
        assert [error["code"] for error in completed["userErrors"]] == ["UPLOAD_TOO_LARGE"]
        assert completed["image"]["status"] == "REJECTED"
    assert not [key for key in s3_keys(api.app.settings) if image_id in key]


def test_post_with_the_file_under_another_field_name_stores_nothing(api: Api) -> None:
    """GIVEN a form that sends the file as `image` instead of `file`
    THEN S3 refuses it (AWS: 400; LocalStack and moto: 500), nothing is stored, and
    completeImageUpload says UPLOAD_NOT_FOUND, still retryable."""
    import requests

    created = create_upload(api, "ria", filename="r.jpg", content_type="image/jpeg", size_bytes=50)
    fields = {field["name"]: field["value"] for field in created["upload"]["fields"]}
    response = requests.post(
        created["upload"]["url"],
        data=fields,
        files={"image": ("r.jpg", JPEG[:50], "image/jpeg")},
        timeout=30,
    )
    assert response.status_code >= 400
    image_id = created["image"]["id"]
    completed = api.execute("ria", COMPLETE_UPLOAD, id=image_id)["completeImageUpload"]
    assert [error["code"] for error in completed["userErrors"]] == ["UPLOAD_NOT_FOUND"]
    assert completed["image"]["status"] == "PENDING_UPLOAD"
    assert not [key for key in s3_keys(api.app.settings) if image_id in key]


def test_oversize_bytes_in_staging_are_rejected_whoever_wrote_them(api: Api) -> None:
    """GIVEN more bytes than declared reach the staging key without a POST policy
    (a PutObject by anything holding bucket write access) THEN the service's own re-check
    rejects them with UPLOAD_TOO_LARGE and removes them, on every backend."""
    created = create_upload(api, "otto", filename="o.jpg", content_type="image/jpeg", size_bytes=50)
    image_id = created["image"]["id"]
    staging_key = {field["name"]: field["value"] for field in created["upload"]["fields"]}["key"]
    api.app.store.write(staging_key, JPEG, content_type="image/jpeg")
    completed = api.execute("otto", COMPLETE_UPLOAD, id=image_id)["completeImageUpload"]
    assert [error["code"] for error in completed["userErrors"]] == ["UPLOAD_TOO_LARGE"]
    assert completed["image"]["status"] == "REJECTED"
    assert not [key for key in s3_keys(api.app.settings) if image_id in key]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"%PDF-1.7\n1 0 obj <<>> endobj\n", "UNSUPPORTED_MEDIA_TYPE"),
        (b"just some text, not an image at all", "UNSUPPORTED_MEDIA_TYPE"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "INVALID_IMAGE"),
    ],
)
def test_bytes_that_are_not_an_allowed_image(api: Api, data: bytes, code: str) -> None:
    """GIVEN bytes declared image/jpeg that are not (sniffed from content) THEN rejected."""
    completed = upload_and_complete(api, "pat", data)
    assert [error["code"] for error in completed["userErrors"]] == [code]
    assert completed["image"]["status"] == "REJECTED"
    again = api.execute("pat", COMPLETE_UPLOAD, id=completed["image"]["id"])["completeImageUpload"]
    assert [error["code"] for error in again["userErrors"]] == [code]


def test_truncated_jpeg_is_invalid(api: Api, samples_dir: Path) -> None:
    data = (samples_dir / "exif-samples/gps/DSCN0010.jpg").read_bytes()
    completed = upload_and_complete(api, "quinn", data[: len(data) // 2])
    assert [error["code"] for error in completed["userErrors"]] == ["INVALID_IMAGE"]


def test_decompression_bomb_is_invalid(api: Api) -> None:
    """GIVEN a tiny PNG that declares 30000x30000 pixels THEN INVALID_IMAGE, nothing decoded."""
    completed = upload_and_complete(
        api, "rory", _png_bomb(30000, 30000), filename="bomb.png", content_type="image/png"
    )
    assert [error["code"] for error in completed["userErrors"]] == ["INVALID_IMAGE"]


def test_declared_type_differs_from_bytes_uses_detected_type(api: Api) -> None:
    buffer = io.BytesIO()
    PILImage.new("RGB", (64, 48), "red").save(buffer, format="PNG")
    completed = upload_and_complete(
        api, "sam", buffer.getvalue(), filename="a.jpg", content_type="image/jpeg"
    )
    assert completed["image"]["contentType"] == "image/png"
    assert completed["image"]["status"] == "READY"


def test_only_the_owner_may_complete_and_see_pending(api: Api) -> None:
    created = create_upload(api, "tom", **_lower(VALID))
    image_id = created["image"]["id"]
    other = api.execute("uma", COMPLETE_UPLOAD, id=image_id)["completeImageUpload"]
    assert [error["code"] for error in other["userErrors"]] == ["NOT_FOUND"]
    assert api.execute("uma", IMAGE, id=image_id)["image"] is None
    assert api.execute("tom", IMAGE, id=image_id)["image"]["status"] == "PENDING_UPLOAD"


def test_ten_parallel_completes_process_once(api: Api, samples_dir: Path) -> None:
    """GIVEN one uploaded image WHEN ten completeImageUpload calls race
    THEN one processing run: one set of renditions, and every call sees a consistent state."""
    data = (samples_dir / "orientation-examples/Portrait_6.jpg").read_bytes()
    created = create_upload(
        api, "vic", filename="p.jpg", content_type="image/jpeg", size_bytes=len(data)
    )
    post_to_s3(created["upload"], data, filename="p.jpg", content_type="image/jpeg")
    image_id = created["image"]["id"]
    runs: list[int] = []
    original = api.app.uploads.processing._process_claimed  # count real processing runs

    def counting(claimed: Any) -> Any:
        runs.append(1)
        return original(claimed)

    api.app.uploads.processing._process_claimed = counting  # type: ignore[method-assign]
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(
            pool.map(lambda _: api.app.uploads.complete_upload("vic", image_id), range(10))
        )
    assert len(runs) == 1
    assert {result.image.status.value for result in results} <= {"PROCESSING", "READY"}
    final = api.execute("vic", IMAGE, id=image_id)["image"]
    assert final["status"] == "READY"
    keys = {key for key in s3_keys(api.app.settings) if image_id in key}
    renditions = served_rendition_keys(api, "vic", image_id)
    assert len(renditions) >= len(final["variants"]) == 3
    assert len(keys) == 1 + len(renditions)  # the original and one set of renditions
    assert renditions < keys


def _lower(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "filename": fields["filename"],
        "content_type": fields["contentType"],
        "size_bytes": fields["sizeBytes"],
    }


def _png_bomb(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )
