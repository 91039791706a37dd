"""Opaque, versioned, HMAC-signed pagination cursors.

A cursor holds a timeline position only (createdAt and image id); which partition to
read always comes from the query's arguments and the viewer, never from a cursor.
It is signed together with a *binding*: a canonical string of the viewer, the
normalised filter and the sort, so a cursor is valid only for the query that issued
it. Layout, base64url without padding:

    version (1 byte) | HMAC-SHA256 (32 bytes) | payload (JSON: [epoch micros, id])

The MAC covers version, SHA-256(binding) and payload. The key is derived from the
server secret for this purpose only (the secret may be shared with JWT signing).
Every failure is the same InvalidCursorError("invalid cursor"), with no detail.

One position is exact on write-sharded partitions too (a feed month or a hot tag
spread over N shards, merged by infra/shard_merge.py): the timeline order
(createdAt, id) is total and the same in every shard, and a page hands items out in
that merged order, so every shard's entries up to the position have been returned
and none after it; each shard resumes with the same key condition `SK > position`
(or `<`). A page stopped by its read bound mid-merge resumes from the last item it
merged, which is exact for the same reason. So the cursor does not grow with the
shard count: 90 bytes, 120 characters for a uuid4 id today (123 in year 9999), on
every layout (cursors from before sharding stay valid), well below MAX_CURSOR_LENGTH.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta

from services.errors import InvalidCursorError
from services.models import Position

VERSION = 1
MAX_CURSOR_LENGTH = 512
_VERSION_BYTE = bytes([VERSION])
_MAC_SIZE = hashlib.sha256().digest_size
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_KEY_LABEL = b"picgraph/pagination-cursor/v1"


class CursorCodec:
    def __init__(self, secret: str | bytes) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        if not raw:
            raise ValueError("the cursor secret must not be empty")
        self._key = hmac.new(raw, _KEY_LABEL, hashlib.sha256).digest()

    def encode(self, position: Position, binding: str) -> str:
        micros = (position.created_at - _EPOCH) // _MICROSECOND
        payload = json.dumps(
            [micros, position.image_id], separators=(",", ":"), ensure_ascii=True
        ).encode()
        token = _VERSION_BYTE + self._mac(payload, binding) + payload
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")

    def decode(self, cursor: str, binding: str) -> Position:
        """The position in `cursor`, or InvalidCursorError; checks the MAC before the payload."""
        if (
            not isinstance(cursor, str)
            or len(cursor) > MAX_CURSOR_LENGTH
            or not _ALPHABET.fullmatch(cursor)
        ):
            raise _invalid()
        try:
            token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise _invalid() from None
        # Canonical form only: the unused low bits of the last character must be zero,
        # so that no two strings are the same cursor.
        if base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii") != cursor:
            raise _invalid()
        if len(token) <= 1 + _MAC_SIZE or token[:1] != _VERSION_BYTE:
            raise _invalid()
        mac, payload = token[1 : 1 + _MAC_SIZE], token[1 + _MAC_SIZE :]
        if not hmac.compare_digest(mac, self._mac(payload, binding)):
            raise _invalid()
        try:
            micros, image_id = json.loads(payload)
            if not isinstance(micros, int) or not isinstance(image_id, str):
                raise _invalid()
            return Position(_EPOCH + micros * _MICROSECOND, image_id)
        except (ValueError, TypeError, OverflowError):
            raise _invalid() from None

    def _mac(self, payload: bytes, binding: str) -> bytes:
        message = _VERSION_BYTE + hashlib.sha256(binding.encode()).digest() + payload
        return hmac.new(self._key, message, hashlib.sha256).digest()


def _invalid() -> InvalidCursorError:
    return InvalidCursorError("invalid cursor")
