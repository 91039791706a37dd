"""EXIF: orientation and camera metadata (make, model, when taken); GPS is never read."""

from __future__ import annotations

import re
import string
import struct
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

from PIL import Image

from services.models import CameraMetadata

__all__ = ["read_exif"]

_MAX_METADATA_TEXT = 128

_TAG_MAKE = 0x010F
_TAG_MODEL = 0x0110
_TAG_ORIENTATION = 0x0112
_TAG_DATETIME = 0x0132
_IFD_EXIF = 0x8769
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_OFFSET_TIME = 0x9010  # the UTC offset of DateTime (EXIF 2.31)
_TAG_OFFSET_TIME_ORIGINAL = 0x9011  # the UTC offset of DateTimeOriginal
# "+HH:MM" or "-HH:MM"; real offsets run from -12:00 to +14:00.
_UTC_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
_MAX_OFFSET = timedelta(hours=14)

# What Pillow's EXIF parser raises on malformed EXIF blocks; metadata is then just absent.
_EXIF_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    KeyError,
    IndexError,
    TypeError,
)


def read_exif(image: Image.Image, raw: bytes | None = None) -> tuple[int, CameraMetadata]:
    """EXIF orientation (1 when absent or unreadable) and camera metadata; GPS is never read.

    From `raw` (an EXIF block) when given, else from the image.
    """
    with warnings.catch_warnings():
        # Pillow warns about each malformed tag it skips; unreadable EXIF is simply absent.
        warnings.simplefilter("ignore")
        try:
            if raw is not None:
                exif = Image.Exif()
                exif.load(raw)
            else:
                exif = image.getexif()
        except _EXIF_ERRORS:
            return 1, CameraMetadata()
        return _orientation(exif), _camera_metadata(exif)


def _orientation(exif: Image.Exif) -> int:
    value = _exif_value(exif, _TAG_ORIENTATION)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _camera_metadata(exif: Image.Exif) -> CameraMetadata:
    try:
        exif_ifd: Mapping[int, object] = exif.get_ifd(_IFD_EXIF)
    except _EXIF_ERRORS:
        exif_ifd = {}
    return CameraMetadata(
        make=_clean_text(_exif_value(exif, _TAG_MAKE)),
        model=_clean_text(_exif_value(exif, _TAG_MODEL)),
        taken_at=_parse_exif_datetime(
            _exif_value(exif_ifd, _TAG_DATETIME_ORIGINAL),
            _exif_value(exif_ifd, _TAG_OFFSET_TIME_ORIGINAL),
        )
        or _parse_exif_datetime(
            _exif_value(exif, _TAG_DATETIME), _exif_value(exif_ifd, _TAG_OFFSET_TIME)
        ),
    )


def _exif_value(tags: Mapping[int, object], tag: int) -> object:
    """A tag's value, or None when absent or undecodable (Pillow decodes values lazily)."""
    try:
        return tags.get(tag)
    except _EXIF_ERRORS:
        return None


def _clean_text(value: object) -> str | None:
    """An EXIF ASCII value up to its first NUL, trimmed and printable; None when empty."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    text = value.split("\x00", 1)[0].strip(string.whitespace)
    text = "".join(char for char in text if char.isprintable())[:_MAX_METADATA_TEXT]
    return text or None


def _parse_exif_datetime(value: object, offset: object = None) -> datetime | None:
    """'YYYY:MM:DD HH:MM:SS' at the UTC offset `offset` ('+02:00'), as a UTC instant.

    EXIF dates are the camera's local wall-clock time. With its offset tag (EXIF 2.31:
    phones and recent cameras write one) the result is the true instant. Without one, or
    with an invalid one, the wall-clock time is stored as if it were UTC, so the time
    shown is the one the camera displayed.
    """
    text = _clean_text(value)
    if text is None:
        return None
    try:
        wall_clock = datetime.strptime(text, "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = _utc_offset(offset)
    if zone is not None:
        try:
            return wall_clock.replace(tzinfo=zone).astimezone(UTC)
        except OverflowError:  # year 1 or 9999 pushed out of range: the offset is dropped
            pass
    return wall_clock.replace(tzinfo=UTC)


def _utc_offset(value: object) -> timezone | None:
    """The zone of an EXIF offset tag ('+02:00', '-05:30'); None when absent or invalid."""
    text = _clean_text(value)
    match = _UTC_OFFSET.fullmatch(text) if text is not None else None
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    if int(minutes) >= 60 or offset > _MAX_OFFSET:
        return None
    return timezone(-offset if sign == "-" else offset)
