"""Input rules shared by every operation that takes image fields."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from services.errors import DomainError, InputValidationError, InvalidInputError

ALLOWED_CONTENT_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/gif", "image/heic", "image/heif"}
)
MAX_FILENAME_LENGTH = 255
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
MAX_TAGS = 20
MAX_TAG_LENGTH = 50
MAX_IDEMPOTENCY_KEY_LENGTH = 255
_TAG_PATTERN = re.compile(r"^[\w-]+$")


@dataclass(frozen=True)
class UploadRequest:
    filename: str
    content_type: str
    size_bytes: int
    title: str | None
    description: str | None
    tags: tuple[str, ...]
    idempotency_key: str | None


def validate_upload(
    *,
    filename: str,
    content_type: str,
    size_bytes: int,
    title: str | None,
    description: str | None,
    tags: Sequence[str] | None,
    idempotency_key: str | None,
    max_upload_bytes: int,
) -> UploadRequest:
    """Every field checked; all problems reported at once, each with its field path."""
    problems: list[DomainError] = []
    clean_filename = _filename(filename, problems)
    clean_type = content_type.strip().lower()
    if clean_type not in ALLOWED_CONTENT_TYPES:
        problems.append(
            InvalidInputError(
                f"contentType must be one of {', '.join(sorted(ALLOWED_CONTENT_TYPES))}.",
                field=("input", "contentType"),
            )
        )
    if not 1 <= size_bytes <= max_upload_bytes:
        problems.append(
            InvalidInputError(
                f"sizeBytes must be between 1 and {max_upload_bytes}.",
                field=("input", "sizeBytes"),
            )
        )
    clean_title = _text(title, "title", MAX_TITLE_LENGTH, problems)
    clean_description = _text(description, "description", MAX_DESCRIPTION_LENGTH, problems)
    clean_tags = _tags(tags, problems)
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        problems.append(
            InvalidInputError(
                f"idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
                field=("input", "idempotencyKey"),
            )
        )
    if problems:
        raise InputValidationError(problems)
    return UploadRequest(
        filename=clean_filename,
        content_type=clean_type,
        size_bytes=size_bytes,
        title=clean_title,
        description=clean_description,
        tags=clean_tags,
        idempotency_key=idempotency_key,
    )


@dataclass(frozen=True)
class DetailsChange:
    """A partial update; None means 'leave as is', an empty string clears a text."""

    title: str | None
    description: str | None
    tags: tuple[str, ...] | None
    clear_title: bool = False
    clear_description: bool = False


def validate_details(
    *, title: str | None, description: str | None, tags: Sequence[str] | None
) -> DetailsChange:
    problems: list[DomainError] = []
    clean_title = _text(title, "title", MAX_TITLE_LENGTH, problems)
    clean_description = _text(description, "description", MAX_DESCRIPTION_LENGTH, problems)
    clean_tags = None if tags is None else _tags(tags, problems)
    if problems:
        raise InputValidationError(problems)
    return DetailsChange(
        title=clean_title,
        description=clean_description,
        tags=clean_tags,
        clear_title=title is not None and clean_title is None,
        clear_description=description is not None and clean_description is None,
    )


def normalize_tag(raw: str) -> str:
    """Trim, Unicode-normalise and case-fold a tag (does not validate it)."""
    return unicodedata.normalize("NFKC", raw).strip().casefold()


def is_valid_tag(tag: str) -> bool:
    return 1 <= len(tag) <= MAX_TAG_LENGTH and bool(_TAG_PATTERN.fullmatch(tag))


def normalize_tags(
    tags: Sequence[str], *, field: tuple[str, ...] = ("input", "tags")
) -> tuple[str, ...]:
    """Normalised unique tags in first-seen order, or InputValidationError."""
    problems: list[DomainError] = []
    clean = _tags(tags, problems, field=field)
    if problems:
        raise InputValidationError(problems)
    return clean


def _filename(filename: str, problems: list[DomainError]) -> str:
    clean = filename.strip()
    field = ("input", "filename")
    if not 1 <= len(clean) <= MAX_FILENAME_LENGTH:
        problems.append(
            InvalidInputError(
                f"filename must be 1 to {MAX_FILENAME_LENGTH} characters.", field=field
            )
        )
    elif "/" in clean or "\\" in clean or clean in (".", "..") or "\x00" in clean:
        problems.append(
            InvalidInputError("filename must be a plain file name, with no path.", field=field)
        )
    elif any(unicodedata.category(char) == "Cc" for char in clean):
        problems.append(
            InvalidInputError("filename must not contain control characters.", field=field)
        )
    return clean


def _text(value: str | None, name: str, limit: int, problems: list[DomainError]) -> str | None:
    if value is None:
        return None
    clean = value.strip()
    if len(clean) > limit:
        problems.append(
            InvalidInputError(f"{name} must be at most {limit} characters.", field=("input", name))
        )
    return clean or None


def _tags(
    tags: Sequence[str] | None,
    problems: list[DomainError],
    *,
    field: tuple[str, ...] = ("input", "tags"),
) -> tuple[str, ...]:
    if not tags:
        return ()
    seen: dict[str, None] = {}
    for index, raw in enumerate(tags):
        tag = normalize_tag(raw)
        if not is_valid_tag(tag):
            problems.append(
                InvalidInputError(
                    f"Tag {raw!r} must be 1 to {MAX_TAG_LENGTH} letters, digits, '_' or '-'.",
                    field=(*field, str(index)),
                )
            )
            continue
        seen.setdefault(tag, None)
    if len(seen) > MAX_TAGS:
        problems.append(InvalidInputError(f"At most {MAX_TAGS} tags are allowed.", field=field))
    return tuple(seen)
