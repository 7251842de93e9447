"""Where alerts go: Jira and Slack settings in, destinations and routes out."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
from pydantic import Field

from okta_pipeline.defs.deployment import DeploymentSettings
from okta_pipeline.lib.alerts.config import AlertSettings, jira_secret
from okta_pipeline.lib.alerts.delivery import DEFAULT_ROUTES
from okta_pipeline.lib.alerts.jira import JiraSettings
from okta_pipeline.lib.alerts.ledger import LEDGER_INDEX
from okta_pipeline.lib.destination_hosts import require_allowed_host


class AlertsResource(dg.ConfigurableResource):
    """Jira (base URL, project, and an email with an API token, or a Secrets Manager secret
    holding `{"email": ..., "api_token": ...}`) and Slack (a bot token and channel, or an
    incoming webhook URL). Pass secrets with `dg.EnvVar`. A destination left unset is not used."""

    jira_base_url: str | None = Field(default=None, description="https://<site>.atlassian.net")
    jira_project_key: str | None = None
    jira_issue_type: str = "Task"
    jira_email: str | None = None
    jira_api_token: str | None = Field(default=None, repr=False)
    jira_secret_id: str | None = Field(
        default=None, description="Secrets Manager secret with email and api_token (JSON)"
    )
    slack_bot_token: str | None = Field(default=None, repr=False)
    slack_channel: str | None = None
    slack_webhook_url: str | None = Field(default=None, repr=False)
    slack_api_url: str = "https://slack.com"
    dashboards_url: str | None = Field(
        default=None, description="OpenSearch Dashboards, for links to a finding's events"
    )
    routes: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_ROUTES.items()},
        description="Severity -> destinations (jira, slack)",
    )
    suppression_hours: float = Field(
        default=24.0,
        ge=0,
        description="A repeat of an incident within this many hours becomes a comment or reply",
    )
    ledger_index: str = LEDGER_INDEX
    pending_days: int = Field(
        default=7, ge=1, description="How far back each run retries deliveries left pending"
    )

    def settings(self) -> AlertSettings:
        for setting, url in (
            ("jira_base_url", self.jira_base_url),
            ("slack_api_url", self.slack_api_url),
            ("slack_webhook_url", self.slack_webhook_url),
        ):
            if url:
                require_allowed_host(url, f"the alerts resource's {setting}")
        return AlertSettings(
            jira=self._jira(),
            slack_bot_token=self.slack_bot_token,
            slack_channel=self.slack_channel,
            slack_webhook_url=self.slack_webhook_url,
            slack_api_url=self.slack_api_url,
            dashboards_url=self.dashboards_url,
            routes={k: tuple(v) for k, v in self.routes.items()},
            suppression=timedelta(hours=self.suppression_hours),
        )

    def _jira(self) -> JiraSettings | None:
        if not self.jira_base_url:
            return None
        email, token = self.jira_email, self.jira_api_token
        if self.jira_secret_id:
            email, token = jira_secret(self.jira_secret_id)
        if not (self.jira_project_key and email and token):
            raise ValueError(
                "Jira needs jira_project_key and credentials: jira_email with jira_api_token "
                "(EnvVar), or jira_secret_id"
            )
        return JiraSettings(
            self.jira_base_url, email, token, self.jira_project_key, self.jira_issue_type
        )


def alerts_resource(settings: DeploymentSettings, **overrides: object) -> AlertsResource:
    """Jira and Slack as the deployment configures them, secrets as EnvVars; unset ones are
    not used."""
    options: dict[str, object] = {"suppression_hours": settings.alert_suppression_hours}
    if settings.jira_credentials != "none":
        options.update(
            jira_base_url=dg.EnvVar("JIRA_BASE_URL"),
            jira_project_key=dg.EnvVar("JIRA_PROJECT_KEY"),
            jira_issue_type=settings.jira_issue_type,
        )
    if settings.jira_credentials == "secret":
        options["jira_secret_id"] = dg.EnvVar("JIRA_SECRET_ID")
    elif settings.jira_credentials == "token":
        options.update(
            jira_email=dg.EnvVar("JIRA_EMAIL"), jira_api_token=dg.EnvVar("JIRA_API_TOKEN")
        )
    if settings.slack_destination == "bot":
        options.update(
            slack_bot_token=dg.EnvVar("SLACK_BOT_TOKEN"), slack_channel=dg.EnvVar("SLACK_CHANNEL")
        )
    elif settings.slack_destination == "webhook":
        options["slack_webhook_url"] = dg.EnvVar("SLACK_WEBHOOK_URL")
    if settings.dashboards_link:
        options["dashboards_url"] = dg.EnvVar("OPENSEARCH_DASHBOARDS_URL")
    options.update(overrides)
    return AlertsResource(**options)  # type: ignore[arg-type]
