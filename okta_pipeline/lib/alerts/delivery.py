"""Deliver findings to their destinations exactly once, grouped into incidents.

For each finding and each destination its severity routes to: claim it in the ledger, skip it
if already sent or in flight, and otherwise send it. The first finding of an incident (same
detection, same entity, within the suppression window) opens a Jira issue and a Slack message;
later ones become comments on the issue, while it is open, and replies in the message's thread.
A claim resumed after a crash first asks the destination whether the alert already arrived.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from okta_pipeline.lib.alerts.http import DestinationRefusedError, DestinationUnavailableError
from okta_pipeline.lib.alerts.jira import JiraClient
from okta_pipeline.lib.alerts.ledger import Claim, ClaimState, Ledger
from okta_pipeline.lib.alerts.messages import (
    JIRA_PRIORITY,
    Alert,
    discover_url,
    finding_label,
    jira_comment,
    jira_description,
    jira_summary,
    slack_message,
)
from okta_pipeline.lib.alerts.slack import SlackDestination

JIRA = "jira"
SLACK = "slack"
DEFAULT_ROUTES: dict[str, tuple[str, ...]] = {
    "critical": (JIRA, SLACK),
    "high": (JIRA, SLACK),
    "medium": (SLACK,),
    "low": (),
    "informational": (),
}


@dataclass
class DeliveryReport:
    jira_created: int = 0
    jira_commented: int = 0
    slack_sent: int = 0
    already_sent: int = 0
    pending: int = 0
    """Deliveries claimed but not made: a destination refused or stayed unavailable."""
    in_flight: int = 0
    refused: dict[str, str] = field(default_factory=dict)
    """Destination -> why it refused (credentials, permissions, a missing project)."""
    unavailable: dict[str, str] = field(default_factory=dict)
    not_configured: dict[str, int] = field(default_factory=dict)
    """Routes to destinations this deployment does not have: finding count per destination."""

    def summary(self) -> dict[str, int]:
        return {
            "jira_created": self.jira_created,
            "jira_commented": self.jira_commented,
            "slack_sent": self.slack_sent,
            "pending": self.pending,
        }


@dataclass
class Destinations:
    jira: JiraClient | None = None
    slack: SlackDestination | None = None

    def names(self) -> set[str]:
        return {n for n, d in ((JIRA, self.jira), (SLACK, self.slack)) if d is not None}

    def close(self) -> None:
        for destination in (self.jira, self.slack):
            if destination is not None:
                destination.close()


@dataclass
class Deliverer:
    ledger: Ledger
    destinations: Destinations
    routes: Mapping[str, Sequence[str]] = field(default_factory=lambda: DEFAULT_ROUTES)
    suppression: timedelta = timedelta(hours=24)
    dashboards_url: str | None = None
    logs_index: str = "okta-logs-*"
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def deliver(self, alerts: Iterable[Alert]) -> DeliveryReport:
        """Send every alert its routes call for; what cannot be sent stays pending."""
        report = DeliveryReport()
        configured = self.destinations.names()
        claims: list[Claim] = []
        # Claim everything first: what a refusing destination cannot take is still recorded
        # as pending, and the next run finds it.
        for alert in sorted(alerts, key=lambda a: (a.window, a.finding_id)):
            for destination in self.routes.get(alert.severity, ()):
                if destination not in configured:
                    report.not_configured[destination] = (
                        report.not_configured.get(destination, 0) + 1
                    )
                    continue
                claim = self.ledger.claim(alert, destination, self.clock())
                if claim.state is ClaimState.SENT:
                    report.already_sent += 1
                elif claim.state is ClaimState.IN_FLIGHT:
                    report.in_flight += 1
                else:
                    claims.append(claim)
        for claim in claims:
            if claim.destination in report.refused or claim.destination in report.unavailable:
                self.ledger.mark_failed(claim, "not tried: the destination failed earlier this run")
                report.pending += 1
                continue
            try:
                self._send(claim, report)
            except DestinationRefusedError as error:
                report.refused[claim.destination] = str(error)
                self.ledger.mark_failed(claim, str(error))
                report.pending += 1
            except DestinationUnavailableError as error:
                report.unavailable[claim.destination] = str(error)
                self.ledger.mark_failed(claim, str(error))
                report.pending += 1
        return report

    def _send(self, claim: Claim, report: DeliveryReport) -> None:
        if claim.destination == JIRA:
            self._to_jira(claim, report)
        else:
            self._to_slack(claim, report)

    def _link(self, alert: Alert) -> str | None:
        if not self.dashboards_url:
            return None
        return discover_url(self.dashboards_url, alert, self.logs_index)

    def _to_jira(self, claim: Claim, report: DeliveryReport) -> None:
        jira = self.destinations.jira
        assert jira is not None
        alert = claim.alert
        if claim.state is ClaimState.RESUMED:
            existing = jira.find_issue(finding_label(alert.finding_id))
            if existing is not None:  # sent before the last run could record it
                self.ledger.mark_sent(claim, "issue", existing, existing, self.clock())
                report.already_sent += 1
                return
        anchor = self.ledger.anchor(alert, JIRA, self.suppression)
        if anchor is not None and anchor.reference and jira.is_open(anchor.reference):
            key = anchor.reference
            resumed = claim.state is ClaimState.RESUMED
            if not (resumed and jira.has_comment_containing(key, alert.marker)):
                jira.add_comment(key, jira_comment(alert, self._link(alert)))
            jira.add_labels(key, [finding_label(alert.finding_id)])
            self.ledger.mark_sent(claim, "comment", key, key, self.clock())
            report.jira_commented += 1
            return
        key = jira.create_issue(
            jira_summary(alert),
            jira_description(alert, self._link(alert)),
            JIRA_PRIORITY.get(alert.severity),
            alert.labels(),
        )
        self.ledger.mark_sent(claim, "issue", key, key, self.clock())
        report.jira_created += 1

    def _to_slack(self, claim: Claim, report: DeliveryReport) -> None:
        slack = self.destinations.slack
        assert slack is not None
        alert = claim.alert
        if claim.state is ClaimState.RESUMED:
            since = claim.claimed_at - timedelta(minutes=1)
            posted = slack.find_posted(alert.finding_id, since)
            if posted is not None:
                self.ledger.mark_sent(claim, "message", posted, posted, self.clock())
                report.already_sent += 1
                return
        anchor = self.ledger.anchor(alert, SLACK, self.suppression)
        thread = anchor.thread if anchor is not None and slack.threads else None
        message = slack_message(alert, self._link(alert), anchor.finding_id if anchor else None)
        ts = slack.post(message, thread)
        if anchor is not None:
            self.ledger.mark_sent(claim, "reply", ts, thread, self.clock())
        else:
            self.ledger.mark_sent(claim, "message", ts, ts, self.clock())
        report.slack_sent += 1
