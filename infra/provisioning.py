"""Create the table and bucket if missing (idempotent): `picgraph bootstrap`, dev and tests.

In AWS, Terraform owns these resources; this mirrors terraform/dynamodb.tf and s3.tf
for emulators (moto, LocalStack).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from infra import keys
from infra.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


def table_definition(table_name: str) -> dict[str, Any]:
    attributes = [keys.TABLE_PK, keys.TABLE_SK]
    for partition, sort in keys.INDEXES.values():
        attributes += [partition, sort]
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in attributes
        ],
        "KeySchema": [
            {"AttributeName": keys.TABLE_PK, "KeyType": "HASH"},
            {"AttributeName": keys.TABLE_SK, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": partition, "KeyType": "HASH"},
                    {"AttributeName": sort, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, (partition, sort) in keys.INDEXES.items()
        ],
    }


def ensure_table(client: DynamoDBClient, table_name: str) -> bool:
    """Create the table (with TTL) unless it exists; True when it was created."""
    try:
        client.create_table(**table_definition(table_name))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
        return False
    client.get_waiter("table_exists").wait(TableName=table_name)
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": keys.TTL_ATTRIBUTE},
    )
    return True


def _bucket_exists(client: S3Client, bucket: str) -> bool:
    # us-east-1 answers 200 to re-creating a bucket you own, so ask first.
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return False
        raise
    return True


def ensure_bucket(
    client: S3Client, bucket: str, *, region: str, cors_origins: Sequence[str] = ("*",)
) -> bool:
    """Create the bucket with browser-upload CORS unless it exists; True when created."""
    created = not _bucket_exists(client, bucket)
    if created:
        _create_bucket(client, bucket, region)
    client.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedMethods": ["POST", "GET", "HEAD"],
                    "AllowedOrigins": list(cors_origins),
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag", "Location"],
                    "MaxAgeSeconds": 3600,
                }
            ]
        },
    )
    return created


def _create_bucket(client: S3Client, bucket: str, region: str) -> None:
    try:
        if region == "us-east-1":
            client.create_bucket(Bucket=bucket)
        else:
            client.create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
            )
    except ClientError as exc:
        # Another process created it between our check and this call.
        if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise


def provision(settings: Settings) -> dict[str, bool]:
    """The configured table and bucket, created where missing; name -> whether created."""
    from infra.aws import client_config, new_session

    session = new_session(settings.region)
    dynamodb = session.client("dynamodb", config=client_config())
    s3 = session.client("s3", config=client_config(path_style=settings.custom_endpoint))
    return {
        f"table {settings.table_name}": ensure_table(dynamodb, settings.table_name),
        f"bucket {settings.bucket_name}": ensure_bucket(
            s3, settings.bucket_name, region=settings.region
        ),
    }
