output "graphql_url" {
  description = "GraphQL endpoint over HTTP (API Gateway HTTP API or function URL); null when http_frontend = \"none\"."
  value = (
    local.create_http_api ? "${trimsuffix(aws_apigatewayv2_stage.default[0].invoke_url, "/")}/graphql"
    : local.create_function_url ? "${trimsuffix(aws_lambda_function_url.graphql[0].function_url, "/")}/graphql"
    : null
  )
}

output "appsync_graphql_url" {
  description = "AppSync GraphQL endpoint; null unless create_appsync_api."
  value       = var.create_appsync_api ? aws_appsync_graphql_api.graphql[0].uris["GRAPHQL"] : null
}

output "bucket_name" {
  description = "S3 bucket of uploads, originals and renditions (PICGRAPH_BUCKET_NAME)."
  value       = aws_s3_bucket.images.id
}

output "table_name" {
  description = "DynamoDB table (PICGRAPH_TABLE_NAME)."
  value       = aws_dynamodb_table.images.name
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.graphql.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.graphql.arn
}

output "function_alias_arn" {
  description = "ARN of the alias \"live\" every trigger invokes (SnapStart); null unless lambda_snapstart."
  value       = var.lambda_snapstart ? aws_lambda_alias.live[0].arn : null
}

output "function_version" {
  description = "Version the alias \"live\" points at (published by this apply); null unless lambda_snapstart."
  value       = var.lambda_snapstart ? aws_lambda_alias.live[0].function_version : null
}

output "cdn_domain_name" {
  description = "Domain name of the CloudFront distribution serving thumbnails/ (d1234.cloudfront.net); null unless cdn_enabled."
  value       = var.cdn_enabled ? aws_cloudfront_distribution.cdn[0].domain_name : null
}

output "cdn_url" {
  description = "PICGRAPH_CDN_URL of the function: https base URL of the distribution; null unless cdn_enabled."
  value       = var.cdn_enabled ? local.lambda_environment.PICGRAPH_CDN_URL : null
}

output "cdn_key_pair_id" {
  description = "CloudFront public key id signed rendition URLs carry (PICGRAPH_CDN_KEY_PAIR_ID); null unless the CDN signs URLs."
  value       = one(aws_cloudfront_public_key.signer[*].id)
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.lambda.name
}

output "auth_mode" {
  description = "PICGRAPH_AUTH_MODE of the function: \"upstream\" when a JWT authorizer verifies tokens, else \"jwt\"."
  value       = local.auth_mode
}
