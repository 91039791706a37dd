"""Decode a PNG a band of rows at a time, so that a big one never sits in memory whole.

Pillow decodes a PNG into one full-size image (4 bytes a pixel: 200 MB for 50 MP) before
anything can be reduced. Here the zlib stream is inflated incrementally, and every band of
rows is handed to Pillow's own PNG decoder as a small PNG of its own: the same header
chunks (palette, transparency, profile), the band's rows recompressed as stored zlib
blocks (a copy, no compression work), preceded by the band's previous row, unfiltered,
because a row's filter refers to the one above it. Pixels come out identical to a full
decode; peak memory is one band.

Only what this can reproduce exactly is streamed, not interlaced: 8 bits per sample,
16-bit greyscale (Pillow keeps its 16 bits, so the row above a band can be re-stored as is)
and 16-bit RGB and RGBA. Those Pillow reduces to their high bytes, so the row above a band
is re-stored with zero low bytes: PNG filters work byte by byte, each byte predicted from
the bytes a whole pixel to its left and above it, always bytes of the same significance,
so the high bytes decode exactly whatever the low bytes above them were.
Palette and greyscale PNGs of 1, 2 or 4 bits a pixel are re-packed to store the row above;
where a row ends inside a byte, that byte's unused bits (any value, for PNG) are carried
exactly from row to row (`_last_bytes`), since a filter's sum carries them into the pixels.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

from PIL import Image

__all__ = ["PngLayout", "png_layout", "png_strips"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BYTES_PER_PIXEL = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by colour type, at 8 bits per sample
_GREY = 0
_RGB, _PALETTE, _RGBA = 2, 3, 6
# How Pillow re-packs a decoded row of fewer than 8 bits a pixel, by (depth, colour type)
_PACKED_RAW_MODES = {
    (1, _GREY): "1",
    (2, _GREY): "L;2",
    (4, _GREY): "L;4",
    (1, _PALETTE): "P;1",
    (2, _PALETTE): "P;2",
    (4, _PALETTE): "P;4",
}
_INFLATE_CHUNK = 1 << 20


class TruncatedPngError(EOFError):
    """The image data ends before the last row."""


@dataclass(frozen=True)
class PngLayout:
    width: int
    height: int
    row_bytes: int  # without the filter byte
    raw_mode: str  # how a decoded row is stored again as PNG data (big-endian samples)
    sixteen_bit_colour: bool  # decoded to 8 bits: the row above a band gets zero low bytes
    padded: bool  # rows end inside a byte, whose unused bits must be carried exactly
    header_chunks: bytes  # every chunk between IHDR and the first IDAT, as stored
    ihdr_tail: bytes  # IHDR after width and height: depth, colour type, methods
    idat_offset: int  # where the first IDAT chunk starts
    exif: bytes | None  # the eXIf chunk's payload, wherever it is (Pillow's getexif() would
    # decode the whole image to find one stored after the pixels)


def png_layout(data: bytes) -> PngLayout | None:
    """The layout of a PNG this module can stream, or None (then decode it whole)."""
    if not data.startswith(_SIGNATURE) or len(data) < 33 or data[12:16] != b"IHDR":
        return None
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    sixteen_bit_grey = depth == 16 and colour_type == _GREY
    sixteen_bit_colour = depth == 16 and colour_type in (_RGB, _RGBA)
    packed_raw_mode = _PACKED_RAW_MODES.get((depth, colour_type))
    streamable = depth == 8 or sixteen_bit_grey or sixteen_bit_colour or packed_raw_mode
    if not streamable or interlace != 0:
        return None
    if colour_type not in _BYTES_PER_PIXEL:
        return None
    offset = 33
    idat_offset: int | None = None
    exif: bytes | None = None
    while offset + 8 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8]
        if kind == b"IDAT" and idat_offset is None:
            idat_offset = offset
        elif kind == b"eXIf" and exif is None:
            exif = data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    if idat_offset is None:
        return None
    return PngLayout(
        width=width,
        height=height,
        row_bytes=-(-width * _BYTES_PER_PIXEL[colour_type] * depth // 8),
        raw_mode="I;16B" if sixteen_bit_grey else packed_raw_mode or "",
        sixteen_bit_colour=sixteen_bit_colour,
        padded=width * depth % 8 != 0,
        header_chunks=data[33:idat_offset],
        ihdr_tail=data[24:29],
        idat_offset=idat_offset,
        exif=exif,
    )


def png_strips(data: bytes, layout: PngLayout, rows: int) -> Iterator[Image.Image]:
    """The picture as consecutive bands of `rows` rows (the last may be shorter), decoded."""
    stride = layout.row_bytes + 1
    inflater = zlib.decompressobj()
    pending = bytearray()
    previous_row: bytes | None = None
    last_bytes = (0, 0)  # the row above's exact last two bytes, unfiltered
    done = 0
    for compressed in _idat_payloads(data, layout.idat_offset):
        view = compressed
        while view and done < layout.height:
            pending += inflater.decompress(view, _INFLATE_CHUNK)
            view = inflater.unconsumed_tail
            while len(pending) >= rows * stride or (
                pending and done + len(pending) // stride >= layout.height
            ):
                count = min(rows, len(pending) // stride, layout.height - done)
                if count == 0:
                    break
                filtered = bytes(pending[: count * stride])
                band, previous_row = _decode_band(layout, previous_row, filtered)
                if layout.padded:
                    last_bytes = _last_bytes(filtered, band, layout, last_bytes)
                    previous_row = previous_row[:-1] + bytes((last_bytes[1],))
                del pending[: count * stride]
                done += count
                yield band
        if done >= layout.height:
            return
    raise TruncatedPngError("image data ends before the last row")


def _idat_payloads(data: bytes, offset: int) -> Iterator[bytes]:
    while offset + 8 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8]
        if kind != b"IDAT":
            return
        yield data[offset + 8 : offset + 8 + length]
        offset += 12 + length


def _decode_band(
    layout: PngLayout, previous_row: bytes | None, filtered: bytes
) -> tuple[Image.Image, bytes]:
    """The band's pixels, and its last row unfiltered, as PNG data, for the next band."""
    raw = filtered if previous_row is None else b"\x00" + previous_row + filtered
    height = len(raw) // (layout.row_bytes + 1)
    ihdr = struct.pack(">II", layout.width, height) + layout.ihdr_tail
    png = b"".join(
        (
            _SIGNATURE,
            _chunk(b"IHDR", ihdr),
            layout.header_chunks,
            _chunk(b"IDAT", zlib.compress(raw, 0)),
            _chunk(b"IEND", b""),
        )
    )
    with Image.open(BytesIO(png), formats=["PNG"]) as decoded:
        decoded.load()
        first = 0 if previous_row is None else 1
        band = decoded.crop((0, first, decoded.width, decoded.height))
    last_row = _last_row(band, layout.raw_mode or band.mode)
    if layout.sixteen_bit_colour:
        restored = bytearray(2 * len(last_row))  # big-endian samples, low bytes zero
        restored[0::2] = last_row
        last_row = bytes(restored)
    return band, last_row


def _last_bytes(
    filtered: bytes, band: Image.Image, layout: PngLayout, above: tuple[int, int]
) -> tuple[int, int]:
    """The exact last two bytes of the band's last row, unfiltered, from those of the row
    above it: the last byte of each row again, as its filter computes it (with the byte
    before it, all pixels, as re-packed: one byte a pixel to the left, at under 8 bits)."""
    stride = layout.row_bytes + 1
    packed = band.tobytes("raw", layout.raw_mode)  # row by row, each to a whole byte
    second_last_above, last_above = above
    for row in range(band.height):
        kind, value = filtered[row * stride], filtered[row * stride + stride - 1]
        end = (row + 1) * layout.row_bytes
        second_last = packed[end - 2] if layout.row_bytes > 1 else 0
        left, up, up_left = second_last, last_above, second_last_above
        if kind == 1:
            value += left
        elif kind == 2:
            value += up
        elif kind == 3:
            value += (left + up) // 2
        elif kind == 4:
            value += _paeth(left, up, up_left)
        second_last_above, last_above = second_last, value % 256
    return second_last_above, last_above


def _paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    to_left, to_up, to_up_left = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
    if to_left <= to_up and to_left <= to_up_left:
        return left
    return up if to_up <= to_up_left else up_left


def _last_row(image: Image.Image, raw_mode: str) -> bytes:
    return image.crop((0, image.height - 1, image.width, image.height)).tobytes("raw", raw_mode)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)
