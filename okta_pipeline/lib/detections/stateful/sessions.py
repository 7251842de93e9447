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
FIELDS = (SESSION, ASN, COUNTRY, USER)
# Up to this range, read the range's session events; beyond it, ask for candidate sessions.
SCAN_LIMIT = timedelta(hours=1)
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
    if end - start <= SCAN_LIMIT:
        in_range, earlier = _sessions_of_the_range(search, start, end, span)
    else:
        in_range, earlier = _sessions_on_several_networks(search, start, end, span, minimum)

    matches = []
    for session, hits in in_range.items():
        if len({str(h.get(ASN)) for h in hits} | set(earlier[session])) < minimum:
            continue
        for window in sorted({window_start(h.published) for h in hits}):
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


Sessions = dict[str, list[Hit]]
Earlier = dict[str, dict[str, datetime]]


def _sessions_of_the_range(
    search: EventSearch, start: datetime, end: datetime, span: timedelta
) -> tuple[Sessions, Earlier]:
    """A short range (the automation's windows): its events, and the networks its sessions
    were seen on before it, each with the last time."""
    in_range: Sessions = defaultdict(list)
    for hit in search.scan(SESSION_EVENTS, start, end, fields=FIELDS):
        in_range[str(hit.get(SESSION))].append(hit)
    earlier: Earlier = defaultdict(dict)
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
    return in_range, earlier


def _sessions_on_several_networks(
    search: EventSearch, start: datetime, end: datetime, span: timedelta, minimum: int
) -> tuple[Sessions, Earlier]:
    """A long range (a backfill): reading every session event would be slow, so OpenSearch
    first names the sessions seen on `minimum` networks or more, and only theirs are read."""
    candidates = [
        str(bucket["key"]["session"])
        for bucket in search.composite(
            SESSION_EVENTS,
            start - span,
            end,
            sources=[{"session": {"terms": {"field": SESSION}}}],
            # Exact for counts this small; a low threshold keeps each bucket's memory tiny.
            aggregations={"networks": {"cardinality": {"field": ASN, "precision_threshold": 16}}},
        )
        if bucket["networks"]["value"] >= minimum
    ]
    in_range: Sessions = defaultdict(list)
    earlier: Earlier = defaultdict(dict)
    for batch in in_batches(candidates):
        query = {"bool": {"filter": [SESSION_EVENTS, terms(SESSION, list(batch))]}}
        for hit in search.scan(query, start - span, end, fields=FIELDS):
            session = str(hit.get(SESSION))
            if hit.published >= start:
                in_range[session].append(hit)
            else:
                networks = earlier[session]
                networks[str(hit.get(ASN))] = max(
                    hit.published, networks.get(str(hit.get(ASN)), hit.published)
                )
    return in_range, earlier


def _networks(
    hits: list[Hit], earlier: Mapping[str, datetime], since: datetime, until: datetime
) -> set[str]:
    """The networks the session was seen on in [since, until)."""
    seen = {str(h.get(ASN)) for h in hits if since <= h.published < until}
    return seen | {asn for asn, last in earlier.items() if since <= last < until}
