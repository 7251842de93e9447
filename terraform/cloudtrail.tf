# ---------------------------------------------------------------------------------------------
# CloudTrail ingestion (optional: cloudtrail_bucket). Runs read a trail's log files,
#   <prefix>/AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/*.json.gz
#   <prefix>/AWSLogs/<org-id>/<account>/CloudTrail/...          (organization trails)
# and nothing else of the bucket: they list and get under <prefix>/AWSLogs/ only, never write,
# and decrypt with the trail's KMS key (when it has one) only through S3. A bucket or key in
# another account must also allow the run role on its side (README, CloudTrail).
# ---------------------------------------------------------------------------------------------

locals {
  cloudtrail_enabled = var.cloudtrail_bucket != ""
  # The keys' start: "AWSLogs/" or "<prefix>/AWSLogs/" (an empty prefix adds no "/").
  cloudtrail_logs_prefix = join("/", compact([var.cloudtrail_prefix, "AWSLogs/"]))
  cloudtrail_bucket_arn  = "arn:${local.partition}:s3:::${var.cloudtrail_bucket}"
  # OKTA_PIPELINE_CLOUDTRAIL_ROOT (ecs.tf): s3://<bucket>[/<prefix>], the place AWSLogs/ lies
  # in; empty, and so left out of the task definitions, while CloudTrail ingestion is off.
  cloudtrail_root = local.cloudtrail_enabled ? join("/", compact(["s3://${var.cloudtrail_bucket}", var.cloudtrail_prefix])) : ""
}

# On the run role: every asset executes in a run task (the EcsRunLauncher starts one per run
# from the run task definition); the code server only loads the definitions.
resource "aws_iam_role_policy" "cloudtrail_read" {
  count  = local.cloudtrail_enabled ? 1 : 0
  name   = "cloudtrail-read"
  role   = aws_iam_role.run.id
  policy = data.aws_iam_policy_document.cloudtrail_read[0].json
}

data "aws_iam_policy_document" "cloudtrail_read" {
  count = local.cloudtrail_enabled ? 1 : 0

  statement {
    # Listing finds the log files of a day, and, with the delimiter "/", the accounts (and the
    # organization) under AWSLogs/. Without it S3 would answer a missing key with 403, not 404.
    sid       = "ListCloudTrailLogs"
    actions   = ["s3:ListBucket"]
    resources = [local.cloudtrail_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [local.cloudtrail_logs_prefix, "${local.cloudtrail_logs_prefix}*"]
    }
  }
  statement {
    sid       = "ReadCloudTrailLogs"
    actions   = ["s3:GetObject"]
    resources = ["${local.cloudtrail_bucket_arn}/${local.cloudtrail_logs_prefix}*"]
  }
  # SSE-KMS: S3 decrypts with the trail's key on the reader's behalf, in the bucket's region,
  # which is the key's (S3 encrypts only with a key of its own region): the key's ARN names it.
  dynamic "statement" {
    for_each = var.cloudtrail_kms_key_arn == "" ? [] : [var.cloudtrail_kms_key_arn]
    content {
      sid       = "DecryptCloudTrailLogsThroughS3"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${split(":", statement.value)[3]}.amazonaws.com"]
      }
    }
  }
}
