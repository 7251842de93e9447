"""Many accounts tried with few attempts each: credential stuffing from one address, and a
spray spread over many addresses so that no address alone crosses a threshold.

Both count failed primary authentications over a span ending at each window's end, and fire
in the window where the condition first holds (as Sigma correlations do here), so an attack
that goes on for an hour gives one finding, not twelve.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from okta_pipeline.lib.detections.model import Match
from okta_pipeline.lib.detections.search import EventSearch, Hit, terms
from okta_pipeline.lib.detections.stateful.sign_ins import USER
from okta_pipeline.lib.windows import WINDOW, windows_between

IP = "client.ipAddress"
PRIMARY_AUTHENTICATIONS = (
    "user.session.start",
    "user.authentication.verify",
    "user.authentication.authenticate",
    "user.authentication.auth",
)
FAILURE_REASONS = ("INVALID_CREDENTIALS", "LOCKED_OUT", "VERIFICATION_ERROR")
FIELDS = (USER, IP, "outcome.result", "outcome.reason")


@dataclass(frozen=True)
class Attempts:
    """The failed attempts in a span, and what they add up to."""

    hits: tuple[Hit, ...]

    @property
    def per_user(self) -> Counter[str]:
        return Counter(str(h.get(USER)) for h in self.hits)

    @property
    def addresses(self) -> set[str]:
        return {str(h.get(IP)) for h in self.hits}


def credential_stuffing(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Match]:
    """One address failing for many users, each only once or twice: a list of leaked
    username and password pairs tried in turn (a brute force tries many passwords per user)."""
    span = timedelta(minutes=float(parameters.get("span_minutes", 30)))
    min_attempts = int(parameters.get("min_attempts", 25))
    min_users = int(parameters.get("min_users", 15))
    max_per_user = int(parameters.get("max_attempts_per_user", 2))
    few_share = float(parameters.get("min_share_of_users_with_few_attempts", 0.8))
    failures = _failures(search, start - span, end, parameters)
    by_address: dict[str, list[Hit]] = defaultdict(list)
    for hit in failures:
        by_address[str(hit.get(IP))].append(hit)

    def holds(attempts: Attempts) -> bool:
        per_user = attempts.per_user
        if len(attempts.hits) < min_attempts or len(per_user) < min_users:
            return False
        few = sum(1 for count in per_user.values() if count <= max_per_user)
        return few >= few_share * len(per_user)

    matches = []
    for address, hits in sorted(by_address.items()):
        for window, attempts in _crossings(hits, start, end, span, holds):
            matches.append(
                Match(
                    window=window,
                    entity={IP: address},
                    events=tuple(h.evidence for h in attempts.hits),
                    count=len(attempts.hits),
                    details={"users": len(attempts.per_user)},
                )
            )
    return matches


def distributed_spray(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Match]:
    """Failed attempts for many users from many addresses new to the org: a spray through a
    proxy pool. An address that signed anyone in during the lookback (a day by default, the
    span included) is the org's own, and its failures are users' typos, so it is left out."""
    span = timedelta(minutes=float(parameters.get("span_minutes", 15)))
    min_addresses = int(parameters.get("min_addresses", 5))
    min_users = int(parameters.get("min_users", 8))
    min_attempts = int(parameters.get("min_attempts", 25))
    max_per_user = int(parameters.get("max_attempts_per_user", 5))
    lookback = max(span, timedelta(hours=float(parameters.get("known_address_hours", 24))))
    failures = _failures(search, start - span, end, parameters)
    if not failures:
        return []
    successes: dict[str, list[datetime]] = defaultdict(list)
    success_query = {
        "bool": {
            "filter": [
                terms("eventType", list(PRIMARY_AUTHENTICATIONS)),
                terms("outcome.result", ["SUCCESS"]),
                terms(IP, sorted({str(h.get(IP)) for h in failures})),
            ]
        }
    }
    for hit in search.scan(success_query, start - lookback, end, fields=[IP]):
        successes[str(hit.get(IP))].append(hit.published)

    def holds(attempts: Attempts) -> bool:
        per_user = attempts.per_user
        return (
            len(attempts.addresses) >= min_addresses
            and len(per_user) >= min_users
            and len(attempts.hits) >= min_attempts
            and max(per_user.values()) <= max_per_user
        )

    def from_new_addresses(hits: list[Hit], since: datetime, until: datetime) -> list[Hit]:
        known_since = until - lookback
        return [
            h
            for h in hits
            if not any(known_since <= s < until for s in successes.get(str(h.get(IP)), ()))
        ]

    matches = []
    for window, attempts in _crossings(failures, start, end, span, holds, from_new_addresses):
        matches.append(
            Match(
                window=window,
                entity={"okta_pipeline.scope": "org"},
                events=tuple(h.evidence for h in attempts.hits),
                count=len(attempts.hits),
                details={
                    "addresses": len(attempts.addresses),
                    "users": len(attempts.per_user),
                },
            )
        )
    return matches


def _failures(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Hit]:
    reasons = [str(r) for r in parameters.get("failure_reasons", FAILURE_REASONS)]
    query = {
        "bool": {
            "filter": [
                terms("eventType", list(PRIMARY_AUTHENTICATIONS)),
                terms("outcome.result", ["FAILURE"]),
                terms("outcome.reason.keyword", reasons),
            ]
        }
    }
    return [h for h in search.scan(query, start, end, fields=FIELDS) if h.get(USER) and h.get(IP)]


def _crossings(
    hits: Sequence[Hit],
    start: datetime,
    end: datetime,
    span: timedelta,
    holds: Callable[[Attempts], bool],
    keep: Callable[[list[Hit], datetime, datetime], list[Hit]] | None = None,
) -> Iterable[tuple[datetime, Attempts]]:
    """Each window of [start, end) at whose end `holds` is true of the attempts in the span
    before it, and at whose start it was not."""

    def within(until: datetime) -> Attempts:
        since = until - span
        chosen = [h for h in hits if since <= h.published < until]
        return Attempts(tuple(keep(chosen, since, until) if keep else chosen))

    for window in windows_between(start, end):
        now = within(window + WINDOW)
        if holds(now) and not holds(within(window)):
            yield window, now
