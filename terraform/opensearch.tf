# Amazon OpenSearch Service: in the VPC, fine-grained access control, encrypted at rest and
# between nodes, HTTPS only with TLS 1.2+, audit and error logs to CloudWatch.
#
# The fine-grained access control master user is an admin IAM role (iam.tf), not the pipeline:
# the runs' role is a backend role mapped to the okta_pipeline security role, which allows what
# the pipeline does and no more. The mapping is made from inside the VPC by a one-off ECS task
# running as the admin (ecs.tf; output opensearch_security_setup_command). Everything signs with
# SigV4, so no OpenSearch password exists to leak or rotate. People log in to Dashboards with
# SAML (dashboards_saml), where an Okta group is the administrators' backend role.

resource "aws_iam_service_linked_role" "opensearch" {
  count            = var.create_opensearch_service_linked_role ? 1 : 0
  aws_service_name = "opensearchservice.amazonaws.com"
}

resource "aws_opensearch_domain" "this" {
  #checkov:skip=CKV2_AWS_59:Dedicated masters are opt-in (opensearch_dedicated_master_type): two data nodes in two zones need none, and three masters would double the domain's cost.
  domain_name    = var.name
  engine_version = "OpenSearch_2.19"

  cluster_config {
    instance_type            = var.opensearch_instance_type
    instance_count           = var.opensearch_instance_count
    zone_awareness_enabled   = true
    dedicated_master_enabled = var.opensearch_dedicated_master_type != null
    dedicated_master_type    = var.opensearch_dedicated_master_type
    dedicated_master_count   = var.opensearch_dedicated_master_type != null ? 3 : null

    zone_awareness_config {
      availability_zone_count = 2
    }
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.opensearch_volume_size_gb
  }

  vpc_options {
    subnet_ids         = slice(var.private_subnet_ids, 0, 2)
    security_group_ids = [aws_security_group.opensearch.id]
  }

  encrypt_at_rest {
    enabled    = true
    kms_key_id = aws_kms_key.this.arn
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-PFS-2023-10"
  }

  advanced_security_options {
    enabled                        = true
    anonymous_auth_enabled         = false
    internal_user_database_enabled = false
    master_user_options {
      master_user_arn = aws_iam_role.opensearch_admin.arn
    }
  }

  log_publishing_options {
    log_type                 = "AUDIT_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.opensearch["AUDIT_LOGS"].arn
    enabled                  = true
  }
  log_publishing_options {
    log_type                 = "ES_APPLICATION_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.opensearch["ES_APPLICATION_LOGS"].arn
    enabled                  = true
  }
  log_publishing_options {
    log_type                 = "INDEX_SLOW_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.opensearch["INDEX_SLOW_LOGS"].arn
    enabled                  = true
  }
  log_publishing_options {
    log_type                 = "SEARCH_SLOW_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.opensearch["SEARCH_SLOW_LOGS"].arn
    enabled                  = true
  }

  auto_tune_options {
    # Auto-Tune does not run on T-family instances.
    desired_state       = startswith(var.opensearch_instance_type, "t") ? "DISABLED" : "ENABLED"
    rollback_on_disable = "NO_ROLLBACK"
  }

  software_update_options {
    auto_software_update_enabled = true
  }

  access_policies = data.aws_iam_policy_document.opensearch_access.json

  depends_on = [
    aws_iam_service_linked_role.opensearch,
    aws_cloudwatch_log_resource_policy.opensearch,
  ]
}

# Who may send requests at all; fine-grained access control then decides what each may do.
# Dashboards' SAML logins are not SigV4-signed, so with SAML on, the policy admits any caller
# and the domain relies on its VPC security group and fine-grained access control, as AWS
# documents for SAML.
data "aws_iam_policy_document" "opensearch_access" {
  statement {
    sid       = var.dashboards_saml == null ? "PipelineAndAdminOnly" : "FineGrainedAccessControlDecides"
    actions   = ["es:ESHttp*"]
    resources = ["arn:${local.partition}:es:${var.region}:${local.account_id}:domain/${var.name}/*"]
    principals {
      type        = "AWS"
      identifiers = var.dashboards_saml == null ? [aws_iam_role.run.arn, aws_iam_role.opensearch_admin.arn] : ["*"]
    }
  }
}

resource "aws_opensearch_domain_saml_options" "dashboards" {
  count       = var.dashboards_saml == null ? 0 : 1
  domain_name = aws_opensearch_domain.this.domain_name

  saml_options {
    enabled                 = true
    master_backend_role     = var.dashboards_saml.admin_group
    roles_key               = "groups"
    session_timeout_minutes = 60
    idp {
      entity_id        = var.dashboards_saml.idp_entity_id
      metadata_content = var.dashboards_saml.idp_metadata_xml
    }
  }
}

resource "aws_cloudwatch_log_group" "opensearch" {
  for_each          = local.opensearch_log_groups
  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

resource "aws_cloudwatch_log_resource_policy" "opensearch" {
  policy_name     = "${var.name}-opensearch-logs"
  policy_document = data.aws_iam_policy_document.opensearch_logs.json
}

data "aws_iam_policy_document" "opensearch_logs" {
  statement {
    actions   = ["logs:PutLogEvents", "logs:CreateLogStream"]
    resources = [for group in aws_cloudwatch_log_group.opensearch : "${group.arn}:*"]
    principals {
      type        = "Service"
      identifiers = ["es.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}
