"""Cross-source attacks: both sides of each incident present, labelled, and shaped as described."""

from __future__ import annotations

from collections import defaultdict

from okta_pipeline.lib.aws_simulator.federation import is_aws_sso
from okta_pipeline.lib.aws_simulator.records import StoredRecord
from okta_pipeline.lib.aws_simulator.scenarios import (
    CROSS_SOURCE_OKTA_SCENARIOS,
    TRAIL_SCENARIOS,
)
from okta_pipeline.lib.aws_simulator.trail import CrossIncident, SimulatedTrail
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg, StoredEvent
from okta_pipeline_tests.aws_simulator.trails import (
    END,
    MINUTE,
    SEED,
    START,
    okta_events,
    records,
    shared_org,
    trail,
)

DETECTED_BY = {
    "risky_sign_in_then_aws_persistence": "okta_risky_sign_in_then_aws_persistence",
    "aws_activity_after_okta_suspension": "aws_activity_after_okta_suspension",
    "aws_saml_without_okta_sso": "aws_saml_without_okta_sso",
    "aws_console_login_bypassing_okta": "aws_console_login_bypassing_okta",
}
PERSISTENCE = {
    "CreateUser",
    "CreateAccessKey",
    "AttachUserPolicy",
    "CreateLoginProfile",
    "PutBucketPolicy",
    "StopLogging",
}


def incidents() -> dict[str, CrossIncident]:
    return trail().incidents_between(START, END)


def by_scenario(name: str) -> list[CrossIncident]:
    found = [i for i in incidents().values() if i.scenario == name]
    assert found, f"no complete {name} incident in the window"
    return found


def aws_side(incident: CrossIncident) -> list[StoredRecord]:
    return [s for s in records() if s.event_id in incident.aws_event_ids]


def okta_side(incident: CrossIncident) -> list[StoredEvent]:
    return [e for e in okta_events() if e.uuid in incident.okta_uuids]


def test_every_scenario_has_complete_labelled_incidents() -> None:
    assert {s.name for s in CROSS_SOURCE_OKTA_SCENARIOS} | {s.name for s in TRAIL_SCENARIOS} == set(
        DETECTED_BY
    )
    found = incidents()
    assert {i.scenario for i in found.values()} == set(DETECTED_BY)
    for incident in found.values():
        assert incident.detected_by == DETECTED_BY[incident.scenario]
        assert incident.id.startswith(f"{incident.scenario}#")
        aws = aws_side(incident)
        assert len(aws) == len(incident.aws_event_ids) > 1
        assert all(s.scenario == incident.scenario and s.incident == incident.id for s in aws)
        okta = okta_side(incident)
        assert len(okta) == len(incident.okta_uuids)
        assert all(e.scenario == incident.scenario and e.incident == incident.id for e in okta)
        # Okta and AWS sides for the two that start in Okta, AWS only for the other two.
        assert bool(okta) == (incident.scenario in {s.name for s in CROSS_SOURCE_OKTA_SCENARIOS})
    truth = trail().truth_between(START, END)
    assert set(truth) == set(DETECTED_BY)
    assert sum(truth.values()) >= sum(len(i.aws_event_ids) for i in found.values())


def test_risky_sign_in_then_iam_persistence_from_the_attackers_address() -> None:
    for incident in by_scenario("risky_sign_in_then_aws_persistence"):
        okta = okta_side(incident)
        start = next(e for e in okta if e.event["eventType"] == "user.session.start")
        debug = start.event["debugContext"]["debugData"]
        assert "New Country=POSITIVE" in debug["behaviors"] and "level=HIGH" in debug["risk"]
        sso = next(e for e in okta if is_aws_sso(e.event))
        session = start.event["authenticationContext"]["externalSessionId"]
        assert sso.event["authenticationContext"]["externalSessionId"] == session
        attacker = sso.event["client"]["ipAddress"]
        assert attacker == start.event["client"]["ipAddress"]
        aws = aws_side(incident)
        assumed = next(s for s in aws if s.record["eventName"] == "AssumeRoleWithSAML")
        assert assumed.record["sourceIPAddress"] == attacker
        assert 0 < assumed.event_time_ms - sso.published_ms <= 4000
        arn = assumed.record["responseElements"]["assumedRoleUser"]["arn"]
        persistence = [s for s in aws if s.record["eventName"] in PERSISTENCE]
        names = {s.record["eventName"] for s in persistence}
        assert {"CreateUser", "CreateAccessKey", "AttachUserPolicy", "CreateLoginProfile"} <= names
        attach = next(s for s in persistence if s.record["eventName"] == "AttachUserPolicy")
        assert attach.record["requestParameters"]["policyArn"].endswith("/AdministratorAccess")
        for stored in persistence:
            assert stored.record["userIdentity"]["arn"] == arn
            assert stored.record["sourceIPAddress"] == attacker
            assert MINUTE <= stored.event_time_ms - assumed.event_time_ms <= 4 * MINUTE
        seconds = [s.record["eventTime"] for s in persistence]
        assert len(set(seconds)) < len(seconds), "two persistence calls share one second"


def test_aws_activity_continues_after_okta_suspends_the_user() -> None:
    for incident in by_scenario("aws_activity_after_okta_suspension"):
        okta = okta_side(incident)
        sso = next(e for e in okta if is_aws_sso(e.event))
        lifecycle = next(e for e in okta if e.event["eventType"].startswith("user.lifecycle."))
        assert lifecycle.event["eventType"] in (
            "user.lifecycle.suspend",
            "user.lifecycle.deactivate",
        )
        user = sso.event["actor"]
        assert lifecycle.event["target"][0]["id"] == user["id"]
        admins = {p.id for p in trail().org.directory.admins}
        assert lifecycle.event["actor"]["id"] in admins
        assert 7 * MINUTE < lifecycle.published_ms - sso.published_ms < 9 * MINUTE
        aws = aws_side(incident)
        assumed = aws[0]
        assert assumed.record["eventName"] == "AssumeRoleWithSAML"
        assert assumed.record["requestParameters"]["roleSessionName"] == user["alternateId"]
        after = [s for s in aws if s.event_time_ms > lifecycle.published_ms]
        assert len(after) >= 3
        for stored in after:
            assert 2 * MINUTE <= stored.event_time_ms - lifecycle.published_ms <= 15 * MINUTE
            identity = stored.record["userIdentity"]
            assert (
                identity["accessKeyId"]
                == (assumed.record["responseElements"]["credentials"]["accessKeyId"])
            )


def test_saml_without_okta_sso_names_a_real_user_with_no_sso_behind_it() -> None:
    logins = {p.login for p in trail().org.directory.people}
    ssos: dict[str, list[int]] = defaultdict(list)
    for event in okta_events():
        if is_aws_sso(event.event):
            ssos[event.event["actor"]["alternateId"]].append(event.published_ms)
    for incident in by_scenario("aws_saml_without_okta_sso"):
        aws = aws_side(incident)
        assumed = aws[0]
        assert assumed.record["eventName"] == "AssumeRoleWithSAML"
        login = assumed.record["requestParameters"]["roleSessionName"]
        assert login in logins
        assert not any(abs(assumed.event_time_ms - t) < 10 * MINUTE for t in ssos[login])
        arn = assumed.record["responseElements"]["assumedRoleUser"]["arn"]
        calls = aws[1:]
        assert len(calls) >= 3
        assert all(s.record["userIdentity"]["arn"] == arn for s in calls)
        assert all(s.record["sourceIPAddress"] == assumed.record["sourceIPAddress"] for s in calls)


def test_console_login_bypassing_okta_is_an_iam_user_or_root_without_mfa() -> None:
    home_prefixes = {p.home.ip_prefix for p in trail().org.directory.people}
    for incident in by_scenario("aws_console_login_bypassing_okta"):
        aws = aws_side(incident)
        login = aws[0].record
        assert login["eventName"] == "ConsoleLogin"
        assert login["responseElements"] == {"ConsoleLogin": "Success"}
        assert login["additionalEventData"]["MFAUsed"] == "No"
        identity = login["userIdentity"]
        assert identity["type"] in ("IAMUser", "Root")
        assert identity["arn"].endswith(":root") or ":user/" in identity["arn"]
        assert login["sourceIPAddress"].rsplit(".", 1)[0] not in home_prefixes
        calls = aws[1:]
        assert len(calls) >= 2
        assert all(s.record["userIdentity"]["arn"] == identity["arn"] for s in calls)


def test_attacks_off_gives_no_scenario_records() -> None:
    # The span of a few incidents, each side of it in the trail with attacks on.
    labelled = [s for s in records() if s.scenario]
    start, end = labelled[0].event_time_ms, labelled[0].event_time_ms + 40 * MINUTE
    assert len({s.scenario for s in labelled if s.event_time_ms < end}) > 1
    quiet = SimulatedTrail(shared_org(), attacks=False)
    assert quiet.truth_between(start, end) == {}
    assert quiet.incidents_between(start, end) == {}


def test_the_default_okta_org_and_its_truth_are_unchanged_by_the_extra_scenarios() -> None:
    plain = SimulatedOrg(SEED).truth_between(START, END)
    extended = shared_org().truth_between(START, END)
    cross = {s.name for s in CROSS_SOURCE_OKTA_SCENARIOS}
    assert not cross & set(plain)
    assert {name: n for name, n in extended.items() if name not in cross} == plain
    assert cross <= set(extended)
