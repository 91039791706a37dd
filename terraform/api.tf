# HTTP front door: an API Gateway HTTP API (default), or a Lambda function URL
# (LocalStack community has no API Gateway v2), or none. Both send payload
# format 2.0 events to the same handler.

locals {
  create_http_api     = var.http_frontend == "api_gateway"
  create_function_url = var.http_frontend == "function_url"
  graphql_routes      = ["GET /graphql", "POST /graphql"]
  cors_allow_headers  = ["authorization", "content-type"]
}

resource "aws_apigatewayv2_api" "http" {
  count         = local.create_http_api ? 1 : 0
  name          = "${var.name_prefix}-http"
  description   = "picgraph GraphQL endpoint"
  protocol_type = "HTTP"

  cors_configuration {
    allow_origins = var.cors_allowed_origins
    allow_methods = ["GET", "POST", "OPTIONS"]
    allow_headers = local.cors_allow_headers
    max_age       = 3600
  }
}

resource "aws_apigatewayv2_integration" "lambda" {
  count                  = local.create_http_api ? 1 : 0
  api_id                 = aws_apigatewayv2_api.http[0].id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = local.lambda_invoke_arn
  payload_format_version = "2.0"
  # The HTTP API's maximum; longer requests (large uploads being processed by
  # completeImageUpload) still finish in the function and are seen on retry.
  timeout_milliseconds = 30000
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  count            = local.create_http_api && local.use_jwt_authorizer ? 1 : 0
  api_id           = aws_apigatewayv2_api.http[0].id
  name             = "${var.name_prefix}-jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.jwt_issuer
    audience = var.jwt_audience
  }
}

resource "aws_apigatewayv2_route" "graphql" {
  #checkov:skip=CKV_AWS_309:Without var.jwt_issuer the route is open on purpose: the function verifies the bearer token itself (PICGRAPH_AUTH_MODE=jwt) and answers UNAUTHENTICATED.
  for_each  = local.create_http_api ? toset(local.graphql_routes) : toset([])
  api_id    = aws_apigatewayv2_api.http[0].id
  route_key = each.value
  target    = "integrations/${aws_apigatewayv2_integration.lambda[0].id}"

  authorization_type = local.use_jwt_authorizer ? "JWT" : "NONE"
  authorizer_id      = local.use_jwt_authorizer ? aws_apigatewayv2_authorizer.jwt[0].id : null
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_158:Log encryption with a customer managed key is opt-in through var.kms_key_arn; CloudWatch Logs encrypts at rest by default.
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days (30 by default) for access logs.
  count             = local.create_http_api ? 1 : 0
  name              = "/aws/apigateway/${var.name_prefix}-http"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_apigatewayv2_stage" "default" {
  count       = local.create_http_api ? 1 : 0
  api_id      = aws_apigatewayv2_api.http[0].id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.api_throttling_rate_limit
    throttling_burst_limit = var.api_throttling_burst_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access[0].arn
    format = jsonencode({
      requestId          = "$context.requestId"
      sourceIp           = "$context.identity.sourceIp"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
      authorizerError    = "$context.authorizer.error"
    })
  }
}

resource "aws_lambda_permission" "api_gateway" {
  count         = local.create_http_api ? 1 : 0
  statement_id  = "AllowHttpApiGraphql"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.graphql.function_name
  qualifier     = local.lambda_qualifier
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http[0].execution_arn}/*/*/graphql"
}

# Development front door (LocalStack community). The function verifies tokens
# itself, so it requires PICGRAPH_AUTH_MODE=jwt (enforced in lambda.tf).
resource "aws_lambda_function_url" "graphql" {
  #checkov:skip=CKV_AWS_258:Only with http_frontend = "function_url" (LocalStack, development): the function verifies the bearer token itself.
  count              = local.create_function_url ? 1 : 0
  function_name      = aws_lambda_function.graphql.function_name
  qualifier          = local.lambda_qualifier
  authorization_type = "NONE"

  cors {
    allow_origins = var.cors_allowed_origins
    allow_methods = ["GET", "POST"]
    allow_headers = local.cors_allow_headers
    max_age       = 3600
  }
}

resource "aws_lambda_permission" "function_url" {
  #checkov:skip=CKV_AWS_301:Function URLs with auth type NONE need this public InvokeFunctionUrl grant; the function authenticates every request itself.
  count                  = local.create_function_url ? 1 : 0
  statement_id           = "AllowPublicFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.graphql.function_name
  qualifier              = local.lambda_qualifier
  principal              = "*"
  function_url_auth_type = "NONE"
}
