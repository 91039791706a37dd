"""A zero-byte upload over HTTP: a clear userError and REJECTED, never an internal error."""

from __future__ import annotations

from tests.integration.conftest import Api
from tests.support.aws import s3_keys
from tests.support.graphql import COMPLETE_UPLOAD, IMAGE
from tests.support.uploads import create_upload, post_to_s3

EMPTY = {"code": "INVALID_IMAGE", "message": "The uploaded file is empty.", "field": None}


def test_an_empty_file_is_rejected_with_a_clear_error_and_removed(api: Api) -> None:
    """
    GIVEN an upload whose client POSTs an empty file to the presigned URL
    WHEN it completes the upload, and completes again
    THEN where S3 stores the empty object (moto does not enforce content-length-range)
         both answers are INVALID_IMAGE "The uploaded file is empty.", the image is
         REJECTED and no object of it is left; where S3 refuses it (the POST policy's
         content-length-range starts at 1) nothing was stored and completing answers
         UPLOAD_NOT_FOUND, still retryable
    """
    created = create_upload(
        api, "alice", filename="e.jpg", content_type="image/jpeg", size_bytes=10
    )
    image_id = created["image"]["id"]
    status = post_to_s3(created["upload"], b"", filename="e.jpg", content_type="image/jpeg")

    first = api.execute("alice", COMPLETE_UPLOAD, id=image_id)["completeImageUpload"]
    again = api.execute("alice", COMPLETE_UPLOAD, id=image_id)["completeImageUpload"]

    if status >= 400:  # S3 enforced the policy: nothing to process
        assert first["userErrors"][0]["code"] == "UPLOAD_NOT_FOUND"
        assert first["image"]["status"] == "PENDING_UPLOAD"
        return
    for payload in (first, again):
        assert [{**error, "field": None} for error in payload["userErrors"]] == [EMPTY]
        assert payload["image"]["status"] == "REJECTED"
    stored = api.execute("alice", IMAGE, id=image_id)["image"]
    assert stored["status"] == "REJECTED"
    assert not [key for key in s3_keys(api.app.settings) if image_id in key]
