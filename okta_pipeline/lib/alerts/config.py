"""Where alerts go: the destinations a deployment has, and the routes from severities to them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from okta_pipeline.lib.alerts.delivery import DEFAULT_ROUTES, JIRA, SLACK, Destinations
from okta_pipeline.lib.alerts.http import DEFAULT_RETRY, RetryPolicy
from okta_pipeline.lib.alerts.jira import JiraClient, JiraSettings
from okta_pipeline.lib.alerts.slack import SlackBot, SlackWebhook
from okta_pipeline.lib.aws_secrets import secret_pair

SEVERITIES = ("critical", "high", "medium", "low", "informational")


class AlertConfigError(ValueError):
    """Alert routing is configured in a way that cannot work; the message says how to fix it."""


@dataclass(frozen=True)
class AlertSettings:
    jira: JiraSettings | None = None
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_channel: str | None = None
    slack_webhook_url: str | None = field(default=None, repr=False)
    slack_api_url: str = "https://slack.com"
    dashboards_url: str | None = None
    routes: Mapping[str, Sequence[str]] = field(default_factory=lambda: DEFAULT_ROUTES)
    suppression: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        unrouted = [severity for severity in SEVERITIES if severity not in self.routes]
        if unrouted:
            raise AlertConfigError(
                f"routes give no destinations for {', '.join(unrouted)}: their findings would "
                "go nowhere without a word. Route every severity, with [] for one that is "
                "deliberately not sent (the default: critical and high to jira and slack, "
                "medium to slack, low and informational to none)"
            )
        for severity, destinations in self.routes.items():
            if severity not in SEVERITIES:
                raise AlertConfigError(
                    f"route for unknown severity {severity!r}: use {', '.join(SEVERITIES)}"
                )
            unknown = set(destinations) - {JIRA, SLACK}
            if unknown:
                raise AlertConfigError(
                    f"route {severity} names {sorted(unknown)}: destinations are jira and slack"
                )
        if self.slack_bot_token and not self.slack_channel:
            raise AlertConfigError("a Slack bot token needs the channel to post to (slack_channel)")
        if self.slack_bot_token and self.slack_webhook_url:
            raise AlertConfigError("configure a Slack bot token or an incoming webhook, not both")
        if self.suppression < timedelta(0):
            raise AlertConfigError("the suppression window cannot be negative")

    def destinations(self, retry: RetryPolicy = DEFAULT_RETRY) -> Destinations:
        slack: SlackBot | SlackWebhook | None = None
        if self.slack_bot_token and self.slack_channel:
            slack = SlackBot(self.slack_bot_token, self.slack_channel, self.slack_api_url, retry)
        elif self.slack_webhook_url:
            slack = SlackWebhook(self.slack_webhook_url, retry)
        jira = JiraClient(self.jira, retry) if self.jira else None
        return Destinations(jira=jira, slack=slack)


def settings_from_environment(environ: Mapping[str, str]) -> AlertSettings:
    """The destinations the environment configures, with the names the deployment uses:
    JIRA_BASE_URL, JIRA_PROJECT_KEY, JIRA_EMAIL and JIRA_API_TOKEN (or JIRA_SECRET_ID, a
    Secrets Manager secret with email and api_token); SLACK_BOT_TOKEN with SLACK_CHANNEL, or
    SLACK_WEBHOOK_URL; OPENSEARCH_DASHBOARDS_URL; OKTA_PIPELINE_ALERT_SUPPRESSION_HOURS."""

    def value(name: str) -> str | None:
        return environ.get(name, "").strip() or None

    jira = None
    base_url = value("JIRA_BASE_URL")
    if base_url:
        project = value("JIRA_PROJECT_KEY")
        if not project:
            raise AlertConfigError("JIRA_BASE_URL is set: set JIRA_PROJECT_KEY too")
        email, token = value("JIRA_EMAIL"), value("JIRA_API_TOKEN")
        secret_id = value("JIRA_SECRET_ID")
        if secret_id:
            email, token = jira_secret(secret_id)
        if not (email and token):
            raise AlertConfigError(
                "JIRA_BASE_URL is set: set JIRA_EMAIL and JIRA_API_TOKEN, or JIRA_SECRET_ID"
            )
        jira = JiraSettings(base_url, email, token, project, value("JIRA_ISSUE_TYPE") or "Task")
    hours = value("OKTA_PIPELINE_ALERT_SUPPRESSION_HOURS") or "24"
    try:
        suppression = timedelta(hours=float(hours))
    except ValueError:
        raise AlertConfigError(
            f"OKTA_PIPELINE_ALERT_SUPPRESSION_HOURS={hours!r} must be a number"
        ) from None
    return AlertSettings(
        jira=jira,
        slack_bot_token=value("SLACK_BOT_TOKEN"),
        slack_channel=value("SLACK_CHANNEL"),
        slack_webhook_url=value("SLACK_WEBHOOK_URL"),
        dashboards_url=value("OPENSEARCH_DASHBOARDS_URL"),
        suppression=suppression,
    )


def jira_secret(secret_id: str) -> tuple[str, str]:
    """The email and API token in a Secrets Manager secret (JSON: email, api_token)."""
    try:
        return secret_pair(secret_id, "email", "api_token")
    except ValueError as error:
        raise AlertConfigError(str(error)) from None
