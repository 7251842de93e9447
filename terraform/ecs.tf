# Dagster on ECS Fargate: the webserver (UI), the daemon (schedules, sensors, automation, run
# queue and monitoring), a code server (loads okta_pipeline.definitions over gRPC), and one
# Fargate task per run launched by Dagster's EcsRunLauncher from the "run" task definition.

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE"]
  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

# The code server is found by name: code.<name>.internal.
resource "aws_service_discovery_private_dns_namespace" "this" {
  name = local.discovery_domain
  vpc  = var.vpc_id
}

resource "aws_service_discovery_service" "code_server" {
  name = "code"
  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this.id
    routing_policy = "MULTIVALUE"
    dns_records {
      type = "A"
      ttl  = 10
    }
  }
  health_check_custom_config {
    failure_threshold = 1
  }
}

locals {
  run_task_family = "${var.name}-run"
  image           = "${aws_ecr_repository.this.repository_url}:${var.image_tag}"

  # Read by deploy/dagster.yaml and deploy/workspace.yaml in every Dagster process.
  dagster_environment = {
    AWS_REGION                  = var.region
    DAGSTER_PG_HOST             = aws_db_instance.dagster.address
    DAGSTER_PG_USERNAME         = local.db_username
    DAGSTER_PG_DB               = local.db_name
    DAGSTER_COMPUTE_LOGS_BUCKET = aws_s3_bucket.artifacts.bucket
    DAGSTER_CODE_SERVER_HOST    = local.code_server_host
    DAGSTER_CODE_SERVER_PORT    = tostring(local.code_server_port)
    # Runs and the code server name the family (the run task definition cannot name its own
    # ARN); the webserver and the daemon get the revision's ARN below, so that a new revision
    # restarts them: the launcher resolves the family once, when it starts.
    DAGSTER_RUN_TASK_DEFINITION = local.run_task_family
  }

  # Read by okta_pipeline.definitions (the code server and every run).
  pipeline_environment = {
    OKTA_BASE_URL                     = var.okta_base_url
    OKTA_AUTH_METHOD                  = var.okta_auth_method
    OKTA_OAUTH_DPOP                   = tostring(var.okta_auth_method == "oauth" && var.okta_oauth_uses_dpop)
    OKTA_RATE_LIMIT_SHARE             = tostring(var.okta_rate_limit_share)
    OKTA_PIPELINE_FETCH_EVERY_MINUTES = tostring(var.fetch_every_minutes)
    OKTA_PIPELINE_SETTLE_MINUTES      = tostring(var.settle_minutes)
    OKTA_PIPELINE_LANDING_ROOT        = "s3://${aws_s3_bucket.artifacts.bucket}/landing"
    OPENSEARCH_URL                    = "https://${aws_opensearch_domain.this.endpoint}"
    OPENSEARCH_AWS_REGION             = var.region
    OPENSEARCH_REPLICAS               = "1"
    OPENSEARCH_RETENTION_DAYS         = tostring(var.opensearch_retention_days)
    OPENSEARCH_DASHBOARDS_URL         = "https://${aws_opensearch_domain.this.dashboard_endpoint}"
    # The domain's certificate is publicly trusted: no CA bundle (empty settings are left out).
    OPENSEARCH_CA_CERTS = ""
    # Alert routing: which destinations exist is decided by these names; credentials are
    # injected into runs only. Empty values are left out of the task definitions.
    JIRA_BASE_URL                         = var.jira_base_url
    JIRA_PROJECT_KEY                      = var.jira_project_key
    JIRA_ISSUE_TYPE                       = var.jira_issue_type
    SLACK_DELIVERY                        = var.slack_delivery
    SLACK_CHANNEL                         = var.slack_channel
    OKTA_PIPELINE_ALERT_SUPPRESSION_HOURS = tostring(var.alert_suppression_hours)
    # Monitors post new alerts to the receiver only when this is set (its secret: runs only).
    OKTA_PIPELINE_RECEIVER_URL = var.alert_receiver_url
    # The first partition; null leaves it out and the definitions use their rolling default.
    OKTA_PIPELINE_PARTITIONS_START = var.partitions_start == null ? "" : var.partitions_start
    # CloudTrail ingestion: the definitions include its assets only when this is set; runs read
    # the trail's bucket with the run role's cloudtrail-read policy (cloudtrail.tf).
    OKTA_PIPELINE_CLOUDTRAIL_ROOT = local.cloudtrail_root
    # Push ingestion: the definitions include the queue's sensor, the drain job and its health
    # checks only when this is set (log_stream.tf).
    OKTA_PIPELINE_LOG_STREAM_QUEUE_URL = local.log_stream_enabled ? aws_sqs_queue.log_stream[0].url : ""
    OKTA_PIPELINE_LOG_STREAM_DLQ_URL   = local.log_stream_enabled ? aws_sqs_queue.log_stream_dead_letters[0].url : ""
    # Only for a local stand-in of SQS; on AWS the SDK finds the regional endpoint.
    OKTA_PIPELINE_LOG_STREAM_ENDPOINT_URL = ""
    # The CloudTrail Lake sink: its asset is in the definitions only when this is set; runs
    # send with the run role's cloudtrail-lake-put policy (cloudtrail_lake.tf).
    OKTA_PIPELINE_CLOUDTRAIL_LAKE_CHANNEL_ARN  = var.cloudtrail_lake_channel_arn
    OKTA_PIPELINE_CLOUDTRAIL_LAKE_ENDPOINT_URL = ""
    # The OpenObserve sink: its asset is in the definitions only when the URL is set; the
    # credentials come from the openobserve secret (secrets.tf).
    OPENOBSERVE_URL                       = var.openobserve_url
    OPENOBSERVE_ORG                       = var.openobserve_organization
    OPENOBSERVE_STREAM                    = var.openobserve_stream
    OPENOBSERVE_INGEST_ALLOWED_UPTO_HOURS = tostring(var.openobserve_ingest_allowed_upto_hours)
  }

  # Every container: read-only root file system, /tmp as the only scratch space (DAGSTER_HOME
  # lives there; the image's entrypoint copies the instance configuration into it).
  containers = {
    webserver = {
      command     = ["dagster-webserver", "--host", "0.0.0.0", "--port", tostring(local.webserver_port), "--workspace", "/opt/okta-pipeline/deploy/workspace.yaml"]
      environment = merge(local.dagster_environment, { DAGSTER_RUN_TASK_DEFINITION = aws_ecs_task_definition.run.arn })
      secrets     = [local.db_password_secret]
      ports       = [local.webserver_port]
    }
    daemon = {
      command     = ["dagster-daemon", "run", "--workspace", "/opt/okta-pipeline/deploy/workspace.yaml"]
      environment = merge(local.dagster_environment, { DAGSTER_RUN_TASK_DEFINITION = aws_ecs_task_definition.run.arn })
      secrets     = [local.db_password_secret]
      ports       = []
    }
    code_server = {
      command = ["dagster", "code-server", "start", "--host", "0.0.0.0", "--port", tostring(local.code_server_port), "--module-name", "okta_pipeline.definitions", "--location-name", "okta_pipeline"]
      environment = merge(local.dagster_environment, local.pipeline_environment, {
        DAGSTER_CURRENT_IMAGE = local.image
      })
      secrets = [local.db_password_secret]
      ports   = [local.code_server_port]
    }
  }
}

resource "aws_ecs_task_definition" "service" {
  for_each = local.containers

  family                   = "${var.name}-${replace(each.key, "_", "-")}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_sizes[each.key].cpu
  memory                   = var.task_sizes[each.key].memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.service[each.key].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = replace(each.key, "_", "-")
    image                  = local.image
    essential              = true
    command                = each.value.command
    readonlyRootFilesystem = true
    user                   = "10001:10001"
    environment            = [for key, value in each.value.environment : { name = key, value = value } if value != ""]
    secrets                = each.value.secrets
    portMappings           = [for port in each.value.ports : { containerPort = port, protocol = "tcp" }]
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.ecs[each.key].name
        awslogs-region        = var.region
        awslogs-stream-prefix = replace(each.key, "_", "-")
      }
    }
  }])
}

# Runs: the EcsRunLauncher starts this task definition (container "run") with the run's command.
# Its secrets are listed here explicitly; nothing is picked up by tag.
resource "aws_ecs_task_definition" "run" {
  family = local.run_task_family
  # Keep earlier revisions registered: runs still starting from one must not be refused.
  skip_destroy             = true
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_sizes.run.cpu
  memory                   = var.task_sizes.run.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.run.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = "run"
    image                  = local.image
    essential              = true
    readonlyRootFilesystem = true
    user                   = "10001:10001"
    environment            = [for key, value in merge(local.dagster_environment, local.pipeline_environment) : { name = key, value = value } if value != ""]
    secrets                = concat([local.db_password_secret], local.okta_secrets, local.alert_secrets, local.sink_secrets)
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.ecs["run"].name
        awslogs-region        = var.region
        awslogs-stream-prefix = "run"
      }
    }
  }])
}

# Run once after apply (output opensearch_security_setup_command): as the OpenSearch master user
# (the admin role), put the okta_pipeline security role and map the run role to it. The domain
# answers only inside the VPC, so this runs where the pipeline does. Idempotent; no secrets.
resource "aws_ecs_task_definition" "opensearch_security_setup" {
  family                   = "${var.name}-opensearch-setup"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.opensearch_admin.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = "setup"
    image                  = local.image
    essential              = true
    command                = ["okta-pipeline", "opensearch", "grant-run-role", "--backend-role", aws_iam_role.run.arn]
    readonlyRootFilesystem = true
    user                   = "10001:10001"
    # The CloudTrail root as the definitions read it: with a trail the role also covers the
    # CloudTrail and identity link indices. Left out when empty, as on the other tasks.
    environment = concat([
      { name = "OPENSEARCH_URL", value = local.pipeline_environment.OPENSEARCH_URL },
      { name = "OPENSEARCH_AWS_REGION", value = var.region },
      { name = "AWS_REGION", value = var.region },
      ], [
      for key, value in { OKTA_PIPELINE_CLOUDTRAIL_ROOT = local.pipeline_environment.OKTA_PIPELINE_CLOUDTRAIL_ROOT } : { name = key, value = value } if value != ""
    ])
    mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.ecs["opensearch_setup"].name
        awslogs-region        = var.region
        awslogs-stream-prefix = "setup"
      }
    }
  }])
}

resource "aws_ecs_service" "webserver" {
  name                   = "${var.name}-webserver"
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.service["webserver"].arn
  desired_count          = 1
  launch_type            = "FARGATE"
  platform_version       = "LATEST"
  propagate_tags         = "SERVICE"
  enable_execute_command = false

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.dagster.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.webserver.arn
    container_name   = "webserver"
    container_port   = local.webserver_port
  }

  depends_on = [aws_lb_listener.https]
}

# Exactly one daemon: a second one would run schedules and sensors twice. The old task stops
# before the new one starts on deploy.
resource "aws_ecs_service" "daemon" {
  name                               = "${var.name}-daemon"
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.service["daemon"].arn
  desired_count                      = 1
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  propagate_tags                     = "SERVICE"
  enable_execute_command             = false

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.dagster.id]
    assign_public_ip = false
  }
}

resource "aws_ecs_service" "code_server" {
  name                   = "${var.name}-code-server"
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.service["code_server"].arn
  desired_count          = 1
  launch_type            = "FARGATE"
  platform_version       = "LATEST"
  propagate_tags         = "SERVICE"
  enable_execute_command = false

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.dagster.id]
    assign_public_ip = false
  }

  service_registries {
    registry_arn = aws_service_discovery_service.code_server.arn
  }
}
