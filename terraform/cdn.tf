# Optional CDN for renditions (var.cdn_enabled; off by default, LocalStack community
# has no CloudFront). CloudFront reads the private bucket through an origin access
# control, serves only thumbnails/* and caches for a year (rendition keys are never
# overwritten). Viewers need a CloudFront signed URL made with the key pair whose public
# half is var.cdn_public_key_pem, unless var.cdn_public_renditions. Object URL:
# PICGRAPH_CDN_URL + "/" + object key, e.g. https://d1234.cloudfront.net/thumbnails/...

locals {
  cdn_signed = var.cdn_enabled && !var.cdn_public_renditions
  # Without a key the precondition below refuses the plan; counting it out keeps that the
  # only error (rather than "encoded_key: required field is not set").
  cdn_signer_count = local.cdn_signed && var.cdn_public_key_pem != null ? 1 : 0
  cdn_origin_id    = "images-bucket"
  cdn_path_pattern = "${local.s3_prefixes.thumbnails}*"
  # One year: the longest the renditions' own Cache-Control asks for.
  cdn_cache_seconds = 31536000
}

resource "aws_cloudfront_origin_access_control" "images" {
  count                             = var.cdn_enabled ? 1 : 0
  name                              = "${var.name_prefix}-images"
  description                       = "CloudFront reads picgraph renditions from the private image bucket."
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# Signed URLs' query strings (Expires, Signature, Key-Pair-Id) are not part of the
# cache key: every viewer's URL for a rendition hits the same cached object.
resource "aws_cloudfront_cache_policy" "renditions" {
  count       = var.cdn_enabled ? 1 : 0
  name        = "${var.name_prefix}-renditions"
  comment     = "picgraph renditions: immutable keys, cached for a year, no cookies, headers or query strings."
  min_ttl     = 86400
  default_ttl = local.cdn_cache_seconds
  max_ttl     = local.cdn_cache_seconds

  parameters_in_cache_key_and_forwarded_to_origin {
    # Renditions are JPEG/WebP/AVIF: already compressed, nothing to negotiate.
    enable_accept_encoding_brotli = false
    enable_accept_encoding_gzip   = false

    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

resource "aws_cloudfront_response_headers_policy" "renditions" {
  count   = var.cdn_enabled ? 1 : 0
  name    = "${var.name_prefix}-renditions"
  comment = "picgraph renditions: HTTPS only, no content sniffing, CORS for the allowed origins."

  cors_config {
    access_control_allow_credentials = false
    access_control_max_age_sec       = 3600
    origin_override                  = true

    access_control_allow_headers {
      items = ["*"]
    }
    access_control_allow_methods {
      items = ["GET", "HEAD"]
    }
    access_control_allow_origins {
      items = var.cors_allowed_origins
    }
  }

  security_headers_config {
    content_type_options {
      override = true
    }
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
  }
}

# Everything outside thumbnails/ is answered 404 at the edge, before any origin request.
resource "aws_cloudfront_function" "refuse" {
  count   = var.cdn_enabled ? 1 : 0
  name    = "${var.name_prefix}-cdn-refuse"
  runtime = "cloudfront-js-2.0"
  comment = "picgraph CDN: only thumbnails/* is served."
  publish = true
  code    = <<-JS
    function handler(event) {
      return { statusCode: 404, statusDescription: "Not Found" };
    }
  JS
}

resource "aws_cloudfront_public_key" "signer" {
  count       = local.cdn_signer_count
  name_prefix = "${var.name_prefix}-renditions-"
  comment     = "Verifies picgraph's signed rendition URLs."
  encoded_key = var.cdn_public_key_pem

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudfront_key_group" "signer" {
  count   = local.cdn_signer_count
  name    = "${var.name_prefix}-renditions"
  comment = "Keys picgraph signs rendition URLs with."
  items   = [aws_cloudfront_public_key.signer[0].id]
}

resource "aws_cloudfront_distribution" "cdn" {
  #checkov:skip=CKV_AWS_68:No WAF by default (a web ACL costs per month and per request); renditions are static objects, signed unless cdn_public_renditions. Attach one with web_acl_id if needed.
  #checkov:skip=CKV_AWS_86:Standard access logs need a log bucket with ACLs enabled; turn them (or real-time logs) on per deployment.
  #checkov:skip=CKV_AWS_174:Served on the default *.cloudfront.net certificate, whose TLS policy CloudFront sets; a custom domain with TLSv1.2_2021 is a deployment choice.
  #checkov:skip=CKV_AWS_310:One origin: failover would need a replicated second bucket (see CKV_AWS_144 on the bucket).
  #checkov:skip=CKV_AWS_305:No root object on purpose: only thumbnails/* is served, everything else is 404.
  #checkov:skip=CKV_AWS_374:An image service for any country: no geo restriction by default.
  #checkov:skip=CKV2_AWS_47:No WAF by default (a web ACL costs per month and per request): the distribution serves S3 objects only, there is no application for Log4j rules to protect. Attach one with web_acl_id if needed.
  #checkov:skip=CKV2_AWS_42:A custom domain and its ACM certificate are a deployment choice; the default certificate serves HTTPS.
  count           = var.cdn_enabled ? 1 : 0
  enabled         = true
  comment         = "picgraph renditions (${local.cdn_path_pattern})"
  http_version    = "http2and3"
  is_ipv6_enabled = true
  price_class     = var.cdn_price_class

  origin {
    origin_id                = local.cdn_origin_id
    domain_name              = aws_s3_bucket.images.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.images[0].id
  }

  ordered_cache_behavior {
    path_pattern               = local.cdn_path_pattern
    target_origin_id           = local.cdn_origin_id
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    viewer_protocol_policy     = "https-only"
    compress                   = false
    cache_policy_id            = aws_cloudfront_cache_policy.renditions[0].id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.renditions[0].id
    trusted_key_groups         = aws_cloudfront_key_group.signer[*].id
  }

  # Anything else: refused at the edge (and the bucket policy lets CloudFront read
  # thumbnails/* only).
  default_cache_behavior {
    target_origin_id           = local.cdn_origin_id
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    viewer_protocol_policy     = "https-only"
    cache_policy_id            = aws_cloudfront_cache_policy.renditions[0].id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.renditions[0].id
    trusted_key_groups         = aws_cloudfront_key_group.signer[*].id

    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.refuse[0].arn
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }

  lifecycle {
    precondition {
      condition     = var.cdn_public_renditions || (var.cdn_public_key_pem != null && var.cdn_private_key_secret_arn != null)
      error_message = "cdn_enabled with signed URLs needs cdn_public_key_pem and cdn_private_key_secret_arn (the Secrets Manager secret holding the matching private key), or cdn_public_renditions = true."
    }
  }
}
