# Scheduled cleanup: purges expired pending uploads, rejected images and
# soft-deleted images past their retention. The function recognises the
# EventBridge "Scheduled Event" as is, so the target passes no input.
resource "aws_cloudwatch_event_rule" "cleanup" {
  name                = "${var.name_prefix}-cleanup"
  description         = "Run picgraph's cleanup job"
  schedule_expression = var.cleanup_schedule
}

resource "aws_cloudwatch_event_target" "cleanup" {
  rule      = aws_cloudwatch_event_rule.cleanup.name
  target_id = "picgraph-cleanup"
  arn       = local.lambda_target_arn
}

resource "aws_lambda_permission" "events" {
  statement_id  = "AllowEventBridgeCleanup"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.graphql.function_name
  qualifier     = local.lambda_qualifier
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.cleanup.arn
}
