"""A big HEIC is rendered from bands cut out of libheif's buffer, never a full Pillow copy."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from services import decoding
from services.decoding import HEIC, STREAM_MIN_PIXELS, decode
from services.errors import InvalidImageError
from services.heif_bands import heif_bands
from services.imaging import PillowImageProcessor
from tests.support.peak_memory import peak_growth_bytes

samples = pytest.mark.samples


@pytest.fixture(autouse=True)
def heif_opener() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()


def heic_of(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "HEIF", quality=60)
    return buffer.getvalue()


def a_picture(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    picture = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").resize(size),
            Image.effect_noise(size, 40).convert("L"),
            Image.radial_gradient("L").resize(size),
        ),
    )
    ImageDraw.Draw(picture).ellipse((10, 10, size[0] // 2, size[1] // 2), fill=(250, 20, 20))
    if mode == "RGBA":
        alpha = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize(size)
        picture.putalpha(alpha)
    return picture


def whole_decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy()


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
@pytest.mark.parametrize("rows", [1, 7, 128, 5000])
def test_bands_are_the_pixels_of_pillows_whole_decode(mode: str, rows: int) -> None:
    """GIVEN a HEIC (opaque or with alpha) WHEN cut into bands of any height
    THEN the bands, stacked, are exactly the plugin's decode, in its mode."""
    data = heic_of(a_picture((301, 203), mode))
    whole = whole_decode(data)

    bands = list(heif_bands(data, whole.size, rows))

    assert {band.mode for band in bands} == {whole.mode}
    assert [band.width for band in bands] == [whole.width] * len(bands)
    assert sum(band.height for band in bands) == whole.height
    stacked = Image.new(whole.mode, whole.size)
    top = 0
    for band in bands:
        stacked.paste(band, (0, top))
        top += band.height
    assert ImageChops.difference(stacked, whole).getbbox() is None


@samples
def test_the_iphone_sample_is_decoded_in_bands_and_rendered_as_before(
    samples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the 8.5 MP iPhone HEIC, over 3x its largest rendition (a reduce first)
    WHEN decoded for renditions THEN it is left undecoded with bands, and its renditions
    are those of the whole decode (the same JPEG bytes)."""
    data = (samples_dir / "exif-samples" / "heic" / "IMG_5195.HEIC").read_bytes()
    sizes = (("thumbnail", 180), ("feed", 540))
    processor = PillowImageProcessor(sizes=sizes, formats=("JPEG",), threads=2)

    with decode(data, HEIC, 50_000_000, 540) as decoded:
        assert decoded.stored_size[0] * decoded.stored_size[1] >= STREAM_MIN_PIXELS
        assert decoded.bands is not None
    banded = processor.process(data)
    monkeypatch.setattr(decoding, "STREAM_MIN_PIXELS", 10**12)  # the whole decode, as before
    whole = processor.process(data)

    assert [(r.name, r.data) for r in banded.renditions] == [
        (r.name, r.data) for r in whole.renditions
    ]
    assert (banded.width, banded.height, banded.metadata) == (
        whole.width,
        whole.height,
        whole.metadata,
    )


@samples
def test_a_truncated_big_heic_is_still_refused(samples_dir: Path) -> None:
    """GIVEN the iPhone HEIC cut short WHEN processed THEN an InvalidImageError, as before."""
    data = (samples_dir / "exif-samples" / "heic" / "IMG_5195.HEIC").read_bytes()

    with pytest.raises(InvalidImageError, match="truncated"):
        PillowImageProcessor().process(data[: len(data) * 2 // 3])


def test_a_big_heic_peaks_under_7_bytes_a_pixel(tmp_path: Path) -> None:
    """GIVEN an 11 MP HEIC, 2x+ its largest rendition's reduce gap (an integer reduce first)
    WHEN a fresh process renders it in every format
    THEN its peak RSS grows by less than 7 bytes a pixel (a whole Pillow copy took 8.5)."""
    size = (4000, 2700)
    picture = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").resize(size),
            Image.radial_gradient("L").resize(size),
            Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize(size),
        ),
    )  # no noise: x265 encodes it in seconds
    path = tmp_path / "big.heic"
    path.write_bytes(heic_of(picture))

    growth = peak_growth_bytes(path, sizes=[["thumbnail", 180], ["feed", 540]])

    assert growth / (size[0] * size[1]) < 7.0
