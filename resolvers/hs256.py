"""HS256 JSON Web Tokens verified with the standard library (hmac, base64, json).

PyJWT would do the same, but importing it imports `cryptography` whenever that is
installed (it is, for CloudFront signing): 20-50 ms of every HTTP cold start for an
HMAC. The rules are PyJWT 2.x's `jwt.decode(token, secret, algorithms=["HS256"],
options={"require": [...]}, leeway=...)`, in its order, so that every token gets the
same answer (tests/unit/test_hs256.py checks both side by side):

- three base64url segments, canonical (PyJWT >= 2.12: no junk, at most `=` padding);
- a JSON object header whose `alg` is HS256 exactly; `kid` a string; `crit` only the
  `b64` extension, and never `b64: false` (a detached payload is not a bearer token);
- the HMAC-SHA256 of `header.payload`, compared in constant time;
- a JSON object payload; the required claims present and not null; `iat` an integer
  not in the future, `nbf` not in the future and `exp` not past (each with the
  leeway); no `aud` (none is expected); `sub` and `jti` strings.

Issuing tokens (the CLI, tests) may keep PyJWT: only verification is on the hot path.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from typing import Any

ALGORITHM = "HS256"
_BASE64URL_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_SUPPORTED_CRITICAL = frozenset({"b64"})


class InvalidTokenError(Exception):
    """The token is malformed, badly signed, or its claims are wrong."""


class ExpiredTokenError(InvalidTokenError):
    """`exp` has passed (beyond the leeway)."""


class MissingClaimError(InvalidTokenError):
    """A required claim is absent or null."""

    def __init__(self, claim: str) -> None:
        super().__init__(f"missing claim {claim!r}")
        self.claim = claim


def decode(
    token: str,
    secret: str,
    *,
    require: Iterable[str] = ("exp", "iat", "sub"),
    leeway: float = 0,
    now: float | None = None,
) -> dict[str, Any]:
    """The verified claims of an HS256 token; raises InvalidTokenError or a subclass."""
    try:
        raw = token.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from a JSON event's "\ud800"): PyJWT crashes
        raise InvalidTokenError("not UTF-8") from None
    header, payload_bytes, signing_input, signature = _load(raw)
    _check_header(header)
    expected = hmac.new(secret.encode("utf-8"), signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise InvalidTokenError("signature verification failed")
    claims = _json_object(payload_bytes)
    _check_claims(claims, require, time.time() if now is None else now, leeway)
    return claims


def _load(token: bytes) -> tuple[dict[str, Any], bytes, bytes, bytes]:
    try:
        signing_input, signature_segment = token.rsplit(b".", 1)
        header_segment, payload_segment = signing_input.split(b".", 1)
    except ValueError:
        raise InvalidTokenError("not enough segments") from None
    header = _json_object(_segment(header_segment))
    if header.get("b64", True) is False:
        raise InvalidTokenError("a detached payload (b64: false) is not accepted")
    payload = _segment(payload_segment)
    return header, payload, signing_input, _segment(signature_segment)


def _segment(segment: bytes) -> bytes:
    """Canonical base64url: trailing `=` allowed only as real padding, nothing else."""
    stripped = segment.rstrip(b"=")
    padding = len(segment) - len(stripped)
    if padding > 2 or (padding and len(segment) % 4 != 0):
        raise InvalidTokenError("invalid padding")
    if len(stripped) % 4 == 1 or not _BASE64URL_ALPHABET.issuperset(stripped):
        raise InvalidTokenError("invalid base64url")
    try:
        decoded = base64.urlsafe_b64decode(stripped + b"=" * (-len(stripped) % 4))
    except (TypeError, binascii.Error):
        raise InvalidTokenError("invalid base64url") from None
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != stripped:
        raise InvalidTokenError("non-canonical base64url")
    return decoded


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise InvalidTokenError("not JSON") from None
    if not isinstance(value, dict):
        raise InvalidTokenError("not a JSON object")
    return value


def _check_header(header: dict[str, Any]) -> None:
    if "kid" in header and not isinstance(header["kid"], str):
        raise InvalidTokenError("kid must be a string")
    if "crit" in header:
        critical = header["crit"]
        if not isinstance(critical, list) or not critical:
            raise InvalidTokenError("crit must be a non-empty list")
        for extension in critical:
            if not isinstance(extension, str) or extension not in _SUPPORTED_CRITICAL:
                raise InvalidTokenError("unsupported critical extension")
            if extension not in header:
                raise InvalidTokenError("critical extension missing from the header")
    if header.get("alg") != ALGORITHM:  # 'none', HS512, RS256...: all refused
        raise InvalidTokenError("algorithm not allowed")


def _integer(value: Any) -> int:
    try:
        return int(value)
    except (ValueError, TypeError, OverflowError):
        raise InvalidTokenError("a time claim must be an integer") from None


def _check_claims(
    claims: dict[str, Any], require: Iterable[str], now: float, leeway: float
) -> None:
    for claim in require:
        if claims.get(claim) is None:
            raise MissingClaimError(claim)
    if "iat" in claims and _integer(claims["iat"]) > now + leeway:
        raise InvalidTokenError("issued in the future")
    if "nbf" in claims and _integer(claims["nbf"]) > now + leeway:
        raise InvalidTokenError("not yet valid")
    if "exp" in claims and _integer(claims["exp"]) <= now - leeway:
        raise ExpiredTokenError("expired")
    if claims.get("aud"):
        raise InvalidTokenError("an audience was not expected")
    if "sub" in claims and not isinstance(claims["sub"], str):
        raise InvalidTokenError("sub must be a string")
    if "jti" in claims and not isinstance(claims["jti"], str):
        raise InvalidTokenError("jti must be a string")
