data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  function_name = "${var.name_prefix}-graphql"
  table_name    = "${var.name_prefix}-images"
  # Bucket names are global: the account id and region make the default unique.
  bucket_name = coalesce(var.bucket_name, "${var.name_prefix}-images-${local.account_id}-${var.region}")

  lambda_package_path = coalesce(var.lambda_package_path, "${path.module}/../dist/picgraph-lambda.zip")
  graphql_schema_path = "${path.module}/../schema.graphql"

  # The HTTP API's JWT authorizer verifies tokens before the Lambda runs; the
  # function then trusts the verified claims ("upstream"). Without an issuer the
  # function verifies the HS256 bearer token itself ("jwt").
  use_jwt_authorizer = var.jwt_issuer != null
  auth_mode          = local.use_jwt_authorizer ? "upstream" : "jwt"

  # What the triggers invoke: the alias "live" with SnapStart, else the function.
  lambda_qualifier  = var.lambda_snapstart ? aws_lambda_alias.live[0].name : null
  lambda_target_arn = var.lambda_snapstart ? aws_lambda_alias.live[0].arn : aws_lambda_function.graphql.arn
  lambda_invoke_arn = var.lambda_snapstart ? aws_lambda_alias.live[0].invoke_arn : aws_lambda_function.graphql.invoke_arn

  # S3 key prefixes the code writes (infra/keys.py): staging uploads (clients
  # POST here through presigned POSTs), originals, renditions.
  s3_prefixes = {
    uploads    = "uploads/"
    images     = "images/"
    thumbnails = "thumbnails/"
  }

  # Root fields AppSync routes to the Lambda (direct Lambda resolvers). Must list
  # every Query and Mutation field of schema.graphql (checked by the unit tests).
  appsync_resolver_fields = [
    "Query.node",
    "Query.image",
    "Query.images",
    "Mutation.createImageUpload",
    "Mutation.completeImageUpload",
    "Mutation.updateImage",
    "Mutation.deleteImage",
    "Mutation.restoreImage",
  ]

  # Everything the code reads from its environment (infra/settings.py), as
  # strings. AWS_REGION is reserved by Lambda and set by it.
  lambda_environment = {
    PICGRAPH_TABLE_NAME               = aws_dynamodb_table.images.name
    PICGRAPH_BUCKET_NAME              = aws_s3_bucket.images.id
    PICGRAPH_AUTH_MODE                = local.auth_mode
    PICGRAPH_JWT_SECRET               = var.jwt_secret == null ? "" : var.jwt_secret
    PICGRAPH_CURSOR_SECRET            = coalesce(var.cursor_secret, random_password.cursor_secret.result)
    PICGRAPH_PUBLIC_S3_ENDPOINT       = var.public_s3_endpoint
    PICGRAPH_MAX_UPLOAD_BYTES         = tostring(var.max_upload_bytes)
    PICGRAPH_MAX_PIXELS               = tostring(var.max_pixels)
    PICGRAPH_MAX_WEBP_PIXELS          = tostring(var.max_webp_pixels)
    PICGRAPH_UPLOAD_URL_SECONDS       = tostring(var.upload_url_seconds)
    PICGRAPH_DOWNLOAD_URL_SECONDS     = tostring(var.download_url_seconds)
    PICGRAPH_URL_WINDOW_SECONDS       = tostring(var.url_window_seconds)
    PICGRAPH_PROCESSING_LEASE_SECONDS = tostring(var.processing_lease_seconds)
    PICGRAPH_PENDING_UPLOAD_HOURS     = tostring(var.pending_upload_hours)
    PICGRAPH_REJECTED_RETENTION_HOURS = tostring(var.rejected_retention_hours)
    PICGRAPH_DELETE_RETENTION_DAYS    = tostring(var.delete_retention_days)
    PICGRAPH_INTROSPECTION            = tostring(var.introspection_enabled)
    PICGRAPH_MAX_QUERY_DEPTH          = tostring(var.graphql_limits.max_query_depth)
    PICGRAPH_MAX_ALIASES              = tostring(var.graphql_limits.max_aliases)
    PICGRAPH_MAX_TOKENS               = tostring(var.graphql_limits.max_tokens)
    PICGRAPH_MAX_QUERY_COST           = tostring(var.max_query_cost)
    PICGRAPH_LOG_LEVEL                = var.log_level
    PICGRAPH_CLEANUP_SHARDS           = tostring(var.cleanup_shards)
    PICGRAPH_QUOTA_PENDING_UPLOADS    = tostring(var.quota_pending_uploads)
    PICGRAPH_QUOTA_UPLOADS_PER_DAY    = tostring(var.quota_uploads_per_day)
    PICGRAPH_QUOTA_BYTES_PER_DAY      = tostring(var.quota_bytes_per_day)
    PICGRAPH_COUNTER_SHARDS           = tostring(var.counter_shards)
    PICGRAPH_OWNER_COUNTER_SHARDS     = tostring(var.owner_counter_shards)
    PICGRAPH_FEED_SHARDS              = tostring(var.feed_shards)
    PICGRAPH_HOT_TAG_SHARDS           = tostring(var.hot_tag_shards)
    PICGRAPH_HOT_TAGS                 = join(",", var.hot_tags)

    PICGRAPH_MAX_TOKEN_LIFETIME_SECONDS = tostring(var.max_token_lifetime_seconds)

    # CloudFront (cdn.tf); empty = unset: rendition URLs are presigned S3 URLs.
    PICGRAPH_CDN_URL                    = var.cdn_enabled ? "https://${aws_cloudfront_distribution.cdn[0].domain_name}" : ""
    PICGRAPH_CDN_KEY_PAIR_ID            = join("", aws_cloudfront_public_key.signer[*].id)
    PICGRAPH_CDN_PRIVATE_KEY_SECRET_ARN = local.cdn_signed && var.cdn_private_key_secret_arn != null ? var.cdn_private_key_secret_arn : ""
    PICGRAPH_CDN_PUBLIC                 = tostring(var.cdn_enabled && var.cdn_public_renditions)
  }
}
