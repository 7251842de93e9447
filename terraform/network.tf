# Security groups: every path between the pieces is named; nothing is open to the internet.

resource "aws_security_group" "alb" {
  name        = "${var.name}-ui-alb"
  description = "Internal load balancer in front of the Dagster UI"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.ui_allowed_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS to the Dagster UI from an allowed range"
  cidr_ipv4         = each.value
  from_port         = 443
  to_port           = 443
  ip_protocol       = "tcp"
}

# The load balancer redeems sign-in codes at the OIDC provider's token and user-info endpoints
# (Okta, on the internet, through the subnets' NAT route).
resource "aws_vpc_security_group_egress_rule" "alb_to_identity_provider" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS to the OIDC provider that signs users in to the Dagster UI"
  cidr_ipv4         = "0.0.0.0/0"
  from_port         = 443
  to_port           = 443
  ip_protocol       = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "alb_to_webserver" {
  security_group_id            = aws_security_group.alb.id
  description                  = "Forward to the Dagster webserver"
  referenced_security_group_id = aws_security_group.dagster.id
  from_port                    = local.webserver_port
  to_port                      = local.webserver_port
  ip_protocol                  = "tcp"
}

# The webserver, daemon, code server and run tasks share one group: they talk to each other
# (gRPC to the code server) and to the same backing services.
resource "aws_security_group" "dagster" {
  name        = "${var.name}-dagster"
  description = "Dagster webserver, daemon, code server and run tasks"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "dagster_ui_from_alb" {
  security_group_id            = aws_security_group.dagster.id
  description                  = "Dagster UI from the load balancer"
  referenced_security_group_id = aws_security_group.alb.id
  from_port                    = local.webserver_port
  to_port                      = local.webserver_port
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_ingress_rule" "dagster_grpc" {
  security_group_id            = aws_security_group.dagster.id
  description                  = "Code server gRPC from the webserver, daemon and runs"
  referenced_security_group_id = aws_security_group.dagster.id
  from_port                    = local.code_server_port
  to_port                      = local.code_server_port
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "dagster_https" {
  security_group_id = aws_security_group.dagster.id
  description       = "HTTPS to Okta, OpenSearch and AWS APIs (S3, ECR, Secrets Manager, CloudWatch, ECS) through the VPC's NAT or endpoints"
  cidr_ipv4         = "0.0.0.0/0"
  from_port         = 443
  to_port           = 443
  ip_protocol       = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "dagster_grpc" {
  security_group_id            = aws_security_group.dagster.id
  description                  = "gRPC to the code server"
  referenced_security_group_id = aws_security_group.dagster.id
  from_port                    = local.code_server_port
  to_port                      = local.code_server_port
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "dagster_postgres" {
  security_group_id            = aws_security_group.dagster.id
  description                  = "Dagster storage on RDS PostgreSQL"
  referenced_security_group_id = aws_security_group.database.id
  from_port                    = 5432
  to_port                      = 5432
  ip_protocol                  = "tcp"
}

resource "aws_security_group" "database" {
  name        = "${var.name}-dagster-db"
  description = "Dagster storage (RDS PostgreSQL)"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_dagster" {
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from Dagster tasks"
  referenced_security_group_id = aws_security_group.dagster.id
  from_port                    = 5432
  to_port                      = 5432
  ip_protocol                  = "tcp"
}

resource "aws_security_group" "opensearch" {
  name        = "${var.name}-opensearch"
  description = "OpenSearch domain (HTTPS only)"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "opensearch_from_dagster" {
  security_group_id            = aws_security_group.opensearch.id
  description                  = "HTTPS from Dagster run tasks"
  referenced_security_group_id = aws_security_group.dagster.id
  from_port                    = 443
  to_port                      = 443
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_ingress_rule" "opensearch_from_ui_ranges" {
  for_each          = var.dashboards_saml == null ? toset([]) : toset(var.ui_allowed_cidrs)
  security_group_id = aws_security_group.opensearch.id
  description       = "HTTPS to OpenSearch Dashboards from an allowed range"
  cidr_ipv4         = each.value
  from_port         = 443
  to_port           = 443
  ip_protocol       = "tcp"
}
