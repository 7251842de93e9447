# ---------------------------------------------------------------------------------------------
# The CloudTrail Lake sink (optional: cloudtrail_lake_channel_arn). The channel is created
# outside this module (CloudTrail Lake > Integrations > Add integration > "My custom
# integration", with an event data store for it): CloudTrail Lake is closed to new customers,
# so this serves accounts already on it. Runs send with cloudtrail-data:PutAuditEvents on that
# channel and nothing else.
# ---------------------------------------------------------------------------------------------

locals {
  cloudtrail_lake_enabled = var.cloudtrail_lake_channel_arn != ""
}

resource "aws_iam_role_policy" "cloudtrail_lake_put" {
  count  = local.cloudtrail_lake_enabled ? 1 : 0
  name   = "okta-cloudtrail-lake-put"
  role   = aws_iam_role.run.id
  policy = data.aws_iam_policy_document.cloudtrail_lake_put[0].json
}

data "aws_iam_policy_document" "cloudtrail_lake_put" {
  count = local.cloudtrail_lake_enabled ? 1 : 0
  statement {
    sid       = "PutAuditEventsOnTheChannel"
    actions   = ["cloudtrail-data:PutAuditEvents"]
    resources = [var.cloudtrail_lake_channel_arn]
  }
}
