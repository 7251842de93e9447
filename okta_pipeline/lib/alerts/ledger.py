"""The delivery ledger: one OpenSearch document per (finding, destination), claimed with
`op_type=create` before sending and marked sent after, so nothing goes out twice.

A claim that is still pending when the next run comes is either in flight in another run (it is
left alone) or the trace of a crash between sending and recording (it is resumed, and the
destination is asked whether the alert already arrived before anything is sent again).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors

from okta_pipeline.lib.alerts.messages import Alert
from okta_pipeline.lib.opensearch.paging import PAGE_SIZE, all_hits

LEDGER_INDEX = "okta-alert-ledger"
# A pending claim younger than this is another run's delivery in flight.
IN_FLIGHT = timedelta(minutes=10)
_KEYWORD = {"type": "keyword", "ignore_above": 1024}
MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "finding_id": _KEYWORD,
        "destination": _KEYWORD,
        "detection_id": _KEYWORD,
        "group_key": _KEYWORD,
        "window": {"type": "date"},
        "status": _KEYWORD,
        "purpose": _KEYWORD,
        "kind": _KEYWORD,
        "reference": _KEYWORD,
        "thread": _KEYWORD,
        "claimed_at": {"type": "date"},
        "first_claimed_at": {"type": "date"},
        "sent_at": {"type": "date"},
        "last_error": {"type": "text"},
    },
}


class ClaimState(StrEnum):
    NEW = "new"
    """Never claimed before: deliver."""
    RESUMED = "resumed"
    """Claimed by a run that did not finish: check the destination, then deliver."""
    SENT = "sent"
    """Already delivered: nothing to do."""
    IN_FLIGHT = "in_flight"
    """Another run is delivering it now: leave it."""


ALERT = "alert"
"""A finding's own delivery."""
SUPERSEDED_NOTICE = "superseded"
"""The word, on a delivered alert, that its finding was superseded."""


@dataclass(frozen=True)
class Claim:
    alert: Alert
    destination: str
    state: ClaimState
    claimed_at: datetime
    """When the delivery was first claimed (a resumed one looks back to it for what was sent)."""
    seq_no: int
    primary_term: int
    purpose: str = ALERT

    @property
    def doc_id(self) -> str:
        return ledger_id(self.alert.finding_id, self.destination, self.purpose)


@dataclass(frozen=True)
class Anchor:
    """The first delivery of an incident: its Jira issue, or its Slack message."""

    finding_id: str
    reference: str | None
    """The Jira issue key, or the Slack message's timestamp (None through a webhook)."""
    thread: str | None


def ledger_id(finding_id: str, destination: str, purpose: str = ALERT) -> str:
    if purpose == ALERT:
        return f"{finding_id}:{destination}"
    return f"{finding_id}:{destination}:{purpose}"


class Ledger:
    def __init__(self, client: OpenSearch, index: str = LEDGER_INDEX) -> None:
        self.client = client
        self.index = index

    def ensure_index(self, replicas: int = 0) -> None:
        if not self.client.indices.exists(index=self.index):
            self.client.indices.create(
                index=self.index,
                body={
                    "settings": {"number_of_shards": 1, "number_of_replicas": replicas},
                    "mappings": MAPPING,
                },
                params={"ignore": 400},  # created meanwhile by another run
            )

    def claim(self, alert: Alert, destination: str, now: datetime, purpose: str = ALERT) -> Claim:
        """Claim the finding's delivery (or, with `purpose`, a notice about it)."""
        doc_id = ledger_id(alert.finding_id, destination, purpose)
        record = {
            "finding_id": alert.finding_id,
            "destination": destination,
            "detection_id": alert.detection_id,
            "group_key": alert.group_key,
            "window": _iso(alert.window),
            "status": "pending",
            "purpose": purpose,
            "claimed_at": _iso(now),
            "first_claimed_at": _iso(now),
        }
        try:
            created = self.client.create(
                index=self.index, id=doc_id, body=record, params={"refresh": "true"}
            )
            return Claim(
                alert,
                destination,
                ClaimState.NEW,
                now,
                created["_seq_no"],
                created["_primary_term"],
                purpose,
            )
        except os_errors.ConflictError:
            pass
        found = self.client.get(index=self.index, id=doc_id)
        source = found["_source"]
        claimed_at = _parsed(source["claimed_at"])
        # Where a resumed delivery looks for what was sent: back to the first claim, whatever
        # takeovers came since (claims written before this field was kept have only theirs).
        first_claimed_at = _parsed(source.get("first_claimed_at") or source["claimed_at"])
        if source["status"] == "sent":
            state = ClaimState.SENT
        elif now - claimed_at < IN_FLIGHT and source.get("last_error") is None:
            state = ClaimState.IN_FLIGHT
        else:
            state = ClaimState.RESUMED
        if state is ClaimState.RESUMED:
            # Take the claim over, so two runs never resume it at once: the failure is cleared
            # with it, or a third run would see the failure and take it over again.
            try:
                taken = self.client.update(
                    index=self.index,
                    id=doc_id,
                    body={
                        "doc": {
                            "claimed_at": _iso(now),
                            "first_claimed_at": _iso(first_claimed_at),
                            "last_error": None,
                        }
                    },
                    params={
                        "if_seq_no": found["_seq_no"],
                        "if_primary_term": found["_primary_term"],
                        "refresh": "true",
                    },
                )
            except os_errors.ConflictError:
                return Claim(alert, destination, ClaimState.IN_FLIGHT, claimed_at, 0, 0, purpose)
            return Claim(
                alert,
                destination,
                state,
                first_claimed_at,
                taken["_seq_no"],
                taken["_primary_term"],
                purpose,
            )
        return Claim(
            alert,
            destination,
            state,
            claimed_at,
            found["_seq_no"],
            found["_primary_term"],
            purpose,
        )

    def delivered(self, finding_id: str, destination: str) -> Anchor | None:
        """Where the finding's own alert went at `destination`, if it was sent: its issue (or
        the issue it commented on), or its Slack message and thread."""
        found = self.client.get(
            index=self.index, id=ledger_id(finding_id, destination), params={"ignore": 404}
        )
        source = found.get("_source") if found.get("found") else None
        if not source or source.get("status") != "sent":
            return None
        return Anchor(finding_id, source.get("reference"), source.get("thread"))

    def mark_sent(
        self, claim: Claim, kind: str, reference: str | None, thread: str | None, now: datetime
    ) -> None:
        self.client.update(
            index=self.index,
            id=claim.doc_id,
            body={
                "doc": {
                    "status": "sent",
                    "kind": kind,
                    "reference": reference,
                    "thread": thread,
                    "sent_at": _iso(now),
                    "last_error": None,
                }
            },
            params={"refresh": "true"},
        )

    def renew(self, claim: Claim, now: datetime) -> Claim | None:
        """Mark the claim as still being worked on (a run that takes a while to reach a claim
        must not look like a crash to the next run); None when another run has taken it over
        meanwhile."""
        try:
            renewed = self.client.update(
                index=self.index,
                id=claim.doc_id,
                body={"doc": {"claimed_at": _iso(now)}},
                params={
                    "if_seq_no": claim.seq_no,
                    "if_primary_term": claim.primary_term,
                    "refresh": "true",
                },
            )
        except os_errors.ConflictError:
            return None
        return replace(claim, seq_no=renewed["_seq_no"], primary_term=renewed["_primary_term"])

    def mark_failed(self, claim: Claim, error: str) -> None:
        """Keep the claim pending, with why: the next run resumes it at once."""
        self.client.update(
            index=self.index,
            id=claim.doc_id,
            body={"doc": {"last_error": error[:1000]}},
            params={"refresh": "true"},
        )

    def earlier_pending(self, alert: Alert, destination: str, suppression: timedelta) -> str | None:
        """An earlier finding of the alert's incident, within the suppression window before
        it, whose delivery to `destination` is claimed but not yet sent (another run may be
        sending it now, or a failure left it for the next run): its finding id, if any."""
        window = _iso(alert.window)
        response = self.client.search(
            index=self.index,
            body={
                "size": 1,
                "_source": ["finding_id"],
                "query": {
                    "bool": {
                        "filter": [
                            {"term": {"group_key": alert.group_key}},
                            {"term": {"destination": destination}},
                            {"term": {"status": "pending"}},
                            {"range": {"window": {"gte": _iso(alert.window - suppression)}}},
                        ],
                        "should": [
                            {"range": {"window": {"lt": window}}},
                            {
                                "bool": {
                                    "filter": [
                                        {"term": {"window": window}},
                                        {"range": {"finding_id": {"lt": alert.finding_id}}},
                                    ]
                                }
                            },
                        ],
                        "minimum_should_match": 1,
                        "must_not": [{"term": {"purpose": SUPERSEDED_NOTICE}}],
                    }
                },
                "sort": [{"window": "asc"}],
            },
            params={"ignore_unavailable": "true"},
        )
        hits = response["hits"]["hits"]
        return str(hits[0]["_source"]["finding_id"]) if hits else None

    def anchor(self, alert: Alert, destination: str, suppression: timedelta) -> Anchor | None:
        """The incident's latest issue or opening message at `destination` within the
        suppression window before this finding, if any (the finding itself excluded): after a
        closed issue was followed by a new one, repeats go to the new one."""
        response = self.client.search(
            index=self.index,
            body={
                "size": 1,
                "query": {
                    "bool": {
                        "filter": [
                            {"term": {"group_key": alert.group_key}},
                            {"term": {"destination": destination}},
                            {"term": {"status": "sent"}},
                            {"terms": {"kind": ["issue", "message"]}},
                            {
                                "range": {
                                    "window": {
                                        "gte": _iso(alert.window - suppression),
                                        "lte": _iso(alert.window),
                                    }
                                }
                            },
                        ],
                        "must_not": [{"term": {"finding_id": alert.finding_id}}],
                    }
                },
                "sort": [{"window": "desc"}, {"sent_at": "desc"}],
            },
            params={"ignore_unavailable": "true"},
        )
        hits = response["hits"]["hits"]
        if not hits:
            return None
        source = hits[0]["_source"]
        return Anchor(str(source["finding_id"]), source.get("reference"), source.get("thread"))

    def pending_findings(self, since: datetime, page_size: int = PAGE_SIZE) -> list[str]:
        """Findings with a delivery still pending, claimed since `since`."""
        hits = all_hits(
            self.client,
            self.index,
            {
                "query": {
                    "bool": {
                        "filter": [
                            {"term": {"status": "pending"}},
                            {"range": {"claimed_at": {"gte": _iso(since)}}},
                        ]
                    }
                },
                "_source": ["finding_id"],
                "sort": [
                    {"finding_id": "asc"},
                    {"destination": "asc"},
                    {"purpose": {"order": "asc", "unmapped_type": "keyword"}},
                ],
            },
            params={"ignore_unavailable": "true"},
            page_size=page_size,
        )
        return sorted({str(h["_source"]["finding_id"]) for h in hits})

    def pending_before(self, since: datetime) -> int:
        """Deliveries still pending whose last attempt was before `since`: past the horizon
        runs retry from, so no run sends them unless their windows are delivered again."""
        answer = self.client.count(
            index=self.index,
            body={
                "query": {
                    "bool": {
                        "filter": [
                            {"term": {"status": "pending"}},
                            {"range": {"claimed_at": {"lt": _iso(since)}}},
                        ]
                    }
                }
            },
            params={"ignore_unavailable": "true"},
        )
        return int(answer["count"])


def _parsed(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
