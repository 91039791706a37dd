# The one function: GraphQL over HTTP (API Gateway HTTP API v2 or a function
# URL, both payload format 2.0), AppSync direct Lambda resolvers, S3
# ObjectCreated events for uploads/, and the scheduled cleanup.

resource "aws_cloudwatch_log_group" "lambda" {
  #checkov:skip=CKV_AWS_158:Log encryption with a customer managed key is opt-in through var.kms_key_arn; CloudWatch Logs encrypts at rest by default.
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days (30 by default): the function logs request ids and errors, not data that must be kept for a year.
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# Signs pagination cursors unless var.cursor_secret is given (it lives in the
# Terraform state, which must be protected anyway: it holds jwt_secret too).
resource "random_password" "cursor_secret" {
  length  = 48
  special = false
}

resource "aws_lambda_function" "graphql" {
  #checkov:skip=CKV_AWS_50:X-Ray tracing is opt-in (var.lambda_tracing_enabled); it costs per trace and needs the X-Ray managed policy.
  #checkov:skip=CKV_AWS_116:No DLQ: a failed upload event is retried twice by Lambda, then recovered by completeImageUpload (the client's call) or purged by the scheduled cleanup; nothing is lost for good.
  #checkov:skip=CKV_AWS_117:Runs outside a VPC: it reaches only DynamoDB and S3 over their public, IAM-authenticated TLS endpoints; a VPC would add NAT or endpoints for nothing.
  #checkov:skip=CKV_AWS_173:Lambda encrypts environment variables at rest with an AWS managed key; a customer managed key is opt-in through var.kms_key_arn.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile; the zip is built reproducibly by scripts/build_lambda_package.py and pinned by source_code_hash.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is opt-in (var.lambda_reserved_concurrency): reserving it takes capacity from the account's shared pool.
  function_name = local.function_name
  description   = "picgraph: GraphQL API, upload processing and cleanup"
  role          = aws_iam_role.lambda.arn
  handler       = "resolvers.lambda_handler.handler"
  runtime       = var.python_runtime
  architectures = [var.lambda_architecture]

  filename         = local.lambda_package_path
  source_code_hash = filebase64sha256(local.lambda_package_path)

  # SnapStart snapshots published versions only: publish one per change.
  publish = var.lambda_snapstart

  memory_size                    = var.lambda_memory_mb
  timeout                        = var.lambda_timeout_seconds
  reserved_concurrent_executions = var.lambda_reserved_concurrency == null ? -1 : var.lambda_reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = local.lambda_environment
  }

  tracing_config {
    mode = var.lambda_tracing_enabled ? "Active" : "PassThrough"
  }

  dynamic "snap_start" {
    for_each = var.lambda_snapstart ? ["PublishedVersions"] : []
    content {
      apply_on = snap_start.value
    }
  }

  lifecycle {
    precondition {
      condition     = local.auth_mode == "upstream" || var.jwt_secret != null
      error_message = "Set jwt_secret (the function verifies bearer tokens itself) or jwt_issuer and jwt_audience (API Gateway verifies them)."
    }
    precondition {
      condition     = !local.use_jwt_authorizer || length(var.jwt_audience) > 0
      error_message = "jwt_issuer needs at least one jwt_audience (the client ids tokens are issued to)."
    }
    precondition {
      condition     = !local.use_jwt_authorizer || var.http_frontend != "function_url"
      error_message = "A function URL has no JWT authorizer: with jwt_issuer set, use http_frontend = \"api_gateway\" (or \"none\")."
    }
    precondition {
      condition     = !var.lambda_snapstart || var.python_runtime != "python3.11"
      error_message = "lambda_snapstart needs python_runtime python3.12 or later: Lambda offers SnapStart for Python from 3.12 on."
    }
    precondition {
      condition     = var.processing_lease_seconds > var.lambda_timeout_seconds
      error_message = "processing_lease_seconds must exceed lambda_timeout_seconds, or a second invocation could take over an image still being processed."
    }
  }

  # The log group must exist (with its retention) before the first invocation
  # creates it with none.
  depends_on = [
    aws_cloudwatch_log_group.lambda,
    aws_iam_role_policy.lambda,
  ]
}

# With SnapStart every trigger invokes this alias: it follows the version each
# apply publishes, so clients never reach $LATEST (which SnapStart does not cover).
resource "aws_lambda_alias" "live" {
  count            = var.lambda_snapstart ? 1 : 0
  name             = "live"
  description      = "The published version every trigger invokes (SnapStart)."
  function_name    = aws_lambda_function.graphql.function_name
  function_version = aws_lambda_function.graphql.version
}

# S3 and EventBridge invoke asynchronously: two retries, then give up (see the
# CKV_AWS_116 note above); an event older than an hour is stale anyway.
resource "aws_lambda_function_event_invoke_config" "graphql" {
  function_name                = aws_lambda_function.graphql.function_name
  qualifier                    = local.lambda_qualifier
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

resource "aws_lambda_permission" "s3" {
  statement_id   = "AllowS3UploadEvents"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.graphql.function_name
  qualifier      = local.lambda_qualifier
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.images.arn
  source_account = local.account_id
}
