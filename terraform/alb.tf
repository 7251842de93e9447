# The Dagster UI behind an internal load balancer: HTTPS only (TLS 1.2+), reachable from
# ui_allowed_cidrs alone, access-logged to S3.

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

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.webserver.arn
  }
}
