"""The demo's alert destinations: Jira and Slack as the environment configures them, or local
stand-ins for both (on 127.0.0.1, with auth checks) when it configures neither."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from okta_pipeline.cli.demo_secrets import demo_secret
from okta_pipeline.defs.alerts.resources import AlertsResource, alerts_resource
from okta_pipeline.defs.deployment import DeploymentSettings
from okta_pipeline.lib.alerts.ledger import LEDGER_INDEX
from okta_pipeline.lib.standins.jira import JiraStandIn
from okta_pipeline.lib.standins.slack import SlackStandIn

STANDIN_LEDGER = f"{LEDGER_INDEX}-standins"
"""Deliveries to stand-ins are recorded apart, so they never count as sent to a real Jira."""
STANDIN_PROJECT = "SEC"
STANDIN_CHANNEL = "#security-alerts"
CONFIGURING_VARIABLES = ("JIRA_BASE_URL", "SLACK_DELIVERY", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL")


@dataclass(frozen=True)
class DemoDestinations:
    resource: AlertsResource
    label: str
    """Where alerts go, in a few words."""
    description: str
    jira: JiraStandIn | None = None
    slack: SlackStandIn | None = None


@contextmanager
def demo_destinations(
    environ: Mapping[str, str], ledger_index: str | None = None
) -> Iterator[DemoDestinations]:
    """Real destinations when any is configured, stand-ins otherwise."""
    if any(environ.get(name, "").strip() for name in CONFIGURING_VARIABLES):
        settings = DeploymentSettings.from_environment(environ)
        resource = alerts_resource(settings, ledger_index=ledger_index or LEDGER_INDEX)
        configured = [
            name
            for name, present in (
                ("Jira", settings.jira_credentials != "none"),
                ("Slack", settings.slack_destination != "none"),
            )
            if present
        ]
        label = f"{' and '.join(configured)} as configured"
        yield DemoDestinations(resource, label, label)
        return
    email = "demo@example.com"
    with ExitStack() as stack:
        jira_token, jira_env = stack.enter_context(demo_secret("OKTA_PIPELINE_DEMO_JIRA_TOKEN"))
        slack_token, slack_env = stack.enter_context(
            demo_secret("OKTA_PIPELINE_DEMO_SLACK_TOKEN", prefix="xoxb-")
        )
        jira = stack.enter_context(JiraStandIn(email, jira_token, (STANDIN_PROJECT,)))
        slack = stack.enter_context(SlackStandIn(slack_token, STANDIN_CHANNEL))
        assert isinstance(jira, JiraStandIn) and isinstance(slack, SlackStandIn)
        resource = AlertsResource(
            jira_base_url=jira.base_url,
            jira_project_key=STANDIN_PROJECT,
            jira_email=email,
            jira_api_token=jira_env,
            slack_bot_token=slack_env,
            slack_channel=STANDIN_CHANNEL,
            slack_api_url=slack.base_url,
            ledger_index=ledger_index or STANDIN_LEDGER,
        )
        description = (
            f"local stand-ins for Jira ({jira.base_url}) and Slack ({slack.base_url}); set "
            "JIRA_BASE_URL or SLACK_WEBHOOK_URL (see the README) to deliver for real"
        )
        yield DemoDestinations(
            resource, "local stand-ins of Jira and Slack", description, jira, slack
        )
