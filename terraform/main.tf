data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  code_server_port = 4000
  webserver_port   = 3000
  discovery_domain = "${var.name}.internal"
  code_server_host = "code.${local.discovery_domain}"

  log_groups = {
    webserver   = "/ecs/${var.name}/webserver"
    daemon      = "/ecs/${var.name}/daemon"
    code_server = "/ecs/${var.name}/code-server"
    run         = "/ecs/${var.name}/runs"
    # The one-off OpenSearch security setup task (ecs.tf).
    opensearch_setup = "/ecs/${var.name}/opensearch-setup"
  }
  opensearch_log_groups = {
    AUDIT_LOGS          = "/aws/opensearch/${var.name}/audit"
    ES_APPLICATION_LOGS = "/aws/opensearch/${var.name}/error"
    INDEX_SLOW_LOGS     = "/aws/opensearch/${var.name}/index-slow"
    SEARCH_SLOW_LOGS    = "/aws/opensearch/${var.name}/search-slow"
  }
}

# One customer-managed key encrypts everything at rest: S3, RDS, OpenSearch, Secrets
# Manager, ECR and CloudWatch Logs. IAM policies grant its use; the key policy only has to let
# the account delegate to IAM and let CloudWatch Logs use it for this deployment's log groups.
resource "aws_kms_key" "this" {
  description             = "${var.name}: encryption at rest for the Okta pipeline"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

data "aws_iam_policy_document" "kms" {
  # A key policy's "*" resource is the key itself; the account statement is AWS's default key
  # policy, which hands the decision to IAM policies (iam.tf grants each role its use).
  #checkov:skip=CKV_AWS_109:In a key policy "*" means this key only; the account statement is AWS's default, delegating to IAM policies.
  #checkov:skip=CKV_AWS_111:In a key policy "*" means this key only; the account statement is AWS's default, delegating to IAM policies.
  #checkov:skip=CKV_AWS_356:In a key policy "*" means this key only; the account statement is AWS's default, delegating to IAM policies.
  statement {
    sid       = "AccountAdministersAndDelegatesToIam"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryptsThisDeploymentsLogGroups"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/ecs/${var.name}/*",
        "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/opensearch/${var.name}/*",
        "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/rds/instance/${var.name}-dagster/*",
      ]
    }
  }
}

data "aws_subnet" "private" {
  for_each = toset(var.private_subnet_ids)
  id       = each.value

  lifecycle {
    postcondition {
      condition     = self.vpc_id == var.vpc_id
      error_message = "Subnet ${self.id} is not in ${var.vpc_id}."
    }
  }
}

resource "aws_cloudwatch_log_group" "ecs" {
  for_each          = local.log_groups
  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}
