# The single table of infra/keys.py: PK/SK, three overloaded GSIs projecting
# ALL attributes, TTL on expiresAt (pending uploads, idempotency records).
resource "aws_dynamodb_table" "images" {
  #checkov:skip=CKV_AWS_119:SSE is always on (AWS managed key by default); a customer managed key is opt-in through var.kms_key_arn.
  name                        = local.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = local.table_hash_key
  range_key                   = local.table_range_key
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "PK"
    type = "S"
  }

  attribute {
    name = "SK"
    type = "S"
  }

  attribute {
    name = "GSI1PK"
    type = "S"
  }

  attribute {
    name = "GSI1SK"
    type = "S"
  }

  attribute {
    name = "GSI2PK"
    type = "S"
  }

  attribute {
    name = "GSI2SK"
    type = "S"
  }

  attribute {
    name = "GSI3PK"
    type = "S"
  }

  attribute {
    name = "GSI3SK"
    type = "S"
  }

  dynamic "global_secondary_index" {
    for_each = local.table_indexes
    content {
      name            = global_secondary_index.key
      hash_key        = global_secondary_index.value.hash_key
      range_key       = global_secondary_index.value.range_key
      projection_type = "ALL"
    }
  }

  ttl {
    attribute_name = local.ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}
