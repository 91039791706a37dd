# cdn_enabled: CloudFront with origin access control in front of thumbnails/ only,
# signed URLs (key group from cdn_public_key_pem) unless cdn_public_renditions.

mock_provider "aws" {
  source = "./tests/mocks"
}

mock_provider "random" {}

variables {
  lambda_package_path = "tests/fixtures/lambda.zip"
  jwt_secret          = "tftest-secret-0123456789abcdef0123456789"
  # A throw-away RSA 2048 public key (its private half was never kept).
  cdn_public_key_pem         = <<-PEM
    -----BEGIN PUBLIC KEY-----
    MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA5rIuigfWzZoZr4MNJf/k
    jyN4Ms4D+1aH+LsPL4qKRo/RIFaVIZhM7Jz/73Avjjdgac4iF971iqFtC/Rjlcqh
    Vum7+GA6J5nh4NJcZp/bkcUbvBej5+p+vrl3bTsidVIgIiQVFDuG5U72R56NJ/Kf
    en0uLw6TB/Ze3G8ErDAb+OPzBVf9JT2dhxUBjXI4codE74Thc4/JFCGMRf+fWq+h
    5U00zzKGal3W2LqQInSvc73vSUf2KQ/JwWVRo0zIbi7UUcjHFM7UA3GoJ2xd2Bli
    9M24gn8fsgkqhQhP8X4Xr4rKmsOYVgY6KWsyAt/HnBU56CN4dSBLI5kaRX1gFEWN
    3QIDAQAB
    -----END PUBLIC KEY-----
  PEM
  cdn_private_key_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:picgraph/cdn-signing-key-AbCdEf"
}

run "cdn_is_off_by_default" {
  command = plan

  variables {
    cdn_public_key_pem         = null
    cdn_private_key_secret_arn = null
  }

  assert {
    condition = (
      length(aws_cloudfront_distribution.cdn) == 0 &&
      length(aws_cloudfront_origin_access_control.images) == 0 &&
      length(aws_cloudfront_key_group.signer) == 0
    )
    error_message = "no CloudFront resources unless cdn_enabled (LocalStack community has no CloudFront)"
  }

  assert {
    condition     = toset([for s in data.aws_iam_policy_document.bucket.statement : s.sid]) == toset(["DenyInsecureTransport"])
    error_message = "without the CDN the bucket policy only refuses plain HTTP"
  }

  assert {
    condition     = !contains([for s in data.aws_iam_policy_document.lambda.statement : s.sid], "CdnSigningKey")
    error_message = "no Secrets Manager grant without signed CDN URLs"
  }
}

run "signed_renditions" {
  command = apply

  variables {
    cdn_enabled = true
  }

  assert {
    condition = (
      aws_cloudfront_origin_access_control.images[0].origin_access_control_origin_type == "s3" &&
      aws_cloudfront_origin_access_control.images[0].signing_behavior == "always" &&
      aws_cloudfront_origin_access_control.images[0].signing_protocol == "sigv4"
    )
    error_message = "CloudFront signs every origin request (OAC, SigV4)"
  }

  assert {
    condition = (
      length(aws_cloudfront_distribution.cdn[0].origin) == 1 &&
      one(aws_cloudfront_distribution.cdn[0].origin).domain_name == aws_s3_bucket.images.bucket_regional_domain_name &&
      one(aws_cloudfront_distribution.cdn[0].origin).origin_access_control_id == aws_cloudfront_origin_access_control.images[0].id &&
      length(one(aws_cloudfront_distribution.cdn[0].origin).s3_origin_config) == 0
    )
    error_message = "one origin: the image bucket through the OAC (no legacy origin access identity)"
  }

  assert {
    condition = (
      length(aws_cloudfront_distribution.cdn[0].ordered_cache_behavior) == 1 &&
      aws_cloudfront_distribution.cdn[0].ordered_cache_behavior[0].path_pattern == "thumbnails/*" &&
      aws_cloudfront_distribution.cdn[0].ordered_cache_behavior[0].viewer_protocol_policy == "https-only" &&
      aws_cloudfront_distribution.cdn[0].ordered_cache_behavior[0].cache_policy_id == aws_cloudfront_cache_policy.renditions[0].id
    )
    error_message = "only thumbnails/* is served, over HTTPS, with the renditions' cache policy"
  }

  assert {
    condition = (
      one(one(aws_cloudfront_distribution.cdn[0].default_cache_behavior).function_association).event_type == "viewer-request" &&
      one(one(aws_cloudfront_distribution.cdn[0].default_cache_behavior).function_association).function_arn == aws_cloudfront_function.refuse[0].arn &&
      strcontains(aws_cloudfront_function.refuse[0].code, "statusCode: 404")
    )
    error_message = "anything outside thumbnails/ is refused at the edge"
  }

  assert {
    condition = (
      aws_cloudfront_cache_policy.renditions[0].default_ttl == 31536000 &&
      aws_cloudfront_cache_policy.renditions[0].max_ttl == 31536000 &&
      aws_cloudfront_cache_policy.renditions[0].min_ttl >= 86400 &&
      one(one(aws_cloudfront_cache_policy.renditions[0].parameters_in_cache_key_and_forwarded_to_origin).query_strings_config).query_string_behavior == "none" &&
      one(one(aws_cloudfront_cache_policy.renditions[0].parameters_in_cache_key_and_forwarded_to_origin).cookies_config).cookie_behavior == "none" &&
      one(one(aws_cloudfront_cache_policy.renditions[0].parameters_in_cache_key_and_forwarded_to_origin).headers_config).header_behavior == "none"
    )
    error_message = "a year of caching; signatures, cookies and headers are not part of the cache key"
  }

  assert {
    condition = (
      aws_cloudfront_public_key.signer[0].encoded_key == var.cdn_public_key_pem &&
      toset(aws_cloudfront_key_group.signer[0].items) == toset([aws_cloudfront_public_key.signer[0].id]) &&
      toset(aws_cloudfront_distribution.cdn[0].ordered_cache_behavior[0].trusted_key_groups) == toset([aws_cloudfront_key_group.signer[0].id]) &&
      toset(one(aws_cloudfront_distribution.cdn[0].default_cache_behavior).trusted_key_groups) == toset([aws_cloudfront_key_group.signer[0].id])
    )
    error_message = "viewers need a URL signed with the key pair of cdn_public_key_pem"
  }

  assert {
    condition = (
      toset([for s in data.aws_iam_policy_document.bucket.statement : s.sid]) == toset(["DenyInsecureTransport", "CdnReadsRenditions"]) &&
      toset({ for s in data.aws_iam_policy_document.bucket.statement : s.sid => s }["CdnReadsRenditions"].actions) == toset(["s3:GetObject"]) &&
      toset({ for s in data.aws_iam_policy_document.bucket.statement : s.sid => s }["CdnReadsRenditions"].resources) == toset(["${aws_s3_bucket.images.arn}/thumbnails/*"])
    )
    error_message = "the bucket policy lets CloudFront read thumbnails/* and nothing else"
  }

  assert {
    condition = (
      one({ for s in data.aws_iam_policy_document.bucket.statement : s.sid => s }["CdnReadsRenditions"].principals).type == "Service" &&
      toset(one({ for s in data.aws_iam_policy_document.bucket.statement : s.sid => s }["CdnReadsRenditions"].principals).identifiers) == toset(["cloudfront.amazonaws.com"]) &&
      one({ for s in data.aws_iam_policy_document.bucket.statement : s.sid => s }["CdnReadsRenditions"].condition).variable == "AWS:SourceArn" &&
      toset(one({ for s in data.aws_iam_policy_document.bucket.statement : s.sid => s }["CdnReadsRenditions"].condition).values) == toset([aws_cloudfront_distribution.cdn[0].arn])
    )
    error_message = "only this distribution (its OAC, by SourceArn) may read"
  }

  assert {
    condition = nonsensitive(
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_CDN_URL"] == "https://d111111abcdef8.cloudfront.net" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_CDN_KEY_PAIR_ID"] == aws_cloudfront_public_key.signer[0].id &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_CDN_PRIVATE_KEY_SECRET_ARN"] == var.cdn_private_key_secret_arn &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_CDN_PUBLIC"] == "false"
    )
    error_message = "the function signs CDN URLs: base URL, key pair id, private key secret"
  }

  assert {
    condition = (
      toset({ for s in data.aws_iam_policy_document.lambda.statement : s.sid => s }["CdnSigningKey"].actions) == toset(["secretsmanager:GetSecretValue"]) &&
      toset({ for s in data.aws_iam_policy_document.lambda.statement : s.sid => s }["CdnSigningKey"].resources) == toset([var.cdn_private_key_secret_arn])
    )
    error_message = "the function may read exactly the signing key's secret"
  }

  assert {
    condition     = output.cdn_domain_name == "d111111abcdef8.cloudfront.net" && output.cdn_url == "https://d111111abcdef8.cloudfront.net" && output.cdn_key_pair_id == aws_cloudfront_public_key.signer[0].id
    error_message = "cdn_domain_name, cdn_url and cdn_key_pair_id outputs"
  }
}

run "public_renditions" {
  command = apply

  variables {
    cdn_enabled                = true
    cdn_public_renditions      = true
    cdn_public_key_pem         = null
    cdn_private_key_secret_arn = null
  }

  assert {
    condition = (
      length(aws_cloudfront_key_group.signer) == 0 &&
      length(aws_cloudfront_public_key.signer) == 0 &&
      length(aws_cloudfront_distribution.cdn[0].ordered_cache_behavior[0].trusted_key_groups) == 0
    )
    error_message = "public renditions: no key group, unsigned URLs"
  }

  assert {
    condition = nonsensitive(
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_CDN_URL"] == "https://d111111abcdef8.cloudfront.net" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_CDN_PUBLIC"] == "true" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_CDN_KEY_PAIR_ID"] == "" &&
      one(aws_lambda_function.graphql.environment).variables["PICGRAPH_CDN_PRIVATE_KEY_SECRET_ARN"] == ""
    )
    error_message = "the function hands out unsigned CDN URLs"
  }

  assert {
    condition     = !contains([for s in data.aws_iam_policy_document.lambda.statement : s.sid], "CdnSigningKey")
    error_message = "no secret to read for unsigned URLs"
  }

  assert {
    condition     = aws_cloudfront_distribution.cdn[0].ordered_cache_behavior[0].path_pattern == "thumbnails/*"
    error_message = "public or not, only renditions are served"
  }
}

run "signed_renditions_need_both_keys" {
  command = plan

  variables {
    cdn_enabled                = true
    cdn_private_key_secret_arn = null
  }

  expect_failures = [aws_cloudfront_distribution.cdn]
}

run "signed_renditions_need_the_public_key" {
  command = plan

  variables {
    cdn_enabled        = true
    cdn_public_key_pem = null
  }

  expect_failures = [aws_cloudfront_distribution.cdn]
}
