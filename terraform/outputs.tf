# Names and addresses only: no output carries a secret value.

output "dagster_ui_url" {
  description = "The Dagster UI (resolve the load balancer's name from an allowed network, or point a DNS record for your certificate's name at it)."
  value       = "https://${aws_lb.ui.dns_name}"
}

output "ecr_repository_url" {
  description = "Push the image built from deploy/Dockerfile here, tagged with image_tag."
  value       = aws_ecr_repository.this.repository_url
}

output "okta_secret_arn" {
  description = "Put the Okta credentials here as JSON (see README, step 3)."
  value       = aws_secretsmanager_secret.okta.arn
}

output "jira_secret_arn" {
  description = "Put the Jira credentials here as JSON ({\"email\", \"api_token\"}) before setting jira_base_url."
  value       = aws_secretsmanager_secret.jira.arn
}

output "slack_secret_arn" {
  description = "Put the Slack credential here as JSON ({\"bot_token\"} or {\"webhook_url\"}) before setting slack_delivery."
  value       = aws_secretsmanager_secret.slack.arn
}

output "alert_receiver_secret_arn" {
  description = "Put the alert receiver's shared secret here as JSON ({\"shared_secret\"}) before setting alert_receiver_url."
  value       = aws_secretsmanager_secret.alert_receiver.arn
}

output "okta_secret_keys" {
  description = "The JSON keys the Okta secret must hold for okta_auth_method."
  value       = sort(values(local.okta_secret_keys))
}

output "opensearch_endpoint" {
  description = "The OpenSearch domain's HTTPS endpoint (in the VPC)."
  value       = "https://${aws_opensearch_domain.this.endpoint}"
}

output "opensearch_dashboards_url" {
  description = "OpenSearch Dashboards (in the VPC)."
  value       = "https://${aws_opensearch_domain.this.dashboard_endpoint}"
}

output "pipeline_role_arn" {
  description = "The run tasks' IAM role: an OpenSearch backend role mapped to the okta_pipeline security role (not the master user)."
  value       = aws_iam_role.run.arn
}

output "opensearch_admin_role_arn" {
  description = "The OpenSearch fine-grained access control master user: the setup task's role, assumable by opensearch_admin_principal_arns."
  value       = aws_iam_role.opensearch_admin.arn
}

output "opensearch_security_setup_command" {
  description = "Run once after the first apply (and after upgrading from a deployment whose run role was the master user): maps the run role to the okta_pipeline security role. Prints the task's ARN; its log is in /ecs/<name>/opensearch-setup."
  value = join(" ", [
    "aws ecs run-task",
    "--region ${var.region}",
    "--cluster ${aws_ecs_cluster.this.name}",
    "--launch-type FARGATE",
    "--task-definition ${aws_ecs_task_definition.opensearch_security_setup.arn}",
    "--network-configuration 'awsvpcConfiguration={subnets=[${join(",", var.private_subnet_ids)}],securityGroups=[${aws_security_group.dagster.id}],assignPublicIp=DISABLED}'",
    "--query 'tasks[0].taskArn' --output text",
  ])
}

output "ecs_cluster_name" {
  description = "ECS cluster of the Dagster services and runs."
  value       = aws_ecs_cluster.this.name
}

output "landing_zone" {
  description = "Where raw Okta events are landed, one object per 5-minute window."
  value       = "s3://${aws_s3_bucket.artifacts.bucket}/landing/"
}

output "cloudtrail_root" {
  description = "Where runs read CloudTrail log files from (s3://<cloudtrail_bucket>[/<cloudtrail_prefix>], AWSLogs/ below it); empty while CloudTrail ingestion is off."
  value       = local.cloudtrail_root
}

output "compute_logs_bucket" {
  description = "S3 bucket of Dagster's compute logs (under compute-logs/) and the landing zone."
  value       = aws_s3_bucket.artifacts.bucket
}
