# ---------------------------------------------------------------------------------------------
# Push ingestion (optional: okta_log_stream_event_source). Okta's log stream writes to a partner
# event source; its partner event bus carries the events to a rule that sends Okta's System Log
# events, and only those, to an SQS queue. The queue's sensor (in the code server) reads its
# depth; the drain job (a run task) receives, lands and deletes. Polling stays on: the stream
# is best effort and has no replay.
# ---------------------------------------------------------------------------------------------

locals {
  log_stream_enabled = var.okta_log_stream_event_source != ""
}

resource "aws_cloudwatch_event_bus" "okta" {
  count             = local.log_stream_enabled ? 1 : 0
  name              = var.okta_log_stream_event_source
  event_source_name = var.okta_log_stream_event_source
}

resource "aws_cloudwatch_event_rule" "okta_system_log" {
  count          = local.log_stream_enabled ? 1 : 0
  name           = "${var.name}-okta-system-log"
  description    = "Okta System Log events from the log stream, to the drain's queue"
  event_bus_name = aws_cloudwatch_event_bus.okta[0].name
  event_pattern = jsonencode({
    source        = [var.okta_log_stream_event_source]
    "detail-type" = ["SystemLog"]
  })
}

resource "aws_cloudwatch_event_target" "okta_system_log" {
  count          = local.log_stream_enabled ? 1 : 0
  rule           = aws_cloudwatch_event_rule.okta_system_log[0].name
  event_bus_name = aws_cloudwatch_event_bus.okta[0].name
  target_id      = "drain-queue"
  arn            = aws_sqs_queue.log_stream[0].arn
}

# SQS-managed encryption (SSE-SQS): EventBridge can send to it without a grant on a KMS key.
resource "aws_sqs_queue" "log_stream_dead_letters" {
  count                     = local.log_stream_enabled ? 1 : 0
  name                      = "${var.name}-okta-log-stream-dlq"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 14 * 24 * 3600 # SQS's maximum: time to redrive
}

resource "aws_sqs_queue" "log_stream" {
  count                   = local.log_stream_enabled ? 1 : 0
  name                    = "${var.name}-okta-log-stream"
  sqs_managed_sse_enabled = true
  # Longer than a drain takes to land a round of messages; a drain that dies leaves them to
  # come back after it, and landing them again changes nothing.
  visibility_timeout_seconds = 300
  message_retention_seconds  = 4 * 24 * 3600
  receive_wait_time_seconds  = 1
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.log_stream_dead_letters[0].arn
    maxReceiveCount     = var.okta_log_stream_max_receives
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "log_stream_dead_letters" {
  count     = local.log_stream_enabled ? 1 : 0
  queue_url = aws_sqs_queue.log_stream_dead_letters[0].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.log_stream[0].arn]
  })
}

# Only the rule may send to the queue.
resource "aws_sqs_queue_policy" "log_stream" {
  count     = local.log_stream_enabled ? 1 : 0
  queue_url = aws_sqs_queue.log_stream[0].id
  policy    = data.aws_iam_policy_document.log_stream_queue[0].json
}

data "aws_iam_policy_document" "log_stream_queue" {
  count = local.log_stream_enabled ? 1 : 0
  statement {
    sid       = "OnlyTheOktaRuleSends"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.log_stream[0].arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.okta_system_log[0].arn]
    }
  }
}

# The drain runs in run tasks: receive, delete, and extend the visibility of what it holds.
resource "aws_iam_role_policy" "log_stream_drain" {
  count  = local.log_stream_enabled ? 1 : 0
  name   = "okta-log-stream-drain"
  role   = aws_iam_role.run.id
  policy = data.aws_iam_policy_document.log_stream_drain[0].json
}

data "aws_iam_policy_document" "log_stream_drain" {
  count = local.log_stream_enabled ? 1 : 0
  statement {
    sid       = "DrainTheQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.log_stream[0].arn]
  }
  statement {
    sid       = "CountDeadLetters"
    actions   = ["sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.log_stream_dead_letters[0].arn]
  }
}

# The sensor evaluates in the code server and reads only the queue's depth.
resource "aws_iam_role_policy" "log_stream_depth" {
  count  = local.log_stream_enabled ? 1 : 0
  name   = "okta-log-stream-depth"
  role   = aws_iam_role.service["code_server"].id
  policy = data.aws_iam_policy_document.log_stream_depth[0].json
}

data "aws_iam_policy_document" "log_stream_depth" {
  count = local.log_stream_enabled ? 1 : 0
  statement {
    sid       = "ReadQueueDepth"
    actions   = ["sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.log_stream[0].arn]
  }
}
