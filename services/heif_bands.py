"""A big HEIF picture's pixels, as bands of rows cut from libheif's own decoded buffer.

pillow-heif's Pillow plugin copies libheif's decoded RGB (3 bytes a pixel) into a Pillow
image (4 bytes a pixel: Pillow stores RGB padded) while both are alive, on top of what
libheif needs to decode: 7.4 bytes a pixel at the peak for a 50 MP HEIC. Bands cut from
libheif's buffer leave its decode as the only full-size copy: about 5 bytes a pixel.

The file is opened as the plugin opens it (primary image, 8-bit, stride kept), so the
pixels are the ones `Image.open(...).load()` gives.
"""

from __future__ import annotations

from collections.abc import Iterator

from PIL import Image

__all__ = ["heif_bands"]


def heif_bands(data: bytes, size: tuple[int, int], rows: int) -> Iterator[Image.Image]:
    """The primary image of a HEIF file, `rows` rows at a time (the last band may be shorter).

    ValueError when libheif decodes another size than the header said.
    """
    import pillow_heif  # imported with the plugin already: decoding.py registers it first

    heif = pillow_heif.open_heif(
        data, convert_hdr_to_8bit=True, hdr_to_16bit=True, remove_stride=False
    )
    frame = heif[heif.primary_index]
    pixels = memoryview(frame.data)  # the decode happens here
    if frame.size != size:
        raise ValueError(f"HEIF decoded as {frame.size}, its header says {size}")
    width, height = size
    stride = frame.stride
    for top in range(0, height, rows):
        count = min(rows, height - top)
        band = pixels[top * stride : (top + count) * stride]
        yield Image.frombytes(frame.mode, (width, count), band, "raw", frame.mode, stride)
