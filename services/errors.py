"""Errors the domain raises. Expected failures carry a code the API shows as data."""

from __future__ import annotations

import enum
from datetime import datetime

from infra.errors import ImageAlreadyExistsError, QuotaConditionError, StaleImageError

__all__ = ["ImageAlreadyExistsError", "QuotaConditionError", "StaleImageError"]


class ErrorCode(enum.StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    UPLOAD_TOO_LARGE = "UPLOAD_TOO_LARGE"
    UPLOAD_NOT_FOUND = "UPLOAD_NOT_FOUND"
    INVALID_IMAGE = "INVALID_IMAGE"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"


class PicgraphError(Exception):
    """Base of every error picgraph raises on purpose."""


class DomainError(PicgraphError):
    """An expected failure with a user-facing code and message (a userError)."""

    code: ErrorCode = ErrorCode.INVALID_INPUT

    def __init__(self, message: str, *, field: tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


MAX_PROBLEMS = 20
"""At most this many userErrors in one response; the last then says how many were left out."""


class InputValidationError(DomainError):
    """One or more input fields are invalid; `problems` lists each of them (at most 20)."""

    code = ErrorCode.INVALID_INPUT

    def __init__(self, problems: list[DomainError]) -> None:
        super().__init__(problems[0].message if problems else "Invalid input.")
        if len(problems) > MAX_PROBLEMS:
            left_out = len(problems) - (MAX_PROBLEMS - 1)
            problems = [
                *problems[: MAX_PROBLEMS - 1],
                InvalidInputError(
                    f"{left_out} more problems were found; fix the ones above and try again."
                ),
            ]
        self.problems = problems


class InvalidInputError(DomainError):
    code = ErrorCode.INVALID_INPUT


class NotFoundError(DomainError):
    code = ErrorCode.NOT_FOUND


class ForbiddenError(DomainError):
    code = ErrorCode.FORBIDDEN


class ConflictError(DomainError):
    code = ErrorCode.CONFLICT


class UnsupportedMediaTypeError(DomainError):
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE


class UploadTooLargeError(DomainError):
    code = ErrorCode.UPLOAD_TOO_LARGE


class UploadNotFoundError(DomainError):
    code = ErrorCode.UPLOAD_NOT_FOUND


class InvalidImageError(DomainError):
    code = ErrorCode.INVALID_IMAGE


class QuotaExceededError(DomainError):
    """A per-viewer upload quota is used up (services/quotas.py); the message says which
    and when it resets. `quota` names it: pendingUploads, uploadsPerDay or bytesPerDay."""

    code = ErrorCode.QUOTA_EXCEEDED

    def __init__(self, message: str, *, quota: str, limit: int, resets_at: datetime | None) -> None:
        super().__init__(message)
        self.quota = quota
        self.limit = limit
        self.resets_at = resets_at


class InvalidCursorError(PicgraphError):
    """A pagination cursor is malformed, tampered with, or bound to another query."""


class BadQueryArgumentError(PicgraphError):
    """A query argument is invalid (shown as a top-level BAD_USER_INPUT error)."""


class QueryForbiddenError(PicgraphError):
    """The viewer may not run this query (shown as a top-level FORBIDDEN error)."""


def error_for_code(code: ErrorCode, message: str) -> DomainError:
    """Rebuild a stored failure (e.g. an upload's rejection reason) as its error."""
    for error_type in (
        InvalidInputError,
        NotFoundError,
        ForbiddenError,
        ConflictError,
        UnsupportedMediaTypeError,
        UploadTooLargeError,
        UploadNotFoundError,
        InvalidImageError,
    ):
        if error_type.code is code:
            return error_type(message)
    return DomainError(message)
