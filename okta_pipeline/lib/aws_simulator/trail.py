"""The simulated CloudTrail of an AWS organization whose people sign in through the simulated Okta.

Deterministic like the Okta simulator: any minute is regenerated on demand from the seed, the
minute, the Okta events behind it (by uuid) and the incident ids, and the same arguments give
the same records, ids and deliveries, always.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from okta_pipeline.lib.aws_simulator.accounts import (
    DEFAULT_ACCOUNT_IDS,
    DEFAULT_REGIONS,
    build_organization,
)
from okta_pipeline.lib.aws_simulator.delivery import (
    MAX_DELIVERY_DELAY_MS,
    DeliverySchedule,
    TrailObject,
    object_key,
)
from okta_pipeline.lib.aws_simulator.federation import (
    SessionNameStyle,
    SsoSignIn,
    federated_session,
    is_aws_sso,
)
from okta_pipeline.lib.aws_simulator.records import Record, StoredRecord, event_time_ms
from okta_pipeline.lib.aws_simulator.scenarios import (
    CROSS_SOURCE_SCENARIOS,
    TRAIL_SCENARIOS,
    AwsScenario,
    ScenarioContext,
)
from okta_pipeline.lib.aws_simulator.services import ServiceActivity
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg, StoredEvent, daily_rhythm

__all__ = ["CrossIncident", "SimulatedTrail", "StoredRecord"]

MINUTE_MS = 60_000
# A federated session's calls end within its hour; an SSO's AWS side stays within this many
# minutes after the SSO's minute.
_SESSION_REACH_MINUTES = 61
_CROSS_INCIDENT_REACH_MS = 15 * MINUTE_MS
_MEAN_WEEKDAY_RHYTHM = sum(daily_rhythm(m) for m in range(24 * 60)) / (24 * 60)


@dataclass(frozen=True)
class CrossIncident:
    """One injected attack with both sides of its truth (Okta uuids, CloudTrail eventIDs)."""

    id: str
    scenario: str
    detected_by: str
    okta_uuids: frozenset[str]
    aws_event_ids: frozenset[str]


class SimulatedTrail:
    """CloudTrail management events of simulated AWS accounts, following the Okta org's SSOs."""

    def __init__(
        self,
        org: SimulatedOrg,
        records_per_minute: float = 40.0,
        account_ids: tuple[str, ...] = DEFAULT_ACCOUNT_IDS,
        regions: tuple[str, ...] = DEFAULT_REGIONS,
        organization_id: str | None = None,
        session_name_style: SessionNameStyle = "login",
        attacks: bool = True,
        scenario_period_minutes: int | None = 60,
    ) -> None:
        """`records_per_minute` is the ordinary service activity (scaled by the daily rhythm);
        federated sessions and attacks come on top. `attacks=False` leaves out every scenario."""
        self.org = org
        self.seed = org.seed
        self.records_per_minute = records_per_minute
        self.organization_id = organization_id
        self.session_name_style = session_name_style
        self.attacks = attacks
        self.scenario_period_ms = (
            scenario_period_minutes * MINUTE_MS if attacks and scenario_period_minutes else None
        )
        self.aws = build_organization(org.seed, account_ids, regions)
        self.schedule = DeliverySchedule(org.seed, self.aws)
        self._services = ServiceActivity(org.seed, self.aws)
        self._context = ScenarioContext(self.aws, org.directory, session_name_style)
        self._admins = {person.login for person in org.directory.admins}
        self._cross = {c.okta.name: c for c in CROSS_SOURCE_SCENARIOS}
        # Small caches: a minute of a busy trail holds hundreds of records.
        self._minute = lru_cache(maxsize=48)(self._generate_minute)
        self._federated = lru_cache(maxsize=2 * _SESSION_REACH_MINUTES)(self._generate_federated)
        self._cross_incident = lru_cache(maxsize=64)(self._generate_cross_incident)
        self._occurrence = lru_cache(maxsize=64)(self._generate_occurrence)

    def records_between(self, start_ms: int, end_ms: int) -> Iterator[StoredRecord]:
        """Records with start <= eventTime < end, ordered by (eventTime, eventID)."""
        for minute in range(start_ms // MINUTE_MS, -(-end_ms // MINUTE_MS)):
            for stored in self._minute(minute):
                if start_ms <= stored.event_time_ms < end_ms:
                    yield stored

    def objects_between(self, start_ms: int, end_ms: int) -> list[TrailObject]:
        """The log files delivered in [start, end), ordered by delivery, account and region."""
        grouped: dict[tuple[int, str, str], list[StoredRecord]] = defaultdict(list)
        for stored in self.records_between(start_ms - MAX_DELIVERY_DELAY_MS, end_ms):
            if start_ms <= stored.delivered_ms < end_ms:
                grouped[(stored.delivered_ms, stored.account_id, stored.region)].append(stored)
        objects = []
        for (delivered, account_id, region), records in sorted(grouped.items()):
            unique = self.schedule.unique_string(account_id, region, delivered)
            key = object_key(account_id, region, delivered, unique, self.organization_id)
            objects.append(TrailObject(key, account_id, region, delivered, tuple(records)))
        return objects

    def truth_between(self, start_ms: int, end_ms: int) -> dict[str, int]:
        """Scenario name -> number of its AWS records with eventTime in [start, end)."""
        counts = Counter(s.scenario for s in self.records_between(start_ms, end_ms) if s.scenario)
        return dict(sorted(counts.items()))

    def incidents_between(self, start_ms: int, end_ms: int) -> dict[str, CrossIncident]:
        """The attacks whose every Okta event and AWS record is in [start, end), by incident."""
        members: dict[str, list[StoredRecord]] = defaultdict(list)
        for stored in self.records_between(start_ms, end_ms):
            if stored.incident:
                members[stored.incident].append(stored)
        okta_complete = self.org.incidents_between(start_ms, end_ms)
        sso_of = {
            s.incident: s
            for s in self.org.published_between(start_ms, end_ms)
            if s.incident in members and is_aws_sso(s.event)
        }
        incidents = {}
        for incident, records in members.items():
            name, occurrence = incident.rsplit("#", 1)
            if name in self._cross:
                okta = okta_complete.get(incident)
                sso = sso_of.get(incident)
                if okta is None or sso is None:
                    continue
                expected = len(self._cross_incident(incident, sso.published_ms))
                okta_uuids = okta.uuids
                detected_by = self._cross[name].okta.detected_by
            else:
                index, scenario = self._trail_scenario(name)
                expected = len(self._occurrence(index, int(occurrence)))
                okta_uuids = frozenset()
                detected_by = scenario.detected_by
            if len(records) == expected:
                incidents[incident] = CrossIncident(
                    incident,
                    name,
                    detected_by,
                    okta_uuids,
                    frozenset(r.event_id for r in records),
                )
        return incidents

    def _generate_minute(self, minute: int) -> tuple[StoredRecord, ...]:
        rng = random.Random(f"aws-minute:{self.seed}:{minute}")
        expected = self.records_per_minute * daily_rhythm(minute) / _MEAN_WEEKDAY_RHYTHM
        calls = max(0, round(rng.gauss(expected, math.sqrt(expected)))) if expected > 0 else 0
        stored = [self._store(rng, r) for r in self._services.minute(rng, minute, calls)]
        for sso_minute in range(minute - _SESSION_REACH_MINUTES, minute + 1):
            stored.extend(self._federated(sso_minute).get(minute, ()))
        stored.extend(self._scenario_records(minute))
        return tuple(sorted(stored, key=lambda s: s.sort_key))

    def _generate_federated(self, minute: int) -> dict[int, tuple[StoredRecord, ...]]:
        """The AWS side of the Okta SSOs into the AWS app published in this minute, by the
        minute of each record."""
        by_minute: dict[int, list[StoredRecord]] = defaultdict(list)
        for sso in self.org.published_between(minute * MINUTE_MS, (minute + 1) * MINUTE_MS):
            if not is_aws_sso(sso.event):
                continue
            if sso.scenario is None:
                produced = self._federate(sso)
            elif sso.incident and sso.scenario in self._cross and self.attacks:
                produced = self._cross_incident(sso.incident, sso.published_ms)
            else:
                continue  # other Okta scenarios (a stolen session's SSO) have no AWS side
            for stored in produced:
                by_minute[stored.event_time_ms // MINUTE_MS].append(stored)
        return {m: tuple(records) for m, records in by_minute.items()}

    def _federate(self, sso: StoredEvent) -> tuple[StoredRecord, ...]:
        rng = random.Random(f"aws-federation:{self.seed}:{sso.uuid}")
        event = sso.event
        login = event["actor"]["alternateId"]
        sign_in = SsoSignIn(
            sso.published_ms,
            login,
            event["client"]["ipAddress"],
            event["client"]["userAgent"]["rawUserAgent"],
            login in self._admins,
        )
        records = federated_session(rng, self.aws, sign_in, self.session_name_style)
        return tuple(self._store(rng, r) for r in records)

    def _generate_cross_incident(self, incident: str, sso_ms: int) -> tuple[StoredRecord, ...]:
        """The AWS side of an Okta-started incident, seeded by its id."""
        name = incident.rsplit("#", 1)[0]
        okta = [
            s
            for s in self.org.published_between(
                sso_ms - _CROSS_INCIDENT_REACH_MS, sso_ms + _CROSS_INCIDENT_REACH_MS
            )
            if s.incident == incident
        ]
        rng = random.Random(f"aws-incident:{self.seed}:{incident}")
        records = self._cross[name].build_aws(rng, self._context, okta)
        return tuple(self._store(rng, r, name, incident) for r in records)

    def _scenario_records(self, minute: int) -> list[StoredRecord]:
        if self.scenario_period_ms is None:
            return []
        start, end = minute * MINUTE_MS, (minute + 1) * MINUTE_MS
        found: list[StoredRecord] = []
        for index, scenario in enumerate(TRAIL_SCENARIOS):
            offset = self._scenario_offset(index, scenario)
            first = (start - offset - scenario.duration_ms) // self.scenario_period_ms
            last = (end - offset) // self.scenario_period_ms
            for occurrence in range(first, last + 1):
                found.extend(
                    s for s in self._occurrence(index, occurrence) if start <= s.event_time_ms < end
                )
        return found

    def _scenario_offset(self, index: int, scenario: AwsScenario) -> int:
        assert self.scenario_period_ms is not None
        rng = random.Random(f"aws-offset:{self.seed}:{index}")
        return rng.randint(0, max(0, self.scenario_period_ms - scenario.duration_ms - MINUTE_MS))

    def _generate_occurrence(self, index: int, occurrence: int) -> tuple[StoredRecord, ...]:
        assert self.scenario_period_ms is not None
        scenario = TRAIL_SCENARIOS[index]
        rng = random.Random(f"aws-scenario:{self.seed}:{index}:{occurrence}")
        begin = occurrence * self.scenario_period_ms + self._scenario_offset(index, scenario)
        signed_in = frozenset(
            sso.event["actor"]["alternateId"]
            for sso in self.org.published_between(
                begin - _SESSION_REACH_MINUTES * MINUTE_MS, begin + scenario.duration_ms
            )
            if is_aws_sso(sso.event)
        )
        records = scenario.build(rng, self._context, begin, signed_in)
        incident = f"{scenario.name}#{occurrence}"
        return tuple(self._store(rng, r, scenario.name, incident) for r in records)

    def _trail_scenario(self, name: str) -> tuple[int, AwsScenario]:
        return next((i, s) for i, s in enumerate(TRAIL_SCENARIOS) if s.name == name)

    def _store(
        self,
        rng: random.Random,
        record: Record,
        scenario: str | None = None,
        incident: str | None = None,
    ) -> StoredRecord:
        event_ms = event_time_ms(record["eventTime"])
        account_id, region = record["recipientAccountId"], record["awsRegion"]
        return StoredRecord(
            event_ms,
            record["eventID"],
            self.schedule.delivered_ms(rng, account_id, region, event_ms),
            account_id,
            region,
            record,
            scenario,
            incident,
        )
