"""Findings to Jira and Slack exactly once, grouped, retried: against the stand-ins over real
sockets, with the ledger on the real node."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from okta_pipeline.defs.alerts.resources import AlertsResource
from okta_pipeline.lib.alerts.config import AlertConfigError
from okta_pipeline.lib.alerts.ledger import ClaimState, Ledger, ledger_id
from okta_pipeline.lib.alerts.messages import finding_label
from okta_pipeline.lib.standins.jira import JiraStandIn
from okta_pipeline.lib.standins.server import Request, Response
from okta_pipeline.lib.standins.slack import Posted, SlackStandIn
from okta_pipeline_tests.alerts.helpers import (
    DASHBOARDS,
    WINDOW,
    Waits,
    alert,
    deliverer,
    jira_client,
)


def counts(created: int, commented: int, slack: int, pending: int) -> dict[str, int]:
    return {
        "jira_created": created,
        "jira_commented": commented,
        "slack_sent": slack,
        "pending": pending,
    }


def test_one_issue_per_finding_and_a_second_run_sends_nothing(
    ledger: Ledger, jira: JiraStandIn, slack: SlackStandIn, waits: Waits
) -> None:
    findings = [alert(user=f"user{n}@example.com") for n in range(3)]
    report = deliverer(ledger, jira, slack, waits).deliver(findings)
    assert report.summary() == counts(3, 0, 3, 0)
    assert len(jira.issues) == 3 and len(slack.messages) == 3
    issue = next(iter(jira.issues.values()))
    labels = issue.labels
    assert "okta-detection-okta_admin_role_granted" in labels
    assert any(label.startswith("okta-finding-") for label in labels)
    assert issue.fields["priority"] == {"name": "High"}
    description = json.dumps(issue.fields["description"])
    assert f"{DASHBOARDS}/app/data-explorer/discover#" in description and '"table"' in description
    assert "Response:" in description

    again = deliverer(ledger, jira, slack, waits).deliver(findings)
    assert again.summary() == counts(0, 0, 0, 0)
    assert again.already_sent == 6
    assert len(jira.issues) == 3 and len(slack.messages) == 3


def test_severity_routes_medium_to_slack_only_and_low_nowhere(
    ledger: Ledger, jira: JiraStandIn, slack: SlackStandIn, waits: Waits
) -> None:
    medium = alert("okta_api_token_created")  # medium
    low = alert("okta_account_lockout")  # low
    report = deliverer(ledger, jira, slack, waits).deliver([medium, low])
    assert (report.jira_created, report.slack_sent) == (0, 1)
    assert slack.messages[0].metadata["event_payload"]["finding_id"] == medium.finding_id


def test_a_crash_between_creating_the_issue_and_recording_it_leaves_one_issue(
    ledger: Ledger,
    jira: JiraStandIn,
    slack: SlackStandIn,
    waits: Waits,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    finding = alert()
    recorded = ledger.mark_sent

    def crash_once(*args: object, **kwargs: object) -> None:
        monkeypatch.setattr(ledger, "mark_sent", recorded)
        raise SystemExit("the run's process died here")

    monkeypatch.setattr(ledger, "mark_sent", crash_once)
    with pytest.raises(SystemExit):
        deliverer(ledger, jira, None, waits).deliver([finding])
    assert len(jira.issues) == 1, "the issue was created before the crash"

    # Right after, the claim looks in flight: nothing is sent twice by an eager retry.
    soon = deliverer(ledger, jira, None, waits).deliver([finding])
    assert soon.in_flight == 1 and len(jira.issues) == 1
    # Later, the claim is resumed: Jira is searched by the finding's label first.
    later = datetime.now(UTC) + timedelta(minutes=11)
    report = deliverer(ledger, jira, None, waits, now=later).deliver([finding])
    assert report.already_sent == 1 and report.jira_created == 0
    assert len(jira.issues) == 1
    record = ledger.client.get(index=ledger.index, id=ledger_id(finding.finding_id, "jira"))
    assert record["_source"]["status"] == "sent"
    assert record["_source"]["reference"] == next(iter(jira.issues))


def test_a_repeat_within_the_suppression_window_is_a_comment_and_a_threaded_reply(
    ledger: Ledger, jira: JiraStandIn, slack: SlackStandIn, waits: Waits
) -> None:
    first = alert(window=WINDOW)
    repeat = alert(window=WINDOW + timedelta(hours=3))
    report = deliverer(ledger, jira, slack, waits).deliver([first, repeat])
    assert report.summary() == counts(1, 1, 2, 0)
    (issue,) = jira.issues.values()
    assert len(issue.comments) == 1 and repeat.marker in json.dumps(issue.comments[0])
    assert finding_label(repeat.finding_id) in issue.labels
    opening, reply = slack.messages
    assert opening.thread_ts is None and reply.thread_ts == opening.ts

    # Once the issue is closed, or past the suppression window, an incident opens a new one.
    jira.close_issue(issue.key)
    after_close = alert(window=WINDOW + timedelta(hours=4))
    next_day = alert(window=WINDOW + timedelta(hours=30))
    report = deliverer(ledger, jira, slack, waits).deliver([after_close, next_day])
    assert report.jira_created == 2 and report.jira_commented == 0
    assert len(jira.issues) == 3


def test_a_429_storm_then_recovery_delivers_everything_once_honouring_retry_after(
    ledger: Ledger, jira: JiraStandIn, slack: SlackStandIn, waits: Waits
) -> None:
    findings = [alert(user=f"storm{n}@example.com") for n in range(4)]
    jira.fail_next(4, 429, {"Retry-After": "7"})
    slack.fail_next(3, 429)
    report = deliverer(ledger, jira, slack, waits).deliver(findings)
    assert report.summary() == counts(4, 0, 4, 0)
    assert len(jira.issues) == 4 and len(slack.messages) == 4
    assert waits.seconds.count(7.0) == 4, "Jira's Retry-After is what the client waited"
    assert len(waits.seconds) == 7


def test_one_send_gives_up_within_its_time_bound_however_long_the_destination_asks_to_wait(
    ledger: Ledger, jira: JiraStandIn, slack: SlackStandIn, waits: Waits
) -> None:
    """Six attempts a minute apart would hold a claim for over five minutes; a send stops
    retrying at three, so its claim never looks abandoned to another run while it waits."""
    finding = alert(user="patient@example.com")
    jira.fail_next(4, 429, {"Retry-After": "60"})  # a fifth attempt would find it answering
    report = deliverer(ledger, jira, None, waits).deliver([finding])
    assert report.pending == 1 and "jira" in report.unavailable
    assert "180 s of retries" in report.unavailable["jira"]
    assert waits.seconds == [60.0, 60.0, 60.0] and sum(waits.seconds) <= 180
    assert len(jira.issues) == 0
    later = deliverer(ledger, jira, None, waits).deliver([finding])
    assert later.jira_created == 1 and len(jira.issues) == 1


def test_a_destination_that_stays_down_leaves_its_findings_pending(
    ledger: Ledger, jira: JiraStandIn, slack: SlackStandIn, waits: Waits
) -> None:
    finding = alert()
    jira.fail_next(6, 503)
    report = deliverer(ledger, jira, slack, waits).deliver([finding])
    assert report.pending == 1 and "jira" in report.unavailable and report.slack_sent == 1
    assert ledger.pending_findings(datetime.now(UTC) - timedelta(hours=1)) == [finding.finding_id]
    later = deliverer(ledger, jira, slack, waits).deliver([finding])
    assert later.jira_created == 1 and later.already_sent == 1
    assert ledger.pending_findings(datetime.now(UTC) - timedelta(hours=1)) == []


def test_refused_credentials_say_what_to_fix_and_nothing_is_lost(
    ledger: Ledger, jira: JiraStandIn, slack: SlackStandIn, waits: Waits
) -> None:
    findings = [alert(user=f"refused{n}@example.com") for n in range(2)]
    report = deliverer(ledger, jira, slack, waits, jira_token="wrong").deliver(findings)
    assert report.pending == 2 and report.slack_sent == 2
    assert "Jira answered 401" in report.refused["jira"]
    assert "API token" in report.refused["jira"]
    assert "wrong" not in report.refused["jira"] and "jira-api-token" not in report.refused["jira"]
    assert len(jira.issues) == 0
    fixed = deliverer(ledger, jira, slack, waits).deliver(findings)
    assert fixed.jira_created == 2 and fixed.slack_sent == 0


def test_a_bad_project_key_is_refused_naming_it(
    ledger: Ledger, jira: JiraStandIn, waits: Waits
) -> None:
    jira.projects = ("OTHER",)  # the client asks for SEC
    report = deliverer(ledger, jira, None, waits).deliver([alert()])
    assert "Jira answered 400: project: valid project is required" in report.refused["jira"]
    assert "Check the project key 'SEC'" in report.refused["jira"]


def test_a_repeat_whose_issue_was_deleted_opens_a_new_issue(
    ledger: Ledger, jira: JiraStandIn, slack: SlackStandIn, waits: Waits
) -> None:
    deliverer(ledger, jira, slack, waits).deliver([alert(window=WINDOW)])
    (key,) = jira.issues
    del jira.issues[key]  # an analyst deleted it: Jira answers 404 for its key
    repeat = alert(window=WINDOW + timedelta(hours=1))
    report = deliverer(ledger, jira, slack, waits).deliver([repeat])
    assert report.refused == {} and (report.jira_created, report.jira_commented) == (1, 0)
    (issue,) = jira.issues.values()
    assert finding_label(repeat.finding_id) in issue.labels


def test_text_an_attacker_typed_reaches_slack_literally_and_jira_on_one_line(
    ledger: Ledger, jira: JiraStandIn, slack: SlackStandIn, waits: Waits
) -> None:
    # A username typed into a failed sign-in becomes the finding's entity and summary.
    typed = "<!channel> <https://evil.example|Reset your Okta password> & more\nsecond line"
    finding = alert(user=typed)
    assert typed in finding.summary and typed in finding.entity_key
    deliverer(ledger, jira, slack, waits).deliver([finding])

    (message,) = slack.messages
    shown = json.dumps([message.text, message.blocks])
    assert "<!channel>" not in shown and "<https://evil.example" not in shown
    assert "&lt;!channel&gt; &lt;https://evil.example|Reset your Okta password&gt; &amp; more" in (
        message.text
    )
    mrkdwn = [
        b["text"]["text"] for b in message.blocks if b.get("text", {}).get("type") == "mrkdwn"
    ]
    assert any("&lt;!channel&gt;" in text for text in mrkdwn)
    fields = [f["text"] for b in message.blocks for f in b.get("fields", [])]
    assert any(f.startswith("*Entity*\n") and "&lt;!channel&gt;" in f for f in fields)

    (issue,) = jira.issues.values()
    summary = issue.fields["summary"]
    assert "\n" not in summary and "<!channel>" in summary and len(summary) <= 255


def test_a_failed_delivery_is_taken_over_by_one_run_only(
    ledger: Ledger, jira: JiraStandIn, slack: SlackStandIn, waits: Waits
) -> None:
    finding = alert()
    jira.fail_next(6, 503)
    first = deliverer(ledger, jira, None, waits).deliver([finding])
    assert first.pending == 1  # failed, with its error recorded
    later = datetime.now(UTC) + timedelta(minutes=1)
    taken = ledger.claim(finding, "jira", later)
    again = ledger.claim(finding, "jira", later)  # a second run at the same moment
    assert (taken.state, again.state) == (ClaimState.RESUMED, ClaimState.IN_FLIGHT)
    # A resumed delivery looks for what was sent back to the first claim, not the takeover.
    assert taken.claimed_at < later - timedelta(seconds=30)


def test_a_claim_renewed_as_its_turn_comes_is_not_taken_for_a_crash(ledger: Ledger) -> None:
    claimed = datetime.now(UTC)
    finding = alert(user="slow@example.com")
    mine = ledger.claim(finding, "jira", claimed)
    # The run reaches this claim 11 minutes after making it (its earlier sends were slow) and
    # renews it: another run 12 minutes in leaves it alone instead of resuming it.
    renewed = ledger.renew(mine, claimed + timedelta(minutes=11))
    assert renewed is not None
    assert ledger.claim(finding, "jira", claimed + timedelta(minutes=12)).state is (
        ClaimState.IN_FLIGHT
    )
    # Unrenewed for longer than the in-flight window, it is taken over, and a late renewal by
    # the first run says so (that run then leaves it to the new owner).
    taken = ledger.claim(finding, "jira", claimed + timedelta(minutes=22))
    assert taken.state is ClaimState.RESUMED
    assert ledger.renew(renewed, claimed + timedelta(minutes=23)) is None


def test_a_create_answered_5xx_after_the_destination_acted_is_not_sent_twice(
    ledger: Ledger,
    jira: JiraStandIn,
    slack: SlackStandIn,
    waits: Waits,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each destination makes the issue (or posts the message), then answers 502 once, as a
    # proxy does when the upstream acted but the answer was lost.
    for standin, creating in ((jira, "/rest/api/3/issue"), (slack, "/api/chat.postMessage")):
        acted_then_failed: list[str] = []

        def handle(
            request: Request,
            real: Any = standin.handle,
            path: str = creating,
            done: Any = acted_then_failed,
        ) -> Response:
            answer: Response = real(request)
            if request.method == "POST" and request.path == path and not done:
                done.append(path)
                return Response(502, {"error": "bad gateway"})
            return answer

        monkeypatch.setattr(standin, "handle", handle)
    finding = alert()
    first = deliverer(ledger, jira, slack, waits).deliver([finding])
    assert first.pending == 2 and set(first.unavailable) == {"jira", "slack"}
    assert "may have acted" in first.unavailable["jira"]
    assert len(jira.issues) == 1 and len(slack.messages) == 1  # not sent again blindly

    again = deliverer(ledger, jira, slack, waits).deliver([finding])
    assert again.already_sent == 2 and again.pending == 0  # found by asking first
    assert len(jira.issues) == 1 and len(slack.messages) == 1


def crash_on_next_record(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's process dies after its next send, before the ledger records it."""
    recorded = ledger.mark_sent

    def crash_once(*args: object, **kwargs: object) -> None:
        monkeypatch.setattr(ledger, "mark_sent", recorded)
        raise SystemExit("the run's process died here")

    monkeypatch.setattr(ledger, "mark_sent", crash_once)


def test_a_resumed_slack_delivery_finds_its_thread_reply_and_pages_the_history(
    ledger: Ledger, slack: SlackStandIn, waits: Waits, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = alert(window=WINDOW)
    deliverer(ledger, None, slack, waits).deliver([first])
    # A repeat is a reply in the first message's thread; the run dies before recording it.
    repeat = alert(window=WINDOW + timedelta(hours=3))
    crash_on_next_record(ledger, monkeypatch)
    with pytest.raises(SystemExit):
        deliverer(ledger, None, slack, waits).deliver([repeat])
    assert len(slack.messages) == 2 and slack.messages[1].thread_ts == slack.messages[0].ts
    # A new finding's message, then a busy channel: 250 other messages after it.
    other = alert(user="busy@example.com")
    crash_on_next_record(ledger, monkeypatch)
    with pytest.raises(SystemExit):
        deliverer(ledger, None, slack, waits).deliver([other])
    for n in range(250):
        slack.messages.append(
            Posted(slack.channel, f"chatter {n}", [], f"{time.time():.0f}.9{n:05d}")
        )

    later = datetime.now(UTC) + timedelta(minutes=11)
    report = deliverer(ledger, None, slack, waits, now=later).deliver([repeat, other])
    assert report.already_sent == 2 and report.slack_sent == 0
    assert len(slack.messages) == 3 + 250


def test_the_jira_comment_check_reads_every_comment(jira: JiraStandIn, waits: Waits) -> None:
    client = jira_client(jira, waits)
    key = client.create_issue(
        "[HIGH] busy incident", {"type": "doc", "version": 1, "content": []}, None, []
    )
    for n in range(150):
        text = "finding abc superseded" if n == 130 else f"repeat {n}"
        body = {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
        }
        jira.issues[key].comments.append({"id": str(n + 1), "body": body})
    assert client.has_comment_containing(key, "finding abc superseded")
    assert not client.has_comment_containing(key, "finding xyz superseded")


def test_routes_that_leave_a_severity_out_are_refused_naming_it() -> None:
    partial = {"high": ["jira"], "medium": ["slack"], "low": [], "informational": []}
    with pytest.raises(AlertConfigError, match="no destinations for critical") as refused:
        AlertsResource(routes=partial).settings()
    assert "[] for one that is deliberately not sent" in str(refused.value)
    AlertsResource(routes={**partial, "critical": []}).settings()  # said on purpose: accepted
    with pytest.raises(AlertConfigError, match="destinations are jira and slack"):
        AlertsResource(routes={**partial, "critical": ["pagerduty"]}).settings()


def test_deliveries_pending_past_the_retry_horizon_are_counted_not_forgotten(
    ledger: Ledger,
) -> None:
    now = datetime.now(UTC)
    old, recent = alert(user="old@example.com"), alert(user="recent@example.com")
    for finding, claimed in ((old, now - timedelta(days=8)), (recent, now - timedelta(hours=1))):
        ledger.mark_failed(ledger.claim(finding, "jira", claimed), "Jira answered 503")
    since = now - timedelta(days=7)
    assert ledger.pending_findings(since) == [recent.finding_id]  # what runs retry
    assert ledger.pending_before(since) == 1  # what they no longer do, said out loud


def test_a_repeat_waits_for_its_incidents_first_alert_on_its_way_then_joins_it(
    ledger: Ledger, jira: JiraStandIn, slack: SlackStandIn, waits: Waits
) -> None:
    first = alert(window=WINDOW)
    repeat = alert(window=WINDOW + timedelta(hours=3))
    now = datetime.now(UTC)
    for destination in ("jira", "slack"):  # another run has claimed the first, not sent it
        ledger.claim(first, destination, now)
    held = deliverer(ledger, jira, slack, waits, now=now).deliver([repeat])
    assert held.waiting == 2 and held.summary() == counts(0, 0, 0, 0)
    assert not jira.issues and not slack.messages  # no second issue or thread opened
    assert ledger.pending_findings(now - timedelta(days=1)) == sorted(
        [first.finding_id, repeat.finding_id]
    )

    # The other run died; the next run takes the first over, sends it, then the repeat into
    # its issue and thread.
    later = now + timedelta(minutes=11)
    report = deliverer(ledger, jira, slack, waits, now=later).deliver([first, repeat])
    assert report.summary() == counts(1, 1, 2, 0) and report.waiting == 0
    (issue,) = jira.issues.values()
    assert repeat.marker in json.dumps(issue.comments)
    opening, reply = slack.messages
    assert reply.thread_ts == opening.ts


def test_a_repeat_stops_waiting_for_a_first_alert_that_never_comes(
    ledger: Ledger, jira: JiraStandIn, waits: Waits
) -> None:
    first = alert(window=WINDOW)
    repeat = alert(window=WINDOW + timedelta(hours=3))
    now = datetime.now(UTC)
    ledger.claim(first, "jira", now)  # claimed, and then superseded: never sent
    assert deliverer(ledger, jira, None, waits, now=now).deliver([repeat]).waiting == 1
    late = now + timedelta(minutes=31)
    report = deliverer(ledger, jira, None, waits, now=late).deliver([repeat])
    assert report.jira_created == 1 and report.waiting == 0
