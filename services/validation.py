"""Input rules shared by every operation that takes image fields."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.errors import (
    DomainError,
    InputValidationError,
    InvalidInputError,
    UnsupportedMediaTypeError,
)
from services.text import clean_text, normalize_tag, shown, tag_problem

__all__ = [
    "ALLOWED_CONTENT_TYPES",
    "DetailsChange",
    "UploadRequest",
    "is_valid_tag",
    "normalize_tag",
    "normalize_tags",
    "validate_details",
    "validate_upload",
]

ALLOWED_CONTENT_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/gif", "image/heic", "image/heif"}
)
MAX_FILENAME_LENGTH = 255
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
MAX_TAGS = 20
MAX_TAG_LENGTH = 50
MAX_IDEMPOTENCY_KEY_LENGTH = 255
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
# Inputs this many times over their limit are refused before any normalisation work.
_MAX_RAW_LENGTH = 4


@dataclass(frozen=True)
class UploadRequest:
    filename: str
    content_type: str
    size_bytes: int
    title: str | None
    description: str | None
    tags: tuple[str, ...]
    idempotency_key: str | None

    @property
    def fingerprint(self) -> str:
        """A digest of the whole normalised request (not the key): a replay must match it."""
        fields = [
            self.filename,
            self.content_type,
            self.size_bytes,
            self.title,
            self.description,
            list(self.tags),
        ]
        encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()


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
    clean_type = _content_type(content_type, problems)
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


def is_valid_tag(tag: str) -> bool:
    return tag_problem(tag, MAX_TAG_LENGTH) is None


def normalize_tags(
    tags: Sequence[str], *, field: tuple[str, ...] = ("input", "tags")
) -> tuple[str, ...]:
    """Normalised unique tags in first-seen order, or InputValidationError."""
    problems: list[DomainError] = []
    clean = _tags(tags, problems, field=field)
    if problems:
        raise InputValidationError(problems)
    return clean


def _content_type(content_type: str, problems: list[DomainError]) -> str:
    clean = content_type.strip().lower()
    field = ("input", "contentType")
    if not _MEDIA_TYPE.fullmatch(clean):
        problems.append(
            InvalidInputError("contentType must be a media type such as image/jpeg.", field=field)
        )
    elif clean not in ALLOWED_CONTENT_TYPES:
        problems.append(
            UnsupportedMediaTypeError(
                f"{shown(clean)} is not supported; contentType must be one of "
                f"{', '.join(sorted(ALLOWED_CONTENT_TYPES))}.",
                field=field,
            )
        )
    return clean


def _filename(filename: str, problems: list[DomainError]) -> str:
    field = ("input", "filename")
    if len(filename) > _MAX_RAW_LENGTH * MAX_FILENAME_LENGTH:
        problems.append(_too_long("filename", MAX_FILENAME_LENGTH, at_least_one=True))
        return filename
    clean, hidden = clean_text(filename)
    if not 1 <= len(clean) <= MAX_FILENAME_LENGTH:
        problems.append(_too_long("filename", MAX_FILENAME_LENGTH, at_least_one=True))
    elif hidden is not None:
        problems.append(InvalidInputError(f"filename {hidden}.", field=field))
    elif "/" in clean or "\\" in clean or clean in (".", ".."):
        problems.append(
            InvalidInputError("filename must be a plain file name, with no path.", field=field)
        )
    return clean


def _text(value: str | None, name: str, limit: int, problems: list[DomainError]) -> str | None:
    if value is None:
        return None
    if len(value) > _MAX_RAW_LENGTH * limit:
        problems.append(_too_long(name, limit))
        return None
    clean, hidden = clean_text(value, multiline=name == "description")
    if len(clean) > limit:
        problems.append(_too_long(name, limit))
    elif hidden is not None:
        problems.append(InvalidInputError(f"{name} {hidden}.", field=("input", name)))
    return clean or None


def _too_long(name: str, limit: int, *, at_least_one: bool = False) -> DomainError:
    bounds = f"1 to {limit}" if at_least_one else f"at most {limit}"
    return InvalidInputError(f"{name} must be {bounds} characters.", field=("input", name))


def _tags(
    tags: Sequence[str] | None,
    problems: list[DomainError],
    *,
    field: tuple[str, ...] = ("input", "tags"),
) -> tuple[str, ...]:
    if not tags:
        return ()
    if len(tags) > MAX_TAGS:
        # Checked before any item: a list of 250,000 bad tags costs one error, not 250,000.
        problems.append(
            InvalidInputError(
                f"At most {MAX_TAGS} tags are allowed; {len(tags)} were sent.", field=field
            )
        )
        return ()
    seen: dict[str, None] = {}
    for index, raw in enumerate(tags):
        too_long = len(raw) > _MAX_RAW_LENGTH * MAX_TAG_LENGTH
        tag = "" if too_long else normalize_tag(raw)
        problem = tag_problem(tag, MAX_TAG_LENGTH)
        if problem is not None:
            problems.append(
                InvalidInputError(f"Tag {shown(raw)} {problem}.", field=(*field, str(index)))
            )
            continue
        seen.setdefault(tag, None)
    return tuple(seen)
