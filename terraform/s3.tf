# Image bucket. Prefixes (infra/keys.py): uploads/ = staging, written by clients
# through presigned POSTs; images/ = originals; thumbnails/ = renditions.
resource "aws_s3_bucket" "images" {
  #checkov:skip=CKV_AWS_18:Server access logging needs a second, log-receiving bucket; the function logs every object it touches and CloudTrail data events can be enabled account-wide.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice for the operator, not a default for an image store that can be re-uploaded.
  #checkov:skip=CKV_AWS_145:Objects are always encrypted (SSE-S3 by default); SSE-KMS with a customer managed key is opt-in through var.kms_key_arn.
  #checkov:skip=CKV_AWS_21:Versioning is opt-in (var.bucket_versioning_enabled): keys are never overwritten, and purging a deleted image must really remove its bytes.
  bucket        = local.bucket_name
  force_destroy = var.bucket_force_destroy
}

resource "aws_s3_bucket_public_access_block" "images" {
  bucket = aws_s3_bucket.images.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "images" {
  bucket = aws_s3_bucket.images.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "images" {
  bucket = aws_s3_bucket.images.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_versioning" "images" {
  count  = var.bucket_versioning_enabled ? 1 : 0
  bucket = aws_s3_bucket.images.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "images" {
  bucket = aws_s3_bucket.images.id

  # Staging objects are copied to images/ (or rejected) within minutes; whatever
  # is left after a day is an abandoned upload.
  rule {
    id     = "expire-staging-uploads"
    status = "Enabled"

    filter {
      prefix = local.s3_prefixes.uploads
    }

    expiration {
      days = 1
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # Only matters when versioning is on: purged images must not linger as
  # noncurrent versions for long.
  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }

    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.images]
}

# Browsers POST uploads straight to the bucket (presigned POST) and GET/HEAD
# images through presigned URLs.
resource "aws_s3_bucket_cors_configuration" "images" {
  bucket = aws_s3_bucket.images.id

  cors_rule {
    allowed_methods = ["POST", "GET", "HEAD"]
    allowed_origins = var.cors_allowed_origins
    allowed_headers = ["*"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3000
  }
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.images.arn,
      "${aws_s3_bucket.images.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # Only with the CDN: its origin access control may read renditions, nothing else.
  dynamic "statement" {
    for_each = var.cdn_enabled ? [aws_cloudfront_distribution.cdn[0].arn] : []
    content {
      sid       = "CdnReadsRenditions"
      actions   = ["s3:GetObject"]
      resources = ["${aws_s3_bucket.images.arn}/${local.s3_prefixes.thumbnails}*"]

      principals {
        type        = "Service"
        identifiers = ["cloudfront.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "AWS:SourceArn"
        values   = [statement.value]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "images" {
  bucket = aws_s3_bucket.images.id
  policy = data.aws_iam_policy_document.bucket.json

  # S3 rejects bucket policies while Block Public Access is still being applied.
  depends_on = [aws_s3_bucket_public_access_block.images]
}

# Every object created under uploads/ triggers processing.
resource "aws_s3_bucket_notification" "images" {
  bucket = aws_s3_bucket.images.id

  lambda_function {
    id                  = "process-uploads"
    lambda_function_arn = local.lambda_target_arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = local.s3_prefixes.uploads
  }

  depends_on = [aws_lambda_permission.s3]
}
