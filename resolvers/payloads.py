"""Types the mutations' payloads share: user errors (expected failures as data) and the
presigned upload."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers.enums import UserErrorCode
from services.errors import DomainError
from services.models import PresignedPost


@strawberry.type
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "tags", "2"]; null if none.'
    )
    message: str
    code: UserErrorCode  # type: ignore[valid-type]

    @classmethod
    def from_error(cls, error: DomainError) -> UserError:
        return cls(
            field=None if error.field is None else list(error.field),
            message=error.message,
            code=error.code,
        )

    @classmethod
    def list_from(cls, error: DomainError) -> list[UserError]:
        from services.errors import InputValidationError

        if isinstance(error, InputValidationError):
            return [cls.from_error(problem) for problem in error.problems]
        return [cls.from_error(error)]


@strawberry.type
class FormField:
    name: str
    value: str


@strawberry.type(
    description=(
        "An S3 presigned POST: send multipart/form-data to url with fields, then the file last."
    )
)
class PresignedUpload:
    url: str
    fields: list[FormField]
    expires_at: datetime
    max_size_bytes: int

    @classmethod
    def from_model(cls, post: PresignedPost) -> PresignedUpload:
        return cls(
            url=post.url,
            fields=[FormField(name=name, value=value) for name, value in post.fields.items()],
            expires_at=post.expires_at,
            max_size_bytes=post.max_size_bytes,
        )
