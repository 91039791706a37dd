"""WebP decoded by libwebp at a reduced size (services.webp_scaled, services.libwebp_decode).

"Today's" decode, the reference, is Pillow's (libwebp's animation decoder, full size):
the processor gives it when reduced_decode() declines (it returns None).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fnmatch
import io
import math
import random
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageDraw, WebPImagePlugin

from services import decoding, libwebp_decode, webp_scaled
from services.errors import InvalidImageError
from services.imaging import PillowImageProcessor
from services.libwebp_decode import BUNDLED_PATTERNS, decode_scaled, find_library, read_features
from services.models import ProcessedImage
from tests.support.peak_memory import peak_growth_bytes
from tests.unit.test_imaging import (
    RED_PATCH,
    adobe_rgb_profile,
    assert_close,
    to_srgb,
    two_patch_picture,
)

DAMAGED = "The file is not a valid image: it is damaged or cannot be decoded."
TRUNCATED = "The file is not a valid image: it is truncated."


def picture(size: tuple[int, int], alpha: bool = False) -> Image.Image:
    """Gradients, saturated shapes and fine lines: what shows a resampling difference."""
    width, height = size
    image = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").resize(size),
            Image.radial_gradient("L").resize(size),
            Image.linear_gradient("L").resize(size).transpose(Image.Transpose.ROTATE_180),
        ),
    )
    draw = ImageDraw.Draw(image)
    for index in range(12):
        left, top = (index * 397) % width, (index * 211) % height
        draw.ellipse(
            (left, top, left + width // 4, top + height // 4), outline=(220, 40, 90), width=9
        )
    for x in range(0, width, 37):
        draw.line((x, 0, x, height), fill=(20, 200, 30), width=2)
    if not alpha:
        return image
    mask = Image.new("L", size, 255)
    ImageDraw.Draw(mask).ellipse((-width // 3, -height // 3, width // 3, height // 3), fill=0)
    image.putalpha(mask)
    return image


def webp(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", **options)
    return buffer.getvalue()


KINDS: dict[str, tuple[bool, dict[str, Any]]] = {
    "lossy": (False, {"quality": 80}),
    "lossless": (False, {"lossless": True}),
    "lossy with alpha": (True, {"quality": 80}),
    "lossless with alpha": (True, {"lossless": True}),
}


def still(kind: str, size: tuple[int, int] = (300, 200)) -> bytes:
    alpha, options = KINDS[kind]
    return webp(picture(size, alpha), **options)


def chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(kind, offset of the chunk header, payload length) of each top-level chunk."""
    offset = 12
    while offset + 8 <= len(data):
        length = int.from_bytes(data[offset + 4 : offset + 8], "little")
        yield data[offset : offset + 4], offset, length
        offset += 8 + length + (length & 1)


def chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)


def riff(body: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def u24(value: int) -> bytes:
    return value.to_bytes(3, "little")


def animation(canvas: tuple[int, int], frames: list[tuple[int, int, bytes]]) -> bytes:
    """An animated WebP (alpha flag set) of still WebPs placed at (left, top) on `canvas`."""
    body = chunk(b"VP8X", bytes([0x12, 0, 0, 0]) + u24(canvas[0] - 1) + u24(canvas[1] - 1))
    body += chunk(b"ANIM", bytes(4) + struct.pack("<H", 0))
    for left, top, data in frames:
        with Image.open(io.BytesIO(data)) as frame_image:
            width, height = frame_image.size
        bitstream = b"".join(
            data[offset : offset + 8 + length + (length & 1)]
            for kind, offset, length in chunks(data)
            if kind in (b"ALPH", b"VP8 ", b"VP8L")
        )
        header = u24(left // 2) + u24(top // 2) + u24(width - 1) + u24(height - 1)
        body += chunk(b"ANMF", header + u24(100) + b"\0" + bitstream)
    return riff(body)


def with_riff_length_of_file(data: bytes) -> bytes:
    return data[:4] + struct.pack("<I", len(data) - 8) + data[8:]


def process_both(
    data: bytes, monkeypatch: pytest.MonkeyPatch, **options: object
) -> tuple[ProcessedImage, ProcessedImage]:
    """(libwebp's reduced decode, Pillow's full decode) of the same upload."""
    processor = PillowImageProcessor(**options)  # type: ignore[arg-type]
    reduced = processor.process(data)
    with monkeypatch.context() as patch:
        patch.setattr(decoding, "reduced_decode", lambda data, largest: None)
        full = processor.process(data)
    return reduced, full


def psnr(first: Image.Image, second: Image.Image) -> float:
    """PSNR over RGB, of both composited over grey (what shows through transparency)."""

    def flat(image: Image.Image) -> Image.Image:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (128, 128, 128, 255)), rgba)

    histogram = ImageChops.difference(
        flat(first).convert("RGB"), flat(second).convert("RGB")
    ).histogram()
    squared = sum(count * (value % 256) ** 2 for value, count in enumerate(histogram))
    mean = squared / (first.width * first.height * 3)
    return math.inf if mean == 0 else 10 * math.log10(255**2 / mean)


def opened(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy()


def assert_same_renditions(
    reduced: ProcessedImage, full: ProcessedImage, min_psnr: float = 38.0
) -> None:
    """Same sizes, types and metadata; pixels of no visible loss (PSNR >= min_psnr dB)."""
    assert (reduced.width, reduced.height) == (full.width, full.height)
    assert reduced.metadata == full.metadata
    assert [(r.name, r.format, r.content_type, r.width, r.height) for r in reduced.renditions] == [
        (r.name, r.format, r.content_type, r.width, r.height) for r in full.renditions
    ]
    for ours, today in zip(reduced.renditions, full.renditions, strict=True):
        ours_image, today_image = opened(ours.data), opened(today.data)
        assert ours_image.mode == today_image.mode, ours.name
        assert psnr(ours_image, today_image) >= min_psnr, (ours.name, ours.format)


# --- the binding -------------------------------------------------------------------------


@pytest.mark.skipif(sys.maxsize < 2**32, reason="sizes measured for 64-bit platforms")
def test_structures_have_the_sizes_of_libwebp_1_decode_h() -> None:
    """GIVEN the ctypes structures THEN their sizes and offsets are those a C compiler
    gives libwebp 1.6's decode.h on x86-64 and arm64 (features 40, output 120,
    options 76, config 240 bytes)."""
    assert ctypes.sizeof(libwebp_decode._BitstreamFeatures) == 40
    assert ctypes.sizeof(libwebp_decode._DecBuffer) == 120
    assert libwebp_decode._DecBuffer.u.offset == 16
    assert libwebp_decode._DecBuffer.private_memory.offset == 112
    assert ctypes.sizeof(libwebp_decode._DecoderOptions) == 76
    assert libwebp_decode._DecoderOptions.use_scaling.offset == 28
    assert ctypes.sizeof(libwebp_decode._DecoderConfig) == 240
    assert libwebp_decode._DecoderConfig.options.offset == 160


def test_the_bound_library_is_pillows_own() -> None:
    """GIVEN this venv's Pillow (a wheel) THEN the libwebp bound is the one it ships."""
    path = find_library()
    assert path is not None
    site_packages = Path(Image.__file__).resolve().parents[1]
    relative = Path(path).resolve().relative_to(site_packages).as_posix()
    assert any(fnmatch.fnmatch(relative, pattern) for pattern in BUNDLED_PATTERNS)
    assert libwebp_decode.available()


def test_without_libwebp_pillow_decodes_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN no libwebp to be found WHEN a WebP is processed THEN Pillow decodes it, as
    before: the same renditions as with Pillow's decode forced."""
    data = still("lossy", (1600, 1000))
    forced = process_both(data, monkeypatch, formats=("JPEG",))[1]
    try:
        with monkeypatch.context() as patch:
            patch.setattr(libwebp_decode, "find_library", lambda: None)
            libwebp_decode._library.cache_clear()
            assert not libwebp_decode.available()
            assert webp_scaled.reduced_decode(data, 1080) is None
            without = PillowImageProcessor(formats=("JPEG",)).process(data)
    finally:
        libwebp_decode._library.cache_clear()
    assert [r.data for r in without.renditions] == [r.data for r in forced.renditions]
    assert libwebp_decode.available()


def test_system_libwebp_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a Pillow without its own libwebp THEN the system's is looked for."""
    monkeypatch.setattr(libwebp_decode, "BUNDLED_PATTERNS", ("no-such-dir/libwebp-*.so*",))
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: f"lib{name}.so.7")
    assert find_library() == "libwebp.so.7"


@pytest.mark.parametrize("kind", list(KINDS))
def test_full_size_decode_is_pillows_pixels(kind: str) -> None:
    """GIVEN a still WebP WHEN decoded at its own size THEN exactly Pillow's pixels."""
    data = still(kind)
    features = read_features(data)

    image = decode_scaled(data, (features.width, features.height), features.has_alpha)

    assert (features.lossless, features.has_alpha) == ("lossless" in kind, "alpha" in kind)
    assert image.mode == ("RGBA" if features.has_alpha else "RGB")
    assert image.tobytes() == opened(data).convert(image.mode).tobytes()


def test_reduced_decode_is_twice_the_largest_rendition_never_enlarged() -> None:
    """GIVEN a 3000x2000 WebP THEN decoded at 2160x1440 for a 1080 px rendition, the box
    covering it whole; a 1500x1000 one at its own size."""
    reduced = webp_scaled.reduced_decode(still("lossy", (3000, 2000)), 1080)
    assert reduced is not None
    assert reduced[0].size == (2160, 1440)
    assert reduced[1] == (0.0, 0.0, 2160.0, 1440.0)

    small = webp_scaled.reduced_decode(still("lossy", (1500, 1000)), 1080)
    assert small is not None
    assert small[0].size == (1500, 1000)


# --- the pipeline ------------------------------------------------------------------------


def test_pillow_never_decodes_a_still_webp(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN Pillow's WebP decode made to fail WHEN a WebP is processed THEN it still is:
    Pillow only reads the headers and metadata (its canvases are never written)."""

    def no_full_decode(self: WebPImagePlugin.WebPImageFile) -> None:
        raise AssertionError("Pillow decoded the WebP whole")

    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "load", no_full_decode)

    result = PillowImageProcessor(formats=("JPEG",)).process(still("lossy", (2400, 1600)))

    assert [r.width for r in result.renditions] == [320, 640, 1080]


@pytest.mark.parametrize("kind", list(KINDS))
def test_renditions_are_those_of_the_full_decode(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a 2400x1600 WebP of each kind WHEN processed THEN the same renditions as from
    Pillow's full decode: sizes, formats, alpha, and pixels at 38 dB PSNR or more."""
    reduced, full = process_both(still(kind, (2400, 1600)), monkeypatch)
    assert_same_renditions(reduced, full)
    assert ("alpha" in kind) == (reduced.renditions[0].content_type == "image/webp")


def test_tiny_webp(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a 1x1 WebP THEN 1x1 renditions of its colour in every format, as before."""
    data = webp(Image.new("RGB", (1, 1), (10, 120, 230)))
    reduced, full = process_both(data, monkeypatch)
    assert [r.data for r in reduced.renditions] == [r.data for r in full.renditions]
    assert {(r.width, r.height) for r in reduced.renditions} == {(1, 1)}
    colour = opened(reduced.renditions[0].data).getpixel((0, 0))
    assert isinstance(colour, tuple)
    assert_close(colour, (10, 120, 230))


def test_webp_exactly_at_its_limit_is_processed() -> None:
    """GIVEN a 1200x800 WebP and a WebP limit of exactly 960,000 pixels THEN processed;
    with one pixel less allowed, refused with the WebP limit."""
    data = still("lossy", (1200, 800))
    assert PillowImageProcessor(max_webp_pixels=960_000, formats=("JPEG",)).process(data).width
    with pytest.raises(InvalidImageError) as refused:
        PillowImageProcessor(max_webp_pixels=959_999, formats=("JPEG",)).process(data)
    assert str(refused.value) == (
        "The image is too large: 1200x800 pixels, more than the 959,999 allowed for a WebP image."
    )


def test_vp8x_with_icc_profile_and_exif(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN an Adobe RGB WebP whose EXIF says orientation 6 (VP8X, ICCP and EXIF chunks)
    WHEN processed THEN upright (portrait), its camera read and its colours converted to
    sRGB, as with Pillow's decode."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "WebPCam"
    data = webp(
        two_patch_picture((1600, 1200)),
        quality=90,
        exif=exif.tobytes(),
        icc_profile=adobe_rgb_profile(),
    )
    assert next(chunks(data))[0] == b"VP8X"

    reduced, full = process_both(data, monkeypatch)

    assert (reduced.width, reduced.height) == (1200, 1600)
    assert reduced.metadata.make == "WebPCam"
    assert_same_renditions(reduced, full)
    feed = opened(reduced.renditions[-1].data)
    top_patch = feed.getpixel((feed.width // 2, feed.height // 4))
    assert isinstance(top_patch, tuple)
    assert_close(top_patch, to_srgb(RED_PATCH, adobe_rgb_profile()))


def test_animation_shows_its_first_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a 2-frame animated WebP (Pillow's encoder) THEN the first frame, as before."""
    first, second = (
        picture((2400, 1600)),
        picture((2400, 1600)).transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    )
    buffer = io.BytesIO()
    first.save(buffer, "WEBP", save_all=True, append_images=[second], quality=80)

    reduced, full = process_both(buffer.getvalue(), monkeypatch)

    assert_same_renditions(reduced, full)


def test_animation_whose_first_frame_is_smaller_than_its_canvas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN an animation whose first frame covers only the middle of a 2400x1600 canvas
    THEN the frame on a transparent canvas, as libwebp's animation decoder shows it."""
    frame = webp(picture((1200, 800), alpha=True), lossless=True)
    data = animation((2400, 1600), [(600, 400, frame), (0, 0, frame)])

    reduced, full = process_both(data, monkeypatch)

    assert_same_renditions(reduced, full)
    feed = opened(reduced.renditions[-1].data)
    assert feed.mode == "RGBA"
    assert feed.getpixel((20, 20)) == (0, 0, 0, 0)
    assert feed.getpixel((700, 500))[3] == 255  # type: ignore[index]


# --- damaged files: the same messages as before -------------------------------------------


def _garbage(data: bytes, start: int, stop: int) -> bytes:
    rng = random.Random(7)  # noqa: S311
    damaged = bytearray(data)
    for index in range(start, stop):
        damaged[index] = rng.randrange(256)
    return bytes(damaged)


def _damaged_cases() -> dict[str, bytes]:
    lossy, lossless, alpha = still("lossy"), still("lossless"), still("lossy with alpha")
    _, offset, length = next(chunks(lossy))
    _, lossless_offset, lossless_length = next(chunks(lossless))
    _, alph_offset, alph_length = next(c for c in chunks(alpha) if c[0] == b"ALPH")
    half = length // 2
    return {
        "VP8 data cut short, chunk and RIFF lengths consistent": with_riff_length_of_file(
            lossy[: offset + 4] + struct.pack("<I", half) + lossy[offset + 8 : offset + 8 + half]
        ),
        "VP8 chunk longer than the RIFF": with_riff_length_of_file(lossy[: offset + 8 + half]),
        "garbage in the VP8 frame": _garbage(lossy, offset + 8 + half, offset + 8 + length - 10),
        "garbage in the VP8 frame header": lossy[: offset + 11] + b"\0\0\0" + lossy[offset + 14 :],
        "VP8L data cut short": with_riff_length_of_file(
            lossless[: lossless_offset + 4]
            + struct.pack("<I", lossless_length // 2)
            + lossless[lossless_offset + 8 : lossless_offset + 8 + lossless_length // 2]
        ),
        "garbage in the VP8L data": _garbage(
            lossless, lossless_offset + 20, lossless_offset + 8 + lossless_length - 4
        ),
        "garbage in the ALPH chunk": _garbage(
            alpha, alph_offset + 9, alph_offset + 8 + alph_length
        ),
    }


@pytest.mark.parametrize("case", list(_damaged_cases()))
def test_damaged_webp_is_invalid_with_todays_message(case: str) -> None:
    """GIVEN a WebP damaged inside a valid RIFF length WHEN processed THEN INVALID_IMAGE
    "damaged", as with Pillow's decode."""
    data = _damaged_cases()[case]
    messages = []
    for forced in (False, True):
        with pytest.MonkeyPatch.context() as patch:
            if forced:
                patch.setattr(decoding, "reduced_decode", lambda data, largest: None)
            with pytest.raises(InvalidImageError) as refused:
                PillowImageProcessor(formats=("JPEG",)).process(data)
        messages.append(str(refused.value))
    assert messages == [DAMAGED, DAMAGED]


def _outcome(data: bytes, forced: bool) -> str:
    with pytest.MonkeyPatch.context() as patch:
        if forced:
            patch.setattr(decoding, "reduced_decode", lambda data, largest: None)
        try:
            result = PillowImageProcessor(formats=("JPEG",)).process(data)
        except InvalidImageError as exc:
            return str(exc)
    return f"{result.width}x{result.height}"


@pytest.mark.parametrize("kind", list(KINDS))
def test_randomly_damaged_webp_gets_todays_outcome(kind: str) -> None:
    """GIVEN 12 copies of a WebP with random bytes overwritten WHEN processed THEN each
    gives what Pillow's decode gave: the same size, or the same InvalidImageError."""
    rng = random.Random(kind)  # noqa: S311
    original = still(kind, (120, 80))
    for _ in range(12):
        damaged = bytearray(original)
        for _ in range(rng.randint(1, 12)):
            damaged[rng.randrange(12, len(damaged))] = rng.randrange(256)
        assert _outcome(bytes(damaged), False) == _outcome(bytes(damaged), True)


def test_webp_shorter_than_its_riff_length_is_truncated() -> None:
    data = still("lossy")
    with pytest.raises(InvalidImageError) as refused:
        PillowImageProcessor(formats=("JPEG",)).process(data[: len(data) // 2])
    assert str(refused.value) == TRUNCATED


# --- memory --------------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's VmHWM")
def test_a_12_mp_webp_never_sits_in_memory_whole(tmp_path: Path) -> None:
    """GIVEN a 4000x3000 WebP (Pillow's decode: 16 bytes a pixel, 183 MiB)
    WHEN processed in a fresh process THEN its peak grows by less than 80 MiB."""
    path = tmp_path / "12mp.webp"
    path.write_bytes(webp(picture((4000, 3000)), quality=80, method=0))
    growth = peak_growth_bytes(path, formats=["JPEG"], threads=1) / 2**20
    assert growth < 80, f"peak grew by {growth:.0f} MiB"
