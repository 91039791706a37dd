"""Renditions in every format, resized in bands on threads, PNGs decoded band by band."""

from __future__ import annotations

import io
import math
import random
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFile, ImageMath, features

from services import decoding, rendering
from services.errors import InvalidImageError
from services.imaging import PillowImageProcessor
from services.models import ProcessedImage
from services.png_strips import png_layout, png_strips
from services.rendering import available_formats

samples = pytest.mark.samples
needs_modern = pytest.mark.skipif(
    not (features.check("avif") and features.check("webp")), reason="no AVIF or WebP here"
)


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def photo_like(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Noise, gradients and hard edges: every PNG filter type gets used on it."""
    width, height = size
    noise = Image.effect_noise(size, 50).convert("L")
    gradient = Image.linear_gradient("L").resize(size)
    picture = Image.merge("RGB", (noise, gradient, gradient.transpose(Image.Transpose.ROTATE_180)))
    ImageDraw.Draw(picture).ellipse((width // 5, height // 5, width // 2, height // 2), fill="red")
    if mode == "RGBA":
        rgba = picture.convert("RGBA")
        rgba.putalpha(gradient)
        return rgba
    if mode == "I;16":  # every 16-bit value used: noise in the low byte, the picture above
        low = Image.effect_noise(size, 90).convert("L")
        wide = ImageMath.lambda_eval(
            lambda image: image["high"] * 256 + image["low"], high=picture.convert("L"), low=low
        )
        assert isinstance(wide, Image.Image)
        return wide.convert("I;16")
    return picture.convert(mode)


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def psnr(first: Image.Image, second: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB over the RGB values (inf when identical)."""
    histogram = ImageChops.difference(first, second).histogram()
    squared = sum(count * (value % 256) ** 2 for value, count in enumerate(histogram))
    mean = squared / (first.width * first.height * 3)
    return math.inf if mean == 0 else 10 * math.log10(255**2 / mean)


def by_format(result: ProcessedImage) -> dict[str, list[tuple[str, int, int, str]]]:
    lists: dict[str, list[tuple[str, int, int, str]]] = {}
    for rendition in result.renditions:
        entry = (rendition.name, rendition.width, rendition.height, rendition.content_type)
        lists.setdefault(rendition.format, []).append(entry)
    return lists


@needs_modern
def test_every_size_comes_in_jpeg_webp_and_avif() -> None:
    """GIVEN a 4000x3000 photo WHEN processed with the default formats
    THEN each size exists as JPEG, WebP and AVIF, smallest first, each decoding to its size."""
    result = PillowImageProcessor().process(encode(photo_like((4000, 3000)), "JPEG"))

    sizes = [("thumbnail", 320, 240), ("medium", 640, 480), ("feed", 1080, 810)]
    assert by_format(result) == {
        "JPEG": [(*size, "image/jpeg") for size in sizes],
        "WEBP": [(*size, "image/webp") for size in sizes],
        "AVIF": [(*size, "image/avif") for size in sizes],
    }
    for rendition in result.renditions:
        with Image.open(io.BytesIO(rendition.data)) as decoded:
            assert decoded.size == (rendition.width, rendition.height)
            assert decoded.format == rendition.format
            assert decoded.getexif() == {}


@needs_modern
def test_transparent_image_has_no_second_webp_list_and_avif_keeps_alpha() -> None:
    """GIVEN a transparent PNG WHEN processed
    THEN its default list is WebP with alpha (as ever), no separate WEBP list is made,
    and the AVIF renditions keep the transparency."""
    picture = Image.new("RGBA", (900, 700), (0, 0, 0, 0))
    ImageDraw.Draw(picture).ellipse((100, 100, 800, 600), fill=(0, 120, 255, 255))

    result = PillowImageProcessor().process(encode(picture, "PNG"))

    lists = by_format(result)
    assert set(lists) == {"JPEG", "AVIF"}
    assert {entry[3] for entry in lists["JPEG"]} == {"image/webp"}
    avif = next(r for r in result.renditions if r.format == "AVIF")
    with Image.open(io.BytesIO(avif.data)) as decoded:
        assert decoded.mode == "RGBA"
        assert decoded.getpixel((0, 0))[3] == 0  # type: ignore[index]


def test_formats_must_include_jpeg_and_be_known() -> None:
    """GIVEN a format list without JPEG, or with an unknown format THEN ValueError."""
    with pytest.raises(ValueError, match="formats"):
        PillowImageProcessor(formats=("WEBP",))
    with pytest.raises(ValueError, match="formats"):
        PillowImageProcessor(formats=("JPEG", "GIF"))
    assert available_formats()[0] == "JPEG"


@samples
@pytest.mark.parametrize(
    "relative", ["exif-samples/heic/IMG_5195.HEIC", "exif-samples/orientation/landscape_6.jpg"]
)
def test_threads_change_nothing_in_the_output(samples_dir: Path, relative: str) -> None:
    """GIVEN a real photo WHEN processed on 1, 2 and 3 threads
    THEN 2 threads give the very same bytes (the bands are exact), and 3 the same pixels
    but for a unit in rare ones where a band's box is not exact in float32 (PSNR > 50 dB)."""
    data = (samples_dir / relative).read_bytes()

    one = PillowImageProcessor(formats=("JPEG",), threads=1).process(data)
    two = PillowImageProcessor(formats=("JPEG",), threads=2).process(data)
    three = PillowImageProcessor(formats=("JPEG",), threads=3).process(data)

    assert [r.data for r in one.renditions] == [r.data for r in two.renditions]
    for single, banded in zip(one.renditions, three.renditions, strict=True):
        assert (single.width, single.height) == (banded.width, banded.height)
        assert psnr(decoded(single.data), decoded(banded.data)) > 50


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P"])
@pytest.mark.parametrize("options", [{}, {"optimize": True}, {"compress_level": 1}])
def test_png_bands_are_exactly_the_full_decode(mode: str, options: dict[str, object]) -> None:
    """GIVEN an 8-bit PNG of each colour type (any filters, any compression)
    WHEN decoded in bands of 17 rows THEN the bands, stacked, are the full decode."""
    data = encode(photo_like((301, 203), mode), "PNG", **options)
    layout = png_layout(data)
    assert layout is not None

    bands = list(png_strips(data, layout, 17))

    with Image.open(io.BytesIO(data)) as full:
        full.load()
        stacked = Image.new(full.mode, full.size)
        top = 0
        for band in bands:
            assert band.mode == full.mode
            stacked.paste(band, (0, top))
            top += band.height
        assert [band.height for band in bands] == [17] * 11 + [16]
        assert (
            ImageChops.difference(stacked.convert("RGBA"), full.convert("RGBA")).getbbox() is None
        )


@pytest.mark.parametrize("options", [{}, {"compress_level": 1}])
def test_16_bit_grey_png_bands_are_exactly_the_full_decode(options: dict[str, object]) -> None:
    """GIVEN a 16-bit greyscale PNG using every bit of its samples
    WHEN decoded in bands of 17 rows THEN the bands' 16-bit values are the full decode's."""
    data = encode(photo_like((301, 203), "I;16"), "PNG", **options)
    layout = png_layout(data)
    assert layout is not None

    bands = list(png_strips(data, layout, 17))

    with Image.open(io.BytesIO(data)) as full:
        full.load()
        assert full.mode == "I;16"
        assert {band.mode for band in bands} == {"I;16"}
        assert b"".join(band.tobytes() for band in bands) == full.tobytes()


def sixteen_bit_png(size: tuple[int, int], colour_type: int, seed: int = 7) -> bytes:
    """A 16-bit RGB (2) or RGBA (6) PNG of random samples (Pillow cannot write one), its
    rows filtered in turn with None, Sub, Up, Average and Paeth: every filter crosses bands."""
    channels = {2: 3, 6: 4}[colour_type]
    width, height = size
    bpp = 2 * channels
    generator = random.Random(seed)  # noqa: S311 (test data)
    rows = [generator.randbytes(width * bpp) for _ in range(height)]
    filtered = bytearray()
    previous = bytes(width * bpp)
    for index, row in enumerate(rows):
        kind = index % 5
        filtered.append(kind)
        for at, value in enumerate(row):
            left = row[at - bpp] if at >= bpp else 0
            up = previous[at]
            up_left = previous[at - bpp] if at >= bpp else 0
            predictor = (0, left, up, (left + up) // 2, paeth(left, up, up_left))[kind]
            filtered.append((value - predictor) % 256)
        previous = row
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            png_chunk(b"IHDR", header),
            png_chunk(b"IDAT", zlib.compress(bytes(filtered), 6)),
            png_chunk(b"IEND", b""),
        )
    )


def paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
    return (left, up, up_left)[distances.index(min(distances))]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


@pytest.mark.parametrize("colour_type", [2, 6])
@pytest.mark.parametrize("rows", [1, 17, 64])
def test_16_bit_colour_png_bands_are_exactly_the_full_decode(colour_type: int, rows: int) -> None:
    """GIVEN a 16-bit RGB or RGBA PNG of random samples, every filter type in use
    WHEN decoded in bands THEN the bands are Pillow's full decode (its 8-bit high bytes),
    though the row above each band is re-stored without its low bytes."""
    data = sixteen_bit_png((97, 61), colour_type)
    layout = png_layout(data)
    assert layout is not None

    bands = list(png_strips(data, layout, rows))

    with Image.open(io.BytesIO(data)) as full:
        full.load()
        assert full.mode == {2: "RGB", 6: "RGBA"}[colour_type]
        assert {band.mode for band in bands} == {full.mode}
        assert sum(band.height for band in bands) == full.height
        assert b"".join(band.tobytes() for band in bands) == full.tobytes()


def packed_png(size: tuple[int, int], depth: int, colour_type: int, seed: int = 3) -> bytes:
    """A palette (3) or greyscale (0) PNG of `depth` < 8 bits a pixel, random pixels and
    random unused bits where a row ends inside a byte; rows filtered with each filter in turn."""
    width, height = size
    generator = random.Random(seed)  # noqa: S311 (test data)
    row_bytes = -(-width * depth // 8)
    rows = [generator.randbytes(row_bytes) for _ in range(height)]
    filtered = bytearray()
    previous = bytes(row_bytes)
    for index, row in enumerate(rows):
        kind = index % 5
        filtered.append(kind)
        for at, value in enumerate(row):
            left = row[at - 1] if at >= 1 else 0
            up_left = previous[at - 1] if at >= 1 else 0
            up = previous[at]
            predictor = (0, left, up, (left + up) // 2, paeth(left, up, up_left))[kind]
            filtered.append((value - predictor) % 256)
        previous = row
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    chunks = [png_chunk(b"IHDR", header)]
    if colour_type == 3:
        palette = bytes(generator.randrange(256) for _ in range(3 * 2**depth))
        chunks.append(png_chunk(b"PLTE", palette))
    chunks += [png_chunk(b"IDAT", zlib.compress(bytes(filtered))), png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


@pytest.mark.parametrize(("depth", "colour_type"), [(1, 0), (2, 0), (4, 0), (1, 3), (2, 3), (4, 3)])
@pytest.mark.parametrize("width", [97, 64, 5, 1])
def test_png_of_under_8_bits_a_pixel_bands_are_exactly_the_full_decode(
    depth: int, colour_type: int, width: int
) -> None:
    """GIVEN a 1, 2 or 4-bit palette or greyscale PNG, every filter type in use, junk in the
    unused bits at the end of each row WHEN decoded in bands of 1 to 13 rows THEN the bands
    are Pillow's full decode (the unused bits, carried into the pixels by the filters' sums,
    are followed exactly from band to band)."""
    data = packed_png((width, 61), depth, colour_type)
    layout = png_layout(data)
    assert layout is not None
    with Image.open(io.BytesIO(data)) as full:
        full.load()
        expected = full.tobytes()

    for rows in (1, 2, 13):
        bands = list(png_strips(data, layout, rows))

        assert b"".join(band.tobytes() for band in bands) == expected, rows


def test_pngs_that_cannot_be_streamed_are_decoded_whole() -> None:
    """GIVEN an interlaced or a 16-bit grey-with-alpha PNG THEN it is not streamed
    (Pillow decodes 16-bit grey+alpha to 8 bits of LA, whose row could not be re-stored)."""
    plain = encode(photo_like((64, 48)), "PNG")
    interlaced = plain[:28] + b"\x01" + plain[29:]  # png_layout reads only the header
    sixteen_bit_grey_alpha = plain[:24] + b"\x10\x04" + plain[26:]

    assert png_layout(plain) is not None
    assert png_layout(encode(photo_like((64, 48), "I;16"), "PNG")) is not None
    assert png_layout(sixteen_bit_png((8, 8), 2)) is not None
    assert png_layout(encode(photo_like((64, 48), "P"), "PNG", bits=4)) is not None
    for data in (sixteen_bit_grey_alpha, interlaced):
        assert png_layout(data) is None


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "I;16"])
def test_streamed_png_gives_the_renditions_of_a_whole_decode(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """GIVEN a 2400x1800 PNG (reduced by an integer factor before the filter)
    WHEN processed streamed and processed whole
    THEN the renditions are byte for byte the same, and the streamed run never decoded it
    whole."""
    data = encode(photo_like((2400, 1800), mode), "PNG")
    monkeypatch.setattr(decoding, "STREAM_MIN_PIXELS", 10**12)
    whole = PillowImageProcessor(formats=("JPEG",)).process(data)

    monkeypatch.setattr(decoding, "STREAM_MIN_PIXELS", 1)
    full_loads: list[tuple[int, int]] = []
    original_load = ImageFile.ImageFile.load

    def counting_load(self: ImageFile.ImageFile) -> object:
        full_loads.append(self.size)
        return original_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    streamed = PillowImageProcessor(formats=("JPEG",), sizes=[("a", 300), ("b", 100)]).process(data)
    monkeypatch.setattr(ImageFile.ImageFile, "load", original_load)

    assert (2400, 1800) not in full_loads
    monkeypatch.setattr(decoding, "STREAM_MIN_PIXELS", 10**12)
    whole = PillowImageProcessor(formats=("JPEG",), sizes=[("a", 300), ("b", 100)]).process(data)
    assert [r.data for r in streamed.renditions] == [r.data for r in whole.renditions]
    assert [r.content_type for r in streamed.renditions] == [
        r.content_type for r in whole.renditions
    ]


def test_streamed_png_cut_short_is_truncated(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a big PNG cut at 60 % WHEN processed streamed THEN 'truncated', as before."""
    monkeypatch.setattr(decoding, "STREAM_MIN_PIXELS", 1)
    data = encode(photo_like((1200, 900)), "PNG")

    with pytest.raises(InvalidImageError, match="it is truncated"):
        PillowImageProcessor(formats=("JPEG",)).process(data[: len(data) * 6 // 10])


def test_streamed_png_with_damaged_data_is_damaged(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a PNG whose compressed rows are overwritten WHEN processed streamed
    THEN InvalidImageError, never another exception."""
    monkeypatch.setattr(decoding, "STREAM_MIN_PIXELS", 1)
    data = bytearray(encode(photo_like((600, 400)), "PNG"))
    layout = png_layout(bytes(data))
    assert layout is not None
    start = layout.idat_offset + 8
    data[start : start + 2000] = zlib.compress(b"\xff" * 10_000)[:2000].ljust(2000, b"\x07")

    with pytest.raises(InvalidImageError, match="not a valid image"):
        PillowImageProcessor(formats=("JPEG",)).process(bytes(data))


@pytest.mark.parametrize("image_format", available_formats())
def test_an_encode_ignores_options_another_save_left_on_the_image(image_format: str) -> None:
    """GIVEN a rendition's image on which a concurrent save has its options (Pillow keeps
    them on the image, `encoderinfo`, and merges them into every save while there)
    WHEN it is encoded THEN the bytes are those of the same image without them."""
    clean = photo_like((320, 240))
    busy = clean.copy()
    busy.encoderinfo = {"quality": 5, "method": 0, "speed": 10}  # as a save in flight sets

    assert rendering.encode("thumbnail", busy, image_format).data == (
        rendering.encode("thumbnail", clean, image_format).data
    )
