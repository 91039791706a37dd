"""Cold start of the Lambda handler: import time, and what each event kind pulls in.

Each figure is measured in a fresh interpreter (the median of several), as a new
Lambda container would pay it. Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5

PROBES = {
    "boto3 + S3 and DynamoDB clients (the floor)": (
        "import boto3; s=boto3.Session(region_name='us-east-1');"
        " s.client('s3'); s.client('dynamodb')"
    ),
    "import resolvers.lambda_handler": "import resolvers.lambda_handler",
    "handler module + build_app (wiring, lazy clients)": (
        "import resolvers.lambda_handler as h; from resolvers.bootstrap import get_app; get_app()"
    ),
    "everything an AppSync event needs (schema, no HTTP layer, no Pillow)": (
        "import resolvers.lambda_handler as h; from resolvers.bootstrap import get_app; get_app();"
        " import resolvers.appsync; from resolvers.schema import create_schema; create_schema()"
    ),
    "everything an HTTP event needs (adds Mangum + Starlette)": (
        "import resolvers.lambda_handler as h; from resolvers.bootstrap import get_app; get_app();"
        " import mangum; from resolvers.http import create_asgi_app; create_asgi_app()"
    ),
    "Pillow + pillow-heif (only processing pays this)": ("import services.imaging"),
}

MODULES_PROBE = (
    "import sys, json, resolvers.lambda_handler as h; from resolvers.bootstrap import get_app;"
    " get_app(); print(json.dumps(sorted(m for m in ('PIL','strawberry','mangum','starlette',"
    "'pillow_heif','boto3') if m in sys.modules)))"
)

ENV = {
    "PICGRAPH_TABLE_NAME": "bench",
    "PICGRAPH_BUCKET_NAME": "bench",
    "PICGRAPH_JWT_SECRET": "bench-secret-0123456789-abcdefghijkl",
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x",
    "AWS_REGION": "us-east-1",
    "PATH": "/usr/bin:/bin",
}


def fresh_python(code: str) -> str:
    """Run code in a new interpreter, as a new Lambda container would; its stdout."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=ENV, check=True
    ).stdout


def timed(code: str) -> float:
    wrapper = f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)"
    samples = [float(fresh_python(wrapper).strip().splitlines()[-1]) for _ in range(RUNS)]
    return statistics.median(samples)


def main() -> None:
    print(f"cold-start figures, median of {RUNS} fresh interpreters ({sys.version.split()[0]}):")
    for label, code in PROBES.items():
        print(f"  {timed(code) * 1000:7.0f} ms  {label}")
    loaded = fresh_python(MODULES_PROBE)
    print(f"  heavy modules loaded by the handler import + wiring: {json.loads(loaded)}")


if __name__ == "__main__":
    main()
