"""boto3 clients have a connection for every thread that may use them at once."""

from __future__ import annotations

from infra.aws import client_config
from infra.shard_merge import MAX_PARALLEL_QUERIES
from resolvers.http import EXECUTION_THREADS, PROCESSING_THREADS


def test_the_client_pool_covers_every_concurrent_caller() -> None:
    """GIVEN the server's GraphQL and processing threads, one of them fanning out over
    shards WHEN they all call AWS at once THEN no call waits for, or discards, a connection
    (botocore's default of 10 made `picgraph cleanup` log "Connection pool is full")."""
    concurrent = EXECUTION_THREADS + PROCESSING_THREADS + MAX_PARALLEL_QUERIES
    assert client_config().max_pool_connections >= concurrent
