"""Layout before pixels: ThumbHash, dominant colour and aspect ratio, on real photos too."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from services.imaging import PillowImageProcessor
from services.placeholders import (
    average_rgba,
    dominant_colour,
    thumbhash,
    thumbhash_aspect_ratio,
)

samples = pytest.mark.samples


def encode(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("colour", "size"),
    [((200, 30, 40), (320, 240)), ((20, 130, 240), (180, 320)), ((128, 128, 128), (50, 50))],
)
def test_thumbhash_of_a_plain_picture_decodes_to_its_colour_and_shape(
    colour: tuple[int, int, int], size: tuple[int, int]
) -> None:
    """GIVEN a picture of one colour WHEN hashed
    THEN the hash decodes (as a client decodes it) to that average colour within the
    format's quantisation, opaque, and to the picture's orientation."""
    hashed = thumbhash(Image.new("RGB", size, colour))

    red, green, blue, alpha = average_rgba(hashed)

    for decoded, original in zip((red, green, blue), colour, strict=True):
        assert abs(decoded * 255 - original) <= 8
    assert alpha == 1.0
    ratio = thumbhash_aspect_ratio(hashed)
    assert (ratio > 1) == (size[0] > size[1])
    assert (ratio < 1) == (size[0] < size[1])


def test_thumbhash_of_a_transparent_picture_records_alpha() -> None:
    """GIVEN a green disc on a transparent background WHEN hashed
    THEN the hash carries alpha: its average alpha is partial, its colour green."""
    picture = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    ImageDraw.Draw(picture).ellipse((50, 20, 250, 180), fill=(0, 200, 0, 255))

    red, green, blue, alpha = average_rgba(thumbhash(picture))

    assert 0.2 < alpha < 0.8
    assert green > 0.6
    assert max(red, blue) < 0.1


def test_dominant_colour_is_the_most_common_one_not_the_average() -> None:
    """GIVEN 70 % red and 30 % blue WHEN its dominant colour is computed THEN red, not purple."""
    picture = Image.new("RGB", (100, 100), (220, 20, 20))
    ImageDraw.Draw(picture).rectangle((0, 0, 29, 99), fill=(20, 20, 220))

    colour = dominant_colour(picture)

    assert colour == "#dc1414"


def test_dominant_colour_ignores_transparent_pixels() -> None:
    """GIVEN a small blue square on a large transparent (but black-valued) area
    WHEN its dominant colour is computed THEN blue: what is invisible does not count."""
    picture = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    ImageDraw.Draw(picture).rectangle((40, 40, 59, 59), fill=(10, 60, 250, 255))

    assert dominant_colour(picture) == "#0a3cfa"


@samples
@pytest.mark.parametrize(
    "relative",
    [
        "exif-samples/orientation/landscape_6.jpg",
        "exif-samples/orientation/landscape_1.jpg",
        "exif-samples/heic/IMG_5195.HEIC",
        "exif-samples/cameras/Canon_40D.jpg",
    ],
)
def test_processing_a_real_photo_gives_its_placeholder(samples_dir: Path, relative: str) -> None:
    """GIVEN a real photo WHEN processed
    THEN the placeholder is base64 of at most 40 bytes whose orientation and average colour
    are those of the upright image, and the dominant colour is #rrggbb."""
    path = samples_dir / relative
    if not path.is_file():
        pytest.skip(f"{relative} is not in the samples")
    result = PillowImageProcessor(formats=("JPEG",)).process(path.read_bytes())

    assert result.placeholder is not None
    hashed = base64.b64decode(result.placeholder, validate=True)
    assert 5 < len(hashed) <= 40
    ratio = thumbhash_aspect_ratio(hashed)
    assert (ratio > 1) == (result.width > result.height)
    smallest = Image.open(io.BytesIO(result.renditions[0].data)).convert("RGB")
    mean = smallest.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert isinstance(mean, tuple)
    for decoded, actual in zip(average_rgba(hashed)[:3], mean, strict=True):
        assert abs(decoded * 255 - actual) <= 12
    assert result.dominant_color is not None
    assert len(result.dominant_color) == 7
    assert result.dominant_color.startswith("#")
    int(result.dominant_color[1:], 16)


def test_placeholder_follows_the_exif_orientation() -> None:
    """GIVEN a landscape-stored JPEG tagged Orientation 6 (shown portrait)
    WHEN processed THEN the placeholder says portrait, like width and height."""
    stored = Image.new("RGB", (800, 400), (90, 140, 60))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", exif=exif.tobytes())

    result = PillowImageProcessor(formats=("JPEG",)).process(buffer.getvalue())

    assert (result.width, result.height) == (400, 800)
    assert result.placeholder is not None
    assert thumbhash_aspect_ratio(base64.b64decode(result.placeholder)) < 1
