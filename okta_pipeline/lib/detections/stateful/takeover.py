"""Account takeover through the help desk: MFA reset, then a new factor enrolled, then a
successful sign-in from a network the user did not use in the 30 days before the reset's day,
all within an hour."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from okta_pipeline.lib.detections.model import Match
from okta_pipeline.lib.detections.search import EventSearch, Hit, terms
from okta_pipeline.lib.detections.stateful.sign_ins import (
    ASN,
    SIGN_INS,
    USER,
    DailyHistory,
    day_start,
    users_of,
)
from okta_pipeline.lib.windows import window_start

TARGET_USER = "target.alternateId"


def mfa_reset_takeover(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Match]:
    within = timedelta(minutes=float(parameters.get("within_minutes", 60)))
    history_days = int(parameters.get("history_days", 30))
    reset_types = list(parameters.get("reset_event_types", ["user.mfa.factor.reset_all"]))
    enroll_types = list(parameters.get("enroll_event_types", ["user.mfa.factor.activate"]))

    sign_ins = list(search.scan(SIGN_INS, start, end, fields=[USER, ASN]))
    users = users_of(sign_ins)
    if not users:
        return []
    resets: dict[str, list[Hit]] = defaultdict(list)
    reset_query = {"bool": {"filter": [terms("eventType", reset_types), terms(TARGET_USER, users)]}}
    for hit in search.scan(reset_query, start - within, end, fields=[TARGET_USER]):
        targets = hit.get(TARGET_USER)
        for user in targets if isinstance(targets, list) else [targets]:
            resets[str(user)].append(hit)
    if not resets:
        return []
    enrolments: dict[str, list[Hit]] = defaultdict(list)
    enroll_query = {
        "bool": {"filter": [terms("eventType", enroll_types), terms(USER, sorted(resets))]}
    }
    for hit in search.scan(enroll_query, start - within, end, fields=[USER]):
        enrolments[str(hit.get(USER))].append(hit)

    sequences = []
    for sign_in in sign_ins:
        user = str(sign_in.get(USER))
        reset = _latest(resets.get(user, []), sign_in.published - within, sign_in.published)
        if reset is None:
            continue
        enrolled = _latest(enrolments.get(user, []), reset.published, sign_in.published)
        if enrolled is not None:
            sequences.append((user, reset, enrolled, sign_in))
    if not sequences:
        return []

    earliest = min(day_start(r.published) for _, r, _, _ in sequences)
    suspects = sorted({user for user, *_ in sequences})
    history = DailyHistory.read(search, ASN, suspects, earliest - timedelta(days=history_days), end)
    matches = []
    for user, reset, enrolled, sign_in in sequences:
        # The days before the reset's, not its own: an intruder who signed in earlier that
        # day (and so made their network "known") must not hide the takeover.
        known = history.values(user, reset.published.date(), history_days)
        network = sign_in.get(ASN)
        if network is None or str(network) in known:
            continue
        matches.append(
            Match(
                window=window_start(sign_in.published),
                entity={USER: user},
                events=(reset.evidence, enrolled.evidence, sign_in.evidence),
                details={"new_network": str(network), "known_networks": sorted(known)},
            )
        )
    return matches


def _latest(hits: list[Hit], not_before: datetime, before: datetime) -> Hit | None:
    eligible = [h for h in hits if not_before <= h.published <= before]
    return max(eligible, key=lambda h: (h.published, h.uuid)) if eligible else None
