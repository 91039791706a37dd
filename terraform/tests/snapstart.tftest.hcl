# lambda_snapstart: a published version with SnapStart, the alias "live" on it, and
# every trigger (HTTP API, function URL, AppSync, S3, schedule) invoking the alias.

mock_provider "aws" {
  source = "./tests/mocks"
}

mock_provider "random" {}

variables {
  lambda_package_path = "tests/fixtures/lambda.zip"
  lambda_snapstart    = true
}

run "every_trigger_invokes_the_alias" {
  command = apply

  variables {
    create_appsync_api = true
    jwt_issuer         = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
    jwt_audience       = ["client-one"]
  }

  assert {
    condition     = aws_lambda_function.graphql.publish && one(aws_lambda_function.graphql.snap_start).apply_on == "PublishedVersions"
    error_message = "SnapStart needs a published version on every change"
  }

  assert {
    condition = (
      aws_lambda_alias.live[0].name == "live" &&
      aws_lambda_alias.live[0].function_name == aws_lambda_function.graphql.function_name &&
      aws_lambda_alias.live[0].function_version == aws_lambda_function.graphql.version
    )
    error_message = "the alias live follows the version this apply published"
  }

  assert {
    condition = (
      aws_apigatewayv2_integration.lambda[0].integration_uri == aws_lambda_alias.live[0].invoke_arn &&
      aws_lambda_permission.api_gateway[0].qualifier == "live"
    )
    error_message = "the HTTP API invokes the alias, and may"
  }

  assert {
    condition = (
      one(aws_appsync_datasource.lambda[0].lambda_config).function_arn == aws_lambda_alias.live[0].arn &&
      toset(one(data.aws_iam_policy_document.appsync_invoke.statement).resources) == toset([aws_lambda_alias.live[0].arn])
    )
    error_message = "AppSync invokes the alias, and may invoke nothing else"
  }

  assert {
    condition = (
      one(aws_s3_bucket_notification.images.lambda_function).lambda_function_arn == aws_lambda_alias.live[0].arn &&
      aws_lambda_permission.s3.qualifier == "live"
    )
    error_message = "upload events invoke the alias, and may"
  }

  assert {
    condition     = aws_cloudwatch_event_target.cleanup.arn == aws_lambda_alias.live[0].arn && aws_lambda_permission.events.qualifier == "live"
    error_message = "the cleanup schedule invokes the alias, and may"
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.graphql.qualifier == "live"
    error_message = "the asynchronous retry policy applies to the alias the events invoke"
  }

  assert {
    condition     = output.function_alias_arn == aws_lambda_alias.live[0].arn && output.function_version == aws_lambda_function.graphql.version
    error_message = "function_alias_arn and function_version outputs"
  }
}

run "function_url_on_the_alias" {
  command = apply

  variables {
    http_frontend = "function_url"
    jwt_secret    = "tftest-secret-0123456789abcdef0123456789"
  }

  assert {
    condition = (
      aws_lambda_function_url.graphql[0].qualifier == "live" &&
      aws_lambda_permission.function_url[0].qualifier == "live"
    )
    error_message = "the function URL belongs to the alias (and its public grant too)"
  }
}

run "snapstart_needs_python_3_12" {
  command = plan

  variables {
    python_runtime = "python3.11"
    jwt_secret     = "tftest-secret-0123456789abcdef0123456789"
  }

  expect_failures = [aws_lambda_function.graphql]
}

run "python_3_13_is_fine" {
  command = plan

  variables {
    python_runtime = "python3.13"
    jwt_secret     = "tftest-secret-0123456789abcdef0123456789"
  }

  assert {
    condition     = aws_lambda_function.graphql.runtime == "python3.13" && one(aws_lambda_function.graphql.snap_start).apply_on == "PublishedVersions"
    error_message = "SnapStart on python3.13"
  }
}
