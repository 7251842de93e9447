"""The Terraform deployment, read as HCL: typed and described variables, no secret in a
default, a variable or an output, monitors left to the pipeline, and every checkov finding
either fixed or skipped with its reason."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import hcl2
import pytest

from okta_pipeline.definitions import build_definitions
from okta_pipeline.defs.deployment import DeploymentSettings
from okta_pipeline_tests.deployment.hcl import (
    TERRAFORM_DIR,
    TerraformConfig,
    load_terraform,
    plain,
    validation_accepts,
)

CHANNEL_ARN = "arn:aws:cloudtrail:us-east-1:123456789012:channel/okta-pipeline"
SECRET_WORDS = re.compile(r"password|token|secret|private_key|api_key|credential", re.IGNORECASE)
# Arguments that would put a secret value into the state file; the write-only (_wo) forms don't.
STATEFUL_SECRET_ARGUMENTS = {"secret_string", "secret_binary", "password", "master_user_password"}
CHECKOV_SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


@pytest.fixture(scope="module")
def terraform() -> TerraformConfig:
    return load_terraform()


def test_every_variable_has_a_type_and_a_description(terraform: TerraformConfig) -> None:
    assert terraform.variables, "no variables parsed"
    for name, variable in terraform.variables.items():
        assert variable.get("type"), f"variable {name} has no type"
        assert len(str(variable.get("description", ""))) >= 20, f"variable {name}: describe it"


def test_every_variable_that_can_hold_a_wrong_value_is_validated(
    terraform: TerraformConfig,
) -> None:
    free_form = {"tags"}  # any map of strings is a valid set of tags
    for name, variable in terraform.variables.items():
        if variable["type"] in ("bool", "${bool}") or name in free_form:
            continue
        validations = variable.get("validation", [])
        assert validations, f"variable {name} has no validation"
        for validation in validations:
            assert validation["error_message"].strip(), f"variable {name}: say what is wrong"


def test_no_secret_has_a_default_and_none_is_written_to_state(terraform: TerraformConfig) -> None:
    for name, variable in terraform.variables.items():
        if SECRET_WORDS.search(name) or variable.get("sensitive"):
            assert "default" not in variable, f"secret variable {name} has a default"
    for type_, name, body in terraform.resources:
        written = STATEFUL_SECRET_ARGUMENTS & body.keys()
        assert not written, f"{type_}.{name} stores {written} in state; use the _wo argument"
    # Generated passwords are ephemeral, never a password resource kept in state.
    assert not [r for r in terraform.resources if "random_password" in r[0]]
    generated = ("aws_secretsmanager_random_password", "dagster_db")
    assert generated in {(t, n) for t, n, _ in terraform.ephemerals}
    database = terraform.resource("aws_db_instance", "dagster")
    assert "password_wo" in database and "password" not in database
    assert "manage_master_user_password" not in database  # its rotation would cut Dagster off


def test_no_output_carries_a_secret_value(terraform: TerraformConfig) -> None:
    for name, output in terraform.outputs.items():
        value = str(output["value"])
        assert not re.search(r"secret_string|\.password|random_password|ephemeral\.", value), (
            f"output {name} exposes a secret value: {value}"
        )
        assert output.get("description"), f"output {name} has no description"


def test_no_monitor_is_managed_by_terraform(terraform: TerraformConfig) -> None:
    """Monitors belong to the pipeline's sync; Terraform providers re-create them on apply."""
    providers = terraform.terraform[0]["required_providers"][0]
    assert set(providers) == {"aws"}
    for type_, name, _ in terraform.resources:
        assert "monitor" not in type_ or type_ == "aws_iam_role", f"{type_}.{name}"
        assert not type_.startswith(("opensearch_", "elasticsearch_")), f"{type_}.{name}"
    all_hcl = "\n".join(p.read_text() for p in TERRAFORM_DIR.glob("*.tf"))
    # Its one mention: the IAM path of the monitors a run may delete (iam.tf).
    all_hcl = all_hcl.replace(
        '"${aws_opensearch_domain.this.arn}/_plugins/_alerting/monitors/*"', ""
    )
    assert "_plugins/_alerting" not in all_hcl


def test_providers_and_terraform_are_pinned(terraform: TerraformConfig) -> None:
    block = terraform.terraform[0]
    assert re.fullmatch(r">= 1\.1[1-9]\.\d+, < 2\.0\.0", block["required_version"])
    for name, provider in block["required_providers"][0].items():
        assert provider["source"].startswith("hashicorp/"), name
        assert provider["version"].startswith("~> "), f"{name} is not pinned to a minor series"


def test_the_deployment_is_encrypted_and_private(terraform: TerraformConfig) -> None:
    domain = terraform.resource("aws_opensearch_domain", "this")
    assert domain["encrypt_at_rest"][0]["enabled"] is True
    assert domain["node_to_node_encryption"][0]["enabled"] is True
    endpoint = domain["domain_endpoint_options"][0]
    assert endpoint["enforce_https"] is True
    assert endpoint["tls_security_policy"].startswith("Policy-Min-TLS-1-2")
    security = domain["advanced_security_options"][0]
    assert security["enabled"] is True and security["anonymous_auth_enabled"] is False
    assert domain["vpc_options"], "the domain is placed in the VPC"
    logs = {option["log_type"] for option in domain["log_publishing_options"]}
    assert {"AUDIT_LOGS", "ES_APPLICATION_LOGS"} <= logs

    database = terraform.resource("aws_db_instance", "dagster")
    assert database["storage_encrypted"] is True and database["publicly_accessible"] is False
    parameters = terraform.resource("aws_db_parameter_group", "dagster")["parameter"]
    assert {"name": "rds.force_ssl", "value": "1"} in parameters

    encryption = terraform.resource(
        "aws_s3_bucket_server_side_encryption_configuration", "artifacts"
    )
    assert encryption["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == (
        "aws:kms"
    )
    lifecycle = terraform.resource("aws_s3_bucket_lifecycle_configuration", "artifacts")["rule"]
    expiring = {rule["filter"][0].get("prefix") for rule in lifecycle if rule.get("expiration")}
    assert {"landing/", "compute-logs/"} <= expiring
    access = terraform.resource("aws_s3_bucket_public_access_block", "artifacts")
    assert all(access[flag] is True for flag in ("block_public_acls", "block_public_policy"))
    listener = terraform.resource("aws_lb_listener", "https")
    assert listener["protocol"] == "HTTPS" and "TLS13-1-2" in listener["ssl_policy"]
    assert terraform.resource("aws_lb", "ui")["internal"] is True
    for type_, name, body in terraform.resources:
        if type_ == "aws_cloudwatch_log_group":
            assert body["retention_in_days"] == "${var.log_retention_days}", name
            assert body.get("kms_key_id"), name


def test_the_ui_signs_users_in_through_oidc_before_the_webserver(
    terraform: TerraformConfig,
) -> None:
    """The Dagster UI has no login of its own: the listener authenticates, then forwards."""
    actions = sorted(
        terraform.resource("aws_lb_listener", "https")["default_action"], key=lambda a: a["order"]
    )
    assert [a["type"] for a in actions] == ["authenticate-oidc", "forward"]
    oidc = actions[0]["authenticate_oidc"][0]
    assert oidc["on_unauthenticated_request"] == "authenticate"
    assert oidc["client_secret"] == (
        "${data.aws_secretsmanager_secret_version.ui_oidc_client.secret_string}"
    )
    assert "default" not in terraform.variables["ui_oidc"]  # no deployment without it
    egress = terraform.resource("aws_vpc_security_group_egress_rule", "alb_to_identity_provider")
    assert (egress["from_port"], egress["to_port"]) == (443, 443)


@pytest.mark.parametrize(
    ("issuer", "accepted"),
    [
        ("https://acme.okta.com", True),
        ("https://acme.okta.com/oauth2/aus0123456789abcdef", True),
        ("https://acme.okta.com/", False),
        ("http://acme.okta.com", False),
        ("acme.okta.com", False),
    ],
)
def test_the_ui_oidc_issuer_is_an_https_okta_org_or_authorization_server(
    terraform: TerraformConfig, issuer: str, accepted: bool
) -> None:
    value = {"issuer": issuer, "client_id": "0oa1", "client_secret_id": "ui-oidc"}
    assert validation_accepts(terraform, "ui_oidc", value) is accepted


@pytest.mark.parametrize(
    ("cidrs", "accepted"),
    [
        (["10.20.0.0/16", "192.0.2.10/32"], True),
        (["10.0.0.0/8"], False),
        (["10.20.0.0/15"], False),
        (["2001:db8:1234::/48"], True),
        (["2001:db8::/32"], False),
        (["0.0.0.0/0"], False),
        (["::/0"], False),
        (["0.0.0.0/1"], False),
        (["10.0.0.0/16", "128.0.0.0/2"], False),
        (["2001::/16"], False),
        (["not-a-cidr"], False),
        ([], False),
    ],
)
def test_ui_allowlist_refuses_the_internet_and_ranges_nearly_as_wide(
    terraform: TerraformConfig, cidrs: list[str], accepted: bool
) -> None:
    """The variable's own validation, evaluated by Terraform on sample ranges."""
    assert validation_accepts(terraform, "ui_allowed_cidrs", cidrs) is accepted


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        (None, True),
        ("2026-09-01", True),
        ("2026-09-01-23:55", True),
        ("2026-02-30", False),
        ("2026-09-01-12:03", False),
        ("2026-09-01-24:00", False),
        ("2026-9-1", False),
        ("", False),
    ],
)
def test_the_partitions_start_is_null_a_date_or_an_aligned_partition_key(
    terraform: TerraformConfig, value: str | None, accepted: bool
) -> None:
    """The variable's own validation, evaluated by Terraform; null leaves the setting unset."""
    assert validation_accepts(terraform, "partitions_start", value) is accepted
    environment = terraform.locals["pipeline_environment"]
    setting = environment["OKTA_PIPELINE_PARTITIONS_START"]
    assert setting == '${var.partitions_start == null ? "" : var.partitions_start}'


def test_each_run_gets_exactly_the_environment_the_definitions_read(
    terraform: TerraformConfig,
) -> None:
    """Every EnvVar the deployed definitions resolve at run time is set on the run task, as
    plain environment or as a key of the Okta secret."""
    provided = (
        set(terraform.locals["pipeline_environment"])
        | okta_secret_env(terraform)
        | alert_secret_env(terraform)
        | set(re.findall(r"(OPENOBSERVE_[A-Z_]+) =", terraform.locals["openobserve_secret_keys"]))
    )
    for settings in (
        DeploymentSettings(okta_auth_method="ssws"),
        DeploymentSettings(
            okta_auth_method="oauth",
            okta_oauth_dpop=True,
            jira_credentials="token",
            slack_destination="bot",
            dashboards_link=True,
        ),
        DeploymentSettings(slack_destination="webhook"),
        DeploymentSettings(receiver_url="https://alerts.example.com/alerts"),
        DeploymentSettings(cloudtrail_root="s3://org-trail-logs/security"),
        DeploymentSettings(
            log_stream_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/okta",
            log_stream_dead_letter_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
        ),
        DeploymentSettings(cloudtrail_lake_channel_arn=CHANNEL_ARN),
        DeploymentSettings(openobserve_credentials="password"),
    ):
        wanted = env_var_names(build_definitions(settings).resources or {})
        assert "OKTA_BASE_URL" in wanted
        assert wanted <= provided, f"not set on the run task: {wanted - provided}"

    settings_read = {
        "OKTA_PIPELINE_FETCH_EVERY_MINUTES",
        "OKTA_PIPELINE_SETTLE_MINUTES",
        "OKTA_AUTH_METHOD",
        "OKTA_OAUTH_DPOP",
        "OKTA_RATE_LIMIT_SHARE",
        "OPENSEARCH_AWS_REGION",
        "OPENSEARCH_REPLICAS",
        "OPENSEARCH_RETENTION_DAYS",
        "OPENSEARCH_DASHBOARDS_URL",
        "JIRA_BASE_URL",
        "JIRA_PROJECT_KEY",
        "JIRA_ISSUE_TYPE",
        "SLACK_DELIVERY",
        "SLACK_CHANNEL",
        "OKTA_PIPELINE_ALERT_SUPPRESSION_HOURS",
        "OKTA_PIPELINE_RECEIVER_URL",
        "OPENSEARCH_CA_CERTS",
        "OKTA_PIPELINE_PARTITIONS_START",
        "OKTA_PIPELINE_CLOUDTRAIL_ROOT",
        "OKTA_PIPELINE_LOG_STREAM_QUEUE_URL",
        "OKTA_PIPELINE_LOG_STREAM_DLQ_URL",
        "OKTA_PIPELINE_LOG_STREAM_ENDPOINT_URL",
        "OKTA_PIPELINE_CLOUDTRAIL_LAKE_CHANNEL_ARN",
        "OKTA_PIPELINE_CLOUDTRAIL_LAKE_ENDPOINT_URL",
        "OPENOBSERVE_URL",
        "OPENOBSERVE_ORG",
        "OPENOBSERVE_STREAM",
        "OPENOBSERVE_INGEST_ALLOWED_UPTO_HOURS",
    }
    assert settings_read <= set(terraform.locals["pipeline_environment"])
    # Runs are separate tasks: the landing zone must be shared storage, not a task's disk.
    landing_root = terraform.locals["pipeline_environment"]["OKTA_PIPELINE_LANDING_ROOT"]
    assert landing_root.startswith("s3://${aws_s3_bucket.artifacts.bucket}/")
    changed = {
        "OKTA_PIPELINE_FETCH_EVERY_MINUTES": "15",
        "OKTA_PIPELINE_SETTLE_MINUTES": "4",
        "OKTA_AUTH_METHOD": "oauth",
        "OKTA_OAUTH_DPOP": "true",
        "OKTA_RATE_LIMIT_SHARE": "0.3",
        "OPENSEARCH_AWS_REGION": "eu-west-1",
        "OPENSEARCH_REPLICAS": "1",
        "OPENSEARCH_RETENTION_DAYS": "30",
        "OPENSEARCH_DASHBOARDS_URL": "https://vpc-x.us-east-1.es.amazonaws.com/_dashboards",
        "JIRA_BASE_URL": "https://example.atlassian.net",
        "JIRA_PROJECT_KEY": "SEC",
        "JIRA_ISSUE_TYPE": "Incident",
        "SLACK_DELIVERY": "bot",
        "SLACK_CHANNEL": "#security-alerts",
        "OKTA_PIPELINE_ALERT_SUPPRESSION_HOURS": "12",
        "OKTA_PIPELINE_RECEIVER_URL": "https://alerts.example.com/alerts",
        "OPENSEARCH_CA_CERTS": "/etc/ssl/private-ca.pem",
        "OKTA_PIPELINE_PARTITIONS_START": f"{datetime.now(UTC) - timedelta(days=30):%Y-%m-%d}",
        "OKTA_PIPELINE_CLOUDTRAIL_ROOT": "s3://org-trail-logs/security",
        "OKTA_PIPELINE_LOG_STREAM_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/okta",
        "OKTA_PIPELINE_LOG_STREAM_DLQ_URL": "https://sqs.us-east-1.amazonaws.com/1/okta-dlq",
        "OKTA_PIPELINE_LOG_STREAM_ENDPOINT_URL": "http://127.0.0.1:5000",
        "OKTA_PIPELINE_CLOUDTRAIL_LAKE_CHANNEL_ARN": CHANNEL_ARN,
        "OKTA_PIPELINE_CLOUDTRAIL_LAKE_ENDPOINT_URL": "http://127.0.0.1:5001",
        "OPENOBSERVE_URL": "https://openobserve.example.com",
        "OPENOBSERVE_ORG": "security",
        "OPENOBSERVE_STREAM": "okta_system_log",
        "OPENOBSERVE_INGEST_ALLOWED_UPTO_HOURS": "24",
    }
    assert set(changed) == settings_read
    defaults = vars(DeploymentSettings())
    read = vars(DeploymentSettings.from_environment(changed))
    assert all(read[field] != defaults[field] for field in defaults), "a setting is not read"


def test_the_run_task_lists_its_secrets_explicitly(terraform: TerraformConfig) -> None:
    run = terraform.resource("aws_ecs_task_definition", "run")
    assert (
        "secrets = concat([local.db_password_secret], local.okta_secrets, local.alert_secrets, "
        "local.sink_secrets)" in (run["container_definitions"])
    )
    # Empty settings (a destination left off) are left out, not set to "".
    assert 'if value != ""' in run["container_definitions"]
    assert terraform.locals["db_password_secret"]["valueFrom"].endswith(":password::")
    assert "${aws_secretsmanager_secret.okta.arn}:${key}::" in terraform.locals["okta_secrets"]
    assert okta_secret_env(terraform) == {
        "OKTA_API_TOKEN",
        "OKTA_OAUTH_CLIENT_ID",
        "OKTA_OAUTH_PRIVATE_KEY",
        "OKTA_OAUTH_KEY_ID",
        "OKTA_DPOP_PRIVATE_KEY",
    }
    alert_secrets = str(terraform.locals["alert_secrets"])
    assert "${aws_secretsmanager_secret.jira.arn}:${key}::" in alert_secrets
    assert "${aws_secretsmanager_secret.slack.arn}:${key}::" in alert_secrets
    assert "${aws_secretsmanager_secret.alert_receiver.arn}:${key}::" in alert_secrets
    assert alert_secret_env(terraform) == {
        "JIRA_EMAIL",
        "JIRA_API_TOKEN",
        "SLACK_BOT_TOKEN",
        "SLACK_WEBHOOK_URL",
        "OKTA_PIPELINE_RECEIVER_SECRET",
    }
    # ECS reads each injected secret with the execution role.
    readable = (TERRAFORM_DIR / "iam.tf").read_text().split('sid     = "InjectSecrets"')[1]
    readable = readable.split("}")[0]
    for secret in ("okta", "dagster_db", "jira", "slack", "alert_receiver"):
        assert f"aws_secretsmanager_secret.{secret}.arn" in readable, secret


def test_every_checkov_skip_carries_its_reason() -> None:
    skips = []
    for path in sorted(TERRAFORM_DIR.glob("*.tf")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = CHECKOV_SKIP.search(line)
            if match:
                skips.append(match.group(1))
                reason = (match.group(2) or "").strip()
                assert len(reason) >= 40, f"{path.name}:{number}: skip {match.group(1)} unexplained"
    assert skips, "expected the justified skips to be found"


def test_checkov_passes_with_only_justified_skips() -> None:
    checkov = os.environ.get("CHECKOV") or shutil.which("checkov")
    assert checkov, "checkov not found: run `make test`, which installs it into .venv-checkov"
    result = subprocess.run(
        [
            checkov,
            "--directory",
            str(TERRAFORM_DIR),
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(result.stdout)
    failed = report["results"]["failed_checks"]
    assert not failed, [f"{c['check_id']} {c['resource']} {c['file_path']}" for c in failed]
    skipped = report["results"]["skipped_checks"]
    assert skipped, "the inline skips were not seen by checkov"
    for check in skipped:
        assert len(check["check_result"].get("suppress_comment", "")) >= 40, check["check_id"]
    assert report["summary"]["passed"] > 300


def env_var_names(resources: Mapping[str, Any]) -> set[str]:
    """The environment variables a set of resources reads at run time."""
    return {
        value.env_var_name
        for resource in resources.values()
        for value in vars(resource).values()
        if isinstance(value, dg.EnvVar)
    }


def okta_secret_env(terraform: TerraformConfig) -> set[str]:
    return set(re.findall(r"(OKTA_[A-Z_]+) =", terraform.locals["okta_secret_keys"]))


def alert_secret_env(terraform: TerraformConfig) -> set[str]:
    keys = "".join(
        str(terraform.locals[name])
        for name in ("jira_secret_keys", "slack_secret_keys", "receiver_secret_keys")
    )
    return set(re.findall(r"((?:JIRA|SLACK|OKTA_PIPELINE)_[A-Z_]+) =", keys))


def test_the_example_variables_file_sets_every_required_variable_and_nothing_else(
    terraform: TerraformConfig,
) -> None:
    with (TERRAFORM_DIR / "terraform.tfvars.example").open() as example:
        values = plain(hcl2.load(example))
    required = {name for name, variable in terraform.variables.items() if "default" not in variable}
    assert required <= set(values), f"the example misses {required - set(values)}"
    assert set(values) <= set(terraform.variables), (
        f"unknown: {set(values) - set(terraform.variables)}"
    )


def test_names_fit_aws_limits_for_the_longest_allowed_name(terraform: TerraformConfig) -> None:
    condition = terraform.variables["name"]["validation"][0]["condition"]
    longest = int(re.search(r"\{2,(\d+)\}", condition).group(1)) + 1  # type: ignore[union-attr]
    service_keys = ["webserver", "daemon", "code-server"]
    limits = {  # (resource type, argument): AWS's limit on its length
        ("aws_iam_role", "name_prefix"): 38,
        ("aws_lb", "name"): 32,
        ("aws_opensearch_domain", "domain_name"): 28,
        ("aws_s3_bucket", "bucket_prefix"): 37,
        ("aws_db_instance", "identifier"): 63,
        ("aws_ecs_cluster", "name"): 255,
    }
    checked = 0
    for type_, name, body in terraform.resources:
        for (limited_type, argument), limit in limits.items():
            if type_ != limited_type or argument not in body:
                continue
            template = body[argument].replace("${var.name}", "x" * longest)
            for key in service_keys:
                rendered = template.replace('${replace(each.key, "_", "-")}', key)
                assert "${" not in rendered, f"{type_}.{name}: cannot render {template}"
                assert len(rendered) <= limit, f"{type_}.{name}: {rendered} is over {limit}"
            checked += 1
    assert checked >= 8
