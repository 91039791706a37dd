"""Every setting picgraph reads, from the environment only, in one place.

boto3 reads the standard AWS variables itself (AWS_ENDPOINT_URL,
AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION, credentials);
they are listed here only where picgraph's own behaviour depends on them.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

logger = logging.getLogger("picgraph.settings")

MiB = 1024 * 1024
GiB = 1024 * MiB
DEV_JWT_SECRET = "picgraph-dev-secret-do-not-use-in-production"  # noqa: S105
MAX_UPLOAD_URL_SECONDS = 900
MAX_TOKEN_LIFETIME_SECONDS = 30 * 86400
# SigV4 presigned URLs are valid at most 7 days after their X-Amz-Date.
MAX_PRESIGN_SECONDS = 7 * 86400


class SettingsError(Exception):
    """A required setting is missing or malformed (one clear line for the operator)."""


@dataclass(frozen=True)
class Settings:
    region: str
    table_name: str
    bucket_name: str
    jwt_secret: str | None
    max_token_lifetime_seconds: int
    cursor_secret: str
    auth_mode: str
    endpoint_url: str | None
    s3_endpoint_url: str | None
    dynamodb_endpoint_url: str | None
    public_s3_endpoint: str | None
    max_upload_bytes: int
    max_pixels: int
    max_webp_pixels: int
    upload_url_seconds: int
    download_url_seconds: int
    url_window_seconds: int
    cdn_url: str | None
    cdn_key_pair_id: str | None
    cdn_private_key_secret_arn: str | None
    cdn_public: bool
    processing_lease_seconds: int
    pending_upload_hours: int
    rejected_retention_hours: int
    delete_retention_days: int
    introspection: bool
    max_query_depth: int
    max_aliases: int
    max_tokens: int
    max_query_cost: int
    log_level: str
    cleanup_shards: int = 64
    # Per-viewer upload quotas (services/quotas.py); 0 = unlimited.
    quota_pending_uploads: int = 100
    quota_uploads_per_day: int = 1000
    quota_bytes_per_day: int = 10 * GiB
    counter_shards: int = 16
    owner_counter_shards: int = 4
    feed_shards: int = 64
    hot_tag_shards: int = 16
    hot_tags: tuple[str, ...] = ()

    @property
    def uses_dev_jwt_secret(self) -> bool:
        """True with the built-in development secret: anyone can mint tokens for it."""
        return self.jwt_secret == DEV_JWT_SECRET

    @property
    def custom_endpoint(self) -> bool:
        """True when any AWS endpoint override is set (LocalStack, moto, other)."""
        return bool(self.endpoint_url or self.s3_endpoint_url or self.dynamodb_endpoint_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        in_lambda = bool(env.get("AWS_LAMBDA_FUNCTION_NAME"))
        auth_mode = env.get("PICGRAPH_AUTH_MODE", "jwt").strip().lower()
        if auth_mode not in ("jwt", "upstream"):
            raise SettingsError(
                f"PICGRAPH_AUTH_MODE must be 'jwt' or 'upstream', got {auth_mode!r}"
            )
        jwt_secret = env.get("PICGRAPH_JWT_SECRET") or None
        if jwt_secret is None and auth_mode == "jwt":
            if in_lambda:
                raise SettingsError(
                    "PICGRAPH_JWT_SECRET is required in Lambda unless PICGRAPH_AUTH_MODE=upstream "
                    "(an API Gateway or AppSync authorizer verifies tokens)"
                )
            _warn_once("PICGRAPH_JWT_SECRET is not set: using the insecure development secret")
            jwt_secret = DEV_JWT_SECRET
        if jwt_secret is not None and len(jwt_secret) < 32:
            raise SettingsError("PICGRAPH_JWT_SECRET must be at least 32 characters")
        cursor_secret = env.get("PICGRAPH_CURSOR_SECRET") or jwt_secret
        if not cursor_secret:
            raise SettingsError(
                "PICGRAPH_CURSOR_SECRET is required when PICGRAPH_JWT_SECRET is not set"
            )
        upload_seconds = _int(env, "PICGRAPH_UPLOAD_URL_SECONDS", 900, 60, MAX_UPLOAD_URL_SECONDS)
        # A URL signed at its window's start lives window + download seconds, and SigV4
        # caps a presigned URL at 7 days: each gets at most half.
        download_seconds = _int(
            env, "PICGRAPH_DOWNLOAD_URL_SECONDS", 3600, 60, MAX_PRESIGN_SECONDS // 2
        )
        window_seconds = _int(env, "PICGRAPH_URL_WINDOW_SECONDS", 3600, 1, MAX_PRESIGN_SECONDS // 2)
        cdn = _cdn(env)
        max_upload_bytes = _int(env, "PICGRAPH_MAX_UPLOAD_BYTES", 20 * MiB, 1, 5 * 1024 * MiB)
        quota_bytes = _int(env, "PICGRAPH_QUOTA_BYTES_PER_DAY", 10 * GiB, 0, 1024 * 1024 * GiB)
        if 0 < quota_bytes < max_upload_bytes:
            raise SettingsError(
                "PICGRAPH_QUOTA_BYTES_PER_DAY must be 0 (unlimited) or at least "
                f"PICGRAPH_MAX_UPLOAD_BYTES ({max_upload_bytes}), got {quota_bytes}"
            )
        return cls(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            table_name=_required(
                env, "PICGRAPH_TABLE_NAME", default=None if in_lambda else "picgraph"
            ),
            bucket_name=_required(
                env, "PICGRAPH_BUCKET_NAME", default=None if in_lambda else "picgraph-images"
            ),
            jwt_secret=jwt_secret,
            max_token_lifetime_seconds=_int(
                env, "PICGRAPH_MAX_TOKEN_LIFETIME_SECONDS", 86400, 60, MAX_TOKEN_LIFETIME_SECONDS
            ),
            cursor_secret=cursor_secret,
            auth_mode=auth_mode,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            s3_endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or None,
            dynamodb_endpoint_url=env.get("AWS_ENDPOINT_URL_DYNAMODB") or None,
            public_s3_endpoint=env.get("PICGRAPH_PUBLIC_S3_ENDPOINT") or None,
            max_upload_bytes=max_upload_bytes,
            max_pixels=_int(env, "PICGRAPH_MAX_PIXELS", 50_000_000, 1, 89_000_000),
            # A limit of its own: Pillow's WebP decode (16 bytes a pixel) is the fallback.
            max_webp_pixels=_int(env, "PICGRAPH_MAX_WEBP_PIXELS", 20_000_000, 1, 89_000_000),
            upload_url_seconds=upload_seconds,
            download_url_seconds=download_seconds,
            url_window_seconds=window_seconds,
            cdn_url=cdn[0],
            cdn_key_pair_id=cdn[1],
            cdn_private_key_secret_arn=cdn[2],
            cdn_public=cdn[3],
            processing_lease_seconds=_int(env, "PICGRAPH_PROCESSING_LEASE_SECONDS", 120, 5, 3600),
            pending_upload_hours=_int(env, "PICGRAPH_PENDING_UPLOAD_HOURS", 24, 1, 24 * 30),
            rejected_retention_hours=_int(
                env, "PICGRAPH_REJECTED_RETENTION_HOURS", 168, 0, 24 * 365
            ),
            delete_retention_days=_int(env, "PICGRAPH_DELETE_RETENTION_DAYS", 30, 0, 3650),
            introspection=_bool(env, "PICGRAPH_INTROSPECTION", True),
            max_query_depth=_int(env, "PICGRAPH_MAX_QUERY_DEPTH", 10, 2, 50),
            max_aliases=_int(env, "PICGRAPH_MAX_ALIASES", 15, 1, 200),
            max_tokens=_int(env, "PICGRAPH_MAX_TOKENS", 2000, 100, 100_000),
            max_query_cost=_int(env, "PICGRAPH_MAX_QUERY_COST", 20_000, 100, 10_000_000),
            log_level=env.get("PICGRAPH_LOG_LEVEL", "INFO").upper(),
            # Write shards of the upload path's cleanup-index statuses (fewer for the colder
            # ones: infra/keys.py cleanup_shard_count); only ever raise it: entries of
            # dropped shards would no longer be found.
            cleanup_shards=_int(env, "PICGRAPH_CLEANUP_SHARDS", 64, 1, 1024),
            quota_pending_uploads=_int(env, "PICGRAPH_QUOTA_PENDING_UPLOADS", 100, 0, 100_000),
            quota_uploads_per_day=_int(env, "PICGRAPH_QUOTA_UPLOADS_PER_DAY", 1000, 0, 10_000_000),
            quota_bytes_per_day=quota_bytes,
            # Shards of each tag's READY-image counter (a hot tag's counter takes a write
            # per tagged upload); only ever raise it, like the cleanup shards.
            counter_shards=_int(env, "PICGRAPH_COUNTER_SHARDS", 16, 1, 100),
            # Shards of each owner's counters (the busiest account's moves); only raise it.
            owner_counter_shards=_int(env, "PICGRAPH_OWNER_COUNTER_SHARDS", 4, 1, 100),
            # Feed months and hot tags, the same way (only ever raise; never drop a hot tag).
            feed_shards=_int(env, "PICGRAPH_FEED_SHARDS", 64, 1, 1024),
            hot_tag_shards=_int(env, "PICGRAPH_HOT_TAG_SHARDS", 16, 1, 1024),
            hot_tags=_tags(env, "PICGRAPH_HOT_TAGS"),
        )


def _cdn(env: Mapping[str, str]) -> tuple[str | None, str | None, str | None, bool]:
    """(base URL, key pair id, private key secret ARN, public) of the rendition CDN."""
    url = (env.get("PICGRAPH_CDN_URL") or "").strip().rstrip("/") or None
    public = _bool(env, "PICGRAPH_CDN_PUBLIC", False)
    key_pair_id = env.get("PICGRAPH_CDN_KEY_PAIR_ID") or None
    secret_arn = env.get("PICGRAPH_CDN_PRIVATE_KEY_SECRET_ARN") or None
    if url is None:
        return None, key_pair_id, secret_arn, public
    if not url.startswith(("https://", "http://")):
        raise SettingsError(f"PICGRAPH_CDN_URL must be an http(s) URL, got {url!r}")
    if not public and (key_pair_id is None or secret_arn is None):
        raise SettingsError(
            "PICGRAPH_CDN_URL needs PICGRAPH_CDN_KEY_PAIR_ID and "
            "PICGRAPH_CDN_PRIVATE_KEY_SECRET_ARN (signed URLs), or PICGRAPH_CDN_PUBLIC=true"
        )
    return url, key_pair_id, secret_arn, public


def _tags(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of tags, normalised as the API normalises tags."""
    tags: dict[str, None] = {}
    for part in (env.get(name) or "").split(","):
        # services.text.normalize_tag: NFKC, trim, case-fold (infra cannot import services)
        tag = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", part).strip().casefold())
        if not tag:
            continue
        if not 1 <= len(tag) <= 50 or not all(char.isalnum() or char in "_-" for char in tag):
            raise SettingsError(
                f"{name} must list tags of letters, digits, '_' or '-'; got {part!r}"
            )
        tags.setdefault(tag, None)
    return tuple(tags)


def _required(env: Mapping[str, str], name: str, default: str | None) -> str:
    value = env.get(name) or default
    if not value:
        raise SettingsError(f"{name} is required")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)
