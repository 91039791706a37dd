"""The client side of an upload: createImageUpload, a real multipart POST, complete."""

from __future__ import annotations

from typing import Any, Protocol

import requests

from tests.support.graphql import COMPLETE_UPLOAD, CREATE_UPLOAD


class GraphQLCaller(Protocol):
    def execute(self, viewer: str, query: str, **variables: Any) -> dict[str, Any]: ...


def post_to_s3(upload: dict[str, Any], data: bytes, *, filename: str, content_type: str) -> int:
    """POST multipart/form-data to the presigned URL: the fields, then the file last."""
    fields = {field["name"]: field["value"] for field in upload["fields"]}
    response = requests.post(
        upload["url"], data=fields, files={"file": (filename, data, content_type)}, timeout=60
    )
    return response.status_code


def create_upload(
    api: GraphQLCaller,
    viewer: str,
    *,
    filename: str,
    content_type: str,
    size_bytes: int,
    **extra: Any,
) -> dict[str, Any]:
    payload = {"filename": filename, "contentType": content_type, "sizeBytes": size_bytes, **extra}
    result: dict[str, Any] = api.execute(viewer, CREATE_UPLOAD, input=payload)["createImageUpload"]
    return result


def upload_and_complete(
    api: GraphQLCaller,
    viewer: str,
    data: bytes,
    *,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    declared_size: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The whole client flow; returns completeImageUpload's payload."""
    created = create_upload(
        api,
        viewer,
        filename=filename,
        content_type=content_type,
        size_bytes=declared_size or len(data),
        **extra,
    )
    assert created["userErrors"] == [], created["userErrors"]
    status = post_to_s3(created["upload"], data, filename=filename, content_type=content_type)
    assert status in (200, 201, 204), status
    completed: dict[str, Any] = api.execute(viewer, COMPLETE_UPLOAD, id=created["image"]["id"])[
        "completeImageUpload"
    ]
    return completed
