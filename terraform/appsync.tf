# Optional second front door: AppSync with direct Lambda resolvers (no mapping
# templates) on every root field. Off by default: LocalStack community has no
# AppSync. Authentication is OPENID_CONNECT with the same issuer as the HTTP
# API's JWT authorizer, so the function runs in "upstream" mode for both.

locals {
  # AppSync rejects custom scalar definitions: drop `scalar DateTime` (with its
  # description) and use AppSync's AWSDateTime, which takes the ISO 8601
  # strings the function returns. Add the schema block if the file has none.
  appsync_schema_source = var.create_appsync_api && fileexists(local.graphql_schema_path) ? file(local.graphql_schema_path) : ""
  appsync_schema_scalars = replace(
    replace(
      local.appsync_schema_source,
      "/(\"\"\"(?:[^\"]|\"[^\"]|\"\"[^\"])*\"\"\"\\s*)?scalar DateTime\\b[^\\n]*\\n?/",
      "",
    ),
    "/\\bDateTime\\b/",
    "AWSDateTime",
  )
  appsync_schema = (
    length(regexall("(?m)^schema\\s*\\{", local.appsync_schema_scalars)) > 0
    ? local.appsync_schema_scalars
    : "${local.appsync_schema_scalars}\nschema {\n  query: Query\n  mutation: Mutation\n}\n"
  )
}

resource "aws_appsync_graphql_api" "graphql" {
  #checkov:skip=CKV2_AWS_33:No WAF by default (a web ACL costs per month and per request); attach one with aws_wafv2_web_acl_association when AppSync is public.
  count                = var.create_appsync_api ? 1 : 0
  name                 = "${var.name_prefix}-graphql"
  authentication_type  = "OPENID_CONNECT"
  schema               = local.appsync_schema
  xray_enabled         = var.lambda_tracing_enabled
  introspection_config = var.introspection_enabled ? "ENABLED" : "DISABLED"
  query_depth_limit    = var.graphql_limits.max_query_depth

  openid_connect_config {
    issuer = var.jwt_issuer
    # A regular expression: any of the configured audiences.
    client_id = length(var.jwt_audience) > 0 ? join("|", var.jwt_audience) : null
  }

  log_config {
    cloudwatch_logs_role_arn = aws_iam_role.appsync_logs[0].arn
    field_log_level          = "ERROR"
    exclude_verbose_content  = true
  }

  lifecycle {
    precondition {
      condition     = fileexists(local.graphql_schema_path)
      error_message = "create_appsync_api needs schema.graphql at the repository root (make schema)."
    }
    precondition {
      condition     = var.jwt_issuer != null
      error_message = "create_appsync_api needs jwt_issuer (and jwt_audience): AppSync authenticates with OPENID_CONNECT."
    }
  }
}

data "aws_iam_policy_document" "appsync_assume" {
  statement {
    sid     = "AppSyncAssume"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["appsync.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:appsync:${var.region}:${local.account_id}:apis/*"]
    }
  }
}

resource "aws_iam_role" "appsync_invoke" {
  count              = var.create_appsync_api ? 1 : 0
  name               = "${var.name_prefix}-appsync-invoke"
  description        = "Lets AppSync invoke the picgraph GraphQL function."
  assume_role_policy = data.aws_iam_policy_document.appsync_assume.json
}

data "aws_iam_policy_document" "appsync_invoke" {
  statement {
    sid       = "InvokeGraphqlFunction"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.lambda_target_arn]
  }
}

resource "aws_iam_role_policy" "appsync_invoke" {
  count  = var.create_appsync_api ? 1 : 0
  name   = "invoke-picgraph-function"
  role   = aws_iam_role.appsync_invoke[0].id
  policy = data.aws_iam_policy_document.appsync_invoke.json
}

resource "aws_iam_role" "appsync_logs" {
  count              = var.create_appsync_api ? 1 : 0
  name               = "${var.name_prefix}-appsync-logs"
  description        = "Lets AppSync write the picgraph API's logs."
  assume_role_policy = data.aws_iam_policy_document.appsync_assume.json
}

data "aws_iam_policy_document" "appsync_logs" {
  statement {
    sid = "AppSyncApiLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    # The API id is only known once the API exists (and the API needs this
    # role first), so: any AppSync API log group of this account and region.
    resources = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/appsync/apis/*"]
  }
}

resource "aws_iam_role_policy" "appsync_logs" {
  count  = var.create_appsync_api ? 1 : 0
  name   = "appsync-logs"
  role   = aws_iam_role.appsync_logs[0].id
  policy = data.aws_iam_policy_document.appsync_logs.json
}

resource "aws_appsync_datasource" "lambda" {
  count            = var.create_appsync_api ? 1 : 0
  api_id           = aws_appsync_graphql_api.graphql[0].id
  name             = "picgraph_function"
  type             = "AWS_LAMBDA"
  service_role_arn = aws_iam_role.appsync_invoke[0].arn

  lambda_config {
    function_arn = local.lambda_target_arn
  }

  depends_on = [aws_iam_role_policy.appsync_invoke]
}

# Direct Lambda resolvers: no request/response templates, AppSync sends the
# standard resolver event (arguments, identity, info, source) to the handler.
resource "aws_appsync_resolver" "root" {
  for_each    = var.create_appsync_api ? toset(local.appsync_resolver_fields) : toset([])
  api_id      = aws_appsync_graphql_api.graphql[0].id
  type        = split(".", each.value)[0]
  field       = split(".", each.value)[1]
  kind        = "UNIT"
  data_source = aws_appsync_datasource.lambda[0].name
}
