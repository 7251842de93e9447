# The Dagster UI behind an internal load balancer: HTTPS only (TLS 1.2+), reachable from
# ui_allowed_cidrs alone, signed in through the organization's OIDC provider (Okta) before a
# request reaches the webserver, access-logged to S3.

locals {
  # Okta's org authorization server serves /oauth2/v1/...; a custom one (issuer
  # https://<org>/oauth2/<id>) serves <issuer>/v1/....
  ui_oidc_base = strcontains(var.ui_oidc.issuer, "/oauth2/") ? var.ui_oidc.issuer : "${var.ui_oidc.issuer}/oauth2"
}

# The client secret of the Okta OIDC app the load balancer signs users in with, put into
# Secrets Manager before apply (terraform/README.md). The load balancer's API takes the secret
# itself, so it is in the state: keep the state in an encrypted backend.
data "aws_secretsmanager_secret_version" "ui_oidc_client" {
  secret_id = var.ui_oidc.client_secret_id
}

resource "aws_lb" "ui" {
  name                       = "${var.name}-ui"
  internal                   = true
  load_balancer_type         = "application"
  subnets                    = var.private_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection

  access_logs {
    bucket  = aws_s3_bucket.access_logs.id
    prefix  = "alb"
    enabled = true
  }

  depends_on = [aws_s3_bucket_policy.access_logs]

  lifecycle {
    # The load balancer, RDS and the OpenSearch domain each want one subnet per zone.
    precondition {
      condition     = length(distinct([for subnet in data.aws_subnet.private : subnet.availability_zone])) == length(var.private_subnet_ids)
      error_message = "private_subnet_ids must be in different availability zones (one subnet per zone)."
    }
  }
}

resource "aws_lb_target_group" "webserver" {
  name_prefix = "dgweb-"
  port        = local.webserver_port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id

  health_check {
    path                = "/server_info"
    matcher             = "200"
    healthy_threshold   = 2
    unhealthy_threshold = 3
    interval            = 30
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.ui.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.ui_certificate_arn

  # The webserver has no login of its own: every request signs in first. The target group's
  # health checks do not pass through the listener, so they need no session.
  default_action {
    type  = "authenticate-oidc"
    order = 1

    authenticate_oidc {
      issuer                              = var.ui_oidc.issuer
      authorization_endpoint              = coalesce(var.ui_oidc.authorization_endpoint, "${local.ui_oidc_base}/v1/authorize")
      token_endpoint                      = coalesce(var.ui_oidc.token_endpoint, "${local.ui_oidc_base}/v1/token")
      user_info_endpoint                  = coalesce(var.ui_oidc.user_info_endpoint, "${local.ui_oidc_base}/v1/userinfo")
      client_id                           = var.ui_oidc.client_id
      client_secret                       = data.aws_secretsmanager_secret_version.ui_oidc_client.secret_string
      scope                               = "openid email profile"
      session_timeout                     = var.ui_session_hours * 3600
      on_unauthenticated_request          = "authenticate"
      authentication_request_extra_params = {}
    }
  }

  default_action {
    type             = "forward"
    order            = 2
    target_group_arn = aws_lb_target_group.webserver.arn
  }
}
