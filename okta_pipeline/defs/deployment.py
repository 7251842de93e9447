"""Deployment settings that shape the definitions themselves, read once when they load.

Secrets and connection details stay in resources as `dg.EnvVar`s, resolved at run time. What
lives here cannot: the fetch cadence and settle delay become automation conditions, and the
authentication method decides which resource fields exist. All of it is non-secret, and the
same in the code server and in every run (terraform/ecs.tf sets it on both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

FETCH_INTERVALS = (5, 10, 15, 20, 30, 60)


class DeploymentSettingsError(ValueError):
    """A deployment setting in the environment has a value the pipeline cannot use."""


@dataclass(frozen=True)
class DeploymentSettings:
    fetch_every_minutes: int = 5
    settle_minutes: int = 2
    okta_auth_method: Literal["ssws", "oauth"] = "ssws"
    okta_oauth_dpop: bool = False
    okta_rate_limit_share: float = 0.5
    opensearch_aws_region: str | None = None
    opensearch_replicas: int = 0
    opensearch_retention_days: int = 90
    opensearch_ca_certs: str | None = None
    """A CA bundle for a cluster whose certificate a private CA signed (OPENSEARCH_CA_CERTS)."""
    jira_credentials: Literal["none", "token", "secret"] = "none"
    """How Jira is reached: not at all, JIRA_EMAIL with JIRA_API_TOKEN, or JIRA_SECRET_ID."""
    jira_issue_type: str = "Task"
    slack_destination: Literal["none", "bot", "webhook"] = "none"
    dashboards_link: bool = False
    alert_suppression_hours: float = 24.0
    receiver_url: str | None = None
    """The alert receiver that monitors post new alerts to (OKTA_PIPELINE_RECEIVER_URL)."""

    def __post_init__(self) -> None:
        if self.fetch_every_minutes not in FETCH_INTERVALS:
            raise DeploymentSettingsError(
                f"OKTA_PIPELINE_FETCH_EVERY_MINUTES={self.fetch_every_minutes} is not one of "
                f"{', '.join(map(str, FETCH_INTERVALS))}: the cadence must be a whole number of "
                "5-minute windows that divides an hour"
            )
        if not 0 <= self.settle_minutes <= 4:
            raise DeploymentSettingsError(
                f"OKTA_PIPELINE_SETTLE_MINUTES={self.settle_minutes} must be 0-4 (minutes after "
                "a 5-minute window closes before it is first fetched)"
            )
        if self.okta_auth_method not in ("ssws", "oauth"):
            raise DeploymentSettingsError(
                f"OKTA_AUTH_METHOD={self.okta_auth_method!r} must be 'ssws' (API token in "
                "OKTA_API_TOKEN) or 'oauth' (service app in OKTA_OAUTH_CLIENT_ID, "
                "OKTA_OAUTH_PRIVATE_KEY and OKTA_OAUTH_KEY_ID)"
            )
        if not 0 < self.okta_rate_limit_share <= 1:
            raise DeploymentSettingsError(
                f"OKTA_RATE_LIMIT_SHARE={self.okta_rate_limit_share} must be in (0, 1]"
            )
        if self.opensearch_replicas < 0 or self.opensearch_retention_days < 1:
            raise DeploymentSettingsError(
                "OPENSEARCH_REPLICAS must be 0 or more and OPENSEARCH_RETENTION_DAYS 1 or more"
            )
        if self.alert_suppression_hours < 0:
            raise DeploymentSettingsError("OKTA_PIPELINE_ALERT_SUPPRESSION_HOURS must be 0 or more")
        if self.receiver_url and not self.receiver_url.startswith(("https://", "http://")):
            raise DeploymentSettingsError(
                f"OKTA_PIPELINE_RECEIVER_URL={self.receiver_url!r} must be the receiver's full "
                "URL, e.g. https://alerts.example.com/alerts"
            )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> DeploymentSettings:
        """Settings from environment variables; unset ones keep the local defaults."""
        defaults = cls()
        return cls(
            fetch_every_minutes=_integer(
                environ, "OKTA_PIPELINE_FETCH_EVERY_MINUTES", defaults.fetch_every_minutes
            ),
            settle_minutes=_integer(
                environ, "OKTA_PIPELINE_SETTLE_MINUTES", defaults.settle_minutes
            ),
            okta_auth_method=environ.get(  # type: ignore[arg-type]  # checked in __post_init__
                "OKTA_AUTH_METHOD", defaults.okta_auth_method
            )
            .strip()
            .lower(),
            okta_oauth_dpop=_boolean(environ, "OKTA_OAUTH_DPOP", defaults.okta_oauth_dpop),
            okta_rate_limit_share=_number(
                environ, "OKTA_RATE_LIMIT_SHARE", defaults.okta_rate_limit_share
            ),
            opensearch_aws_region=environ.get("OPENSEARCH_AWS_REGION") or None,
            opensearch_replicas=_integer(
                environ, "OPENSEARCH_REPLICAS", defaults.opensearch_replicas
            ),
            opensearch_retention_days=_integer(
                environ, "OPENSEARCH_RETENTION_DAYS", defaults.opensearch_retention_days
            ),
            jira_credentials=_jira_credentials(environ),
            jira_issue_type=environ.get("JIRA_ISSUE_TYPE", "").strip() or defaults.jira_issue_type,
            slack_destination=_slack_destination(environ),
            dashboards_link=bool(environ.get("OPENSEARCH_DASHBOARDS_URL", "").strip()),
            receiver_url=environ.get("OKTA_PIPELINE_RECEIVER_URL", "").strip() or None,
            opensearch_ca_certs=environ.get("OPENSEARCH_CA_CERTS", "").strip() or None,
            alert_suppression_hours=_number(
                environ,
                "OKTA_PIPELINE_ALERT_SUPPRESSION_HOURS",
                defaults.alert_suppression_hours,
            ),
        )


def _jira_credentials(environ: Mapping[str, str]) -> Literal["none", "token", "secret"]:
    """How Jira is reached. Only non-secret names decide it: the code server has no secrets,
    and runs read JIRA_EMAIL and JIRA_API_TOKEN (or the secret) when they start."""
    if not environ.get("JIRA_BASE_URL", "").strip():
        return "none"
    if not environ.get("JIRA_PROJECT_KEY", "").strip():
        raise DeploymentSettingsError("JIRA_BASE_URL is set: set JIRA_PROJECT_KEY too")
    return "secret" if environ.get("JIRA_SECRET_ID", "").strip() else "token"


SLACK_DELIVERIES = ("none", "bot", "webhook")


def _slack_destination(environ: Mapping[str, str]) -> Literal["none", "bot", "webhook"]:
    """SLACK_DELIVERY when set (a deployment whose code server has no secrets sets it);
    otherwise whichever of SLACK_BOT_TOKEN and SLACK_WEBHOOK_URL is present."""
    chosen = environ.get("SLACK_DELIVERY", "").strip().lower()
    channel = environ.get("SLACK_CHANNEL", "").strip()
    if not chosen:
        bot = environ.get("SLACK_BOT_TOKEN", "").strip()
        webhook = environ.get("SLACK_WEBHOOK_URL", "").strip()
        if bot and webhook:
            raise DeploymentSettingsError(
                "set SLACK_BOT_TOKEN (with SLACK_CHANNEL) or SLACK_WEBHOOK_URL, not both"
            )
        chosen = "bot" if bot else "webhook" if webhook else "none"
    if chosen not in SLACK_DELIVERIES:
        raise DeploymentSettingsError(
            f"SLACK_DELIVERY={chosen!r}: use {', '.join(SLACK_DELIVERIES)}"
        )
    if chosen == "bot" and not channel:
        raise DeploymentSettingsError("Slack delivery by bot token needs SLACK_CHANNEL")
    return chosen  # type: ignore[return-value]  # checked against SLACK_DELIVERIES


def _integer(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise DeploymentSettingsError(f"{name}={value!r} must be a whole number") from None


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise DeploymentSettingsError(f"{name}={value!r} must be a number") from None


def _boolean(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise DeploymentSettingsError(f"{name}={value!r} must be true or false")
