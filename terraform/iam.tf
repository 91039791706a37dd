# Execution role of the function: exactly the AWS calls the code makes
# (tests/unit/test_terraform.py derives them from infra/*.py and compares).

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssume"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${local.function_name}-exec"
  description        = "Execution role of the picgraph GraphQL function."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "lambda" {
  # GetItem, PutItem, UpdateItem, DeleteItem, and the per-item actions a
  # TransactWriteItems needs (Put/Update/Delete/ConditionCheck): IAM has no
  # separate action for transactions. BatchGetItem reads a tag's counter shards
  # and the hot-tag directory items of an image's tags.
  statement {
    sid = "TableItems"
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:ConditionCheckItem",
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ]
    resources = [aws_dynamodb_table.images.arn]
  }

  statement {
    sid     = "TableQueries"
    actions = ["dynamodb:Query"]
    resources = concat(
      [aws_dynamodb_table.images.arn],
      [for index in aws_dynamodb_table.images.global_secondary_index : "${aws_dynamodb_table.images.arn}/index/${index.name}"],
    )
  }

  # GetObject also covers HeadObject and presigned GETs; PutObject covers the
  # presigned POST uploads (signed with this role), originals and
  # renditions; DeleteObject the staging clean-up and purges.
  statement {
    sid = "ImageObjects"
    actions = [
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = [for prefix in values(local.s3_prefixes) : "${aws_s3_bucket.images.arn}/${prefix}*"]
  }

  # Without s3:ListBucket, HeadObject/GetObject of a missing key answers 403
  # instead of 404, and the code could not tell "not uploaded yet" from "access
  # denied". The implicit ListBucket check S3 makes for that carries no
  # s3:prefix key, so the condition is ...IfExists: it still limits explicit
  # listings to the application's prefixes.
  statement {
    sid       = "NotFoundInsteadOfForbidden"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.images.arn]

    condition {
      test     = "StringLikeIfExists"
      variable = "s3:prefix"
      values   = [for prefix in values(local.s3_prefixes) : "${prefix}*"]
    }
  }

  statement {
    sid = "OwnLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:*"]
  }

  # Only with signed CDN URLs: the private key the function signs them with.
  dynamic "statement" {
    # (The precondition in cdn.tf refuses signing without a secret ARN.)
    for_each = local.cdn_signed && var.cdn_private_key_secret_arn != null ? [var.cdn_private_key_secret_arn] : []
    content {
      sid       = "CdnSigningKey"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  # Only with a customer managed key: S3 (SSE-KMS, including the presigned
  # uploads this role signs) and DynamoDB use it on the role's behalf.
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid = "CustomerManagedKey"
      actions = [
        "kms:Decrypt",
        "kms:GenerateDataKey",
      ]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "picgraph-least-privilege"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}

# X-Ray accepts no resource-level permissions; only attached when tracing is on.
resource "aws_iam_role_policy_attachment" "lambda_xray" {
  count      = var.lambda_tracing_enabled ? 1 : 0
  role       = aws_iam_role.lambda.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}
