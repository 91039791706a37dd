"""libwebp's advanced decoding API through ctypes: features, and decoding with scaling.

libwebp can decode with scaling (WebPDecoderOptions.use_scaling): a lossy (VP8) picture
is then rescaled (an area-averaging reduce) as its macroblock rows come out of the
decoder, so that memory is about the output; a lossless (VP8L) one still needs its whole
ARGB (4 bytes a pixel), which is the bitstream's nature (pyvips has the same cost).

This binds the libwebp that Pillow's wheel ships (site-packages/pillow.libs on Linux,
PIL/.dylibs on macOS: the one Pillow's own WebP plugin runs), else the system's, with
structures laid out as in libwebp 1.x's src/webp/decode.h (decoder ABI 0x02xx). Without a
usable library `available()` is False, and callers keep Pillow's decode.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from dataclasses import dataclass
from pathlib import Path

import PIL
from PIL import Image, _imaging

__all__ = [
    "BUNDLED_PATTERNS",
    "WebPDecodeError",
    "WebPFeatures",
    "available",
    "decode_scaled",
    "find_library",
    "read_features",
]

# Where Pillow's wheels put their own libwebp, relative to site-packages.
BUNDLED_PATTERNS = ("pillow.libs/libwebp-*.so*", "PIL/.dylibs/libwebp.*.dylib")

_DECODER_ABI_VERSION = 0x0209  # decode.h of libwebp 1.x; only the major byte must match
_MODE_RGBA = 1
_STATUS_OK = 0
_LOSSLESS = 2


class WebPDecodeError(Exception):
    """libwebp refused the bitstream (damaged, truncated or unsupported)."""


@dataclass(frozen=True)
class WebPFeatures:
    width: int
    height: int
    has_alpha: bool
    has_animation: bool
    lossless: bool


class _BitstreamFeatures(ctypes.Structure):
    _fields_ = (
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("has_alpha", ctypes.c_int),
        ("has_animation", ctypes.c_int),
        ("format", ctypes.c_int),
        ("pad", ctypes.c_uint32 * 5),
    )


class _RGBABuffer(ctypes.Structure):
    _fields_ = (
        ("rgba", ctypes.c_void_p),
        ("stride", ctypes.c_int),
        ("size", ctypes.c_size_t),
    )


class _YUVABuffer(ctypes.Structure):
    _fields_ = (
        ("y", ctypes.c_void_p),
        ("u", ctypes.c_void_p),
        ("v", ctypes.c_void_p),
        ("a", ctypes.c_void_p),
        ("y_stride", ctypes.c_int),
        ("u_stride", ctypes.c_int),
        ("v_stride", ctypes.c_int),
        ("a_stride", ctypes.c_int),
        ("y_size", ctypes.c_size_t),
        ("u_size", ctypes.c_size_t),
        ("v_size", ctypes.c_size_t),
        ("a_size", ctypes.c_size_t),
    )


class _BufferUnion(ctypes.Union):
    _fields_ = (("RGBA", _RGBABuffer), ("YUVA", _YUVABuffer))


class _DecBuffer(ctypes.Structure):
    _fields_ = (
        ("colorspace", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("is_external_memory", ctypes.c_int),
        ("u", _BufferUnion),
        ("pad", ctypes.c_uint32 * 4),
        ("private_memory", ctypes.c_void_p),
    )


class _DecoderOptions(ctypes.Structure):
    _fields_ = (
        ("bypass_filtering", ctypes.c_int),
        ("no_fancy_upsampling", ctypes.c_int),
        ("use_cropping", ctypes.c_int),
        ("crop_left", ctypes.c_int),
        ("crop_top", ctypes.c_int),
        ("crop_width", ctypes.c_int),
        ("crop_height", ctypes.c_int),
        ("use_scaling", ctypes.c_int),
        ("scaled_width", ctypes.c_int),
        ("scaled_height", ctypes.c_int),
        ("use_threads", ctypes.c_int),
        ("dithering_strength", ctypes.c_int),
        ("flip", ctypes.c_int),
        ("alpha_dithering_strength", ctypes.c_int),
        ("pad", ctypes.c_uint32 * 5),
    )


class _DecoderConfig(ctypes.Structure):
    _fields_ = (
        ("input", _BitstreamFeatures),
        ("output", _DecBuffer),
        ("options", _DecoderOptions),
    )


def find_library() -> str | None:
    """Pillow's own libwebp (the one its WebP plugin runs), else the system's, else None."""
    site_packages = Path(PIL.__file__).resolve().parent.parent
    for pattern in BUNDLED_PATTERNS:
        found = sorted(site_packages.glob(pattern))
        if found:
            return str(found[0])
    return ctypes.util.find_library("webp")


@functools.cache
def _library() -> ctypes.CDLL | None:
    path = find_library()
    if path is None:
        return None
    try:
        library = ctypes.CDLL(path)
        version = int(library.WebPGetDecoderVersion())
        if version >> 16 != 1:  # these structures are libwebp 1.x's
            return None
        library.WebPGetFeaturesInternal.argtypes = (
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.POINTER(_BitstreamFeatures),
            ctypes.c_int,
        )
        library.WebPInitDecoderConfigInternal.argtypes = (
            ctypes.POINTER(_DecoderConfig),
            ctypes.c_int,
        )
        library.WebPDecode.argtypes = (
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.POINTER(_DecoderConfig),
        )
        library.WebPFreeDecBuffer.argtypes = (ctypes.POINTER(_DecBuffer),)
        library.WebPFreeDecBuffer.restype = None
    except (OSError, AttributeError):
        return None
    return library


def available() -> bool:
    """A usable libwebp is bound."""
    return _library() is not None


def read_features(data: bytes) -> WebPFeatures:
    """The bitstream's size and kind, from its headers. WebPDecodeError when unreadable."""
    library = _library()
    assert library is not None, "read_features() needs available()"
    features = _BitstreamFeatures()
    status = library.WebPGetFeaturesInternal(
        data, len(data), ctypes.byref(features), _DECODER_ABI_VERSION
    )
    if status != _STATUS_OK:
        raise WebPDecodeError(f"cannot read the WebP headers (VP8 status {status})")
    return WebPFeatures(
        width=features.width,
        height=features.height,
        has_alpha=bool(features.has_alpha),
        has_animation=bool(features.has_animation),
        lossless=features.format == _LOSSLESS,
    )


def decode_scaled(data: bytes, size: tuple[int, int], alpha: bool) -> Image.Image:
    """The (still) picture decoded at `size` (its own size: no scaling), RGB or RGBA.

    Decoded 4 bytes a pixel straight into memory that the returned image uses, no copy:
    Pillow stores RGB 4 bytes a pixel too (the 4th unused), so an opaque picture is
    decoded as RGBA and its buffer mapped as RGB. WebPDecodeError when libwebp cannot
    decode it.
    """
    library = _library()
    assert library is not None, "decode_scaled() needs available()"
    config = _DecoderConfig()
    if not library.WebPInitDecoderConfigInternal(ctypes.byref(config), _DECODER_ABI_VERSION):
        raise WebPDecodeError("this libwebp does not accept the decoder configuration")
    width, height = size
    stride = 4 * width
    pixels = bytearray(stride * height)
    output = config.output
    output.colorspace = _MODE_RGBA
    output.is_external_memory = 1
    output.u.RGBA.rgba = ctypes.addressof((ctypes.c_uint8 * len(pixels)).from_buffer(pixels))
    output.u.RGBA.stride = stride
    output.u.RGBA.size = len(pixels)
    status = _decode(library, data, config, size)
    if status != _STATUS_OK:
        raise WebPDecodeError(f"libwebp cannot decode the WebP data (VP8 status {status})")
    if (output.width, output.height) != size:
        raise WebPDecodeError("libwebp decoded another size than asked")
    if alpha:
        return Image.frombuffer("RGBA", size, pixels, "raw", "RGBA", stride, 1)
    # What Image.frombuffer does, for a mode it would copy (RGB): map the buffer as is.
    image = Image.new("RGB", (0, 0))._new(
        _imaging.map_buffer(pixels, size, "raw", 0, ("RGB", stride, 1))
    )
    image.readonly = 1  # the memory is shared: an in-place change copies it first
    return image


def _decode(
    library: ctypes.CDLL, data: bytes, config: _DecoderConfig, size: tuple[int, int]
) -> int:
    # The stored size comes from the headers (the first WebPDecode step reads them again).
    features = config.input
    status = int(
        library.WebPGetFeaturesInternal(
            data, len(data), ctypes.byref(features), _DECODER_ABI_VERSION
        )
    )
    if status != _STATUS_OK:
        return status
    if (features.width, features.height) != size:
        config.options.use_scaling = 1
        config.options.scaled_width, config.options.scaled_height = size
    try:
        return int(library.WebPDecode(data, len(data), ctypes.byref(config)))
    finally:
        library.WebPFreeDecBuffer(ctypes.byref(config.output))  # external memory: a no-op
