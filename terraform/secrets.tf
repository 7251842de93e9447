# Secrets. Terraform creates the containers; it never holds a value in a default, a variable or
# an output. Okta and Jira values are put by the operator after apply (README, step 3). The
# database password is generated in an ephemeral resource and written through write-only
# arguments, so it is never stored in the state file either.

resource "aws_secretsmanager_secret" "okta" {
  #checkov:skip=CKV2_AWS_57:Okta API tokens and service-app keys are issued in Okta; a Secrets Manager rotation function cannot mint them. Rotate in Okta, put the new value, and run tasks pick it up at their next start.
  name        = "${var.name}/okta"
  description = "Okta credentials for the System Log API, as JSON: {\"api_token\"} for SSWS, or {\"oauth_client_id\", \"oauth_private_key\", \"oauth_key_id\", \"dpop_private_key\"} for a service app"
  kms_key_id  = aws_kms_key.this.arn
}

resource "aws_secretsmanager_secret" "jira" {
  #checkov:skip=CKV2_AWS_57:Jira API tokens are issued in Atlassian's account settings; a rotation function cannot mint them.
  name        = "${var.name}/jira"
  description = "Jira API token for alert routing, as JSON: {\"email\", \"api_token\"}"
  kms_key_id  = aws_kms_key.this.arn
}

resource "aws_secretsmanager_secret" "dagster_db" {
  #checkov:skip=CKV2_AWS_57:Dagster's services read the password when they start, so automatic rotation would cut them off mid-flight; rotate by bumping the write-only versions and redeploying (README).
  name        = "${var.name}/dagster-db"
  description = "Credentials of Dagster's PostgreSQL storage, generated at first apply"
  kms_key_id  = aws_kms_key.this.arn
}

ephemeral "random_password" "dagster_db" {
  length = 40
  # RDS refuses '/', '@', '"' and spaces; libpq connection strings are simplest without them.
  special          = true
  override_special = "!#%^*-_=+"
}

resource "aws_secretsmanager_secret_version" "dagster_db" {
  secret_id = aws_secretsmanager_secret.dagster_db.id
  secret_string_wo = jsonencode({
    username = local.db_username
    password = ephemeral.random_password.dagster_db.result
  })
  # Bump to write a newly generated password (then bump db_password_version to match).
  secret_string_wo_version = 1
}

# Read back what was stored, so that RDS gets the value in the secret even when the apply that
# wrote it was interrupted and retried (an ephemeral password differs on every run).
ephemeral "aws_secretsmanager_secret_version" "dagster_db" {
  secret_id  = aws_secretsmanager_secret.dagster_db.id
  version_id = aws_secretsmanager_secret_version.dagster_db.version_id
}

locals {
  db_username = "dagster"
  db_name     = "dagster"

  # The keys the Okta secret must hold for the chosen auth method; ECS injects each key as one
  # environment variable of the pipeline's tasks (and refuses to start a task if one is missing).
  okta_secret_keys = var.okta_auth_method == "ssws" ? {
    OKTA_API_TOKEN = "api_token"
    } : merge(
    {
      OKTA_OAUTH_CLIENT_ID   = "oauth_client_id"
      OKTA_OAUTH_PRIVATE_KEY = "oauth_private_key"
      OKTA_OAUTH_KEY_ID      = "oauth_key_id"
    },
    var.okta_oauth_uses_dpop ? { OKTA_DPOP_PRIVATE_KEY = "dpop_private_key" } : {},
  )

  db_password_secret = {
    name      = "DAGSTER_PG_PASSWORD"
    valueFrom = "${aws_secretsmanager_secret.dagster_db.arn}:password::"
  }
  okta_secrets = [
    for env_name, key in local.okta_secret_keys : {
      name      = env_name
      valueFrom = "${aws_secretsmanager_secret.okta.arn}:${key}::"
    }
  ]
}
