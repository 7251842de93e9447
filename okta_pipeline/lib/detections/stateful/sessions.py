"""One Okta session used from two or more networks: a stolen session cookie replayed elsewhere.

A session is what identifies one: the user together with Okta's root session id
(`authenticationContext.rootSessionId`, Identity Engine), or the external session id where
there is no root id (Classic). A session id alone is not enough: recorded logs and Okta's own
background jobs reuse values across unrelated users ("unknown", ids of Okta's services), so
events of Okta's own services and of non-user actors are never read.

Only sessions with events in the range are examined, so a five-minute run reads that window's
events and the earlier networks of its sessions, never twelve hours of everything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from okta_pipeline.lib.detections.model import EvidenceEvent, Match
from okta_pipeline.lib.detections.search import EventSearch, Hit, terms
from okta_pipeline.lib.detections.stateful.sign_ins import ASN, COUNTRY, USER, in_batches
from okta_pipeline.lib.windows import WINDOW, window_start

ROOT_SESSION = "authenticationContext.rootSessionId"
EXTERNAL_SESSION = "authenticationContext.externalSessionId"
SESSION = "okta.session"
"""The entity field naming the session (its root id, or its external id in Classic)."""
FIELDS = (ROOT_SESSION, EXTERNAL_SESSION, ASN, COUNTRY, USER)
NOT_A_SESSION = ("unknown", "", "null")
OKTA_SERVICES = ("system@okta.com",)
"""Actors that are Okta itself: its jobs share session ids across the whole org."""
# Up to this range, read the range's session events; beyond it, ask for candidate sessions.
SCAN_LIMIT = timedelta(hours=1)
SESSION_EVENTS: dict[str, Any] = {
    "bool": {
        "filter": [
            {"term": {"actor.type": "User"}},
            {"exists": {"field": ASN}},
            {"exists": {"field": USER}},
            {
                "bool": {
                    "should": [
                        {"exists": {"field": ROOT_SESSION}},
                        {"exists": {"field": EXTERNAL_SESSION}},
                    ],
                    "minimum_should_match": 1,
                }
            },
        ],
        "must_not": [terms(USER, list(OKTA_SERVICES))],
    }
}

SessionKey = tuple[str, str]
"""(user, session id)."""


def session_id(root: Any, external: Any) -> str | None:
    """The id that names a session: the root session id, else the external one."""
    for value in (root, external):
        if isinstance(value, str) and value.strip().lower() not in NOT_A_SESSION:
            return value
    return None


def session_key(hit: Hit) -> SessionKey | None:
    session = session_id(hit.get(ROOT_SESSION), hit.get(EXTERNAL_SESSION))
    user = hit.get(USER)
    if session is None or not isinstance(user, str) or not user:
        return None
    return (user, session)


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
    for (user, session), hits in in_range.items():
        seen_before = earlier[(user, session)]
        if len({str(h.get(ASN)) for h in hits} | set(seen_before)) < minimum:
            continue
        for window in sorted({window_start(h.published) for h in hits}):
            now = _networks(hits, seen_before, window + WINDOW - span, window + WINDOW)
            before = _networks(hits, seen_before, window - span, window)
            if len(now) >= minimum > len(before):
                evidence = [
                    h for h in hits if window + WINDOW - span <= h.published < window + WINDOW
                ]
                matches.append(
                    Match(
                        window=window,
                        entity={USER: user, SESSION: session},
                        events=tuple(EvidenceEvent(h.uuid, h.published) for h in evidence),
                        details={
                            "user": user,
                            "networks": sorted(now),
                            "countries": sorted({str(h.get(COUNTRY)) for h in evidence}),
                        },
                    )
                )
    return matches


Sessions = dict[SessionKey, list[Hit]]
Earlier = dict[SessionKey, dict[str, datetime]]


def _with_sessions(values: Iterable[str]) -> dict[str, Any]:
    """Session events whose root or external session id is one of `values`."""
    batch = sorted(values)
    return {
        "bool": {
            "filter": [SESSION_EVENTS],
            "should": [terms(ROOT_SESSION, batch), terms(EXTERNAL_SESSION, batch)],
            "minimum_should_match": 1,
        }
    }


def _keyed(buckets: Iterable[dict[str, Any]]) -> Iterable[tuple[SessionKey, dict[str, Any]]]:
    """Composite buckets over (user, root, external, ...) with the session key of each."""
    for bucket in buckets:
        key = bucket["key"]
        session = session_id(key.get("root"), key.get("external"))
        if session is not None and key.get("user"):
            yield (str(key["user"]), session), bucket


SESSION_SOURCES: list[dict[str, Any]] = [
    {"user": {"terms": {"field": USER}}},
    {"root": {"terms": {"field": ROOT_SESSION, "missing_bucket": True}}},
    {"external": {"terms": {"field": EXTERNAL_SESSION, "missing_bucket": True}}},
]


def _sessions_of_the_range(
    search: EventSearch, start: datetime, end: datetime, span: timedelta
) -> tuple[Sessions, Earlier]:
    """A short range (the automation's windows): its events, and the networks its sessions
    were seen on before it, each with the last time."""
    in_range: Sessions = defaultdict(list)
    for hit in search.scan(SESSION_EVENTS, start, end, fields=FIELDS):
        key = session_key(hit)
        if key is not None:
            in_range[key].append(hit)
    earlier: Earlier = defaultdict(dict)
    for batch in in_batches(sorted({session for _, session in in_range})):
        buckets = search.composite(
            _with_sessions(batch),
            start - span,
            start,
            sources=[*SESSION_SOURCES, {"asn": {"terms": {"field": ASN}}}],
            aggregations={"last": {"max": {"field": "published"}}},
        )
        for key, bucket in _keyed(buckets):
            if key not in in_range:
                continue  # the same id, another user: not this session
            last = datetime.fromtimestamp(bucket["last"]["value"] / 1000, UTC)
            networks = earlier[key]
            asn = str(bucket["key"]["asn"])
            networks[asn] = max(last, networks.get(asn, last))
    return in_range, earlier


def _sessions_on_several_networks(
    search: EventSearch, start: datetime, end: datetime, span: timedelta, minimum: int
) -> tuple[Sessions, Earlier]:
    """A long range (a backfill): reading every session event would be slow, so OpenSearch
    first lists each session's networks, and only the sessions seen on `minimum` networks or
    more are read."""
    networks: dict[SessionKey, set[str]] = defaultdict(set)
    for key, bucket in _keyed(
        search.composite(
            SESSION_EVENTS,
            start - span,
            end,
            sources=[*SESSION_SOURCES, {"asn": {"terms": {"field": ASN}}}],
        )
    ):
        networks[key].add(str(bucket["key"]["asn"]))
    candidates = {key for key, found in networks.items() if len(found) >= minimum}
    in_range: Sessions = defaultdict(list)
    earlier: Earlier = defaultdict(dict)
    for batch in in_batches(sorted({session for _, session in candidates})):
        for hit in search.scan(_with_sessions(batch), start - span, end, fields=FIELDS):
            found = session_key(hit)
            if found is None or found not in candidates:
                continue
            key = found
            if hit.published >= start:
                in_range[key].append(hit)
            else:
                seen = earlier[key]
                asn = str(hit.get(ASN))
                seen[asn] = max(hit.published, seen.get(asn, hit.published))
    return in_range, earlier


def _networks(
    hits: list[Hit], earlier: Mapping[str, datetime], since: datetime, until: datetime
) -> set[str]:
    """The networks the session was seen on in [since, until)."""
    seen = {str(h.get(ASN)) for h in hits if since <= h.published < until}
    return seen | {asn for asn, last in earlier.items() if since <= last < until}
