"""boto3 clients, created lazily and only when an adapter is given none.

Endpoints come from boto3's own standard variables (AWS_ENDPOINT_URL,
AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_DYNAMODB), never from a stage name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3


# One client serves every thread of a process: the server's GraphQL threads and a shard
# fan-out (infra/shard_merge.py MAX_PARALLEL_QUERIES) at once. botocore's default pool of 10
# connections would make urllib3 drop and reopen connections ("Connection pool is full").
MAX_POOL_CONNECTIONS = 50


def client_config(*, path_style: bool = False) -> Any:
    from botocore.config import Config

    s3_options = {"addressing_style": "path"} if path_style else {}
    return Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=3,
        read_timeout=20,
        tcp_keepalive=True,
        max_pool_connections=MAX_POOL_CONNECTIONS,
        s3=s3_options,  # type: ignore[arg-type]
        signature_version="s3v4",
    )


def new_session(region: str | None = None) -> boto3.Session:
    import boto3

    return boto3.Session(region_name=region)
