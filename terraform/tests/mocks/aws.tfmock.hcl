# Values for what AWS would compute, shaped like AWS's own (account 123456789012,
# us-east-1, default names), so that the real provider's plan-time validation (ARNs,
# policy JSON) accepts them too: these tests run unchanged with hashicorp/aws.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
    user_id    = "AIDATERRAFORMTEST"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

# The documents' own arguments (statements) stay as configured; only the rendered JSON
# is mocked, as a valid policy.
mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Mocked\",\"Effect\":\"Deny\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::mocked/*\"}]}"
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    id  = "picgraph-images"
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/picgraph-images"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    id                          = "picgraph-images-123456789012-us-east-1"
    arn                         = "arn:aws:s3:::picgraph-images-123456789012-us-east-1"
    bucket_regional_domain_name = "picgraph-images-123456789012-us-east-1.s3.us-east-1.amazonaws.com"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/picgraph-graphql-exec"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/picgraph-graphql"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn           = "arn:aws:lambda:us-east-1:123456789012:function:picgraph-graphql"
    qualified_arn = "arn:aws:lambda:us-east-1:123456789012:function:picgraph-graphql:7"
    invoke_arn    = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:picgraph-graphql/invocations"
    version       = "7"
  }
}

mock_resource "aws_lambda_alias" {
  defaults = {
    arn        = "arn:aws:lambda:us-east-1:123456789012:function:picgraph-graphql:live"
    invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:picgraph-graphql:live/invocations"
  }
}

mock_resource "aws_lambda_function_url" {
  defaults = {
    function_url = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/"
  }
}

mock_resource "aws_cloudwatch_event_rule" {
  defaults = {
    arn = "arn:aws:events:us-east-1:123456789012:rule/picgraph-cleanup"
  }
}

mock_resource "aws_apigatewayv2_api" {
  defaults = {
    id            = "a1b2c3d4e5"
    api_endpoint  = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    execution_arn = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5"
  }
}

mock_resource "aws_apigatewayv2_stage" {
  defaults = {
    invoke_url = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/"
  }
}

mock_resource "aws_appsync_graphql_api" {
  defaults = {
    id   = "abcdefghijklmnopqrstuvwxyz"
    arn  = "arn:aws:appsync:us-east-1:123456789012:apis/abcdefghijklmnopqrstuvwxyz"
    uris = { GRAPHQL = "https://abcdefghijklmnopqrstuvwxyz.appsync-api.us-east-1.amazonaws.com/graphql" }
  }
}

mock_resource "aws_cloudfront_distribution" {
  defaults = {
    id          = "E2QWRUHEXAMPLE"
    arn         = "arn:aws:cloudfront::123456789012:distribution/E2QWRUHEXAMPLE"
    domain_name = "d111111abcdef8.cloudfront.net"
  }
}

mock_resource "aws_cloudfront_function" {
  defaults = {
    arn = "arn:aws:cloudfront::123456789012:function/picgraph-cdn-refuse"
  }
}

mock_resource "aws_cloudfront_public_key" {
  defaults = {
    id = "K2JCJMDEHXQW5F"
  }
}
