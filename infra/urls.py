"""Cacheable download URLs: the same key gets the same URL for a whole signing window.

A browser or CDN caches by URL. If every response signed a fresh URL (signing time =
now), nothing could ever be reused. Here a URL is signed at the start of the window the
current instant falls in, with an expiry `window + min_valid` seconds later:

    signed at   start = the window's start (a multiple of `window`, shifted per key)
    expires     start + window + min_valid

so every request inside one window gets byte-identical URLs, and a URL handed out at
any moment is still valid for at least `min_valid` seconds. The longest any URL stays
valid after it was handed out (and so after a delete) is `window + min_valid`.

Each key's windows are shifted by a stable offset (a hash of the key), so the URLs of a
page do not all change at the same instant: re-downloads spread over the window instead
of arriving as one wave at every boundary.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import boto3

Now = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SigningWindow:
    window_seconds: int
    min_valid_seconds: int

    def for_key(self, key: str, now: datetime) -> tuple[int, int]:
        """(signing time as epoch seconds, lifetime in seconds) of `key`'s URL at `now`."""
        window = self.window_seconds
        offset = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest()) % window
        instant = int(now.timestamp())
        start = (instant - offset) // window * window + offset
        return start, window + self.min_valid_seconds

    @property
    def longest_validity_seconds(self) -> int:
        """How long a URL may stay valid after it was handed out."""
        return self.window_seconds + self.min_valid_seconds


class UrlMemo:
    """A small LRU of signed URLs: inside a window, signing the same key again is free."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_sign(self, memo_key: tuple[Any, ...], sign: Callable[[], str]) -> str:
        with self._lock:
            url = self._entries.get(memo_key)
            if url is not None:
                self._entries.move_to_end(memo_key)
                return url
        url = sign()
        with self._lock:
            self._entries[memo_key] = url
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return url


class SecretPem:
    """A PEM private key in Secrets Manager, read lazily, once per process."""

    def __init__(
        self,
        secret_arn: str,
        *,
        client: Any | None = None,
        session: boto3.Session | None = None,
    ) -> None:
        self._secret_arn = secret_arn
        self._client = client
        self._session = session
        self._pem: bytes | None = None
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        if self._pem is None:
            with self._lock:
                if self._pem is None:
                    response = self._secrets_client().get_secret_value(SecretId=self._secret_arn)
                    text = response.get("SecretString")
                    raw = text.encode() if text is not None else response["SecretBinary"]
                    self._pem = bytes(raw)
        return self._pem

    def _secrets_client(self) -> Any:
        if self._client is None:
            from infra.aws import client_config, new_session

            session = self._session or new_session()
            self._client = session.client("secretsmanager", config=client_config())
        return self._client


def _cdn_url(base_url: str, key: str) -> str:
    return f"{base_url.rstrip('/')}/{quote(key, safe='/~')}"


class PublicCdnUrls:
    """Unsigned rendition URLs on a CDN (the operator chose public renditions)."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url

    def url_for(self, key: str) -> str:
        return _cdn_url(self._base_url, key)


class SignedCdnUrls:
    """CloudFront signed URLs (canned policy) with window-aligned expiry.

    botocore's CloudFrontSigner with an RSA key (SHA-1, as CloudFront requires). RSA
    PKCS#1 v1.5 is deterministic, so one key in one window always gets the same URL,
    in every process that holds the same private key.
    """

    def __init__(
        self,
        base_url: str,
        *,
        window: SigningWindow,
        key_pair_id: str,
        private_key_pem: Callable[[], bytes],
        now: Now = utc_now,
    ) -> None:
        self._base_url = base_url
        self._window = window
        self._key_pair_id = key_pair_id
        self._private_key_pem = private_key_pem
        self._now = now
        self._signer: Callable[..., str] | None = None
        self._signer_lock = threading.Lock()
        self._memo = UrlMemo()

    def url_for(self, key: str) -> str:
        start, lifetime = self._window.for_key(key, self._now())
        expires = start + lifetime
        return self._memo.get_or_sign(
            (key, expires),
            lambda: self._sign(_cdn_url(self._base_url, key), datetime.fromtimestamp(expires, UTC)),
        )

    def _sign(self, url: str, expires: datetime) -> str:
        if self._signer is None:
            with self._signer_lock:
                if self._signer is None:
                    self._signer = _cloudfront_url_signer(
                        self._key_pair_id, self._private_key_pem()
                    )
        return str(self._signer(url, date_less_than=expires))


def _cloudfront_url_signer(key_pair_id: str, pem: bytes) -> Callable[..., str]:
    """botocore's CloudFrontSigner.generate_presigned_url for this key (canned policy)."""
    from botocore.signers import CloudFrontSigner
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    private_key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError("the CloudFront private key must be an RSA key")

    def rsa_sha1(message: bytes) -> bytes:
        # CloudFront signed URLs are defined with SHA-1 (RSA-SHA1); not our choice.
        return private_key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303

    signer: Callable[..., str] = CloudFrontSigner(key_pair_id, rsa_sha1).generate_presigned_url
    return signer
