"""What an alert says: a finding rendered for Jira (Atlassian Document Format) and Slack (Block
Kit), with a link to its events in OpenSearch Dashboards."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from okta_pipeline.lib.alerts.slack import SlackMessage

JIRA_PRIORITY = {
    "critical": "Highest",
    "high": "High",
    "medium": "Medium",
    "low": "Low",
    "informational": "Lowest",
}
EVIDENCE_ROWS = 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Alert:
    """A finding as the findings index holds it, with what routing and grouping need."""

    document: dict[str, Any]

    @property
    def finding_id(self) -> str:
        return str(self.document["finding_id"])

    @property
    def detection_id(self) -> str:
        return str(self.document["detection"]["id"])

    @property
    def severity(self) -> str:
        return str(self.document["detection"]["severity"])

    @property
    def title(self) -> str:
        return str(self.document["detection"]["title"])

    @property
    def summary(self) -> str:
        return str(self.document.get("summary") or self.title)

    @property
    def entity_key(self) -> str:
        return str(self.document["entity_key"])

    @property
    def group_key(self) -> str:
        """Findings of one detection about one entity are one incident."""
        raw = f"{self.detection_id}|{self.entity_key}"
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    @property
    def window(self) -> datetime:
        return _time(self.document["window"]["start"])

    @property
    def evidence(self) -> list[str]:
        return [str(u) for u in self.document["evidence"]["uuids"]]

    @property
    def marker(self) -> str:
        """Text that names the finding in a comment, so it is commented only once."""
        return f"finding {self.finding_id}"

    @property
    def status(self) -> str:
        """active, suppressed or superseded (findings stored before statuses are active)."""
        return str(self.document.get("status") or "active")

    @property
    def superseded_by(self) -> list[str]:
        return [str(f) for f in (self.document.get("superseded") or {}).get("by") or []]

    @property
    def superseded_reason(self) -> str:
        return str((self.document.get("superseded") or {}).get("reason") or "")

    @property
    def superseded_marker(self) -> str:
        """Text that names the notice that this finding was superseded."""
        return f"finding {self.finding_id} superseded"

    @property
    def notice_key(self) -> str:
        """The key of the superseded notice in Slack's message metadata."""
        return f"{self.finding_id}#superseded"

    def labels(self) -> list[str]:
        return [
            "okta-pipeline",
            f"okta-detection-{self.detection_id}",
            f"okta-incident-{self.group_key}",
            finding_label(self.finding_id),
        ]


def finding_label(finding_id: str) -> str:
    return f"okta-finding-{finding_id}"


def discover_url(dashboards_url: str, alert: Alert, index_pattern: str) -> str:
    """OpenSearch Dashboards' Discover, on the finding's evidence events, around its time."""
    first, last = _time(alert.document["first_seen"]), _time(alert.document["last_seen"])
    uuids = " or ".join(f'"{u}"' for u in alert.evidence[:50])
    time_range = (
        f"(time:(from:'{_iso(first - timedelta(minutes=5))}',"
        f"to:'{_iso(last + timedelta(minutes=5))}'))"
    )
    query = f"(query:(language:kuery,query:'uuid:({uuids})'))"
    fragment = quote(f"?_g={time_range}&_q={query}", safe="?&=:(),'")
    return f"{dashboards_url.rstrip('/')}/app/data-explorer/discover#{fragment}"


def jira_summary(alert: Alert) -> str:
    """One line (Jira refuses a summary with a line break), at most Jira's 255 characters."""
    summary = f"[{alert.severity.upper()}] {alert.title}: {alert.document['entity_key']}"
    return _CONTROL.sub(" ", summary)[:255]


def slack_escaped(text: str) -> str:
    """`text` as Slack's mrkdwn shows it literally: event fields are typed by whoever signs in,
    and `<!channel>` or `<https://evil.example|Okta>` must not ping a channel or disguise a
    link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def jira_description(alert: Alert, link: str | None) -> dict[str, Any]:
    """The issue body: what happened, what to do, the evidence, and where to look."""
    detection = alert.document["detection"]
    content: list[dict[str, Any]] = [
        _paragraph(alert.summary),
        _paragraph(
            f"Detection {detection['id']} (version {detection['version']}), severity "
            f"{detection['severity']}, ATT&CK {', '.join(detection.get('techniques', []))}. "
            f"Window {alert.document['window']['start']}; {alert.document['count']} events."
        ),
        _paragraph(f"Response: {detection.get('response', '')}"),
        _evidence_table(alert),
        _paragraph(alert.marker),
    ]
    if link:
        content.insert(3, _link_paragraph("Open the events in OpenSearch Dashboards", link))
    return {"type": "doc", "version": 1, "content": content}


def jira_comment(
    alert: Alert, link: str | None, replaces: tuple[Alert, ...] = ()
) -> dict[str, Any]:
    """A repeat of the incident; one that `replaces` superseded findings says so, so that
    the issue is told once."""
    heading = f"Seen again: {alert.summary} (window {alert.document['window']['start']})."
    if replaces:
        heading = (
            f"{superseded_text(replaces)} It is replaced by this finding: {alert.summary} "
            f"(window {alert.document['window']['start']})."
        )
    content = [
        _paragraph(heading),
        _evidence_table(alert),
        _paragraph(" · ".join([alert.marker, *(r.superseded_marker for r in replaces)])),
    ]
    if link:
        content.insert(1, _link_paragraph("Open the events in OpenSearch Dashboards", link))
    return {"type": "doc", "version": 1, "content": content}


def superseded_text(findings: tuple[Alert, ...]) -> str:
    """What a delivered alert's ticket or thread is told when its finding no longer holds."""
    named = ", ".join(f"{f.finding_id} (window {f.document['window']['start']})" for f in findings)
    reason = findings[0].superseded_reason
    what = "Finding" if len(findings) == 1 else "Findings"
    return f"Superseded: {what} {named} no longer holds: {reason}."


def jira_superseded_comment(alert: Alert) -> dict[str, Any]:
    """The notice on a superseded finding's issue, when nothing replaces it there."""
    replaced = alert.superseded_by
    tail = f" Replaced by {', '.join(replaced)}." if replaced else " No other finding replaces it."
    content = [
        _paragraph(superseded_text((alert,)) + tail + " The finding is kept, marked superseded."),
        _paragraph(alert.superseded_marker),
    ]
    return {"type": "doc", "version": 1, "content": content}


def slack_superseded_message(alert: Alert) -> SlackMessage:
    """The superseded notice in the alert's thread, when nothing replaces it there."""
    text = superseded_text((alert,))
    if alert.superseded_by:
        text += f" Replaced by {', '.join(alert.superseded_by)}."
    text = slack_escaped(text)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": alert.superseded_marker}],
        },
    ]
    return SlackMessage(text=text[:3000], blocks=blocks, finding_id=alert.notice_key)


def slack_message(
    alert: Alert, link: str | None, repeat_of: str | None, replaces: tuple[Alert, ...] = ()
) -> SlackMessage:
    """A Block Kit message; a repeat says so (threaded under the first, where Slack can), and
    one that replaces superseded findings says that too."""
    detection = alert.document["detection"]
    heading = f"{'Seen again: ' if repeat_of else ''}{alert.title}"
    fields = [
        f"*Severity*\n{alert.severity}",
        f"*Entity*\n{slack_escaped(alert.entity_key)}",
        f"*Window*\n{alert.document['window']['start']}",
        f"*Events*\n{alert.document['count']}",
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": heading[:150]}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": slack_escaped(alert.summary)[:2900]},
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{detection['id']} v{detection['version']} · {alert.marker}"
                    + (f" · repeat of {repeat_of}" if repeat_of else ""),
                }
            ],
        },
    ]
    if replaces:
        notice = {"type": "mrkdwn", "text": slack_escaped(superseded_text(replaces))[:2900]}
        blocks.insert(1, {"type": "section", "text": notice})
    if detection.get("response"):
        text = f"*Response:* {detection['response']}"
        blocks.insert(2, {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}})
    if link:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the events"},
                        "url": link[:3000],
                    }
                ],
            }
        )
    return SlackMessage(
        text=slack_escaped(f"{heading}: {alert.summary}")[:3000],
        blocks=blocks,
        finding_id=alert.finding_id,
        also=tuple(r.notice_key for r in replaces),
    )


def _evidence_table(alert: Alert) -> dict[str, Any]:
    rows = [_row(["event uuid"], header=True)]
    rows += [_row([uuid]) for uuid in alert.evidence[:EVIDENCE_ROWS]]
    if len(alert.evidence) > EVIDENCE_ROWS:
        rows.append(_row([f"... and {len(alert.evidence) - EVIDENCE_ROWS} more"]))
    return {"type": "table", "content": rows}


def _row(cells: list[str], header: bool = False) -> dict[str, Any]:
    kind = "tableHeader" if header else "tableCell"
    return {
        "type": "tableRow",
        "content": [{"type": kind, "content": [_paragraph(c)]} for c in cells],
    }


def _paragraph(text: str) -> dict[str, Any]:
    return {"type": "paragraph", "content": [{"type": "text", "text": text}]}


def _link_paragraph(text: str, url: str) -> dict[str, Any]:
    mark = {"type": "link", "attrs": {"href": url}}
    return {"type": "paragraph", "content": [{"type": "text", "text": text, "marks": [mark]}]}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
