"""The identity link on the node, over a simulated hour of Okta and CloudTrail: which AWS SAML
sessions come from which Okta users and sessions, an org whose session names differ from the
logins, a forged assertion left unlinked, and a link found once a late Okta side arrives."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.aws_simulator.scenarios import CROSS_SOURCE_OKTA_SCENARIOS
from okta_pipeline.lib.aws_simulator.trail import SimulatedTrail
from okta_pipeline.lib.cloudtrail.index import daily_indices as cloudtrail_indices
from okta_pipeline.lib.correlation.identity_link import (
    ASSUME_ROLE_WITH_SAML,
    LinkRules,
    SessionLink,
    link_sessions,
    sessions_indices,
    write_links,
)
from okta_pipeline.lib.detections.search import EventSearch, cloudtrail_search
from okta_pipeline.lib.okta_simulator.scenarios import SCENARIOS
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.index_setup import drop_managed_prefix, drop_prefix
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline_tests.stored_events import index_events, index_records

START = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
START_MS = int(START.timestamp() * 1000)


@pytest.fixture
def prefix(opensearch: OpenSearch) -> Iterator[str]:
    name = f"test-link-{uuid.uuid4().hex[:8]}"
    yield name
    drop_prefix(opensearch, name)
    drop_managed_prefix(opensearch, f"{name}-aws")
    drop_managed_prefix(opensearch, f"{name}-sessions")


def simulated(style: str = "local_part") -> tuple[SimulatedOrg, SimulatedTrail]:
    org = SimulatedOrg(seed=11, scenarios=SCENARIOS + CROSS_SOURCE_OKTA_SCENARIOS)
    return org, SimulatedTrail(org, session_name_style=style)  # type: ignore[arg-type]


def window_ms() -> tuple[int, int]:
    return int(START.timestamp() * 1000), int(END.timestamp() * 1000)


def searches(opensearch: OpenSearch, prefix: str) -> tuple[EventSearch, EventSearch]:
    okta = EventSearch(opensearch, daily_indices(prefix))
    trail = cloudtrail_search(opensearch, cloudtrail_indices(f"{prefix}-aws"))
    return okta, trail


def test_sessions_link_to_their_okta_users_and_sessions_with_an_orgs_own_names(
    opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    org, trail = simulated("local_part")  # role session names without the login's domain
    # The Okta side from ten minutes before: the SSOs of the hour's first sessions.
    okta_events = [s.event for s in org.published_between(START_MS - 600_000, window_ms()[1])]
    records = list(trail.records_between(*window_ms()))
    index_events(opensearch, prefix, okta_events, tmp_path)
    index_records(opensearch, f"{prefix}-aws", [r.record for r in records], tmp_path)
    okta, cloudtrail = searches(opensearch, prefix)

    # With the default rules a session name without a domain names no Okta login.
    plain = link_sessions(okta, cloudtrail, START, END, LinkRules())
    assumed = [r for r in records if r.record["eventName"] == ASSUME_ROLE_WITH_SAML]
    assert len(plain) == len(assumed) > 10
    assert not any(link.linked for link in plain)

    links = link_sessions(okta, cloudtrail, START, END, LinkRules(login_domain="example.com"))
    by_id = {link.assume_event_id: link for link in links}
    sso_sessions = {
        s.uuid: s.event["authenticationContext"]["externalSessionId"]
        for s in org.published_between(START_MS - 600_000, window_ms()[1])
        if s.event["eventType"] == "user.authentication.sso"
    }
    forged = {r.event_id for r in assumed if r.scenario == "aws_saml_without_okta_sso"}
    assert forged, "the simulated hour holds a forged SAML federation"
    subjects = {r.record["responseElements"]["subject"] for r in assumed}
    assert any(s != s.lower() for s in subjects), "some simulated users sign in in mixed case"
    for record in assumed:
        link = by_id[record.event_id]
        if record.event_id in forged:
            assert not link.linked and link.confidence == "none"
            continue
        assert link.linked, f"{record.record['requestParameters']['roleSessionName']} unlinked"
        assert link.login == record.record["responseElements"]["subject"].lower()
        assert link.sso_uuid in sso_sessions
        assert link.okta_session_id == sso_sessions[link.sso_uuid]
        assert link.sso_published is not None
        assert timedelta(0) <= link.assumed_at - link.sso_published <= timedelta(minutes=5)
        # The simulated users federate from where they signed in to Okta.
        assert link.confidence == "high" and link.source_ip == link.sso_ip
        assert link.access_key_id.startswith("ASIA")


def test_a_session_is_linked_once_its_late_okta_side_arrives(
    opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    org, trail = simulated("login")
    records = [r.record for r in trail.records_between(*window_ms())]
    index_records(opensearch, f"{prefix}-aws", records, tmp_path)
    okta, cloudtrail = searches(opensearch, prefix)
    sessions = f"{prefix}-sessions"

    before = link_sessions(okta, cloudtrail, START, END, LinkRules())
    assert before and not any(link.linked for link in before)  # no Okta events indexed yet
    write_links(opensearch, sessions, before)

    okta_events = [s.event for s in org.published_between(START_MS - 600_000, window_ms()[1])]
    index_events(opensearch, prefix, okta_events, tmp_path)
    after = link_sessions(okta, cloudtrail, START, END, LinkRules())
    write_links(opensearch, sessions, after)
    opensearch.indices.refresh(index=sessions_indices(sessions))

    stored = opensearch.search(
        index=sessions_indices(sessions), body={"size": 10_000, "query": {"match_all": {}}}
    )["hits"]["hits"]
    assert len(stored) == len(before)  # rewritten under the same ids, not added
    links = [SessionLink.from_document(hit["_source"]) for hit in stored]
    assert sum(link.linked for link in links) == sum(link.linked for link in after) > 0
    assert {link.assume_event_id for link in links} == {hit["_id"] for hit in stored}


def test_a_login_okta_keeps_in_mixed_case_links_all_the_same(
    opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    org, trail = simulated("login")
    published = org.published_between(START_MS - 600_000, window_ms()[1])
    okta_events = [copy.deepcopy(s.event) for s in published]  # the simulator's own stay as are
    capitalised = 0
    for event in okta_events:  # as a directory with capitalised logins sends them
        actor = event.get("actor") or {}
        if isinstance(actor.get("alternateId"), str) and "@" in actor["alternateId"]:
            actor["alternateId"] = actor["alternateId"].title()
            capitalised += 1
    assert capitalised > 100
    records = list(trail.records_between(*window_ms()))
    index_events(opensearch, prefix, okta_events, tmp_path)
    index_records(opensearch, f"{prefix}-aws", [r.record for r in records], tmp_path)
    okta, cloudtrail = searches(opensearch, prefix)

    links = link_sessions(okta, cloudtrail, START, END, LinkRules())
    by_id = {link.assume_event_id: link for link in links}
    assumed = [r for r in records if r.record["eventName"] == ASSUME_ROLE_WITH_SAML]
    genuine = [r for r in assumed if r.scenario != "aws_saml_without_okta_sso"]
    assert len(genuine) > 10
    unlinked = [r.event_id for r in genuine if not by_id[r.event_id].linked]
    assert not unlinked, f"{len(unlinked)} of {len(genuine)} sessions unlinked"
    assert all(str(by_id[r.event_id].login).islower() for r in genuine)
