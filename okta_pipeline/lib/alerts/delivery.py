"""Deliver findings to their destinations exactly once, grouped into incidents.

For each finding and each destination its severity routes to: claim it in the ledger, skip it
if already sent or in flight, and otherwise send it. The first finding of an incident (same
detection, same entity, within the suppression window) opens a Jira issue and a Slack message;
later ones become comments on the issue, while it is open, and replies in the message's thread.
A claim resumed after a crash first asks the destination whether the alert already arrived.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from okta_pipeline.lib.alerts.http import DestinationRefusedError, DestinationUnavailableError
from okta_pipeline.lib.alerts.jira import JiraClient
from okta_pipeline.lib.alerts.ledger import SUPERSEDED_NOTICE, Claim, ClaimState, Ledger
from okta_pipeline.lib.alerts.messages import (
    JIRA_PRIORITY,
    Alert,
    discover_url,
    finding_label,
    jira_comment,
    jira_description,
    jira_summary,
    jira_superseded_comment,
    slack_message,
    slack_superseded_message,
)
from okta_pipeline.lib.alerts.slack import SlackDestination
from okta_pipeline.lib.detections.findings import ACTIVE, SUPERSEDED, SUPPRESSED

JIRA = "jira"
SLACK = "slack"
WAITS_AT_MOST = timedelta(minutes=30)
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
    suppressed: int = 0
    """Findings an exception suppressed: kept, not sent."""
    superseded_noticed: int = 0
    """Delivered alerts told that their finding was superseded."""
    waiting: int = 0
    """Deliveries held back while an earlier finding of their incident is not yet delivered
    there (another run is sending it, or it failed): the next run sends them as a comment on
    its issue or a reply in its thread rather than a second issue or message."""

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
    waits_at_most: timedelta = WAITS_AT_MOST
    """How long after its first claim a repeat waits for its incident's earlier finding; past
    that it is sent on its own (the earlier one may never be: superseded, say)."""

    def deliver(self, alerts: Iterable[Alert]) -> DeliveryReport:
        """Send every alert its routes call for; what cannot be sent stays pending.

        Suppressed findings are not sent. A superseded finding that was alerted gets one
        notice where its alert went; when a finding that replaces it is alerted in the same
        run, the replacement's comment (or thread reply) carries that notice."""
        report = DeliveryReport()
        configured = self.destinations.names()
        ordered = sorted(alerts, key=lambda a: (a.window, a.finding_id))
        report.suppressed = sum(1 for a in ordered if a.status == SUPPRESSED)
        claims: list[Claim] = []
        # Claim everything first: what a refusing destination cannot take is still recorded
        # as pending, and the next run finds it.
        for alert in (a for a in ordered if a.status == ACTIVE):
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
        notices = self._claim_notices([a for a in ordered if a.status == SUPERSEDED], report)
        replaced: dict[str, list[str]] = defaultdict(list)
        for key in notices:
            for replacement in notices[key].alert.superseded_by:
                replaced[replacement].append(key[0])
        for claim in claims:
            carried = [
                notices.pop((finding, claim.destination))
                for finding in replaced.get(claim.alert.finding_id, [])
                if (finding, claim.destination) in notices
            ]
            self._attempt(claim, report, carried)
        for notice in notices.values():
            self._attempt(notice, report, [])
        return report

    def _claim_notices(
        self, superseded: list[Alert], report: DeliveryReport
    ) -> dict[tuple[str, str], Claim]:
        """Claims of the superseded notices still to give, by (finding, destination): only
        where the finding's own alert was sent."""
        notices: dict[tuple[str, str], Claim] = {}
        configured = self.destinations.names()
        for alert in superseded:
            for destination in self.routes.get(alert.severity, ()):
                if destination not in configured:
                    continue
                if self.ledger.delivered(alert.finding_id, destination) is None:
                    continue  # never alerted there: there is no one to tell
                claim = self.ledger.claim(alert, destination, self.clock(), SUPERSEDED_NOTICE)
                if claim.state is ClaimState.SENT:
                    report.already_sent += 1
                elif claim.state is ClaimState.IN_FLIGHT:
                    report.in_flight += 1
                else:
                    notices[(alert.finding_id, destination)] = claim
        return notices

    def _attempt(self, claim: Claim, report: DeliveryReport, carried: list[Claim]) -> None:
        """Send one claim (with the notices it carries); a failure leaves them all pending."""
        if claim.destination not in report.refused and claim.destination not in report.unavailable:
            # Claims are all made first and sent one by one: renew each as its turn comes, so
            # that a slow run's later claims do not look abandoned to the next run.
            renewed = self.ledger.renew(claim, self.clock())
            if renewed is None:  # another run took it over meanwhile
                report.in_flight += 1 + len(carried)
                return
            claim = renewed
            still_ours = []
            for notice in carried:
                renewed_notice = self.ledger.renew(notice, self.clock())
                if renewed_notice is None:
                    report.in_flight += 1
                else:
                    still_ours.append(renewed_notice)
            carried = still_ours
        together = [claim, *carried]
        if claim.destination in report.refused or claim.destination in report.unavailable:
            for each in together:
                self.ledger.mark_failed(each, "not tried: the destination failed earlier this run")
            report.pending += len(together)
            return
        try:
            if claim.purpose == SUPERSEDED_NOTICE:
                self._notice(claim, report)
            elif claim.destination == JIRA:
                self._to_jira(claim, report, carried)
            else:
                self._to_slack(claim, report, carried)
        except (DestinationRefusedError, DestinationUnavailableError) as error:
            failures = (
                report.refused if isinstance(error, DestinationRefusedError) else report.unavailable
            )
            failures[claim.destination] = str(error)
            for each in together:
                self.ledger.mark_failed(each, str(error))
            report.pending += len(together)

    def _link(self, alert: Alert) -> str | None:
        if not self.dashboards_url:
            return None
        return discover_url(self.dashboards_url, alert, self.logs_index)

    def _to_jira(self, claim: Claim, report: DeliveryReport, carried: list[Claim]) -> None:
        jira = self.destinations.jira
        assert jira is not None
        alert = claim.alert
        if claim.state is ClaimState.RESUMED:
            existing = jira.find_issue(finding_label(alert.finding_id))
            if existing is not None:  # sent before the last run could record it
                self.ledger.mark_sent(claim, "issue", existing, existing, self.clock())
                report.already_sent += 1
                self._standalone(carried, report)
                return
        replaced = self.ledger.delivered(carried[0].alert.finding_id, JIRA) if carried else None
        # Looked for before the anchor: an earlier finding sent in between is then found.
        earlier = None if replaced else self._earlier_pending(claim)
        anchor = replaced or self.ledger.anchor(alert, JIRA, self.suppression)
        if anchor is not None and anchor.reference and jira.is_open(anchor.reference):
            key = anchor.reference
            resumed = claim.state is ClaimState.RESUMED
            if not (resumed and jira.has_comment_containing(key, alert.marker)):
                replaces = tuple(c.alert for c in carried) if replaced else ()
                jira.add_comment(key, jira_comment(alert, self._link(alert), replaces))
            jira.add_labels(key, [finding_label(alert.finding_id)])
            self.ledger.mark_sent(claim, "comment", key, key, self.clock())
            report.jira_commented += 1
            if replaced:
                self._carried_sent(carried, key, key, report)
            else:
                self._standalone(carried, report)
            return
        if earlier is not None:
            self._hold_back(claim, report, carried, earlier)
            return
        key = jira.create_issue(
            jira_summary(alert),
            jira_description(alert, self._link(alert)),
            JIRA_PRIORITY.get(alert.severity),
            alert.labels(),
        )
        self.ledger.mark_sent(claim, "issue", key, key, self.clock())
        report.jira_created += 1
        self._standalone(carried, report)

    def _to_slack(self, claim: Claim, report: DeliveryReport, carried: list[Claim]) -> None:
        slack = self.destinations.slack
        assert slack is not None
        alert = claim.alert
        replaced = self.ledger.delivered(carried[0].alert.finding_id, SLACK) if carried else None
        earlier = None if replaced or not slack.threads else self._earlier_pending(claim)
        anchor = replaced or self.ledger.anchor(alert, SLACK, self.suppression)
        thread = anchor.thread if anchor is not None and slack.threads else None
        if claim.state is ClaimState.RESUMED:
            since = claim.claimed_at - timedelta(minutes=1)
            posted = slack.find_posted(alert.finding_id, since, thread)
            if posted is not None:
                self.ledger.mark_sent(claim, "message", posted, posted, self.clock())
                report.already_sent += 1
                self._standalone(carried, report)
                return
        if anchor is None and earlier is not None:
            self._hold_back(claim, report, carried, earlier)
            return
        replaces = tuple(c.alert for c in carried)
        message = slack_message(
            alert, self._link(alert), anchor.finding_id if anchor else None, replaces
        )
        ts = slack.post(message, thread)
        if anchor is not None:
            self.ledger.mark_sent(claim, "reply", ts, thread, self.clock())
        else:
            self.ledger.mark_sent(claim, "message", ts, ts, self.clock())
        report.slack_sent += 1
        self._carried_sent(carried, ts, thread, report)

    def _earlier_pending(self, claim: Claim) -> str | None:
        """An earlier finding of the claim's incident claimed at its destination but not yet
        sent, while the claim may still wait for it."""
        if self.clock() - claim.claimed_at >= self.waits_at_most:
            return None
        return self.ledger.earlier_pending(claim.alert, claim.destination, self.suppression)

    def _hold_back(
        self, claim: Claim, report: DeliveryReport, carried: list[Claim], earlier: str
    ) -> None:
        """Leave for the next run an alert that would open a new issue or thread while an
        earlier finding of its incident is on its way there: two runs at once (a backfill
        beside the automation) would otherwise each open one for the same incident."""
        reason = (
            f"waits for finding {earlier} of the same incident, not yet delivered to "
            f"{claim.destination}, so that it joins that alert instead of opening a second"
        )
        for each in (claim, *carried):
            self.ledger.mark_failed(each, reason)
        report.waiting += 1 + len(carried)

    def _notice(self, claim: Claim, report: DeliveryReport) -> None:
        """Tell a superseded finding's issue or thread that it no longer holds, once."""
        alert = claim.alert
        delivered = self.ledger.delivered(alert.finding_id, claim.destination)
        assert delivered is not None  # notices are claimed only for sent alerts
        resumed = claim.state is ClaimState.RESUMED
        if claim.destination == JIRA:
            jira = self.destinations.jira
            assert jira is not None
            key = delivered.reference
            if key and not (resumed and jira.has_comment_containing(key, alert.superseded_marker)):
                jira.add_comment(key, jira_superseded_comment(alert))
                report.jira_commented += 1
            self.ledger.mark_sent(claim, "notice", key, key, self.clock())
        else:
            slack = self.destinations.slack
            assert slack is not None
            since = claim.claimed_at - timedelta(minutes=1)
            thread = delivered.thread if slack.threads else None
            posted = slack.find_posted(alert.notice_key, since, thread) if resumed else None
            if posted is None:
                posted = slack.post(slack_superseded_message(alert), thread)
                report.slack_sent += 1
            self.ledger.mark_sent(claim, "notice", posted, delivered.thread, self.clock())
        report.superseded_noticed += 1

    def _standalone(self, carried: list[Claim], report: DeliveryReport) -> None:
        """Notices a replacement could not carry (it went elsewhere): each on its own."""
        for notice in carried:
            self._notice(notice, report)

    def _carried_sent(
        self,
        carried: list[Claim],
        reference: str | None,
        thread: str | None,
        report: DeliveryReport,
    ) -> None:
        for notice in carried:
            self.ledger.mark_sent(notice, "notice", reference, thread, self.clock())
            report.superseded_noticed += 1
