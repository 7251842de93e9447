"""Okta SSO into the AWS app -> AssumeRoleWithSAML and a role session, by the same person."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from typing import Any

from okta_pipeline.lib.aws_simulator.accounts import ADMIN_ROLE, FEDERATED_ROLE_NAMES
from okta_pipeline.lib.aws_simulator.federation import is_aws_sso, pick_role
from okta_pipeline.lib.aws_simulator.records import StoredRecord, event_time
from okta_pipeline.lib.aws_simulator.trail import SimulatedTrail
from okta_pipeline.lib.okta_simulator import directory as okta_directory
from okta_pipeline.lib.okta_simulator.directory import AWS_APP_NAME, build_directory
from okta_pipeline.lib.okta_simulator.sources import StoredEvent
from okta_pipeline_tests.aws_simulator.trails import (
    END,
    HOUR,
    MINUTE,
    START,
    okta_events,
    records,
    shared_org,
    trail,
)

ASIA = re.compile(r"^ASIA[A-Z0-9]{16}$")
AROA = re.compile(r"^AROA[A-Z0-9]{17}$")


def federated() -> list[StoredRecord]:
    return [
        s for s in records() if s.scenario is None and s.record["eventName"] == "AssumeRoleWithSAML"
    ]


def aws_ssos() -> list[StoredEvent]:
    return [e for e in okta_events() if is_aws_sso(e.event) and e.scenario is None]


def test_the_okta_org_has_the_aws_federation_app_without_changing_its_people(
    monkeypatch: Any,
) -> None:
    ssos = aws_ssos()
    assert ssos and all(
        e.event["debugContext"]["debugData"]["requestUri"].startswith(f"/app/{AWS_APP_NAME}/")
        and [t["type"] for t in e.event["target"]] == ["AppInstance", "AppUser"]
        for e in ssos
    )
    with_app = build_directory(5)
    assert with_app.apps[-1][1:] == ("Amazon Web Services", AWS_APP_NAME)
    monkeypatch.setattr(okta_directory, "APPS", okta_directory.APPS[:-1])
    assert build_directory(5).people == with_app.people


def test_every_federated_assume_role_follows_an_okta_sso_of_the_same_login() -> None:
    ssos = aws_ssos()
    by_login: dict[str, list[StoredEvent]] = defaultdict(list)
    for sso in ssos:
        by_login[sso.event["actor"]["alternateId"]].append(sso)
    assumed = federated()
    assert len(assumed) > 50
    for stored in assumed:
        record = stored.record
        login = record["userIdentity"]["userName"]
        behind = [
            sso
            for sso in by_login[login]
            if 0 < stored.event_time_ms - sso.published_ms <= 4000
            and sso.event["client"]["ipAddress"] == record["sourceIPAddress"]
        ]
        assert len(behind) == 1, record
    # ... and every SSO into the AWS app in the window gets its AWS side.
    inside = [s for s in ssos if START + 5_000 <= s.published_ms < END - 5_000]
    assert abs(len(inside) - len(assumed)) <= 2


def test_assume_role_with_saml_has_stss_shape() -> None:
    aws = trail().aws
    for stored in federated():
        record = stored.record
        account = next(a for a in aws.accounts if a.id == stored.account_id)
        identity, request = record["userIdentity"], record["requestParameters"]
        response = record["responseElements"]
        login = identity["userName"]
        assert record["eventSource"] == "sts.amazonaws.com" and record["readOnly"] is True
        assert identity == {
            "type": "SAMLUser",
            "principalId": f"{account.name_qualifier}:{login}",
            "userName": login,
            "identityProvider": account.name_qualifier,
        }
        assert request["roleSessionName"] == login and request["durationSeconds"] == 3600
        assert request["principalArn"] == f"arn:aws:iam::{account.id}:saml-provider/Okta"
        role = request["roleArn"].rsplit("/", 1)[1]
        assert role in FEDERATED_ROLE_NAMES and request["sAMLAssertionID"].startswith("id")
        assert ASIA.match(response["credentials"]["accessKeyId"])
        assert response["credentials"]["sessionToken"] and response["credentials"]["expiration"]
        role_id, session = response["assumedRoleUser"]["assumedRoleId"].split(":", 1)
        assert AROA.match(role_id) and session == login
        assert response["assumedRoleUser"]["arn"] == (
            f"arn:aws:sts::{account.id}:assumed-role/{role}/{login}"
        )
        assert response["subject"] == login and response["nameQualifier"] == account.name_qualifier
        assert re.fullmatch(r"http://www\.okta\.com/exk[0-9A-Za-z]{17}", response["issuer"])
        assert response["audience"] == "https://signin.aws.amazon.com/saml"


def test_session_calls_carry_the_issued_key_or_the_sessions_arn_and_creation_date() -> None:
    earlier = [
        s
        for s in trail().records_between(START - HOUR, START)
        if s.scenario is None and s.record["eventName"] == "AssumeRoleWithSAML"
    ]
    sessions: dict[tuple[str, str], StoredRecord] = {}
    issued: dict[str, StoredRecord] = {}
    for assumed in [*earlier, *federated()]:
        response = assumed.record["responseElements"]
        sessions[(response["assumedRoleUser"]["arn"], assumed.record["eventTime"])] = assumed
        issued[response["credentials"]["accessKeyId"]] = assumed
    calls: Counter[str] = Counter()
    for stored in records():
        record, identity = stored.record, stored.record["userIdentity"]
        if stored.scenario or identity.get("type") != "AssumedRole":
            continue
        context = identity["sessionContext"]
        if context["sessionIssuer"]["userName"] not in FEDERATED_ROLE_NAMES:
            continue
        # The session is the AssumeRoleWithSAML of this arn at the creation date ...
        assumed = sessions[(identity["arn"], context["attributes"]["creationDate"])]
        response = assumed.record["responseElements"]
        assert identity["principalId"] == response["assumedRoleUser"]["assumedRoleId"]
        assert context["sessionIssuer"]["arn"] == assumed.record["requestParameters"]["roleArn"]
        # ... the user's address, within the hour its credentials live ...
        assert record["sourceIPAddress"] == assumed.record["sourceIPAddress"]
        assert 0 <= stored.event_time_ms - assumed.event_time_ms < HOUR
        if record["eventName"] == "ConsoleLogin":
            calls["console login"] += 1
            assert record["responseElements"] == {"ConsoleLogin": "Success"}
            assert record["eventType"] == "AwsConsoleSignIn" and "accessKeyId" not in identity
            extra = record["additionalEventData"]
            assert extra["SamlProviderArn"] == assumed.record["requestParameters"]["principalArn"]
            assert extra["MFAUsed"] in ("Yes", "No") and extra["MobileVersion"] == "No"
            continue
        # ... and the key it issued, or (in the console) another ASIA key of the session.
        key = identity["accessKeyId"]
        assert ASIA.match(key)
        if key == response["credentials"]["accessKeyId"]:
            calls["issued key"] += 1
        else:
            assert key not in issued and record.get("sessionCredentialFromConsole") == "true"
            calls["console key"] += 1
    assert calls["issued key"] and calls["console key"] and calls["console login"]


def test_admins_of_the_okta_org_take_the_admin_role_more_often() -> None:
    account = trail().aws.accounts[0]
    rng = random.Random(3)  # noqa: S311 (a seeded sample, not a secret)

    def admin_share(is_admin: bool) -> float:
        picks = [pick_role(rng, account, is_admin).name for _ in range(2000)]
        return picks.count(ADMIN_ROLE) / len(picks)

    assert admin_share(True) > 0.5 > 0.1 > admin_share(False)
    admins = {p.login for p in trail().org.directory.admins}
    admin_sessions = [s for s in federated() if s.record["userIdentity"]["userName"] in admins]
    assert admin_sessions, "an admin of the Okta org federated into AWS in the window"


def test_session_names_can_be_the_logins_local_part() -> None:
    local = SimulatedTrail(shared_org(), session_name_style="local_part")
    window = (START, START + 40 * MINUTE)
    assumed = [
        s for s in local.records_between(*window) if s.record["eventName"] == "AssumeRoleWithSAML"
    ]
    assert assumed
    for stored in assumed:
        login = stored.record["userIdentity"]["userName"]
        name = stored.record["requestParameters"]["roleSessionName"]
        assert "@" in login and name == login.split("@")[0]
        assert stored.record["responseElements"]["assumedRoleUser"]["arn"].endswith(f"/{name}")


def test_event_time_has_second_precision() -> None:
    assert event_time(START // 1000) == "2026-12-01T12:00:00Z"
