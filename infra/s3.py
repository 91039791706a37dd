"""The object store on S3: presigned POST/GET (signed locally) and object I/O.

GET URLs are window-aligned (infra/urls.py): signed at the start of the current signing
window with a lifetime past its end, so the same key gets the same URL for the whole
window and browsers can reuse what they downloaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.auth import S3SigV4QueryAuth
from botocore.exceptions import ClientError

from infra import keys
from infra.errors import ObjectDeleteError, ObjectNotFoundError
from infra.records import PresignedPost, StoredObject
from infra.urls import Now, SigningWindow, UrlMemo, utc_now

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_s3 import S3Client

_DELETE_BATCH = 1000  # DeleteObjects' limit
_SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"

# Every object's key is unique to its content (a new upload gets a new key), so a cache
# may keep it forever. Originals and, without a CDN, renditions are `private`: only the
# browser that holds the presigned URL keeps a copy; no shared cache (corporate proxy)
# keeps bytes we could never purge after a delete. With a CDN, renditions are `public`
# so that CloudFront may cache them; it still checks each request's signature (unless
# the operator chose public renditions).
PRIVATE_CACHE_CONTROL = "private, max-age=31536000, immutable"
SHARED_CACHE_CONTROL = "public, max-age=31536000, immutable"


class S3ObjectStore:
    """Implements services.ports.ObjectStore.

    `public_endpoint` signs the URLs handed to clients for a host they can reach
    (LocalStack in Docker: the Lambda and the browser see different hosts). Signing
    is local: no request reaches S3.
    """

    def __init__(
        self,
        bucket: str,
        *,
        client: S3Client | None = None,
        signing_client: S3Client | None = None,
        session: boto3.Session | None = None,
        public_endpoint: str | None = None,
        path_style: bool = False,
        url_window_seconds: int = 3600,
        shared_cache_renditions: bool = False,
        now: Now = utc_now,
    ) -> None:
        self.bucket = bucket
        self._client = client
        self._signing_client = signing_client
        self._url_client: S3Client | None = None
        self._session = session
        self._public_endpoint = public_endpoint
        self._path_style = path_style or public_endpoint is not None
        self._url_window_seconds = url_window_seconds
        self._rendition_cache_control = (
            SHARED_CACHE_CONTROL if shared_cache_renditions else PRIVATE_CACHE_CONTROL
        )
        self._now = now
        self._memo = UrlMemo()

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = self._new_client(endpoint_url=None)
        return self._client

    @property
    def signing_client(self) -> S3Client:
        if self._signing_client is None:
            if self._public_endpoint is None:
                self._signing_client = self.client
            else:
                self._signing_client = self._new_client(endpoint_url=self._public_endpoint)
        return self._signing_client

    @property
    def url_client(self) -> S3Client:
        """Unsigned: builds GET URLs (endpoint, addressing style) for _sign_at to sign."""
        if self._url_client is None:
            self._url_client = self._new_client(
                endpoint_url=self._public_endpoint,
                unsigned=True,
                region=self.signing_client.meta.region_name,
            )
        return self._url_client

    def _new_client(
        self, *, endpoint_url: str | None, unsigned: bool = False, region: str | None = None
    ) -> S3Client:
        from infra.aws import client_config, new_session

        config = client_config(path_style=self._path_style)
        if unsigned:
            from botocore import UNSIGNED
            from botocore.config import Config

            config = config.merge(Config(signature_version=UNSIGNED))
        session = self._session or new_session()
        return session.client("s3", endpoint_url=endpoint_url, config=config, region_name=region)

    def presign_post(
        self, key: str, *, content_type: str, max_size_bytes: int, expires_in: int
    ) -> PresignedPost:
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
        post = self.signing_client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, max_size_bytes],
            ],
            ExpiresIn=expires_in,
        )
        fields = {name: str(value) for name, value in post["fields"].items()}
        return PresignedPost(
            url=post["url"], fields=fields, expires_at=expires_at, max_size_bytes=max_size_bytes
        )

    def presign_get(self, key: str, *, expires_in: int) -> str:
        """Valid at least `expires_in` seconds from now; the same URL for the whole window."""
        start, lifetime = SigningWindow(self._url_window_seconds, expires_in).for_key(
            key, self._now()
        )
        credentials = self._credentials()
        return self._memo.get_or_sign(
            (key, start, lifetime, credentials.access_key, credentials.token),
            lambda: self._sign_at(key, start, lifetime, credentials),
        )

    def _sign_at(self, key: str, start: int, lifetime: int, credentials: Any) -> str:
        from botocore.awsrequest import AWSRequest

        unsigned = self.url_client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}
        )
        request = AWSRequest(method="GET", url=unsigned)
        signed_at = datetime.fromtimestamp(start, UTC).strftime(_SIGV4_TIMESTAMP)
        _S3QueryAuthSignedAt(
            credentials, self.signing_client.meta.region_name, lifetime, signed_at
        ).add_auth(request)
        return str(request.url)

    def _credentials(self) -> Any:
        if self._session is not None:
            credentials = self._session.get_credentials()
        else:
            # An injected client: botocore's own accessor (what its presigners use).
            credentials = self.signing_client._get_credentials()  # type: ignore[attr-defined]
        if credentials is None:
            from botocore.exceptions import NoCredentialsError

            raise NoCredentialsError()
        return credentials.get_frozen_credentials()

    def head(self, key: str) -> StoredObject | None:
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _status(exc) == 404:
                return None
            raise
        return StoredObject(
            key=key,
            size_bytes=int(response["ContentLength"]),
            content_type=response.get("ContentType"),
        )

    def read(self, key: str, *, max_bytes: int) -> bytes:
        # A ranged GET: even if the object grew since head(), never read more than asked.
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes=0-{max_bytes - 1}"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return b""  # an empty object (replaced since head()) has no byte 0
            raise _not_found_or(exc, key) from exc
        with response["Body"] as body:
            return body.read(max_bytes)

    def write(self, key: str, data: bytes, *, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            CacheControl=(
                self._rendition_cache_control
                if keys.is_rendition_key(key)
                else PRIVATE_CACHE_CONTROL
            ),
        )

    def delete_many(self, keys: Iterable[str]) -> None:
        unique = sorted(set(keys))
        for start in range(0, len(unique), _DELETE_BATCH):
            batch = unique[start : start + _DELETE_BATCH]
            response = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
            errors = response.get("Errors", [])
            if errors:
                raise ObjectDeleteError(
                    [str(error.get("Key")) for error in errors if error.get("Key")]
                )


class _S3QueryAuthSignedAt(S3SigV4QueryAuth):
    """botocore's S3 presigner (SigV4 query auth), with a chosen signing time (X-Amz-Date)."""

    def __init__(self, credentials: Any, region: str, expires: int, signed_at: str) -> None:
        super().__init__(credentials, "s3", region, expires=expires)
        self._signed_at = signed_at

    def _modify_request_before_signing(self, request: Any) -> None:
        # add_auth() has just stamped "now"; sign with the window's start instead.
        request.context["timestamp"] = self._signed_at
        super()._modify_request_before_signing(request)  # type: ignore[misc]


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _not_found_or(exc: ClientError, key: str) -> Exception:
    code = exc.response.get("Error", {}).get("Code")
    if code in ("NoSuchKey", "404") or _status(exc) == 404:
        return ObjectNotFoundError(key)
    return exc
