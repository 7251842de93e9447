# One role per kind of task, each allowed only what that task does.
#   execution    - ECS itself: pull the image, write logs, read the secrets injected at start
#   webserver    - read run output from S3; stop runs the user terminates
#   daemon       - launch, watch and stop run tasks (EcsRunLauncher, run monitoring)
#   code_server  - only load definitions and evaluate sensors
#   run          - the pipeline: land events in S3, write run output, index into OpenSearch
#   opensearch_admin - the OpenSearch master user: the one-off security setup task, and the
#                  administrators named in opensearch_admin_principal_arns

locals {
  # Every task of the cluster: the run tasks the launcher starts, and the services' own tasks.
  cluster_tasks = "arn:${local.partition}:ecs:${var.region}:${local.account_id}:task/${aws_ecs_cluster.this.name}/*"

  # The only OpenSearch paths a run deletes: daily Okta log indices past retention
  # (okta_index_retention; daily_indices("okta-logs") in the code) and this deployment's
  # monitors that left the catalog (detection_monitors). Nothing else is ever deleted by a run.
  pipeline_deletes = [
    "${aws_opensearch_domain.this.arn}/okta-logs-2*",
    "${aws_opensearch_domain.this.arn}/_plugins/_alerting/monitors/*",
  ]
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name_prefix        = "${var.name}-execution-"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy" "execution" {
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions
  }
  statement {
    sid       = "PullTheImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [aws_ecr_repository.this.arn]
  }
  statement {
    sid       = "WriteContainerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for group in aws_cloudwatch_log_group.ecs : "${group.arn}:*"]
  }
  statement {
    sid     = "InjectSecrets"
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      aws_secretsmanager_secret.okta.arn,
      aws_secretsmanager_secret.dagster_db.arn,
      aws_secretsmanager_secret.jira.arn,
      aws_secretsmanager_secret.slack.arn,
      aws_secretsmanager_secret.alert_receiver.arn,
      aws_secretsmanager_secret.openobserve.arn,
    ]
  }
  statement {
    sid       = "DecryptSecretsAndImage"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role" "service" {
  for_each           = toset(["webserver", "daemon", "code_server"])
  name_prefix        = "${var.name}-${replace(each.key, "_", "-")}-"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy" "service" {
  for_each = {
    webserver   = data.aws_iam_policy_document.webserver.json
    daemon      = data.aws_iam_policy_document.daemon.json
    code_server = data.aws_iam_policy_document.resolve_run_task_definition.json
  }
  role   = aws_iam_role.service[each.key].id
  policy = each.value
}

# Every process that loads deploy/dagster.yaml builds the EcsRunLauncher, which resolves the run
# task definition's family to its latest revision (DescribeTaskDefinition has no resource-level
# permissions).
data "aws_iam_policy_document" "resolve_run_task_definition" {
  statement {
    sid       = "ResolveRunTaskDefinition"
    actions   = ["ecs:DescribeTaskDefinition"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "webserver" {
  source_policy_documents = [
    data.aws_iam_policy_document.read_compute_logs.json,
    data.aws_iam_policy_document.resolve_run_task_definition.json,
    data.aws_iam_policy_document.watch_and_stop_runs.json,
  ]
}

# The webserver terminates the runs users stop; the daemon monitors runs and stops stuck ones.
data "aws_iam_policy_document" "watch_and_stop_runs" {
  statement {
    sid       = "WatchTasks"
    actions   = ["ecs:DescribeTasks"]
    resources = [local.cluster_tasks]
  }
  statement {
    sid       = "StopRunTasksOnly"
    actions   = ["ecs:StopTask"]
    resources = [local.cluster_tasks]
    condition {
      test     = "Null"
      variable = "aws:ResourceTag/dagster/run_id"
      values   = ["false"]
    }
  }
}

data "aws_iam_policy_document" "read_compute_logs" {
  statement {
    sid       = "ReadComputeLogs"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.artifacts.arn}/compute-logs/*"]
  }
  statement {
    sid       = "ListComputeLogs"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.artifacts.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["compute-logs/*"]
    }
  }
  statement {
    sid       = "DecryptComputeLogs"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }
}

data "aws_iam_policy_document" "daemon" {
  source_policy_documents = [
    data.aws_iam_policy_document.read_compute_logs.json,
    data.aws_iam_policy_document.resolve_run_task_definition.json,
    data.aws_iam_policy_document.watch_and_stop_runs.json,
  ]

  statement {
    sid       = "LaunchRunTasks"
    actions   = ["ecs:RunTask"]
    resources = ["arn:${local.partition}:ecs:${var.region}:${local.account_id}:task-definition/${aws_ecs_task_definition.run.family}:*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.this.arn]
    }
  }
  statement {
    sid       = "TagRunTasks"
    actions   = ["ecs:TagResource"]
    resources = [local.cluster_tasks]
    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }
  statement {
    sid       = "ReadFailedRunLogs"
    actions   = ["logs:GetLogEvents"]
    resources = ["${aws_cloudwatch_log_group.ecs["run"].arn}:*"]
  }
  statement {
    sid = "ReadOwnNetworkPlacement"
    # The launcher reads its own task's subnets and security groups to place runs beside it
    # (DescribeNetworkInterfaces has no resource-level permissions).
    actions   = ["ec2:DescribeNetworkInterfaces"]
    resources = ["*"]
  }
  statement {
    sid       = "HandRolesToRunTasks"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.run.arn, aws_iam_role.execution.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "run" {
  name_prefix        = "${var.name}-run-"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy" "run" {
  role   = aws_iam_role.run.id
  policy = data.aws_iam_policy_document.run.json
}

data "aws_iam_policy_document" "run" {
  source_policy_documents = [
    data.aws_iam_policy_document.read_compute_logs.json,
    data.aws_iam_policy_document.resolve_run_task_definition.json,
  ]

  statement {
    sid       = "WriteComputeLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.artifacts.arn}/compute-logs/*"]
  }
  statement {
    sid       = "LandingZone"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.artifacts.arn}/landing/*"]
  }
  statement {
    # Without List, S3 answers a window not yet landed with 403 instead of 404.
    sid       = "ListLandingZone"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.artifacts.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["landing/*"]
    }
  }
  statement {
    sid       = "EncryptWithTheBucketKey"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
  # What a run may do inside OpenSearch is the okta_pipeline security role (fine-grained access
  # control; `okta-pipeline opensearch grant-run-role`); IAM narrows what it may send at all.
  statement {
    sid       = "OpenSearch"
    actions   = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]
    resources = ["${aws_opensearch_domain.this.arn}/*"]
  }
  statement {
    sid       = "OpenSearchDeletesOnlyWhatThePipelineDeletes"
    actions   = ["es:ESHttpDelete"]
    resources = local.pipeline_deletes
  }
  # The domain's access policy is a resource policy in this account: on its own it would let
  # this role send any DELETE, and with SAML on it admits every principal. Explicit denies hold
  # whatever it says.
  statement {
    sid           = "NoOtherOpenSearchDelete"
    effect        = "Deny"
    actions       = ["es:ESHttpDelete"]
    not_resources = local.pipeline_deletes
  }
  statement {
    sid     = "NoOpenSearchSecurityConfiguration"
    effect  = "Deny"
    actions = ["es:ESHttp*"]
    resources = [
      "${aws_opensearch_domain.this.arn}/_plugins/_security/*",
      "${aws_opensearch_domain.this.arn}/_opendistro/_security/*",
    ]
  }
}

# The OpenSearch master user. Nothing in the pipeline runs as it: the one-off setup task
# (`aws_ecs_task_definition.opensearch_security_setup`) maps the run role to its security role,
# and the administrators in opensearch_admin_principal_arns may assume it for what Dashboards'
# SAML administrators cannot do. It signs with SigV4; no OpenSearch password exists.
resource "aws_iam_role" "opensearch_admin" {
  name_prefix        = "${var.name}-os-admin-"
  assume_role_policy = data.aws_iam_policy_document.opensearch_admin_assume.json
}

data "aws_iam_policy_document" "opensearch_admin_assume" {
  source_policy_documents = [data.aws_iam_policy_document.ecs_tasks_assume.json]

  dynamic "statement" {
    for_each = length(var.opensearch_admin_principal_arns) > 0 ? [1] : []
    content {
      sid     = "NamedAdministrators"
      actions = ["sts:AssumeRole"]
      principals {
        type        = "AWS"
        identifiers = var.opensearch_admin_principal_arns
      }
    }
  }
}

resource "aws_iam_role_policy" "opensearch_admin" {
  role   = aws_iam_role.opensearch_admin.id
  policy = data.aws_iam_policy_document.opensearch_admin.json
}

data "aws_iam_policy_document" "opensearch_admin" {
  statement {
    sid       = "AdministerOpenSearch"
    actions   = ["es:ESHttp*"]
    resources = ["${aws_opensearch_domain.this.arn}/*"]
  }
}
