"""One Okta session used from two or more networks: a stolen session cookie replayed elsewhere.

Only sessions with events in the range are examined, so a five-minute run reads that window's
events and the earlier networks of its sessions, never twelve hours of everything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from okta_pipeline.lib.detections.model import EvidenceEvent, Match
from okta_pipeline.lib.detections.search import EventSearch, Hit, terms
from okta_pipeline.lib.detections.stateful.sign_ins import ASN, COUNTRY, USER, in_batches
from okta_pipeline.lib.windows import WINDOW, window_start

SESSION = "authenticationContext.externalSessionId"
SESSION_EVENTS: dict[str, Any] = {
    "bool": {
        "filter": [{"exists": {"field": SESSION}}, {"exists": {"field": ASN}}],
        "must_not": [{"term": {SESSION: "unknown"}}],
    }
}


def session_from_two_networks(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Match]:
    span = timedelta(hours=float(parameters.get("span_hours", 12)))
    minimum = int(parameters.get("min_networks", 2))

    in_range: dict[str, list[Hit]] = defaultdict(list)
    for hit in search.scan(SESSION_EVENTS, start, end, fields=[SESSION, ASN, COUNTRY, USER]):
        in_range[str(hit.get(SESSION))].append(hit)
    # Each session's networks before the range, with the last time each was seen there.
    earlier: dict[str, dict[str, datetime]] = defaultdict(dict)
    for batch in in_batches(sorted(in_range)):
        buckets = search.composite(
            {"bool": {"filter": [SESSION_EVENTS, terms(SESSION, list(batch))]}},
            start - span,
            start,
            sources=[
                {"session": {"terms": {"field": SESSION}}},
                {"asn": {"terms": {"field": ASN}}},
            ],
            aggregations={"last": {"max": {"field": "published"}}},
        )
        for bucket in buckets:
            key = bucket["key"]
            last = datetime.fromtimestamp(bucket["last"]["value"] / 1000, UTC)
            earlier[str(key["session"])][str(key["asn"])] = last

    matches = []
    for session, hits in in_range.items():
        if len({str(h.get(ASN)) for h in hits} | set(earlier[session])) < minimum:
            continue
        windows = sorted({window_start(h.published) for h in hits})
        for window in windows:
            now = _networks(hits, earlier[session], window + WINDOW - span, window + WINDOW)
            before = _networks(hits, earlier[session], window - span, window)
            if len(now) >= minimum > len(before):
                evidence = [
                    h for h in hits if window + WINDOW - span <= h.published < window + WINDOW
                ]
                matches.append(
                    Match(
                        window=window,
                        entity={SESSION: session},
                        events=tuple(EvidenceEvent(h.uuid, h.published) for h in evidence),
                        details={
                            "networks": sorted(now),
                            "countries": sorted({str(h.get(COUNTRY)) for h in evidence}),
                            "user": str(evidence[0].get(USER)) if evidence else "",
                        },
                    )
                )
    return matches


def _networks(
    hits: list[Hit], earlier: Mapping[str, datetime], since: datetime, until: datetime
) -> set[str]:
    """The networks the session was seen on in [since, until)."""
    seen = {str(h.get(ASN)) for h in hits if since <= h.published < until}
    return seen | {asn for asn, last in earlier.items() if since <= last < until}
