"""Errors the adapters raise, translated from boto3's (raise ... from exc)."""

from __future__ import annotations


class InfraError(Exception):
    """Base of the adapters' own errors."""


class StaleImageError(InfraError):
    """A conditional write lost: the image changed since it was read (optimistic lock)."""


class ImageAlreadyExistsError(InfraError):
    """An image or idempotency record with this key already exists."""

    def __init__(self, existing_image_id: str | None = None) -> None:
        super().__init__(existing_image_id or "already exists")
        self.existing_image_id = existing_image_id


class QuotaConditionError(InfraError):
    """The quota item's condition failed (or it was contended) in a create transaction.

    Not yet a refusal: the usage read before may be stale (another create, a window
    rollover); services/quotas.py reads it again and decides.
    """


class ObjectDeleteError(InfraError):
    """S3 refused to delete some keys; the caller may retry (deletes are idempotent)."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(f"could not delete {len(keys)} object(s)")
        self.keys = keys


class ObjectNotFoundError(InfraError):
    """The object to read or copy does not exist (any more)."""


class BatchReadError(InfraError):
    """DynamoDB kept leaving BatchGetItem keys unprocessed (throttling); the read may be retried."""
