"""The object store on S3: presigned POST/GET (signed locally) and object I/O."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from infra.errors import ObjectDeleteError, ObjectNotFoundError
from infra.records import PresignedPost, StoredObject

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_s3 import S3Client

_DELETE_BATCH = 1000  # DeleteObjects' limit


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
    ) -> None:
        self.bucket = bucket
        self._client = client
        self._signing_client = signing_client
        self._session = session
        self._public_endpoint = public_endpoint
        self._path_style = path_style or public_endpoint is not None

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

    def _new_client(self, *, endpoint_url: str | None) -> S3Client:
        from infra.aws import client_config, new_session

        session = self._session or new_session()
        return session.client(
            "s3", endpoint_url=endpoint_url, config=client_config(path_style=self._path_style)
        )

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
        return self.signing_client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )

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
            CacheControl="private, max-age=31536000, immutable",
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


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _not_found_or(exc: ClientError, key: str) -> Exception:
    code = exc.response.get("Error", {}).get("Code")
    if code in ("NoSuchKey", "404") or _status(exc) == 404:
        return ObjectNotFoundError(key)
    return exc
