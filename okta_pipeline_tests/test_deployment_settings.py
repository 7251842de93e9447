"""Deployment settings from the environment: the fetch cadence, the settle delay, Okta's
authentication method and how the pipeline reaches OpenSearch."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest

from okta_pipeline.definitions import build_definitions, defs
from okta_pipeline.defs.deployment import DeploymentSettings, DeploymentSettingsError
from okta_pipeline.defs.partitions import PARTITION_FORMAT

OKTA_LOG = dg.AssetKey("okta_system_log")


def requested_windows(settings: DeploymentSettings, before: datetime, at: datetime) -> set[str]:
    definitions = build_definitions(settings)
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(
            defs=definitions, instance=instance, evaluation_time=before
        )
        result = dg.evaluate_automation_conditions(
            defs=definitions, instance=instance, evaluation_time=at, cursor=first.cursor
        )
        return {key for key in result.get_requested_partitions(OKTA_LOG) if key is not None}


def loaded_resources() -> Mapping[str, Any]:
    resources = defs().resources
    assert resources is not None
    return resources


def windows(first: datetime, count: int) -> set[str]:
    return {(first + i * timedelta(minutes=5)).strftime(PARTITION_FORMAT) for i in range(count)}


def test_a_15_minute_cadence_fetches_the_three_newest_windows_after_the_settle_delay() -> None:
    settings = DeploymentSettings(fetch_every_minutes=15, settle_minutes=3)
    # Fetch ticks at :03, :18, :33, :48; at 10:18 the windows of [10:00, 10:15) are due.
    due = requested_windows(
        settings,
        datetime(2026, 11, 20, 10, 17, 30, tzinfo=UTC),
        datetime(2026, 11, 20, 10, 18, 30, tzinfo=UTC),
    )
    assert due == windows(datetime(2026, 11, 20, 10, 0, tzinfo=UTC), 3)
    # Between ticks nothing is fetched, although a 5-minute window closed at 10:25.
    between = requested_windows(
        settings,
        datetime(2026, 11, 20, 10, 27, 0, tzinfo=UTC),
        datetime(2026, 11, 20, 10, 28, 0, tzinfo=UTC),
    )
    assert between == set()


def test_the_settle_delay_moves_the_first_fetch() -> None:
    settings = DeploymentSettings(settle_minutes=4)
    window = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    at_two = requested_windows(
        settings, window + timedelta(minutes=6, seconds=30), window + timedelta(minutes=7)
    )
    at_four = requested_windows(
        settings, window + timedelta(minutes=8, seconds=30), window + timedelta(minutes=9)
    )
    assert at_two == set()
    assert window.strftime(PARTITION_FORMAT) in at_four


def test_settings_are_read_from_the_environment_terraform_sets() -> None:
    settings = DeploymentSettings.from_environment(
        {
            "OKTA_PIPELINE_FETCH_EVERY_MINUTES": "15",
            "OKTA_PIPELINE_SETTLE_MINUTES": "3",
            "OKTA_AUTH_METHOD": "oauth",
            "OKTA_OAUTH_DPOP": "true",
            "OKTA_RATE_LIMIT_SHARE": "0.25",
            "OPENSEARCH_AWS_REGION": "eu-central-1",
            "OPENSEARCH_REPLICAS": "1",
            "OPENSEARCH_RETENTION_DAYS": "30",
            "JIRA_BASE_URL": "https://example.atlassian.net",
            "JIRA_PROJECT_KEY": "SEC",
            "JIRA_ISSUE_TYPE": "Incident",
            "SLACK_DELIVERY": "webhook",
            "OPENSEARCH_DASHBOARDS_URL": "https://search.example.com/_dashboards",
            "OKTA_PIPELINE_ALERT_SUPPRESSION_HOURS": "6",
            "OKTA_PIPELINE_RECEIVER_URL": "https://alerts.example.com/alerts",
            "OPENSEARCH_CA_CERTS": "/etc/ssl/private-ca.pem",
        }
    )
    assert settings == DeploymentSettings(
        fetch_every_minutes=15,
        settle_minutes=3,
        okta_auth_method="oauth",
        okta_oauth_dpop=True,
        okta_rate_limit_share=0.25,
        opensearch_aws_region="eu-central-1",
        opensearch_replicas=1,
        opensearch_retention_days=30,
        jira_credentials="token",
        jira_issue_type="Incident",
        slack_destination="webhook",
        dashboards_link=True,
        alert_suppression_hours=6.0,
        receiver_url="https://alerts.example.com/alerts",
        opensearch_ca_certs="/etc/ssl/private-ca.pem",
    )
    assert DeploymentSettings.from_environment({}) == DeploymentSettings()


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("OKTA_PIPELINE_FETCH_EVERY_MINUTES", "7", "whole number of 5-minute windows"),
        ("OKTA_PIPELINE_FETCH_EVERY_MINUTES", "five", "must be a whole number"),
        ("OKTA_PIPELINE_SETTLE_MINUTES", "5", "must be 0-4"),
        ("OKTA_AUTH_METHOD", "password", "'ssws'"),
        ("OKTA_OAUTH_DPOP", "maybe", "true or false"),
        ("OKTA_RATE_LIMIT_SHARE", "1.5", "(0, 1]"),
        ("OKTA_PIPELINE_ALERT_SUPPRESSION_HOURS", "-1", "0 or more"),
        ("SLACK_DELIVERY", "email", "none, bot, webhook"),
        ("OKTA_PIPELINE_RECEIVER_URL", "alerts.example.com", "full URL"),
        ("JIRA_BASE_URL", "https://example.atlassian.net", "JIRA_PROJECT_KEY"),
        ("OKTA_PIPELINE_CLOUDTRAIL_LAKE_CHANNEL_ARN", "okta-channel", "list-channels"),
        ("OPENOBSERVE_INGEST_ALLOWED_UPTO_HOURS", "0", "ZO_INGEST_ALLOWED_UPTO"),
    ],
)
def test_a_bad_setting_names_the_variable_and_what_it_accepts(
    name: str, value: str, named: str
) -> None:
    with pytest.raises(DeploymentSettingsError) as error:
        DeploymentSettings.from_environment({name: value})
    assert name in str(error.value) and named in str(error.value)


def test_the_oauth_service_app_is_configured_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OKTA_AUTH_METHOD", "oauth")
    monkeypatch.setenv("OKTA_OAUTH_DPOP", "true")
    monkeypatch.setenv("OPENSEARCH_AWS_REGION", "us-east-1")
    resources = loaded_resources()  # what the code server and each run load
    okta, opensearch = resources["okta"], resources["opensearch"]
    # Secrets stay environment variable references, resolved only when a run starts.
    assert okta.oauth_client_id == dg.EnvVar("OKTA_OAUTH_CLIENT_ID")
    assert okta.oauth_private_key == dg.EnvVar("OKTA_OAUTH_PRIVATE_KEY")
    assert okta.dpop_private_key == dg.EnvVar("OKTA_DPOP_PRIVATE_KEY")
    assert okta.api_token is None
    assert opensearch.aws_region == "us-east-1"


def test_local_defaults_use_an_api_token_and_no_signing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OKTA_AUTH_METHOD", "OPENSEARCH_AWS_REGION", "OKTA_OAUTH_DPOP"):
        monkeypatch.delenv(name, raising=False)
    resources = loaded_resources()
    assert resources["okta"].api_token == dg.EnvVar("OKTA_API_TOKEN")
    assert resources["okta"].oauth_client_id is None
    assert resources["opensearch"].aws_region is None


def test_alert_destinations_are_environment_variable_references(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The code server decides which destinations exist from names alone; the secrets are read
    when a run starts, from the variables ECS injects into the run task."""
    for name in ("JIRA_SECRET_ID", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "JIRA_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JIRA_BASE_URL", "https://example.atlassian.net")
    monkeypatch.setenv("JIRA_PROJECT_KEY", "SEC")
    monkeypatch.setenv("SLACK_DELIVERY", "bot")
    monkeypatch.setenv("SLACK_CHANNEL", "#security-alerts")
    alerts = loaded_resources()["alerts"]
    assert alerts.jira_api_token == dg.EnvVar("JIRA_API_TOKEN")
    assert alerts.jira_email == dg.EnvVar("JIRA_EMAIL")
    assert alerts.slack_bot_token == dg.EnvVar("SLACK_BOT_TOKEN")
    assert alerts.slack_webhook_url is None and alerts.jira_secret_id is None

    monkeypatch.setenv("JIRA_SECRET_ID", "okta-pipeline/jira")
    monkeypatch.setenv("SLACK_DELIVERY", "none")
    alerts = loaded_resources()["alerts"]
    assert alerts.jira_secret_id == dg.EnvVar("JIRA_SECRET_ID") and alerts.jira_api_token is None
    assert alerts.slack_bot_token is None and alerts.slack_webhook_url is None


def test_slack_by_bot_needs_its_channel() -> None:
    with pytest.raises(DeploymentSettingsError, match="SLACK_CHANNEL"):
        DeploymentSettings.from_environment({"SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(DeploymentSettingsError, match="not both"):
        DeploymentSettings.from_environment(
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_WEBHOOK_URL": "https://hooks.slack.com/x"}
        )


def test_the_definitions_trust_the_configured_ca_bundle() -> None:
    settings = DeploymentSettings.from_environment({"OPENSEARCH_CA_CERTS": "/etc/ssl/corp-ca.pem"})
    resources = build_definitions(settings).resources or {}
    assert resources["opensearch"].ca_certs == "/etc/ssl/corp-ca.pem"
    assert (build_definitions(DeploymentSettings()).resources or {})["opensearch"].ca_certs is None


def test_the_cloudtrail_lake_sink_is_in_the_definitions_only_when_its_channel_is_set() -> None:
    def asset_keys(settings: DeploymentSettings) -> set[str]:
        graph = build_definitions(settings).resolve_asset_graph()
        return {key.to_user_string() for key in graph.get_all_asset_keys()}

    assert "cloudtrail_lake_okta_events" not in asset_keys(DeploymentSettings())
    channel = "arn:aws:cloudtrail:eu-west-1:123456789012:channel/okta"
    with_sink = DeploymentSettings.from_environment(
        {"OKTA_PIPELINE_CLOUDTRAIL_LAKE_CHANNEL_ARN": channel}
    )
    assert "cloudtrail_lake_okta_events" in asset_keys(with_sink)
    resource = build_definitions(with_sink).resources["cloudtrail_lake"]  # type: ignore[index]
    assert resource.channel_arn == channel and resource.endpoint_url is None


def test_the_openobserve_sink_reads_its_credentials_from_env_vars_or_a_secret() -> None:
    def sink(environ: dict[str, str]) -> Any:
        built = build_definitions(DeploymentSettings.from_environment(environ))
        return (built.resources or {}).get("openobserve")

    assert sink({}) is None
    by_password = sink({"OPENOBSERVE_URL": "https://o2.example.com", "OPENOBSERVE_STREAM": "sso"})
    assert isinstance(by_password.password, dg.EnvVar) and by_password.stream == "sso"
    assert by_password.password.env_var_name == "OPENOBSERVE_PASSWORD"
    by_secret = sink({"OPENOBSERVE_URL": "https://o2.example.com", "OPENOBSERVE_SECRET_ID": "o2"})
    assert by_secret.password is None
    assert by_secret.credentials_secret_id.env_var_name == "OPENOBSERVE_SECRET_ID"
