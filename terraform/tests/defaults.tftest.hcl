# The default stack: HTTP API without a JWT authorizer (the function verifies HS256
# tokens), no AppSync, no SnapStart, no CDN. Applied against mocked providers: no
# account, no credentials; the same file runs with the real hashicorp/aws.
#
# Sets and lists: the real provider has sets where the offline stand-ins have lists
# (GSIs, attributes, CORS origins, actions...), so assertions compare with toset(),
# sort() or one(), never by index, and mean the same with either.

mock_provider "aws" {
  source = "./tests/mocks"
}

mock_provider "random" {}

variables {
  lambda_package_path = "tests/fixtures/lambda.zip"
  jwt_secret          = "tftest-secret-0123456789abcdef0123456789"
}

run "table_keys_indexes_and_ttl" {
  command = apply

  assert {
    condition     = aws_dynamodb_table.images.name == "picgraph-images"
    error_message = "table name must be NAME_PREFIX-images"
  }

  assert {
    condition     = aws_dynamodb_table.images.hash_key == "PK" && aws_dynamodb_table.images.range_key == "SK"
    error_message = "table keys must be PK/SK (infra/keys.py)"
  }

  assert {
    condition = sort([for a in aws_dynamodb_table.images.attribute : "${a.name}:${a.type}"]) == tolist([
      "GSI1PK:S", "GSI1SK:S", "GSI2PK:S", "GSI2SK:S", "GSI3PK:S", "GSI3SK:S", "PK:S", "SK:S",
    ])
    error_message = "table attributes must be the eight string keys of the table and its indexes"
  }

  assert {
    condition = sort([for i in aws_dynamodb_table.images.global_secondary_index : "${i.name}:${i.hash_key}:${i.range_key}:${i.projection_type}"]) == tolist([
      "GSI1:GSI1PK:GSI1SK:ALL", "GSI2:GSI2PK:GSI2SK:ALL", "GSI3:GSI3PK:GSI3SK:ALL",
    ])
    error_message = "GSI1-3 must be keyed GSInPK/GSInSK and project ALL"
  }

  assert {
    condition     = one(aws_dynamodb_table.images.ttl).attribute_name == "expiresAt" && one(aws_dynamodb_table.images.ttl).enabled
    error_message = "TTL must be on expiresAt"
  }

  assert {
    condition     = aws_dynamodb_table.images.billing_mode == "PAY_PER_REQUEST" && aws_dynamodb_table.images.deletion_protection_enabled
    error_message = "on demand, deletion protection on by default"
  }

  assert {
    condition     = one(aws_dynamodb_table.images.point_in_time_recovery).enabled && one(aws_dynamodb_table.images.server_side_encryption).enabled
    error_message = "point-in-time recovery and SSE on by default"
  }
}

run "function_and_environment" {
  command = apply

  assert {
    condition     = aws_lambda_function.graphql.function_name == "picgraph-graphql" && aws_lambda_function.graphql.handler == "resolvers.lambda_handler.handler"
    error_message = "function name or handler"
  }

  assert {
    condition     = aws_lambda_function.graphql.runtime == "python3.12" && aws_lambda_function.graphql.architectures == tolist(["arm64"])
    error_message = "python3.12 on arm64 by default (make package builds that)"
  }

  assert {
    condition     = aws_lambda_function.graphql.memory_size == 1769 && aws_lambda_function.graphql.timeout == 60
    error_message = "memory 1769 MB, timeout 60 s by default"
  }

  assert {
    condition     = aws_lambda_function.graphql.source_code_hash == filebase64sha256("tests/fixtures/lambda.zip")
    error_message = "the code hash must follow the package file"
  }

  assert {
    condition = toset(keys(nonsensitive(one(aws_lambda_function.graphql.environment).variables))) == toset([
      "PICGRAPH_TABLE_NAME", "PICGRAPH_BUCKET_NAME", "PICGRAPH_AUTH_MODE", "PICGRAPH_JWT_SECRET",
      "PICGRAPH_CURSOR_SECRET", "PICGRAPH_PUBLIC_S3_ENDPOINT", "PICGRAPH_MAX_UPLOAD_BYTES",
      "PICGRAPH_MAX_PIXELS", "PICGRAPH_MAX_WEBP_PIXELS", "PICGRAPH_UPLOAD_URL_SECONDS",
      "PICGRAPH_DOWNLOAD_URL_SECONDS", "PICGRAPH_URL_WINDOW_SECONDS",
      "PICGRAPH_PROCESSING_LEASE_SECONDS", "PICGRAPH_PENDING_UPLOAD_HOURS",
      "PICGRAPH_REJECTED_RETENTION_HOURS", "PICGRAPH_DELETE_RETENTION_DAYS",
      "PICGRAPH_INTROSPECTION", "PICGRAPH_MAX_QUERY_DEPTH", "PICGRAPH_MAX_ALIASES",
      "PICGRAPH_MAX_TOKENS", "PICGRAPH_MAX_QUERY_COST", "PICGRAPH_MAX_TOKEN_LIFETIME_SECONDS",
      "PICGRAPH_LOG_LEVEL", "PICGRAPH_CDN_URL", "PICGRAPH_CDN_KEY_PAIR_ID",
      "PICGRAPH_CDN_PRIVATE_KEY_SECRET_ARN", "PICGRAPH_CDN_PUBLIC", "PICGRAPH_CLEANUP_SHARDS",
      "PICGRAPH_QUOTA_PENDING_UPLOADS", "PICGRAPH_QUOTA_UPLOADS_PER_DAY",
      "PICGRAPH_QUOTA_BYTES_PER_DAY",
      "PICGRAPH_COUNTER_SHARDS", "PICGRAPH_OWNER_COUNTER_SHARDS",
      "PICGRAPH_FEED_SHARDS", "PICGRAPH_HOT_TAG_SHARDS", "PICGRAPH_HOT_TAGS",
    ])
    error_message = "the function's environment must be exactly the PICGRAPH_* settings (and nothing Lambda reserves)"
  }

  assert {
    condition = (
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_TABLE_NAME"] == aws_dynamodb_table.images.name &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_BUCKET_NAME"] == aws_s3_bucket.images.id &&
      aws_s3_bucket.images.bucket == "picgraph-images-123456789012-us-east-1"
    )
    error_message = "table and bucket names must reach the function; the bucket is NAME_PREFIX-images-ACCOUNT-REGION"
  }

  assert {
    condition = nonsensitive(
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_AUTH_MODE"] == "jwt" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_JWT_SECRET"] == var.jwt_secret &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_CURSOR_SECRET"] == random_password.cursor_secret.result
    )
    error_message = "without jwt_issuer the function verifies tokens itself (jwt) with jwt_secret; cursors get a generated secret"
  }

  assert {
    condition = nonsensitive(
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_MAX_UPLOAD_BYTES"] == "20971520" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_MAX_PIXELS"] == "50000000" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_MAX_WEBP_PIXELS"] == "20000000" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_UPLOAD_URL_SECONDS"] == "900" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_DELETE_RETENTION_DAYS"] == "30" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_INTROSPECTION"] == "true" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_MAX_QUERY_DEPTH"] == "10" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_MAX_QUERY_COST"] == "20000" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_MAX_TOKEN_LIFETIME_SECONDS"] == "86400" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_LOG_LEVEL"] == "INFO" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_CLEANUP_SHARDS"] == "64" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_QUOTA_PENDING_UPLOADS"] == "100" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_QUOTA_UPLOADS_PER_DAY"] == "1000" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_QUOTA_BYTES_PER_DAY"] == "10737418240" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_COUNTER_SHARDS"] == "16" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_OWNER_COUNTER_SHARDS"] == "4" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_FEED_SHARDS"] == "64" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_HOT_TAG_SHARDS"] == "16" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_HOT_TAGS"] == "" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_PUBLIC_S3_ENDPOINT"] == ""
    )
    error_message = "the settings' defaults must reach the function as strings"
  }

  assert {
    condition = nonsensitive(
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_CDN_URL"] == "" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_CDN_KEY_PAIR_ID"] == "" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_CDN_PRIVATE_KEY_SECRET_ARN"] == "" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_CDN_PUBLIC"] == "false"
    )
    error_message = "without the CDN, its settings are empty (presigned S3 URLs)"
  }

  assert {
    condition     = aws_cloudwatch_log_group.lambda.name == "/aws/lambda/picgraph-graphql" && aws_cloudwatch_log_group.lambda.retention_in_days == 30
    error_message = "the function's log group exists before it, with a retention"
  }

  assert {
    condition     = !aws_lambda_function.graphql.publish && length(aws_lambda_function.graphql.snap_start) == 0 && length(aws_lambda_alias.live) == 0
    error_message = "SnapStart is off by default: no published version, no alias"
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.graphql.maximum_retry_attempts == 2 && aws_lambda_function_event_invoke_config.graphql.qualifier == null
    error_message = "asynchronous invocations (S3, schedule): two retries, on the unqualified function"
  }
}

run "upload_notification" {
  command = apply

  assert {
    condition     = length(aws_s3_bucket_notification.images.lambda_function) == 1
    error_message = "one notification target: the function"
  }

  assert {
    condition     = one(aws_s3_bucket_notification.images.lambda_function).filter_prefix == "uploads/" && one(aws_s3_bucket_notification.images.lambda_function).filter_suffix == null
    error_message = "only objects under uploads/ trigger processing"
  }

  assert {
    condition     = toset(one(aws_s3_bucket_notification.images.lambda_function).events) == toset(["s3:ObjectCreated:*"])
    error_message = "every ObjectCreated event (POST, PUT, copy) triggers processing"
  }

  assert {
    condition     = one(aws_s3_bucket_notification.images.lambda_function).lambda_function_arn == aws_lambda_function.graphql.arn
    error_message = "uploads must invoke the function"
  }

  assert {
    condition = (
      aws_lambda_permission.s3.principal == "s3.amazonaws.com" &&
      aws_lambda_permission.s3.source_arn == aws_s3_bucket.images.arn &&
      aws_lambda_permission.s3.source_account == "123456789012" &&
      aws_lambda_permission.s3.qualifier == null
    )
    error_message = "S3 may invoke the function for this bucket of this account only"
  }

  assert {
    condition     = length([for rule in aws_s3_bucket_lifecycle_configuration.images.rule : rule if try(one(rule.filter).prefix == "uploads/" && one(rule.expiration).days == 1, false)]) == 1
    error_message = "abandoned staging uploads expire after a day"
  }
}

run "cleanup_schedule" {
  command = apply

  assert {
    condition     = aws_cloudwatch_event_rule.cleanup.schedule_expression == "rate(1 hour)"
    error_message = "cleanup runs every hour by default"
  }

  assert {
    condition = (
      aws_cloudwatch_event_target.cleanup.arn == aws_lambda_function.graphql.arn &&
      aws_cloudwatch_event_target.cleanup.rule == aws_cloudwatch_event_rule.cleanup.name &&
      aws_cloudwatch_event_target.cleanup.input == null &&
      aws_cloudwatch_event_target.cleanup.input_path == null
    )
    error_message = "the schedule invokes the function with the unmodified Scheduled Event"
  }

  assert {
    condition     = aws_lambda_permission.events.principal == "events.amazonaws.com" && aws_lambda_permission.events.source_arn == aws_cloudwatch_event_rule.cleanup.arn
    error_message = "EventBridge may invoke the function for this rule only"
  }
}

run "cleanup_schedule_is_configurable" {
  command = plan

  variables {
    cleanup_schedule = "cron(15 3 * * ? *)"
  }

  assert {
    condition     = aws_cloudwatch_event_rule.cleanup.schedule_expression == "cron(15 3 * * ? *)"
    error_message = "cleanup_schedule must reach the rule"
  }
}

run "cors_origins" {
  command = apply

  variables {
    cors_allowed_origins = ["https://app.example.com", "http://localhost:5173"]
  }

  assert {
    condition     = toset(one(aws_apigatewayv2_api.http[0].cors_configuration).allow_origins) == toset(["https://app.example.com", "http://localhost:5173"])
    error_message = "the HTTP API must allow exactly cors_allowed_origins"
  }

  assert {
    condition     = toset(one(aws_apigatewayv2_api.http[0].cors_configuration).allow_headers) == toset(["authorization", "content-type"])
    error_message = "browsers send Authorization and Content-Type"
  }

  assert {
    condition     = toset(one(aws_s3_bucket_cors_configuration.images.cors_rule).allowed_origins) == toset(["https://app.example.com", "http://localhost:5173"])
    error_message = "the bucket must allow exactly cors_allowed_origins (presigned POST uploads, GETs)"
  }

  assert {
    condition     = toset(one(aws_s3_bucket_cors_configuration.images.cors_rule).allowed_methods) == toset(["POST", "GET", "HEAD"])
    error_message = "the bucket allows POST (uploads), GET and HEAD, nothing else"
  }
}

run "execution_role_is_scoped" {
  command = apply

  assert {
    condition = toset([for s in data.aws_iam_policy_document.lambda.statement : s.sid]) == toset([
      "TableItems", "TableQueries", "ImageObjects", "NotFoundInsteadOfForbidden", "OwnLogs",
    ])
    error_message = "by default (no KMS key, no CDN) the role has exactly these statements"
  }

  assert {
    condition = alltrue(flatten([
      for s in data.aws_iam_policy_document.lambda.statement : [
        for r in s.resources : contains(concat(
          [aws_dynamodb_table.images.arn],
          [for i in ["GSI1", "GSI2", "GSI3"] : "${aws_dynamodb_table.images.arn}/index/${i}"],
          [aws_s3_bucket.images.arn],
          [for p in ["uploads/", "images/", "thumbnails/"] : "${aws_s3_bucket.images.arn}/${p}*"],
          ["${aws_cloudwatch_log_group.lambda.arn}:*"],
        ), r)
      ]
    ]))
    error_message = "every statement names only this table, its indexes, the bucket's prefixes and the function's log group"
  }

  assert {
    condition = (
      toset({ for s in data.aws_iam_policy_document.lambda.statement : s.sid => s }["TableItems"].resources) == toset([aws_dynamodb_table.images.arn]) &&
      toset({ for s in data.aws_iam_policy_document.lambda.statement : s.sid => s }["TableQueries"].resources) == toset(concat(
        [aws_dynamodb_table.images.arn],
        [for i in ["GSI1", "GSI2", "GSI3"] : "${aws_dynamodb_table.images.arn}/index/${i}"],
      ))
    )
    error_message = "item actions on the table only; Query on the table and its three indexes"
  }

  assert {
    condition = toset({ for s in data.aws_iam_policy_document.lambda.statement : s.sid => s }["ImageObjects"].resources) == toset([
      "${aws_s3_bucket.images.arn}/uploads/*", "${aws_s3_bucket.images.arn}/images/*", "${aws_s3_bucket.images.arn}/thumbnails/*",
    ])
    error_message = "object actions on the three prefixes the code writes, not the whole bucket"
  }

  assert {
    condition = (
      toset({ for s in data.aws_iam_policy_document.lambda.statement : s.sid => s }["NotFoundInsteadOfForbidden"].actions) == toset(["s3:ListBucket"]) &&
      toset(one({ for s in data.aws_iam_policy_document.lambda.statement : s.sid => s }["NotFoundInsteadOfForbidden"].condition).values) == toset(["uploads/*", "images/*", "thumbnails/*"])
    )
    error_message = "ListBucket only, limited to the prefixes"
  }

  assert {
    condition = alltrue(flatten([
      for s in data.aws_iam_policy_document.lambda.statement : [
        for a in s.actions : !strcontains(a, "*")
      ]
    ])) && alltrue([for s in data.aws_iam_policy_document.lambda.statement : s.effect == null || s.effect == "Allow"])
    error_message = "no wildcard actions, no Deny tricks"
  }

  assert {
    condition     = length(aws_iam_role_policy_attachment.lambda_xray) == 0 && aws_iam_role_policy.lambda.role == aws_iam_role.lambda.id
    error_message = "one inline policy; X-Ray only when tracing is on"
  }
}

run "http_api_routes_without_authorizer" {
  command = apply

  assert {
    condition     = aws_apigatewayv2_api.http[0].protocol_type == "HTTP" && length(aws_lambda_function_url.graphql) == 0
    error_message = "the default front door is an HTTP API, no function URL"
  }

  assert {
    condition     = toset(keys(aws_apigatewayv2_route.graphql)) == toset(["GET /graphql", "POST /graphql"])
    error_message = "routes GET and POST /graphql"
  }

  assert {
    condition = alltrue([
      for route in aws_apigatewayv2_route.graphql :
      route.authorization_type == "NONE" && route.authorizer_id == null && route.target == "integrations/${aws_apigatewayv2_integration.lambda[0].id}"
    ])
    error_message = "without jwt_issuer the routes are open (the function verifies tokens) and go to the Lambda integration"
  }

  assert {
    condition     = length(aws_apigatewayv2_authorizer.jwt) == 0
    error_message = "no JWT authorizer without jwt_issuer"
  }

  assert {
    condition = (
      aws_apigatewayv2_integration.lambda[0].integration_uri == aws_lambda_function.graphql.invoke_arn &&
      aws_apigatewayv2_integration.lambda[0].payload_format_version == "2.0" &&
      aws_apigatewayv2_integration.lambda[0].integration_type == "AWS_PROXY"
    )
    error_message = "AWS_PROXY integration, payload 2.0, to the function"
  }

  assert {
    condition     = aws_apigatewayv2_stage.default[0].name == "$default" && aws_apigatewayv2_stage.default[0].auto_deploy
    error_message = "one auto-deployed $default stage"
  }

  assert {
    condition     = one(aws_apigatewayv2_stage.default[0].access_log_settings).destination_arn == aws_cloudwatch_log_group.api_access[0].arn
    error_message = "access logs go to the API's log group"
  }

  assert {
    condition = (
      aws_lambda_permission.api_gateway[0].principal == "apigateway.amazonaws.com" &&
      aws_lambda_permission.api_gateway[0].source_arn == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/*/graphql"
    )
    error_message = "API Gateway may invoke the function for /graphql of this API only"
  }

  assert {
    condition     = output.graphql_url == "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/graphql"
    error_message = "graphql_url is the stage URL + /graphql"
  }

  assert {
    condition     = output.appsync_graphql_url == null && output.function_alias_arn == null && output.cdn_domain_name == null
    error_message = "AppSync, SnapStart and the CDN are off by default"
  }
}
