"""What an image id can look like, checked before any read (DynamoDB refuses keys > 2 KB)."""

from __future__ import annotations

MAX_IMAGE_ID_LENGTH = 100  # ids are UUIDs (36 characters); anything longer is no image


def is_image_id(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= MAX_IMAGE_ID_LENGTH and value.isprintable()
