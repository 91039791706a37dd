"""PillowImageProcessor: format sniffing, validation, metadata, orientation and renditions."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
import random
import struct
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageFile, ImageStat, features

from services import colour, imaging
from services.errors import InvalidImageError, UnsupportedMediaTypeError
from services.imaging import (
    ALLOWED_FORMATS,
    DEFAULT_SIZES,
    HEIC,
    HEIF,
    PillowImageProcessor,
    sniff_format,
)
from services.models import ProcessedImage, Rendition
from services.rendering import Worker

RENDITION_NAMES = ("thumbnail", "medium", "feed")
JPEG_ONLY = ("JPEG",)
GPS_IFD = 0x8825
ORIENTATION = 0x0112
ALL_TRANSPOSES: tuple[Image.Transpose | None, ...] = (None, *Image.Transpose)
# What a viewer does to the stored pixels for each EXIF orientation; 6 and 8 undo each other.
VIEWER_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
STORING_TRANSPOSE = {
    **VIEWER_TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}

samples = pytest.mark.samples

EXIF_IFD = 0x8769
DATETIME = 0x0132
DATETIME_ORIGINAL = 0x9003
OFFSET_TIME = 0x9010
OFFSET_TIME_ORIGINAL = 0x9011

D50 = (0.9642, 1.0, 0.8249)
# Colorants (D50-adapted, as in their ICC profiles) of Adobe RGB (1998) and of sRGB.
ADOBE_RGB_COLORANTS = (
    (0.60974, 0.31111, 0.01947),
    (0.20528, 0.62567, 0.06087),
    (0.14919, 0.06322, 0.74457),
)
SRGB_COLORANTS = (
    (0.43607, 0.22249, 0.01392),
    (0.38515, 0.71687, 0.09708),
    (0.14307, 0.06061, 0.71410),
)
ADOBE_RGB_GAMMA = [563]  # one curv entry: a gamma in u8Fixed8, 563/256 = 2.2
# Saturated colours of a wide-gamut space: sRGB can show the red one, more saturated in its
# values; the green one is outside sRGB and can only be clipped (its red value goes to 0).
RED_PATCH = (180, 60, 60)
GREEN_PATCH = (60, 160, 80)


@pytest.fixture
def processor() -> PillowImageProcessor:
    """The default (JPEG) list only: what every test of the renditions' content reads."""
    return PillowImageProcessor(formats=JPEG_ONLY)


@functools.cache
def process_sample(path: Path) -> ProcessedImage:
    """Samples are processed once per test session: processing is pure."""
    return PillowImageProcessor(formats=JPEG_ONLY).process(path.read_bytes())


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def register_heif_opener() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()


def open_rendition(rendition: Rendition) -> Image.Image:
    image = Image.open(io.BytesIO(rendition.data))
    image.load()
    return image


def quadrant_picture(size: tuple[int, int]) -> Image.Image:
    """Grey picture with a red top-left quadrant: shows any rotation or mirroring."""
    picture = Image.new("RGB", size, (128, 128, 128))
    ImageDraw.Draw(picture).rectangle((0, 0, size[0] // 2, size[1] // 2), fill=(220, 0, 0))
    return picture


def stored_with_orientation(upright: Image.Image, orientation: int) -> bytes:
    """JPEG bytes a camera would write: pixels stored turned, Orientation tag to undo it."""
    stored = upright.transpose(STORING_TRANSPOSE[orientation]) if orientation > 1 else upright
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG declaring width x height RGB pixels, with no image data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def closest_transpose(image: Image.Image, reference: Image.Image) -> Image.Transpose | None:
    """Which of the 8 orientations of `image` looks most like `reference` (None: as is)."""

    def difference(transpose: Image.Transpose | None) -> float:
        candidate = image if transpose is None else image.transpose(transpose)
        if candidate.size != reference.size:
            return float("inf")
        diff = ImageChops.difference(candidate.convert("L"), reference.convert("L"))
        return float(ImageStat.Stat(diff).mean[0])

    return min(ALL_TRANSPOSES, key=difference)


def matrix_shaper_profile(
    description: str, colorants: tuple[tuple[float, float, float], ...], curve: list[int]
) -> bytes:
    """A minimal ICC v2 RGB display profile: white point, 3 colorants, one tone curve.

    `curve` is a curv tag: one entry is a gamma (u8Fixed8), more are a sampled curve.
    """

    def s15fixed16(values: tuple[float, ...]) -> bytes:
        return b"".join(struct.pack(">i", round(value * 65536)) for value in values)

    def xyz(values: tuple[float, ...]) -> bytes:
        return b"XYZ \0\0\0\0" + s15fixed16(values)

    trc = b"curv\0\0\0\0" + struct.pack(f">I{len(curve)}H", len(curve), *curve)
    tags = [
        (b"desc", b"text\0\0\0\0" + description.encode() + b"\0"),
        (b"wtpt", xyz(D50)),
        (b"rXYZ", xyz(colorants[0])),
        (b"gXYZ", xyz(colorants[1])),
        (b"bXYZ", xyz(colorants[2])),
        (b"rTRC", trc),
        (b"gTRC", trc),
        (b"bTRC", trc),
    ]
    data_start = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        padded = body + b"\0" * (-len(body) % 4)
        table += signature + struct.pack(">II", data_start + len(data), len(padded))
        data += padded
    header = (
        struct.pack(">I4sI", data_start + len(data), b"\0" * 4, 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12  # creation date
        + b"acsp"
        + b"\0" * 28  # platform, flags, manufacturer, model, attributes, intent
        + s15fixed16(D50)
        + b"\0" * 48  # creator, profile id, reserved
    )
    return header + struct.pack(">I", len(tags)) + table + data


def sampled_srgb_curve(entries: int = 1024) -> list[int]:
    """The sRGB tone curve (IEC 61966-2-1) as a table, like cameras' sRGB profiles carry."""
    curve = []
    for index in range(entries):
        value = index / (entries - 1)
        linear = value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
        curve.append(round(linear * 65535))
    return curve


def adobe_rgb_profile() -> bytes:
    return matrix_shaper_profile("Adobe RGB (1998)-like", ADOBE_RGB_COLORANTS, ADOBE_RGB_GAMMA)


def two_patch_picture(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """RED_PATCH on the left half, GREEN_PATCH on the right (opaque; alpha 255 in RGBA)."""
    picture = Image.new(mode, size, RED_PATCH)
    ImageDraw.Draw(picture).rectangle((size[0] // 2, 0, size[0], size[1]), fill=GREEN_PATCH)
    return picture


def patch_colours(image: Image.Image) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The RGB colours at the middle of the left and of the right half."""
    rgb = image.convert("RGB")
    left = rgb.getpixel((rgb.width // 4, rgb.height // 2))
    right = rgb.getpixel((rgb.width * 3 // 4, rgb.height // 2))
    assert isinstance(left, tuple)
    assert isinstance(right, tuple)
    return left, right


def to_srgb(colour: tuple[int, int, int], icc_profile: bytes) -> tuple[int, ...]:
    """What littleCMS makes of `colour` in the profile's space, in sRGB (relative intent)."""
    converted = ImageCms.profileToProfile(
        Image.new("RGB", (1, 1), colour),
        ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)),
        ImageCms.createProfile("sRGB"),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
    )
    assert converted is not None
    pixel = converted.getpixel((0, 0))
    assert isinstance(pixel, tuple)
    return pixel


def assert_close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 3) -> None:
    """Equal within `tolerance` per channel: JPEG and WebP do not keep flat colours exact."""
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)), (
        f"{actual} is not {expected} (+/- {tolerance})"
    )


def mean_saturation(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("HSV")).mean[1])


def assert_no_metadata(rendition: Rendition) -> None:
    image = open_rendition(rendition)
    exif = image.getexif()
    assert len(exif) == 0
    assert exif.get_ifd(GPS_IFD) == {}
    assert not {"exif", "xmp", "icc_profile", "comment"} & image.info.keys()
    assert b"Exif\x00\x00" not in rendition.data


# --- orientation ---------------------------------------------------------------------------


@samples
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_sample_ends_upright(samples_dir: Path, orientation: int) -> None:
    """GIVEN the 600x450 landscape stored with EXIF orientation 1..8 (5..8 stored 450x600)
    WHEN processed
    THEN the image is 600x450 and each rendition shows the picture like orientation 1 does."""
    folder = samples_dir / "exif-samples" / "orientation"
    result = process_sample(folder / f"landscape_{orientation}.jpg")
    reference = process_sample(folder / "landscape_1.jpg")

    assert (result.width, result.height) == (600, 450)
    assert [(r.width, r.height) for r in result.renditions] == [(320, 240), (600, 450), (600, 450)]
    for rendition, expected in zip(result.renditions, reference.renditions, strict=True):
        assert closest_transpose(open_rendition(rendition), open_rendition(expected)) is None


@samples
@pytest.mark.parametrize("orientation", [0, 3, 6, 8])
def test_portrait_samples_end_upright(samples_dir: Path, orientation: int) -> None:
    """GIVEN the 1200x1800 portrait photo stored with orientation 0, 3, 6 or 8
    WHEN processed
    THEN it is 1200x1800 upright and its feed rendition (720x1080) matches orientation 0's."""
    folder = samples_dir / "orientation-examples"
    result = process_sample(folder / f"Portrait_{orientation}.jpg")
    reference = process_sample(folder / "Portrait_0.jpg")

    assert (result.width, result.height) == (1200, 1800)
    feed = open_rendition(result.renditions[-1])
    assert feed.size == (720, 1080)
    assert closest_transpose(feed, open_rendition(reference.renditions[-1])) is None


@pytest.mark.parametrize("orientation", range(1, 9))
def test_large_jpeg_is_decoded_reduced_then_turned_upright(
    processor: PillowImageProcessor, orientation: int
) -> None:
    """GIVEN a 1600x2400 portrait stored turned with an orientation tag (big enough for
    the reduced-scale JPEG decode)
    WHEN processed
    THEN every rendition is portrait, with the red quadrant top-left."""
    upright = quadrant_picture((1600, 2400))

    result = processor.process(stored_with_orientation(upright, orientation))

    assert (result.width, result.height) == (1600, 2400)
    expected_sizes = [(213, 320), (427, 640), (720, 1080)]
    assert [(r.width, r.height) for r in result.renditions] == expected_sizes
    for rendition in result.renditions:
        image = open_rendition(rendition)
        assert closest_transpose(image, upright.resize(image.size)) is None


def test_draft_rounding_keeps_the_whole_picture(processor: PillowImageProcessor) -> None:
    """GIVEN a JPEG whose size is not a multiple of the reduced decode scale (2161x1621)
    WHEN processed
    THEN the feed rendition is exactly 1080x810 and its right edge is the picture's edge."""
    picture = Image.new("RGB", (2161, 1621), (0, 0, 255))
    ImageDraw.Draw(picture).rectangle((2161 - 200, 0, 2160, 1620), fill=(255, 255, 0))

    feed = open_rendition(processor.process(encode(picture, "JPEG", quality=95)).renditions[-1])

    assert feed.size == (1080, 810)
    red, green, blue = feed.getpixel((1079, 405))  # type: ignore[misc]
    assert red > 200
    assert green > 200
    assert blue < 60


# --- metadata -------------------------------------------------------------------------------


@samples
@pytest.mark.parametrize(
    ("filename", "make", "model", "taken_at"),
    [
        ("Canon_40D.jpg", "Canon", "Canon EOS 40D", datetime(2008, 5, 30, 15, 56, 1, tzinfo=UTC)),
        (
            "Nikon_D70.jpg",
            "NIKON CORPORATION",
            "NIKON D70",
            datetime(2008, 3, 15, 9, 52, 1, tzinfo=UTC),
        ),
        (
            "Pentax_K10D.jpg",
            "PENTAX Corporation",
            "PENTAX K10D",
            datetime(2008, 5, 4, 16, 47, 24, tzinfo=UTC),
        ),
        (
            "Fujifilm_FinePix_E500.jpg",
            "FUJIFILM",
            "FinePix E500",
            datetime(2006, 8, 17, 9, 24, 48, tzinfo=UTC),
        ),
        ("Sony_HDR-HC3.jpg", "SONY", "HDR-HC3", datetime(2007, 6, 15, 4, 42, 32, tzinfo=UTC)),
    ],
)
def test_cameras_expose_make_model_and_capture_time(
    samples_dir: Path, filename: str, make: str, model: str, taken_at: datetime
) -> None:
    """GIVEN a real camera JPEG (Pentax pads its strings with spaces)
    WHEN processed
    THEN make and model are trimmed, taken_at is DateTimeOriginal read as UTC (these
    cameras write no UTC offset)."""
    result = process_sample(samples_dir / "exif-samples" / "cameras" / filename)

    assert result.metadata.make == make
    assert result.metadata.model == model
    assert result.metadata.taken_at == taken_at


def test_taken_at_falls_back_to_datetime_and_ignores_invalid_dates(
    processor: PillowImageProcessor,
) -> None:
    """GIVEN EXIF with a zeroed DateTimeOriginal, a valid DateTime and NUL-padded make/model
    WHEN processed
    THEN taken_at is DateTime, make is trimmed, and a blank model is None."""
    exif = Image.Exif()
    exif[0x010F] = "  Acme Cameras\x00\x00 "
    exif[0x0110] = " \x00 "
    exif[0x0132] = "2020:02:29 23:59:58"
    exif.get_ifd(0x8769)[0x9003] = "0000:00:00 00:00:00"
    data = encode(Image.new("RGB", (40, 30)), "JPEG", exif=exif.tobytes())

    metadata = processor.process(data).metadata

    assert metadata.make == "Acme Cameras"
    assert metadata.model is None
    assert metadata.taken_at == datetime(2020, 2, 29, 23, 59, 58, tzinfo=UTC)


@pytest.mark.parametrize("value", ["2021:13:01 10:00:00", "yesterday", "2021-04-11 15:47:53", ""])
def test_unparseable_capture_time_is_none_never_an_error(
    processor: PillowImageProcessor, value: str
) -> None:
    """GIVEN a DateTime tag not in 'YYYY:MM:DD HH:MM:SS' WHEN processed THEN taken_at is None."""
    exif = Image.Exif()
    exif[0x0132] = value
    data = encode(Image.new("RGB", (40, 30)), "JPEG", exif=exif.tobytes())

    assert processor.process(data).metadata.taken_at is None


def jpeg_with_dates(
    *,
    original: str | None = None,
    original_offset: str | None = None,
    digitized: str | None = None,
    offset: str | None = None,
) -> bytes:
    """A small JPEG whose EXIF has the given dates and UTC offset tags."""
    exif = Image.Exif()
    exif_ifd = exif.get_ifd(EXIF_IFD)
    for ifd, tag, value in (
        (exif_ifd, DATETIME_ORIGINAL, original),
        (exif_ifd, OFFSET_TIME_ORIGINAL, original_offset),
        (exif, DATETIME, digitized),
        (exif_ifd, OFFSET_TIME, offset),
    ):
        if value is not None:
            ifd[tag] = value
    return encode(Image.new("RGB", (40, 30)), "JPEG", exif=exif.tobytes())


@pytest.mark.parametrize(
    ("wall_clock", "offset", "expected"),
    [
        ("2021:04:11 15:47:53", "-05:00", datetime(2021, 4, 11, 20, 47, 53, tzinfo=UTC)),
        ("2021:04:11 15:47:53", "+02:00", datetime(2021, 4, 11, 13, 47, 53, tzinfo=UTC)),
        ("2021:04:11 15:47:53", "+00:00", datetime(2021, 4, 11, 15, 47, 53, tzinfo=UTC)),
        ("2021:04:11 15:47:53", "+05:45", datetime(2021, 4, 11, 10, 2, 53, tzinfo=UTC)),
        ("2021:01:01 03:00:00", "+14:00", datetime(2020, 12, 31, 13, 0, 0, tzinfo=UTC)),
        ("2020:12:31 20:00:00", "-12:00", datetime(2021, 1, 1, 8, 0, 0, tzinfo=UTC)),
    ],
)
def test_capture_time_with_its_utc_offset_is_the_utc_instant(
    processor: PillowImageProcessor, wall_clock: str, offset: str, expected: datetime
) -> None:
    """GIVEN DateTimeOriginal with OffsetTimeOriginal (EXIF 2.31, as phones write it)
    WHEN processed
    THEN taken_at is that local time converted to UTC, across midnight and year ends."""
    data = jpeg_with_dates(original=wall_clock, original_offset=offset)

    taken_at = processor.process(data).metadata.taken_at

    assert taken_at == expected
    assert taken_at is not None
    assert taken_at.utcoffset() == UTC.utcoffset(None)


def test_each_date_takes_its_own_offset(processor: PillowImageProcessor) -> None:
    """GIVEN DateTime with OffsetTime (its offset) and no DateTimeOriginal,
    and then DateTimeOriginal with only OffsetTime (the offset of another date)
    WHEN processed
    THEN DateTime is converted with OffsetTime; DateTimeOriginal is not, read as UTC."""
    digitized = jpeg_with_dates(digitized="2021:04:11 15:47:53", offset="+09:00")
    mismatched = jpeg_with_dates(original="2021:04:11 15:47:53", offset="+09:00")

    assert processor.process(digitized).metadata.taken_at == datetime(
        2021, 4, 11, 6, 47, 53, tzinfo=UTC
    )
    assert processor.process(mismatched).metadata.taken_at == datetime(
        2021, 4, 11, 15, 47, 53, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "offset",
    ["", "   :  ", "Z", "02:00", "+2:00", "+0200", "+02:00:00", "+25:00", "+14:30", "-05:60"],
)
def test_invalid_utc_offset_is_ignored(processor: PillowImageProcessor, offset: str) -> None:
    """GIVEN DateTimeOriginal with an OffsetTimeOriginal not in '+HH:MM' form, or beyond
    the real range -12:00..+14:00
    WHEN processed
    THEN the offset is ignored: taken_at is the wall-clock time read as UTC."""
    data = jpeg_with_dates(original="2021:04:11 15:47:53", original_offset=offset)

    taken_at = processor.process(data).metadata.taken_at

    assert taken_at == datetime(2021, 4, 11, 15, 47, 53, tzinfo=UTC)


def test_offset_pushing_the_date_out_of_range_is_ignored(
    processor: PillowImageProcessor,
) -> None:
    """GIVEN 0001:01:01 00:00:00 at +02:00 (before year 1 in UTC)
    WHEN processed THEN taken_at is read as UTC, never an error."""
    data = jpeg_with_dates(original="0001:01:01 00:00:00", original_offset="+02:00")

    assert processor.process(data).metadata.taken_at == datetime(1, 1, 1, tzinfo=UTC)


def test_image_without_exif_has_empty_metadata(processor: PillowImageProcessor) -> None:
    """GIVEN a PNG without EXIF WHEN processed THEN make, model and taken_at are all None."""
    metadata = processor.process(encode(Image.new("RGB", (40, 30)), "PNG")).metadata

    assert (metadata.make, metadata.model, metadata.taken_at) == (None, None, None)


# --- no metadata in renditions ----------------------------------------------------------------


@samples
@pytest.mark.parametrize(
    "relative",
    [
        "exif-samples/gps/DSCN0010.jpg",
        "exif-samples/gps/DSCN0021.jpg",
        "exif-samples/gps/DSCN0027.jpg",
        "exif-samples/cameras/Canon_40D.jpg",
        "exif-samples/heic/IMG_5195.HEIC",
    ],
)
def test_renditions_of_gps_tagged_photos_carry_no_exif_at_all(
    samples_dir: Path, relative: str
) -> None:
    """GIVEN a real photo whose EXIF has GPS coordinates
    WHEN processed
    THEN no rendition has EXIF (let alone a GPS IFD), XMP, ICC profile or comment."""
    if relative.endswith(".HEIC"):
        import pillow_heif

        pillow_heif.register_heif_opener()
    with Image.open(samples_dir / relative) as original:
        assert original.getexif().get_ifd(GPS_IFD), "the sample should have GPS data"

    result = process_sample(samples_dir / relative)

    assert len(result.renditions) == len(DEFAULT_SIZES)
    for rendition in result.renditions:
        assert_no_metadata(rendition)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_synthetic_metadata_of_every_kind_is_stripped(
    processor: PillowImageProcessor, image_format: str
) -> None:
    """GIVEN an image with EXIF (GPS included), XMP and an ICC profile
    WHEN processed
    THEN the renditions carry none of them."""
    exif = Image.Exif()
    exif[0x010F] = "Acme"
    exif.get_ifd(GPS_IFD)[2] = (48.0, 51.0, 29.0)
    data = encode(
        Image.new("RGB", (800, 600), (10, 120, 30)),
        image_format,
        exif=exif.tobytes(),
        xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>GPSLatitude</x:xmpmeta>",
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
    )

    with Image.open(io.BytesIO(data)) as source:
        assert source.getexif().get_ifd(GPS_IFD)

    result = processor.process(data)

    assert result.metadata.make == "Acme"
    for rendition in result.renditions:
        assert_no_metadata(rendition)


# --- colour profiles ----------------------------------------------------------------------------


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_adobe_rgb_colours_are_converted_to_srgb(
    processor: PillowImageProcessor, image_format: str
) -> None:
    """GIVEN a 1600x1200 picture of two saturated patches tagged Adobe RGB (1998)
    WHEN processed
    THEN every rendition shows the patches' sRGB values, more saturated than the stored
    ones (the green one clipped to the sRGB gamut), and carries no profile."""
    icc_profile = adobe_rgb_profile()
    data = encode(
        two_patch_picture((1600, 1200)), image_format, quality=95, icc_profile=icc_profile
    )
    expected_red, expected_green = (
        to_srgb(RED_PATCH, icc_profile),
        to_srgb(GREEN_PATCH, icc_profile),
    )
    assert expected_red[0] > RED_PATCH[0] + 20  # the test tells a conversion apart
    assert expected_green[0] == 0

    result = processor.process(data)

    for rendition in result.renditions:
        red, green = patch_colours(open_rendition(rendition))
        assert_close(red, expected_red)
        assert_close(green, expected_green)
        assert_no_metadata(rendition)


def test_untagged_colours_are_kept(processor: PillowImageProcessor) -> None:
    """GIVEN the same two-patch picture without a profile (sRGB by default)
    WHEN processed THEN the renditions keep the stored values."""
    result = processor.process(encode(two_patch_picture((1600, 1200)), "PNG"))

    red, green = patch_colours(open_rendition(result.renditions[-1]))
    assert_close(red, RED_PATCH)
    assert_close(green, GREEN_PATCH)


@samples
def test_display_p3_colours_are_converted_to_srgb(
    samples_dir: Path, processor: PillowImageProcessor
) -> None:
    """GIVEN the two-patch picture tagged with the iPhone sample's Display P3 profile
    WHEN processed
    THEN the renditions show the patches' sRGB values: red (180, 60, 60) in P3 is about
    (196, 47, 54) in sRGB; green (60, 160, 80) is outside sRGB, clipped to about (0, 163, 69)."""
    register_heif_opener()
    with Image.open(samples_dir / "exif-samples" / "heic" / "IMG_5195.HEIC") as iphone:
        icc_profile = iphone.info["icc_profile"]
    assert b"Display P3" in icc_profile
    data = encode(two_patch_picture((1200, 900)), "JPEG", quality=95, icc_profile=icc_profile)

    red, green = patch_colours(open_rendition(processor.process(data).renditions[-1]))

    assert_close(red, to_srgb(RED_PATCH, icc_profile))
    assert_close(green, to_srgb(GREEN_PATCH, icc_profile))
    assert_close(red, (196, 47, 54))
    assert_close(green, (0, 163, 69))


@samples
def test_iphone_heic_renditions_are_converted_from_display_p3(samples_dir: Path) -> None:
    """GIVEN the iPhone HEIC sample (Display P3)
    WHEN processed
    THEN its feed rendition is about as saturated as the photo converted to sRGB by
    littleCMS, clearly more than the stored values read as sRGB would be."""
    path = samples_dir / "exif-samples" / "heic" / "IMG_5195.HEIC"
    feed = open_rendition(process_sample(path).renditions[-1])
    register_heif_opener()
    with Image.open(path) as iphone:
        icc_profile = iphone.info["icc_profile"]
        stored = iphone.convert("RGB").resize(feed.size, Image.Resampling.LANCZOS)
    converted = ImageCms.profileToProfile(
        stored,
        ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)),
        ImageCms.createProfile("sRGB"),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
    )
    assert converted is not None

    assert abs(mean_saturation(feed) - mean_saturation(converted)) < 2
    assert mean_saturation(feed) > mean_saturation(stored) + 5


def test_transparent_picture_is_converted_and_keeps_its_alpha(
    processor: PillowImageProcessor,
) -> None:
    """GIVEN an Adobe RGB PNG of the two patches with a transparent band at the top
    WHEN processed
    THEN the WebP renditions show the sRGB colours and keep the transparency."""
    picture = two_patch_picture((1600, 1200), "RGBA")
    ImageDraw.Draw(picture).rectangle((0, 0, 1599, 199), fill=(0, 0, 0, 0))
    icc_profile = adobe_rgb_profile()

    result = processor.process(encode(picture, "PNG", icc_profile=icc_profile))

    for rendition in result.renditions:
        image = open_rendition(rendition)
        assert (image.format, image.mode) == ("WEBP", "RGBA")
        assert image.getpixel((image.width // 2, 2))[3] == 0  # type: ignore[index]
        red, green = patch_colours(image)
        assert_close(red, to_srgb(RED_PATCH, icc_profile))
        assert_close(green, to_srgb(GREEN_PATCH, icc_profile))
        assert_no_metadata(rendition)


@pytest.mark.parametrize(
    "icc_profile",
    [
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
        matrix_shaper_profile("not named after sRGB", SRGB_COLORANTS, sampled_srgb_curve()),
    ],
    ids=["littlecms-srgb", "srgb-under-another-name"],
)
def test_srgb_profiles_leave_the_renditions_byte_identical(
    processor: PillowImageProcessor, icc_profile: bytes
) -> None:
    """GIVEN the two-patch picture tagged with an sRGB profile, whatever its name
    WHEN processed
    THEN the renditions are byte for byte those of the untagged picture (no conversion)."""
    picture = two_patch_picture((1600, 1200))

    tagged = processor.process(encode(picture, "JPEG", quality=95, icc_profile=icc_profile))
    untagged = processor.process(encode(picture, "JPEG", quality=95))

    assert [r.data for r in tagged.renditions] == [r.data for r in untagged.renditions]


@samples
def test_camera_srgb_profile_leaves_the_renditions_byte_identical(
    samples_dir: Path, processor: PillowImageProcessor
) -> None:
    """GIVEN the two-patch picture tagged with the Canon sample's sRGB IEC61966-2.1 profile
    WHEN processed THEN the renditions are those of the untagged picture."""
    with Image.open(samples_dir / "exif-samples" / "cameras" / "Canon_40D.jpg") as canon:
        icc_profile = canon.info["icc_profile"]
    assert b"sRGB IEC61966-2.1" in icc_profile
    picture = two_patch_picture((1600, 1200))

    tagged = processor.process(encode(picture, "JPEG", quality=95, icc_profile=icc_profile))
    untagged = processor.process(encode(picture, "JPEG", quality=95))

    assert [r.data for r in tagged.renditions] == [r.data for r in untagged.renditions]


def test_conversion_runs_once_at_the_largest_rendition_size(
    processor: PillowImageProcessor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a 4000x3000 Adobe RGB JPEG
    WHEN processed
    THEN the colours are converted once, on the 1080x810 image the smaller renditions are
    derived from, band by band as it is resized on threads: every row once (a conversion
    at full size would cost 15 times more)."""
    converted_sizes: list[tuple[int, int]] = []
    convert = colour.to_srgb

    def spy(image: Image.Image, icc_profile: object, worker: object = None) -> Image.Image:
        converted_sizes.append(image.size)
        return convert(image, icc_profile)

    monkeypatch.setattr(imaging, "to_srgb", spy)
    data = encode(two_patch_picture((4000, 3000)), "JPEG", icc_profile=adobe_rgb_profile())

    result = processor.process(data)

    assert {width for width, _ in converted_sizes} == {1080}
    assert sum(height for _, height in converted_sizes) == 810
    red, _ = patch_colours(open_rendition(result.renditions[0]))
    assert_close(red, to_srgb(RED_PATCH, adobe_rgb_profile()))


def test_conversion_in_bands_on_threads_gives_the_same_pixels() -> None:
    """GIVEN a 1080x810 picture with an Adobe RGB profile
    WHEN converted to sRGB whole, on 2 threads and on 3 (bands of rows)
    THEN the pixels are the same (LittleCMS converts row by row)."""
    picture = Image.effect_noise((1080, 810), 80).convert("RGB")
    picture.paste(two_patch_picture((540, 405)))
    icc_profile = adobe_rgb_profile()

    whole = colour.to_srgb(picture, icc_profile)

    assert ImageChops.difference(whole, picture).getbbox() is not None  # converted
    for threads in (2, 3):
        banded = colour.to_srgb(picture, icc_profile, Worker(threads))
        assert banded.info == {}
        assert ImageChops.difference(banded, whole).getbbox() is None


def test_oversized_profile_is_ignored(
    processor: PillowImageProcessor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a profile bigger than the limit (lowered here below the Adobe RGB one's size)
    WHEN processed THEN it is ignored like a broken one: the stored values are kept."""
    icc_profile = adobe_rgb_profile()
    monkeypatch.setattr(colour, "MAX_ICC_BYTES", len(icc_profile) - 1)
    data = encode(two_patch_picture((1600, 1200)), "JPEG", quality=95, icc_profile=icc_profile)

    red, green = patch_colours(open_rendition(processor.process(data).renditions[-1]))

    assert_close(red, RED_PATCH)
    assert_close(green, GREEN_PATCH)


def corrupted_tag_table(icc_profile: bytes) -> bytes:
    """The profile with every tag pointing past its end: a valid header, unreadable tags."""
    damaged = bytearray(icc_profile)
    for index in range(int.from_bytes(damaged[128:132], "big")):
        entry = 132 + 12 * index
        damaged[entry + 4 : entry + 8] = (len(icc_profile) * 4).to_bytes(4, "big")
    return bytes(damaged)


@pytest.mark.parametrize(
    "icc_profile",
    [
        b"not an ICC profile at all",
        adobe_rgb_profile()[:100],
        corrupted_tag_table(adobe_rgb_profile()),
        ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(),
    ],
    ids=["garbage", "truncated", "tags-out-of-bounds", "lab-profile-on-rgb-pixels"],
)
def test_unusable_profile_is_ignored_never_an_error(
    processor: PillowImageProcessor, caplog: pytest.LogCaptureFixture, icc_profile: bytes
) -> None:
    """GIVEN the two-patch picture with a broken profile, or one for another colour space
    WHEN processed
    THEN it is processed as untagged (stored values kept), noted in a debug log line."""
    data = encode(two_patch_picture((1600, 1200)), "JPEG", quality=95, icc_profile=icc_profile)

    with caplog.at_level(logging.DEBUG, logger="picgraph.imaging"):
        result = processor.process(data)

    red, green = patch_colours(open_rendition(result.renditions[-1]))
    assert_close(red, RED_PATCH)
    assert_close(green, GREEN_PATCH)
    assert any("colour profile not applied" in r.getMessage() for r in caplog.records)
    assert all(record.levelno == logging.DEBUG for record in caplog.records)


# --- HEIC ---------------------------------------------------------------------------------------


@samples
def test_iphone_heic_is_processed(samples_dir: Path) -> None:
    """GIVEN the iPhone 11 Pro Max HEIC sample (taken 2021:04:11 15:47:53 at UTC -05:00)
    WHEN processed
    THEN it is recognised as HEIC, read upright with its camera metadata, rendered as JPEG,
    and taken_at is the UTC instant of the capture."""
    result = process_sample(samples_dir / "exif-samples" / "heic" / "IMG_5195.HEIC")

    assert (result.format, result.content_type, result.extension) == ("HEIF", "image/heic", "heic")
    assert (result.width, result.height) == (2566, 3313)
    assert result.metadata.make == "Apple"
    assert result.metadata.model == "iPhone 11 Pro Max"
    assert result.metadata.taken_at == datetime(2021, 4, 11, 20, 47, 53, tzinfo=UTC)
    sizes = [(r.width, r.height, r.content_type) for r in result.renditions]
    assert sizes == [(248, 320, "image/jpeg"), (496, 640, "image/jpeg"), (836, 1080, "image/jpeg")]


@samples
def test_small_heif_sample_is_processed(samples_dir: Path) -> None:
    """GIVEN the small HEIF sample (its ftyp major brand is 'heic')
    WHEN processed
    THEN it is HEIC, 640x426, without camera metadata."""
    result = process_sample(samples_dir / "exif-samples" / "heic" / "samplefilehub.heif")

    assert (result.format, result.content_type, result.extension) == ("HEIF", "image/heic", "heic")
    assert (result.width, result.height) == (640, 426)
    assert result.metadata.make is None
    assert [(r.width, r.height) for r in result.renditions] == [(320, 213), (640, 426), (640, 426)]


@samples
def test_heif_without_hevc_brand_is_reported_as_heif(
    samples_dir: Path, processor: PillowImageProcessor
) -> None:
    """GIVEN the HEIF sample relabelled with only the generic brands (mif1, miaf)
    WHEN processed
    THEN its content type is image/heif and its extension heif."""
    data = bytearray((samples_dir / "exif-samples" / "heic" / "samplefilehub.heif").read_bytes())
    data[8:12] = b"mif1"
    data[16:24] = b"mif1miaf"

    result = processor.process(bytes(data))

    assert (result.format, result.content_type, result.extension) == ("HEIF", "image/heif", "heif")


@samples
@pytest.mark.parametrize("fraction", [0.5, 0.99])
def test_truncated_heic_is_refused(
    samples_dir: Path, processor: PillowImageProcessor, fraction: float
) -> None:
    """GIVEN the iPhone HEIC cut short (libheif alone would paint the missing tiles green)
    WHEN processed THEN InvalidImageError says it is truncated."""
    data = (samples_dir / "exif-samples" / "heic" / "IMG_5195.HEIC").read_bytes()

    with pytest.raises(InvalidImageError, match="it is truncated"):
        processor.process(data[: int(len(data) * fraction)])


# --- broken and hostile input -------------------------------------------------------------------


@samples
@pytest.mark.parametrize("filename", ["corrupted.jpg", "image01088.jpg"])
def test_broken_samples_give_a_clear_result_quickly(
    samples_dir: Path, processor: PillowImageProcessor, filename: str
) -> None:
    """GIVEN a file listed as corrupted or invalid by its source
    WHEN processed
    THEN the outcome is InvalidImageError or a valid result (today: both decode, libjpeg
    resynchronises corrupted.jpg's damaged scan), within seconds, and nothing else."""
    data = (samples_dir / "exif-samples" / "broken" / filename).read_bytes()
    started = time.monotonic()

    outcome = process_or_refuse(processor, data)

    assert time.monotonic() - started < 5
    if isinstance(outcome, InvalidImageError):
        assert outcome.message.startswith("The file is not a valid image")
    else:
        assert outcome.format == "JPEG"
        assert outcome.width * outcome.height > 0
        assert all(open_rendition(r).size == (r.width, r.height) for r in outcome.renditions)


def process_or_refuse(
    processor: PillowImageProcessor, data: bytes
) -> ProcessedImage | InvalidImageError:
    try:
        return processor.process(data)
    except InvalidImageError as error:
        return error


@samples
def test_truncated_jpeg_is_refused(samples_dir: Path, processor: PillowImageProcessor) -> None:
    """GIVEN a real camera JPEG cut in half WHEN processed THEN InvalidImageError 'truncated'."""
    data = (samples_dir / "exif-samples" / "gps" / "DSCN0010.jpg").read_bytes()

    with pytest.raises(InvalidImageError) as caught:
        processor.process(data[: len(data) // 2])

    assert caught.value.message == "The file is not a valid image: it is truncated."
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize(
    ("image_format", "mode", "options"),
    [
        ("JPEG", "RGB", {"progressive": True}),
        ("PNG", "RGBA", {}),
        ("GIF", "P", {}),
        ("WEBP", "RGB", {}),
    ],
)
def test_truncated_files_of_every_format_are_refused(
    processor: PillowImageProcessor, image_format: str, mode: str, options: dict[str, object]
) -> None:
    """GIVEN a valid image of each format cut at 60% WHEN processed THEN 'truncated'."""
    picture = Image.radial_gradient("L").resize((300, 200)).convert(mode)
    data = encode(picture, image_format, **options)

    with pytest.raises(InvalidImageError, match="it is truncated"):
        processor.process(data[: len(data) * 6 // 10])


def test_declared_decompression_bomb_is_refused_before_decoding(
    processor: PillowImageProcessor,
) -> None:
    """GIVEN a 100-byte PNG declaring 8000x8000 pixels (64 MP)
    WHEN processed with the default 50 MP cap
    THEN InvalidImageError names the size (nothing was decoded: there is nothing to decode)."""
    with pytest.raises(InvalidImageError) as caught:
        processor.process(png_header_only(8000, 8000))

    assert caught.value.message == (
        "The image is too large: 8000x8000 pixels, more than the 50,000,000 allowed."
    )


def test_huge_declared_bomb_stopped_by_pillow_is_refused_too(
    processor: PillowImageProcessor,
) -> None:
    """GIVEN a PNG declaring 20000x20000 pixels (400 MP: Pillow itself raises on open)
    WHEN processed
    THEN InvalidImageError states the limit."""
    with pytest.raises(InvalidImageError) as caught:
        processor.process(png_header_only(20_000, 20_000))

    assert (
        caught.value.message == "The image is too large: more than the 50,000,000 pixels allowed."
    )


def test_highly_compressible_real_png_above_the_cap_is_refused() -> None:
    """GIVEN a real 2000x2000 PNG of a few KB WHEN the cap is 1 MP THEN InvalidImageError."""
    data = encode(Image.new("L", (2000, 2000)), "PNG")
    assert len(data) < 20_000

    with pytest.raises(InvalidImageError, match="too large"):
        PillowImageProcessor(max_pixels=1_000_000).process(data)


@pytest.mark.parametrize("size", [(120, 100), (300, 300)])
def test_pillow_own_bomb_limit_is_an_error_too(
    monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    """GIVEN Pillow's global limit lowered to 10,000 pixels (a warning above, an error at 2x)
    WHEN an image over it is processed under a generous cap
    THEN the warning or the error both end as InvalidImageError."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    data = encode(Image.new("RGB", size), "PNG")

    with pytest.raises(InvalidImageError, match="more than the 10,000 pixels allowed"):
        PillowImageProcessor(max_pixels=10**9).process(data)


def test_zero_size_image_is_invalid(processor: PillowImageProcessor) -> None:
    """GIVEN a PNG declaring 0x100 pixels WHEN processed THEN InvalidImageError."""
    with pytest.raises(InvalidImageError):
        processor.process(png_header_only(0, 100))


def test_empty_file_is_invalid(processor: PillowImageProcessor) -> None:
    """GIVEN no bytes at all WHEN processed THEN InvalidImageError says it is empty."""
    with pytest.raises(InvalidImageError, match="empty"):
        processor.process(b"")


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        b"Just some text, renamed photo.jpg",
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        encode(Image.new("RGB", (10, 10)), "BMP"),
        encode(Image.new("RGB", (10, 10)), "TIFF"),
        b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
    ],
    ids=["pdf", "text", "svg", "bmp", "tiff", "mp4"],
)
def test_other_file_types_are_unsupported(processor: PillowImageProcessor, data: bytes) -> None:
    """GIVEN bytes of a non-allowed type WHEN processed THEN UnsupportedMediaTypeError."""
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        processor.process(data)

    assert "JPEG, PNG, WebP, GIF or HEIC" in caught.value.message


@pytest.mark.skipif(not features.check("avif"), reason="Pillow built without AVIF")
def test_avif_is_unsupported_even_though_it_is_heif_based(
    processor: PillowImageProcessor,
) -> None:
    """GIVEN a real AVIF file (ISO-BMFF like HEIC) WHEN processed THEN unsupported."""
    with pytest.raises(UnsupportedMediaTypeError):
        processor.process(encode(Image.new("RGB", (64, 64)), "AVIF"))


def test_magic_bytes_followed_by_garbage_are_invalid(processor: PillowImageProcessor) -> None:
    """GIVEN the first bytes of each allowed format then noise WHEN processed THEN invalid."""
    noise = random.Random(7).randbytes(2000)  # noqa: S311
    for magic in (b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\xd0\x07\0\0WEBP"):
        with pytest.raises(InvalidImageError):
            processor.process(magic + noise)


@samples
def test_randomly_damaged_files_never_raise_anything_else(
    samples_dir: Path, processor: PillowImageProcessor
) -> None:
    """GIVEN 40 copies of small real files with random bytes overwritten
    WHEN processed
    THEN each gives a result or a DomainError from the protocol, never another exception."""
    rng = random.Random(20240601)  # noqa: S311
    originals = [
        (samples_dir / "exif-samples" / "cameras" / "Canon_40D.jpg").read_bytes(),
        (samples_dir / "exif-samples" / "heic" / "samplefilehub.heif").read_bytes(),
        encode(quadrant_picture((64, 48)).convert("P"), "GIF"),
        encode(quadrant_picture((64, 48)), "PNG"),
        encode(quadrant_picture((64, 48)), "WEBP"),
    ]
    for original in originals:
        for _ in range(8):
            damaged = bytearray(original)
            for _ in range(rng.randint(1, 12)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            with contextlib.suppress(InvalidImageError, UnsupportedMediaTypeError):
                processor.process(bytes(damaged))


# --- formats and renditions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_format", "content_type", "extension"),
    [
        ("JPEG", "image/jpeg", "jpg"),
        ("PNG", "image/png", "png"),
        ("GIF", "image/gif", "gif"),
        ("WEBP", "image/webp", "webp"),
    ],
)
def test_format_is_sniffed_from_the_bytes(
    processor: PillowImageProcessor, image_format: str, content_type: str, extension: str
) -> None:
    """GIVEN an image in an allowed format
    WHEN processed
    THEN format, content type and extension come from its bytes, checksum from the original."""
    data = encode(quadrant_picture((90, 60)).convert("RGB"), image_format)

    result = processor.process(data)

    assert (result.format, result.content_type, result.extension) == (
        image_format,
        content_type,
        extension,
    )
    assert result.content_type in ALLOWED_FORMATS
    assert result.checksum_sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("ftyp", "expected"),
    [
        (b"heic\0\0\0\0mif1heic", HEIC),
        (b"heix\0\0\0\0mif1heix", HEIC),
        (b"mif1\0\0\0\0mif1heic", HEIC),
        (b"mif1\0\0\0\0mif1miaf", HEIF),
        (b"avif\0\0\0\0avifmif1", None),
        (b"mif1\0\0\0\0mif1avif", None),
        (b"qt  \0\0\0\0qt  ", None),
    ],
)
def test_heif_brands(ftyp: bytes, expected: object) -> None:
    """GIVEN an ISO-BMFF ftyp box WHEN sniffed THEN HEVC brands are HEIC, generic HEIF is
    HEIF, and AVIF or video files are unsupported."""
    data = (8 + len(ftyp)).to_bytes(4, "big") + b"ftyp" + ftyp + b"\0" * 16

    if expected is None:
        with pytest.raises(UnsupportedMediaTypeError):
            sniff_format(data)
    else:
        assert sniff_format(data) == expected


def test_mpo_from_phones_and_3d_cameras_is_a_jpeg(processor: PillowImageProcessor) -> None:
    """GIVEN a multi-picture JPEG (MPO) WHEN processed THEN it is a JPEG, first picture."""
    data = encode(
        Image.new("RGB", (1600, 1200), (0, 200, 0)),
        "MPO",
        save_all=True,
        append_images=[Image.new("RGB", (1600, 1200), (200, 0, 0))],
    )

    result = processor.process(data)

    assert (result.format, result.content_type, result.extension) == ("JPEG", "image/jpeg", "jpg")
    red, green, _ = open_rendition(result.renditions[0]).getpixel((10, 10))  # type: ignore[misc]
    assert green > 150 > red


def test_renditions_are_smallest_first_with_every_name(processor: PillowImageProcessor) -> None:
    """GIVEN a 4000x3000 photo WHEN processed THEN thumbnail, medium, feed, in that order."""
    result = processor.process(encode(quadrant_picture((4000, 3000)), "JPEG"))

    assert tuple(r.name for r in result.renditions) == RENDITION_NAMES
    assert [(r.width, r.height) for r in result.renditions] == [(320, 240), (640, 480), (1080, 810)]


def test_custom_sizes_in_any_order_come_out_smallest_first() -> None:
    """GIVEN sizes listed large, small, medium WHEN processed THEN smallest first."""
    processor = PillowImageProcessor(
        sizes=[("big", 500), ("tiny", 50), ("mid", 200)], formats=JPEG_ONLY
    )

    result = processor.process(encode(quadrant_picture((1000, 800)), "PNG"))

    assert [(r.name, r.width) for r in result.renditions] == [
        ("tiny", 50),
        ("mid", 200),
        ("big", 500),
    ]


@pytest.mark.parametrize("size", [(200, 100), (1, 1), (90, 300)])
def test_small_images_are_never_upscaled_but_still_re_encoded(
    processor: PillowImageProcessor, size: tuple[int, int]
) -> None:
    """GIVEN a PNG smaller than every rendition size
    WHEN processed
    THEN every name is present, each rendition keeps the original size, as a new JPEG."""
    result = processor.process(encode(Image.new("RGB", size, (50, 60, 70)), "PNG"))

    assert tuple(r.name for r in result.renditions) == RENDITION_NAMES
    for rendition in result.renditions:
        assert (rendition.width, rendition.height) == size
        assert rendition.content_type == "image/jpeg"
        assert open_rendition(rendition).format == "JPEG"


@samples
def test_tiny_camera_sample_is_not_upscaled(samples_dir: Path) -> None:
    """GIVEN the 100x68 Canon sample WHEN processed THEN all three renditions are 100x68."""
    result = process_sample(samples_dir / "exif-samples" / "cameras" / "Canon_40D.jpg")

    assert [(r.name, r.width, r.height) for r in result.renditions] == [
        (name, 100, 68) for name in RENDITION_NAMES
    ]


def test_transparent_png_gives_webp_renditions_with_alpha(processor: PillowImageProcessor) -> None:
    """GIVEN a PNG with transparent corners WHEN processed THEN WebP renditions keep alpha."""
    picture = Image.new("RGBA", (900, 700), (0, 0, 0, 0))
    ImageDraw.Draw(picture).ellipse((100, 100, 800, 600), fill=(0, 120, 255, 255))

    result = processor.process(encode(picture, "PNG"))

    for rendition in result.renditions:
        assert (rendition.content_type, rendition.extension) == ("image/webp", "webp")
        image = open_rendition(rendition)
        assert (image.format, image.mode) == ("WEBP", "RGBA")
        assert image.getpixel((0, 0))[3] == 0  # type: ignore[index]
        assert image.getpixel((image.width // 2, image.height // 2))[3] == 255  # type: ignore[index]


def test_opaque_png_with_alpha_channel_gives_jpeg(processor: PillowImageProcessor) -> None:
    """GIVEN an RGBA PNG where every pixel is opaque WHEN processed THEN JPEG renditions."""
    result = processor.process(encode(Image.new("RGBA", (400, 300), (9, 9, 9, 255)), "PNG"))

    assert {r.content_type for r in result.renditions} == {"image/jpeg"}


def test_animated_gif_renders_its_first_frame_with_transparency(
    processor: PillowImageProcessor,
) -> None:
    """GIVEN a 2-frame GIF whose first frame has a transparent half
    WHEN processed
    THEN the renditions show the first frame, as WebP with alpha."""
    first = Image.new("P", (400, 300), 1)
    first.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255])
    ImageDraw.Draw(first).rectangle((0, 0, 199, 299), fill=0)
    second = Image.new("P", (400, 300), 2)
    second.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255])
    data = encode(first, "GIF", save_all=True, append_images=[second], transparency=0)

    image = open_rendition(processor.process(data).renditions[-1])

    assert image.mode == "RGBA"
    assert image.getpixel((10, 10))[3] == 0  # type: ignore[index]
    red, green, blue, alpha = image.getpixel((390, 150))  # type: ignore[misc]
    assert red > 200
    assert max(green, blue) < 30
    assert alpha == 255


def test_sixteen_bit_greyscale_png_keeps_its_tones(processor: PillowImageProcessor) -> None:
    """GIVEN a 16-bit greyscale gradient PNG WHEN processed THEN mid-grey stays mid-grey."""
    gradient = Image.linear_gradient("L").convert("I").point(lambda value: value * 256)
    data = encode(gradient.convert("I;16"), "PNG")

    rendition = open_rendition(processor.process(data).renditions[0])

    assert 110 < rendition.convert("L").getpixel((128, 128)) < 145  # type: ignore[operator]


def test_invalid_configuration_is_refused() -> None:
    """GIVEN sizes that are empty, non-positive or with duplicate names THEN ValueError."""
    with pytest.raises(ValueError, match="sizes"):
        PillowImageProcessor(sizes=[])
    with pytest.raises(ValueError, match="sizes"):
        PillowImageProcessor(sizes=[("zero", 0)])
    with pytest.raises(ValueError, match="unique"):
        PillowImageProcessor(sizes=[("a", 10), ("a", 20)])
    with pytest.raises(ValueError, match="max_pixels"):
        PillowImageProcessor(max_pixels=0)
