"""Successful sign-ins and a user's history of them: what the stateful detections read.

History is kept by UTC day, so what a window "knows" depends only on the window, never on the
range a run happens to cover: a day's backfill and a single window give the same findings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from okta_pipeline.lib.detections.search import EventSearch, Hit, term, terms
from okta_pipeline.lib.opensearch.derived_fields import as_bool

USER = "actor.alternateId"
COUNTRY = "client.geographicalContext.country"
ASN = "securityContext.asNumber"
IS_PROXY = "securityContext.isProxy"
ISP = "securityContext.isp"
AS_ORG = "securityContext.asOrg"
SIGN_INS: dict[str, Any] = {
    "bool": {"filter": [term("eventType", "user.session.start"), term("outcome.result", "SUCCESS")]}
}
TERMS_BATCH = 1000


def day_start(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, utc.day, tzinfo=UTC)


def is_proxy(hit: Hit) -> bool:
    return as_bool(hit.get(IS_PROXY)) is True


def on_mobile_network(hit: Hit, words: Sequence[str]) -> bool:
    """Mobile carriers geolocate coarsely and hop between cities: travel there proves little."""
    names = " ".join(str(hit.get(f) or "") for f in (ISP, AS_ORG)).lower()
    return any(word in names for word in words)


def users_of(hits: Iterable[Hit]) -> list[str]:
    return sorted({str(h.get(USER)) for h in hits if h.get(USER)})


def in_batches(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for offset in range(0, len(values), TERMS_BATCH):
        yield values[offset : offset + TERMS_BATCH]


class DailyHistory:
    """For each user, the values of one field seen in their sign-ins, by UTC day."""

    def __init__(self) -> None:
        self._days: dict[str, dict[date, set[str]]] = defaultdict(lambda: defaultdict(set))

    @classmethod
    def read(
        cls,
        search: EventSearch,
        field: str,
        users: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> DailyHistory:
        history = cls()
        for batch in in_batches(users):
            buckets = search.composite(
                {"bool": {"filter": [SIGN_INS, terms(USER, batch)]}},
                start,
                end,
                sources=[
                    {"user": {"terms": {"field": USER}}},
                    {"value": {"terms": {"field": field}}},
                    {"day": {"date_histogram": {"field": "published", "calendar_interval": "1d"}}},
                ],
            )
            for bucket in buckets:
                key = bucket["key"]
                day = datetime.fromtimestamp(key["day"] / 1000, UTC).date()
                history._days[str(key["user"])][day].add(str(key["value"]))
        return history

    def known_days(self, user: str, before: date, days: int) -> int:
        """Days with any sign-in among the `days` days before `before`."""
        recorded = self._days.get(user, {})
        return sum(1 for n in range(1, days + 1) if recorded.get(before - timedelta(days=n)))

    def values(self, user: str, before: date, days: int) -> set[str]:
        """Every value seen in the `days` days before `before`."""
        recorded = self._days.get(user, {})
        found: set[str] = set()
        for n in range(1, days + 1):
            found |= recorded.get(before - timedelta(days=n), set())
        return found


def values_earlier_that_day(
    search: EventSearch, field: str, users: Sequence[str], until: datetime
) -> dict[str, set[str]]:
    """Each user's values of `field` in their sign-ins from the start of `until`'s UTC day up
    to `until` (an aggregation: a window late in the day reads no event twice)."""
    found: dict[str, set[str]] = defaultdict(set)
    start = day_start(until)
    if start >= until:
        return found
    for batch in in_batches(users):
        buckets = search.composite(
            {"bool": {"filter": [SIGN_INS, terms(USER, batch)]}},
            start,
            until,
            sources=[{"user": {"terms": {"field": USER}}}, {"value": {"terms": {"field": field}}}],
        )
        for bucket in buckets:
            found[str(bucket["key"]["user"])].add(str(bucket["key"]["value"]))
    return found
