# expect_failures for every variable validation: each run gives one variable a value its
# validation must refuse (plan only; nothing else in these runs is wrong).
# tests/unit/test_terraform.py checks that every validated variable has a run here.

mock_provider "aws" {
  source = "./tests/mocks"
}

mock_provider "random" {}

variables {
  lambda_package_path = "tests/fixtures/lambda.zip"
  jwt_secret          = "tftest-secret-0123456789abcdef0123456789"
}

run "rejects_region_uppercase" {
  command = plan

  variables {
    region = "US-East-1"
  }

  expect_failures = [var.region]
}

run "rejects_name_prefix_underscore" {
  command = plan

  variables {
    name_prefix = "Picgraph_Prod"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_name_prefix_too_long" {
  command = plan

  variables {
    name_prefix = "picgraph-production-eu"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_python_runtime_too_old" {
  command = plan

  variables {
    python_runtime = "python3.10"
  }

  expect_failures = [var.python_runtime]
}

run "rejects_lambda_architecture_alias" {
  command = plan

  variables {
    lambda_architecture = "aarch64"
  }

  expect_failures = [var.lambda_architecture]
}

run "rejects_lambda_memory_mb_too_small" {
  command = plan

  variables {
    lambda_memory_mb = 128
  }

  expect_failures = [var.lambda_memory_mb]
}

run "rejects_lambda_memory_mb_fraction" {
  command = plan

  variables {
    lambda_memory_mb = 2048.5
  }

  expect_failures = [var.lambda_memory_mb]
}

run "rejects_lambda_timeout_seconds_over_15_minutes" {
  command = plan

  variables {
    lambda_timeout_seconds = 901
  }

  expect_failures = [var.lambda_timeout_seconds]
}

run "rejects_lambda_reserved_concurrency_negative" {
  command = plan

  variables {
    lambda_reserved_concurrency = -1
  }

  expect_failures = [var.lambda_reserved_concurrency]
}

run "rejects_log_retention_days_not_a_cloudwatch_value" {
  command = plan

  variables {
    log_retention_days = 45
  }

  expect_failures = [var.log_retention_days]
}

run "rejects_log_level_unknown" {
  command = plan

  variables {
    log_level = "VERBOSE"
  }

  expect_failures = [var.log_level]
}

run "rejects_cleanup_schedule_not_an_expression" {
  command = plan

  variables {
    cleanup_schedule = "every hour"
  }

  expect_failures = [var.cleanup_schedule]
}

run "rejects_jwt_secret_short" {
  command = plan

  variables {
    jwt_secret = "too-short-for-hs256"
  }

  expect_failures = [var.jwt_secret]
}

run "rejects_cursor_secret_short" {
  command = plan

  variables {
    cursor_secret = "too-short"
  }

  expect_failures = [var.cursor_secret]
}

run "rejects_jwt_issuer_plain_http" {
  command = plan

  variables {
    jwt_issuer = "http://issuer.example.com"
  }

  expect_failures = [var.jwt_issuer]
}

run "rejects_max_upload_bytes_zero" {
  command = plan

  variables {
    max_upload_bytes = 0
  }

  expect_failures = [var.max_upload_bytes]
}

run "rejects_max_pixels_over_the_decoder_limit" {
  command = plan

  variables {
    max_pixels = 100000000
  }

  expect_failures = [var.max_pixels]
}

run "rejects_max_webp_pixels_over_the_decoder_limit" {
  command = plan

  variables {
    max_webp_pixels = 100000000
  }

  expect_failures = [var.max_webp_pixels]
}

run "rejects_max_webp_pixels_fraction" {
  command = plan

  variables {
    max_webp_pixels = 1000000.5
  }

  expect_failures = [var.max_webp_pixels]
}

run "accepts_50_mp_webps_in_the_memory_of_50_mp_of_other_formats" {
  command = plan

  # 5 bytes a WebP pixel: 50 MP WebPs need no more than 50 MP of other formats (663 MB).
  variables {
    lambda_memory_mb = 663
    max_webp_pixels  = 50000000
  }
}

run "rejects_lambda_memory_mb_too_small_for_50_mp_webps" {
  command = plan

  variables {
    lambda_memory_mb = 662
    max_webp_pixels  = 50000000
  }

  expect_failures = [var.lambda_memory_mb]
}

run "rejects_upload_url_seconds_over_15_minutes" {
  command = plan

  variables {
    upload_url_seconds = 3600
  }

  expect_failures = [var.upload_url_seconds]
}

run "rejects_download_url_seconds_under_a_minute" {
  command = plan

  variables {
    download_url_seconds = 30
  }

  expect_failures = [var.download_url_seconds]
}

run "rejects_url_window_seconds_over_three_and_a_half_days" {
  command = plan

  variables {
    url_window_seconds = 302401
  }

  expect_failures = [var.url_window_seconds]
}

run "rejects_max_token_lifetime_seconds_over_30_days" {
  command = plan

  variables {
    max_token_lifetime_seconds = 2678400
  }

  expect_failures = [var.max_token_lifetime_seconds]
}

run "rejects_max_query_cost_too_low" {
  command = plan

  variables {
    max_query_cost = 10
  }

  expect_failures = [var.max_query_cost]
}

run "rejects_counter_shards_above_a_batch_get" {
  command = plan

  variables {
    counter_shards = 101
  }

  expect_failures = [var.counter_shards]
}

run "rejects_owner_counter_shards_zero" {
  command = plan

  variables {
    owner_counter_shards = 0
  }

  expect_failures = [var.owner_counter_shards]
}

run "rejects_cleanup_shards_zero" {
  command = plan

  variables {
    cleanup_shards = 0
  }

  expect_failures = [var.cleanup_shards]
}

run "rejects_feed_shards_zero" {
  command = plan

  variables {
    feed_shards = 0
  }

  expect_failures = [var.feed_shards]
}

run "rejects_hot_tag_shards_zero" {
  command = plan

  variables {
    hot_tag_shards = 0
  }

  expect_failures = [var.hot_tag_shards]
}

run "rejects_hot_tags_with_commas" {
  command = plan

  variables {
    hot_tags = ["love,instagood"]
  }

  expect_failures = [var.hot_tags]
}

run "rejects_quota_pending_uploads_negative" {
  command = plan

  variables {
    quota_pending_uploads = -1
  }

  expect_failures = [var.quota_pending_uploads]
}

run "rejects_quota_uploads_per_day_fractional" {
  command = plan

  variables {
    quota_uploads_per_day = 2.5
  }

  expect_failures = [var.quota_uploads_per_day]
}

run "rejects_quota_bytes_per_day_negative" {
  command = plan

  variables {
    quota_bytes_per_day = -1
  }

  expect_failures = [var.quota_bytes_per_day]
}

run "rejects_quota_bytes_per_day_below_max_upload_bytes" {
  command = plan

  variables {
    quota_bytes_per_day = 1000
  }

  expect_failures = [var.quota_bytes_per_day]
}

run "rejects_processing_lease_seconds_too_short" {
  command = plan

  variables {
    processing_lease_seconds = 4
  }

  expect_failures = [var.processing_lease_seconds]
}

run "rejects_pending_upload_hours_zero" {
  command = plan

  variables {
    pending_upload_hours = 0
  }

  expect_failures = [var.pending_upload_hours]
}

run "rejects_rejected_retention_hours_over_a_year" {
  command = plan

  variables {
    rejected_retention_hours = 9000
  }

  expect_failures = [var.rejected_retention_hours]
}

run "rejects_delete_retention_days_negative" {
  command = plan

  variables {
    delete_retention_days = -1
  }

  expect_failures = [var.delete_retention_days]
}

run "rejects_graphql_limits_depth_one" {
  command = plan

  variables {
    graphql_limits = { max_query_depth = 1 }
  }

  expect_failures = [var.graphql_limits]
}

run "rejects_graphql_limits_no_aliases" {
  command = plan

  variables {
    graphql_limits = { max_aliases = 0 }
  }

  expect_failures = [var.graphql_limits]
}

run "rejects_graphql_limits_huge_documents" {
  command = plan

  variables {
    graphql_limits = { max_tokens = 1000000 }
  }

  expect_failures = [var.graphql_limits]
}

run "rejects_graphql_limits_fractional_depth" {
  command = plan

  variables {
    graphql_limits = { max_query_depth = 7.5 }
  }

  expect_failures = [var.graphql_limits]
}

run "rejects_max_query_cost_fraction" {
  command = plan

  variables {
    max_query_cost = 20000.5
  }

  expect_failures = [var.max_query_cost]
}

run "rejects_public_s3_endpoint_no_scheme" {
  command = plan

  variables {
    public_s3_endpoint = "localhost:4566"
  }

  expect_failures = [var.public_s3_endpoint]
}

run "rejects_bucket_name_upper_case" {
  command = plan

  variables {
    bucket_name = "Images_Bucket"
  }

  expect_failures = [var.bucket_name]
}

run "rejects_noncurrent_version_retention_days_zero" {
  command = plan

  variables {
    noncurrent_version_retention_days = 0
  }

  expect_failures = [var.noncurrent_version_retention_days]
}

run "rejects_kms_key_arn_alias_instead_of_key" {
  command = plan

  variables {
    kms_key_arn = "alias/picgraph"
  }

  expect_failures = [var.kms_key_arn]
}

run "rejects_http_frontend_rest_api" {
  command = plan

  variables {
    http_frontend = "rest_api"
  }

  expect_failures = [var.http_frontend]
}

run "rejects_cors_allowed_origins_wildcard" {
  command = plan

  variables {
    cors_allowed_origins = ["*"]
  }

  expect_failures = [var.cors_allowed_origins]
}

run "rejects_cors_allowed_origins_empty" {
  command = plan

  variables {
    cors_allowed_origins = []
  }

  expect_failures = [var.cors_allowed_origins]
}

run "rejects_cors_allowed_origins_with_a_path" {
  command = plan

  variables {
    cors_allowed_origins = ["https://app.example.com/gallery"]
  }

  expect_failures = [var.cors_allowed_origins]
}

run "rejects_api_throttling_rate_limit_zero" {
  command = plan

  variables {
    api_throttling_rate_limit = 0
  }

  expect_failures = [var.api_throttling_rate_limit]
}

run "rejects_api_throttling_burst_limit_fraction" {
  command = plan

  variables {
    api_throttling_burst_limit = 10.5
  }

  expect_failures = [var.api_throttling_burst_limit]
}

run "rejects_cdn_public_key_pem_private_key" {
  command = plan

  variables {
    cdn_public_key_pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"
  }

  expect_failures = [var.cdn_public_key_pem]
}

run "rejects_cdn_private_key_secret_arn_not_a_secret" {
  command = plan

  variables {
    cdn_private_key_secret_arn = "arn:aws:ssm:us-east-1:123456789012:parameter/picgraph/cdn-key"
  }

  expect_failures = [var.cdn_private_key_secret_arn]
}

run "rejects_cdn_price_class_unknown" {
  command = plan

  variables {
    cdn_price_class = "PriceClass_Cheap"
  }

  expect_failures = [var.cdn_price_class]
}
