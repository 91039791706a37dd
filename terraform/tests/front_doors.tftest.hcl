# The other front doors: a Lambda function URL (LocalStack community, which has no API
# Gateway v2), the HTTP API with a JWT authorizer, AppSync, and none at all.

mock_provider "aws" {
  source = "./tests/mocks"
}

mock_provider "random" {}

variables {
  lambda_package_path = "tests/fixtures/lambda.zip"
}

# What docs/deploy.md tells LocalStack users to put in .picgraph/localstack.tfvars.
run "function_url_for_localstack_community" {
  command = apply

  variables {
    http_frontend          = "function_url"
    lambda_architecture    = "x86_64"
    jwt_secret             = "local-development-secret-at-least-32-chars"
    deletion_protection    = false
    point_in_time_recovery = false
    bucket_force_destroy   = true
  }

  assert {
    condition     = length(aws_apigatewayv2_api.http) == 0 && length(aws_apigatewayv2_route.graphql) == 0 && length(aws_lambda_permission.api_gateway) == 0
    error_message = "no API Gateway v2 resources with a function URL (LocalStack community has none)"
  }

  assert {
    condition     = aws_lambda_function_url.graphql[0].authorization_type == "NONE" && aws_lambda_function_url.graphql[0].qualifier == null
    error_message = "the function URL is open (the function verifies tokens) and targets the function"
  }

  assert {
    condition     = toset(one(aws_lambda_function_url.graphql[0].cors).allow_origins) == toset(["http://localhost:3000", "http://127.0.0.1:8000"])
    error_message = "the function URL's CORS allows cors_allowed_origins"
  }

  assert {
    condition = (
      aws_lambda_permission.function_url[0].action == "lambda:InvokeFunctionUrl" &&
      aws_lambda_permission.function_url[0].function_url_auth_type == "NONE"
    )
    error_message = "the public function URL grant is limited to InvokeFunctionUrl with auth type NONE"
  }

  assert {
    condition     = nonsensitive(one(aws_lambda_function.graphql.environment).variables["PICGRAPH_AUTH_MODE"]) == "jwt"
    error_message = "behind a function URL the function verifies tokens itself"
  }

  assert {
    condition     = aws_lambda_function.graphql.architectures == tolist(["x86_64"]) && !aws_dynamodb_table.images.deletion_protection_enabled && aws_s3_bucket.images.force_destroy
    error_message = "the LocalStack settings reach the resources"
  }

  assert {
    condition     = output.graphql_url == "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/graphql"
    error_message = "graphql_url is the function URL + /graphql"
  }
}

run "http_api_with_jwt_authorizer" {
  command = apply

  variables {
    jwt_issuer   = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
    jwt_audience = ["client-one", "client-two"]
  }

  assert {
    condition = (
      aws_apigatewayv2_authorizer.jwt[0].authorizer_type == "JWT" &&
      toset(aws_apigatewayv2_authorizer.jwt[0].identity_sources) == toset(["$request.header.Authorization"])
    )
    error_message = "a JWT authorizer reading the Authorization header"
  }

  assert {
    condition = (
      one(aws_apigatewayv2_authorizer.jwt[0].jwt_configuration).issuer == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example" &&
      toset(one(aws_apigatewayv2_authorizer.jwt[0].jwt_configuration).audience) == toset(["client-one", "client-two"])
    )
    error_message = "the authorizer checks jwt_issuer and jwt_audience"
  }

  assert {
    condition = alltrue([
      for route in aws_apigatewayv2_route.graphql :
      route.authorization_type == "JWT" && route.authorizer_id == aws_apigatewayv2_authorizer.jwt[0].id
    ]) && length(aws_apigatewayv2_route.graphql) == 2
    error_message = "both /graphql routes require the JWT authorizer"
  }

  assert {
    condition = nonsensitive(
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_AUTH_MODE"] == "upstream" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_JWT_SECRET"] == ""
    )
    error_message = "behind the authorizer the function trusts the verified claims (upstream) and needs no secret"
  }

  assert {
    condition     = output.auth_mode == "upstream"
    error_message = "auth_mode output"
  }
}

run "appsync_on" {
  command = apply

  variables {
    create_appsync_api = true
    jwt_issuer         = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
    jwt_audience       = ["client-one", "client-two"]
  }

  assert {
    condition = (
      aws_appsync_graphql_api.graphql[0].authentication_type == "OPENID_CONNECT" &&
      one(aws_appsync_graphql_api.graphql[0].openid_connect_config).issuer == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example" &&
      one(aws_appsync_graphql_api.graphql[0].openid_connect_config).client_id == "client-one|client-two"
    )
    error_message = "AppSync authenticates with the same OIDC issuer and any configured audience"
  }

  assert {
    condition = (
      !strcontains(aws_appsync_graphql_api.graphql[0].schema, "scalar DateTime") &&
      strcontains(aws_appsync_graphql_api.graphql[0].schema, "AWSDateTime") &&
      length(regexall("(?m)^schema\\s*\\{", aws_appsync_graphql_api.graphql[0].schema)) == 1
    )
    error_message = "AppSync's schema uses AWSDateTime instead of the custom DateTime scalar and has one schema block"
  }

  assert {
    condition     = length(regexall("(?m)^\\s*(scalar|directive)\\s", aws_appsync_graphql_api.graphql[0].schema)) == 0
    error_message = "AppSync rejects custom scalars and directive definitions: schema.graphql gained one that appsync.tf does not translate"
  }

  assert {
    condition = toset(keys(aws_appsync_resolver.root)) == toset([
      "Query.node", "Query.image", "Query.images",
      "Mutation.createImageUpload", "Mutation.completeImageUpload", "Mutation.updateImage",
      "Mutation.deleteImage", "Mutation.restoreImage",
    ])
    error_message = "one direct Lambda resolver per root field"
  }

  assert {
    condition = alltrue([
      for resolver in aws_appsync_resolver.root :
      resolver.kind == "UNIT" && resolver.data_source == aws_appsync_datasource.lambda[0].name && resolver.request_template == null
    ])
    error_message = "direct Lambda resolvers: UNIT, the Lambda data source, no mapping templates"
  }

  assert {
    condition     = aws_appsync_datasource.lambda[0].type == "AWS_LAMBDA" && one(aws_appsync_datasource.lambda[0].lambda_config).function_arn == aws_lambda_function.graphql.arn
    error_message = "the data source is the function"
  }

  assert {
    condition     = toset(one(data.aws_iam_policy_document.appsync_invoke.statement).resources) == toset([aws_lambda_function.graphql.arn])
    error_message = "AppSync may invoke exactly the function"
  }

  assert {
    condition     = output.appsync_graphql_url == "https://abcdefghijklmnopqrstuvwxyz.appsync-api.us-east-1.amazonaws.com/graphql"
    error_message = "appsync_graphql_url output"
  }

  assert {
    condition     = length(aws_apigatewayv2_api.http) == 1
    error_message = "AppSync comes in addition to the HTTP API"
  }
}

run "no_http_front_door" {
  command = plan

  variables {
    http_frontend = "none"
    jwt_secret    = "tftest-secret-0123456789abcdef0123456789"
  }

  assert {
    condition     = length(aws_apigatewayv2_api.http) == 0 && length(aws_lambda_function_url.graphql) == 0 && output.graphql_url == null
    error_message = "http_frontend = none creates no HTTP front door"
  }
}

# Front-door combinations the configuration refuses (lifecycle preconditions).
run "function_url_cannot_use_a_jwt_authorizer" {
  command = plan

  variables {
    http_frontend = "function_url"
    jwt_issuer    = "https://issuer.example.com"
    jwt_audience  = ["client"]
  }

  expect_failures = [aws_lambda_function.graphql]
}

run "jwt_issuer_needs_an_audience" {
  command = plan

  variables {
    jwt_issuer = "https://issuer.example.com"
  }

  expect_failures = [aws_lambda_function.graphql]
}

run "function_verified_tokens_need_a_secret" {
  command = plan

  expect_failures = [aws_lambda_function.graphql]
}

run "lease_must_outlast_the_timeout" {
  command = plan

  variables {
    jwt_secret               = "tftest-secret-0123456789abcdef0123456789"
    lambda_timeout_seconds   = 300
    processing_lease_seconds = 120
  }

  expect_failures = [aws_lambda_function.graphql]
}

run "appsync_needs_an_issuer" {
  command = plan

  variables {
    create_appsync_api = true
    jwt_secret         = "tftest-secret-0123456789abcdef0123456789"
  }

  expect_failures = [aws_appsync_graphql_api.graphql]
}
