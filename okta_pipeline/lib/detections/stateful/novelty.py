"""A successful sign-in from a country (or network) the user has not signed in from lately.

What a user "knows" is the values of their sign-ins over the `history_days` UTC days before the
sign-in's day, plus their earlier sign-ins that day. Users with too little history (new hires,
rare users) are skipped: everything would be new for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from okta_pipeline.lib.detections.model import Match
from okta_pipeline.lib.detections.search import EventSearch, Hit
from okta_pipeline.lib.detections.stateful.sign_ins import (
    IS_PROXY,
    SIGN_INS,
    USER,
    DailyHistory,
    day_start,
    is_proxy,
    users_of,
    values_earlier_that_day,
)
from okta_pipeline.lib.windows import window_start


def sign_in_novelty(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Match]:
    field = str(parameters["field"])
    history_days = int(parameters.get("history_days", 30))
    min_known_days = int(parameters.get("min_known_days", 3))

    in_range = list(search.scan(SIGN_INS, start, end, fields=[USER, field, IS_PROXY]))
    users = users_of(in_range)
    if not users:
        return []
    history = DailyHistory.read(
        search, field, users, day_start(start) - timedelta(days=history_days), end
    )
    # Per user, the values of their sign-ins so far on the day being read.
    today: dict[str, tuple[date, set[str]]] = {}

    def seen(hit: Hit) -> set[str]:
        user, day = str(hit.get(USER)), hit.published.date()
        current = today.get(user)
        if current is None or current[0] != day:
            current = (day, set())
            today[user] = current
        return current[1]

    for user, values in values_earlier_that_day(search, field, users, start).items():
        today[user] = (start.date(), values)

    @cache
    def known_before(user: str, day: date) -> tuple[int, frozenset[str]]:
        return (
            history.known_days(user, day, history_days),
            frozenset(history.values(user, day, history_days)),
        )

    matches = []
    for hit in in_range:
        user, value = str(hit.get(USER)), hit.get(field)
        same_day = seen(hit)
        if value is None:
            continue
        known_days, earlier_days = known_before(user, hit.published.date())
        new = str(value) not in earlier_days and str(value) not in same_day
        same_day.add(str(value))
        if not new or is_proxy(hit) or known_days < min_known_days:
            continue
        matches.append(
            Match(
                window=window_start(hit.published),
                entity={USER: user},
                events=(hit.evidence,),
                details={
                    "new": str(value),
                    "known": sorted(earlier_days | same_day - {str(value)}),
                },
            )
        )
    return matches
