"""Cold start of the Lambda handler per event kind, against the boto3 floor.

Each sample is a whole fresh interpreter, as a new Lambda container: import the
handler (init) and handle one event (first invoke), against a moto server on
127.0.0.1 started here. The floor is `import boto3` plus creating the S3 and
DynamoDB clients. Runs are interleaved (floor, S3 peer, cleanup peer, S3, EventBridge,
AppSync, HTTP, floor, ...) so that machine load hits every contender alike; figures are
medians.

Two events do real work at their first invoke that the bare floor does not. The S3
event (an ObjectCreated for a staging key with no record, as the bench sends) reads the
image's record (one GetItem) and deletes the orphaned object (one DeleteObjects); a
scheduled cleanup makes one Query per shard of each cleanup status (infra/keys.py
cleanup_partitions). Their goals are therefore measured against peers that make those
very calls with plain boto3 (the cleanup's with the same parallelism), so that the
ratio is picgraph's own overhead; their ratios to the bare floor are printed too. Each
figure also has the child's CPU time (time.process_time), a ratio that machine load
distorts far less than wall time.

The children see the modules the Lambda package holds (scripts/build_lambda_package.py
installs [project.dependencies], `cryptography` among them for CloudFront signing):
whatever a path imports is paid as it would be in Lambda.

Two init types, as Lambda reports them in AWS_LAMBDA_INITIALIZATION_TYPE:
`on-demand` (each event kind imports only what it needs) and `snap-start`
(init preloads the GraphQL paths, so the snapshot holds them and the first
invoke is cheap). Prints ratios and writes build/bench/bench_coldstart.json.

    .venv/bin/python scripts/bench_coldstart.py [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_rows import write_rows  # noqa: E402

EVENTS = ROOT / "tests" / "events"
SECRET = "bench-secret-0123456789-abcdefghijkl"  # noqa: S105 (a bench-only key)
GOALS = {"s3": 1.1, "scheduled": 1.1, "appsync": 1.3, "http": 1.6}
LABELS = {
    "floor": "boto3 + S3 and DynamoDB clients (the floor)",
    "s3_peer": "the floor + the S3 event's GetItem and DeleteObjects with plain boto3"
    " (the S3 event's peer)",
    "s3": "S3 ObjectCreated",
    "cleanup_peer": "the floor + a cleanup run's Queries with plain boto3 (the cleanup's peer)",
    "scheduled": "EventBridge scheduled (cleanup)",
    "appsync": "AppSync Query.image",
    "http": "API Gateway v2 GraphQL POST image(id)",
}

FLOOR_CODE = """
import json, time
t0, c0 = time.perf_counter(), time.process_time()
import boto3
session = boto3.Session(region_name="us-east-1")
session.client("s3"); session.client("dynamodb")
print(json.dumps({"init": time.perf_counter() - t0, "invoke": 0.0, "result": None,
                  "cpu": time.process_time() - c0}))
"""

# The S3 event's peer: the floor, then the two calls the handler makes for the bench's
# event (a staging key whose image has no record): the consistent GetItem of the image's
# record and the DeleteObjects of the orphaned object, with plain boto3.
S3_PEER_CODE = """
import json, sys, time
plan = json.loads(sys.argv[1])
t0, c0 = time.perf_counter(), time.process_time()
import boto3
session = boto3.Session(region_name="us-east-1")
s3 = session.client("s3"); dynamodb = session.client("dynamodb")
item = dynamodb.get_item(TableName=plan["table"], Key=plan["key"], ConsistentRead=True).get("Item")
orphan = {"Objects": [{"Key": plan["object"]}], "Quiet": True}
s3.delete_objects(Bucket=plan["bucket"], Delete=orphan)
print(json.dumps({"init": time.perf_counter() - t0, "invoke": 0.0,
                  "result": {"found": item is not None}, "cpu": time.process_time() - c0}))
"""

# The scheduled event's peer: the floor, then the very Queries a cleanup run makes on an
# empty index (one per shard of each status, in the service's order, each status's shards
# in parallel on one reused pool of as many threads as the repository uses), with plain
# boto3: what is left between it and the handler is picgraph's own overhead.
CLEANUP_PEER_CODE = """
import json, sys, time
plan = json.loads(sys.argv[1])
t0, c0 = time.perf_counter(), time.process_time()
import boto3
from concurrent.futures import ThreadPoolExecutor
session = boto3.Session(region_name="us-east-1")
session.client("s3"); dynamodb = session.client("dynamodb")
pool = ThreadPoolExecutor(max_workers=plan["threads"])
def query(partition):
    return dynamodb.query(
        TableName=plan["table"], IndexName="GSI3",
        KeyConditionExpression="GSI3PK = :partition AND GSI3SK <= :due",
        ExpressionAttributeValues={":partition": {"S": partition}, ":due": {"S": plan["due"]}},
        Limit=plan["limit"],
    ).get("Items", [])
found = 0
for partitions in plan["statuses"]:
    if len(partitions) == 1:
        found += len(query(partitions[0]))
    else:
        found += sum(len(items) for items in pool.map(query, partitions))
elapsed = time.perf_counter() - t0
print(json.dumps({"init": elapsed, "invoke": 0.0, "result": {"found": found},
                  "cpu": time.process_time() - c0,
                  "queries": sum(len(p) for p in plan["statuses"]), "threads": plan["threads"]}))
"""

HANDLER_CODE = """
import json, sys, time
from types import SimpleNamespace
event = json.loads(sys.argv[1])
context = SimpleNamespace(
    aws_request_id="bench", function_name="picgraph", memory_limit_in_mb=1769,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:picgraph",
    get_remaining_time_in_millis=lambda: 30_000,
)
t0, c0 = time.perf_counter(), time.process_time()
import resolvers.lambda_handler as handler_module
t1 = time.perf_counter()
result = handler_module.handler(event, context)
t2 = time.perf_counter()
heavy = sorted(m for m in ("strawberry", "graphql", "jwt", "cryptography", "mangum", "starlette",
                            "PIL") if m in sys.modules)
print(json.dumps({"init": t1 - t0, "invoke": t2 - t1, "result": result, "heavy": heavy,
                  "cpu": time.process_time() - c0},
                 default=str))
"""


def events(settings: Any) -> dict[str, Any]:
    from resolvers.identity import issue_token

    s3 = json.loads((EVENTS / "s3_object_created.json").read_text())
    record = s3["Records"][0]["s3"]
    record["bucket"]["name"] = settings.bucket_name
    record["object"]["key"] = f"uploads/{uuid.uuid4()}"
    scheduled = json.loads((EVENTS / "eventbridge_scheduled.json").read_text())
    appsync = json.loads((EVENTS / "appsync_query_image.json").read_text())
    appsync["arguments"]["id"] = str(uuid.uuid4())
    appsync["identity"]["sub"] = appsync["identity"]["claims"]["sub"] = "bench-user"
    http = json.loads((EVENTS / "apigw_http_v2_post_graphql.json").read_text())
    query = "query($id: ID!) { image(id: $id) { id status } }"
    body = json.dumps({"query": query, "variables": {"id": str(uuid.uuid4())}})
    http["body"] = body
    http["headers"]["content-length"] = str(len(body))
    http["headers"]["authorization"] = f"Bearer {issue_token('bench-user', SECRET)}"
    return {"s3": s3, "scheduled": scheduled, "appsync": appsync, "http": http}


def s3_plan(settings: Any, s3_event: dict[str, Any]) -> dict[str, Any]:
    """The calls the S3 handler makes for the bench's event, for its peer to make too."""
    from infra import items, keys

    key = s3_event["Records"][0]["s3"]["object"]["key"]
    image_id = keys.image_id_from_staging_key(key)
    assert image_id is not None
    return {
        "table": settings.table_name,
        "key": items.serialize(keys.image_key(image_id)),
        "bucket": settings.bucket_name,
        "object": key,
    }


def cleanup_plan(settings: Any) -> dict[str, Any]:
    """The Queries a cleanup run makes when nothing is due, for the peer to make too."""
    from datetime import UTC, datetime

    from infra import keys
    from infra.shard_merge import MAX_PARALLEL_QUERIES
    from services.cleanup import DEFAULT_BATCH_SIZE, DEFAULT_GRACE, STATUS_ORDER

    due = f"{keys.format_instant(datetime.now(UTC) - DEFAULT_GRACE)}#~"
    return {
        "table": settings.table_name,
        "due": due,
        "limit": DEFAULT_BATCH_SIZE,
        "threads": MAX_PARALLEL_QUERIES,
        "statuses": [
            keys.cleanup_partitions(status, settings.cleanup_shards) for status in STATUS_ORDER
        ],
    }


def run_probe(kind: str, event: Any, env: dict[str, str]) -> dict[str, Any]:
    if kind == "floor":
        argv = [sys.executable, "-c", FLOOR_CODE]
    elif kind == "s3_peer":
        argv = [sys.executable, "-c", S3_PEER_CODE, json.dumps(event)]
    elif kind == "cleanup_peer":
        argv = [sys.executable, "-c", CLEANUP_PEER_CODE, json.dumps(event)]
    else:
        argv = [sys.executable, "-c", HANDLER_CODE, json.dumps(event)]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} probe failed:\n{done.stderr[-2000:]}")
    sample: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    _check(kind, sample["result"])
    return sample


def _check(kind: str, result: Any) -> None:
    """A probe that errored would measure the wrong path: refuse its figure."""
    if kind == "http" and (result["statusCode"] != 200 or "errors" in json.loads(result["body"])):
        raise RuntimeError(f"http probe answered {result}")
    if kind == "appsync" and isinstance(result, dict) and "errorType" in result:
        raise RuntimeError(f"appsync probe answered {result}")
    if kind == "s3" and list(result["processed"].values()) != ["ignored"]:
        raise RuntimeError(f"s3 probe answered {result}")
    if kind == "s3_peer" and result["found"]:
        raise RuntimeError("the S3 peer found a record: it would not measure the same calls")


def child_env(endpoint: str, settings: Any, init_type: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_LAMBDA_FUNCTION_NAME": "picgraph-bench",
        "AWS_LAMBDA_INITIALIZATION_TYPE": init_type,
        "PICGRAPH_TABLE_NAME": settings.table_name,
        "PICGRAPH_BUCKET_NAME": settings.bucket_name,
        "PICGRAPH_JWT_SECRET": SECRET,
        "PICGRAPH_LOG_LEVEL": "WARNING",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per contender")
    args = parser.parse_args(argv)

    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}
    )
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from infra.provisioning import provision
    from infra.settings import Settings
    from tests.support.servers import free_port

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        settings = Settings.from_env(
            {
                **os.environ,
                "PICGRAPH_TABLE_NAME": "bench-coldstart",
                "PICGRAPH_BUCKET_NAME": "bench-coldstart",
                "PICGRAPH_JWT_SECRET": SECRET,
            }
        )
        provision(settings)
        rows = measure(endpoint, settings, args.runs)
    finally:
        moto.stop()
    write_rows("bench_coldstart", rows)
    return 0


def measure(endpoint: str, settings: Any, runs: int) -> list[dict[str, str]]:
    payloads = events(settings)
    payloads["s3_peer"] = s3_plan(settings, payloads["s3"])
    payloads["cleanup_peer"] = cleanup_plan(settings)
    on_demand = child_env(endpoint, settings, "on-demand")
    snap = child_env(endpoint, settings, "snap-start")
    peers = ["s3_peer", "cleanup_peer"]
    kinds = ["floor", *peers, "s3", "scheduled", "appsync", "http"]
    samples: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    snap_samples: dict[str, list[dict[str, Any]]] = {"appsync": [], "http": []}
    for _ in range(runs):
        for kind in kinds:
            samples[kind].append(run_probe(kind, payloads.get(kind), on_demand))
        for kind in snap_samples:
            snap_samples[kind].append(run_probe(kind, payloads[kind], snap))

    def median(values: list[dict[str, Any]], part: str) -> float:
        if part == "total":
            return statistics.median(float(v["init"] + v["invoke"]) for v in values)
        return statistics.median(float(v[part]) for v in values)

    floor = median(samples["floor"], "total")
    floor_cpu = median(samples["floor"], "cpu")
    load = os.getloadavg()[0]
    print(
        f"cold start, whole fresh interpreter, median of {runs} interleaved runs "
        f"(Python {sys.version.split()[0]}, load {load:.1f} on {os.cpu_count()} cores);"
        " wall time, and in [] the child's CPU time (less sensitive to machine load):"
    )
    print(f"  {floor * 1000:6.0f} ms  1.00x  {LABELS['floor']} [CPU {floor_cpu * 1000:.0f} ms]")
    rows = [
        {
            "what": f"cold start: {LABELS['floor']}",
            "figure": f"{floor * 1000:.0f} ms (1.00x; median of {runs} fresh interpreters,"
            f" load average {load:.1f} on {os.cpu_count()} cores; CPU {floor_cpu * 1000:.0f} ms)",
        }
    ]
    s3_peer, s3_peer_cpu = median(samples["s3_peer"], "total"), median(samples["s3_peer"], "cpu")
    print(
        f"  {s3_peer * 1000:6.0f} ms  {s3_peer / floor:4.2f}x  {LABELS['s3_peer']}"
        f" [CPU {s3_peer_cpu / floor_cpu:.2f}x]"
    )
    rows.append(
        {
            "what": f"cold start: {LABELS['s3_peer']}",
            "figure": f"{s3_peer * 1000:.0f} ms = {s3_peer / floor:.2f}x the floor",
        }
    )
    peer, peer_cpu = (
        median(samples["cleanup_peer"], "total"),
        median(samples["cleanup_peer"], "cpu"),
    )
    queries = samples["cleanup_peer"][-1]["queries"]
    print(
        f"  {peer * 1000:6.0f} ms  {peer / floor:4.2f}x  {LABELS['cleanup_peer']}"
        f" ({queries} Queries) [CPU {peer_cpu / floor_cpu:.2f}x]"
    )
    rows.append(
        {
            "what": f"cold start: {LABELS['cleanup_peer']}",
            "figure": f"{peer * 1000:.0f} ms = {peer / floor:.2f}x the floor ({queries} Queries,"
            f" {samples['cleanup_peer'][-1]['threads']} threads)",
        }
    )
    # The S3 event's and the cleanup's goals are against the peers that make the same
    # calls: those calls are the event's real work (a GetItem and the orphan's
    # DeleteObjects; one Query per shard per status), not cold-start overhead.
    against_peer = {
        "s3": (s3_peer, s3_peer_cpu, "the same GetItem and DeleteObjects"),
        "scheduled": (peer, peer_cpu, "the same Queries"),
    }
    for kind in kinds[1 + len(peers) :]:
        total, cpu = median(samples[kind], "total"), median(samples[kind], "cpu")
        against, against_cpu, against_name = against_peer.get(kind, (floor, floor_cpu, "the floor"))
        ratio = total / against
        verdict = "within" if ratio <= GOALS[kind] else "NOT within"
        init, invoke = median(samples[kind], "init"), median(samples[kind], "invoke")
        heavy = samples[kind][-1].get("heavy", [])
        also = (
            f" ({total / floor:.2f}x the floor, CPU {cpu / floor_cpu:.2f}x)"
            if kind in against_peer
            else ""
        )
        print(
            f"  {total * 1000:6.0f} ms  {ratio:4.2f}x  {LABELS[kind]}: init {init * 1000:.0f} ms"
            f" + first invoke {invoke * 1000:.0f} ms; {verdict} {GOALS[kind]}x of"
            f" {against_name}{also} [CPU {cpu / against_cpu:.2f}x];"
            f" heavy modules: {', '.join(heavy) or 'none'}"
        )
        rows.append(
            {
                "what": f"cold start: {LABELS[kind]} (on-demand)",
                "figure": f"{total * 1000:.0f} ms = {ratio:.2f}x {against_name}"
                f" (goal ≤ {GOALS[kind]}x){also};"
                f" init {init * 1000:.0f} ms + first invoke {invoke * 1000:.0f} ms;"
                f" CPU {cpu / against_cpu:.2f}x",
            }
        )
    print(
        "  (the S3 and EventBridge goals apply to their peers: the S3 event's GetItem and"
        " DeleteObjects of the orphaned staging object, and the cleanup's Queries, are those"
        " events' own work, which the bare floor does not do; the other goals apply to the"
        " floor)"
    )
    print("  with AWS_LAMBDA_INITIALIZATION_TYPE=snap-start (init preloads, SnapStart absorbs it):")
    for kind, values in snap_samples.items():
        init, invoke = median(values, "init"), median(values, "invoke")
        print(
            f"  {LABELS[kind]}: init {init * 1000:.0f} ms, first invoke {invoke * 1000:.0f} ms"
            f" ({invoke / floor:.2f}x the floor after restore)"
        )
        rows.append(
            {
                "what": f"cold start: {LABELS[kind]} (SnapStart)",
                "figure": f"init {init * 1000:.0f} ms, first invoke {invoke * 1000:.0f} ms"
                f" ({invoke / floor:.2f}x the floor)",
            }
        )
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
