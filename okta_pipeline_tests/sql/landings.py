"""Landing zones for the SQL tests: simulated Okta windows and hand-built CloudTrail records,
written through the landing zone's own code."""

from __future__ import annotations

import gzip
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from okta_pipeline.lib.landing import (
    CLOUDTRAIL_RECORD,
    WINDOW,
    Event,
    LandingZone,
    split_into_windows,
    window_start,
)
from okta_pipeline.lib.landing.storage import LandingStorage
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg

ACCOUNT = "111122223333"
FETCHED_AT = datetime(2026, 12, 2, tzinfo=UTC)


def okta_zone(root: Path | LandingStorage) -> LandingZone:
    return LandingZone(root)


def cloudtrail_zone(root: Path | LandingStorage) -> LandingZone:
    return LandingZone(root, dataset="cloudtrail_events", shape=CLOUDTRAIL_RECORD)


def land_simulated(
    root: Path | LandingStorage, start: datetime, end: datetime, seed: int = 61
) -> dict[datetime, list[Event]]:
    """The simulated org's events of [start, end), landed; returned by window."""
    org = SimulatedOrg(seed=seed, events_per_minute=30)
    events = [
        s.event
        for s in org.published_between(int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    ]
    split_into_windows(okta_zone(root), events, start, end, FETCHED_AT)
    by_window: dict[datetime, list[Event]] = {}
    for event in events:
        published = datetime.fromisoformat(event["published"].replace("Z", "+00:00"))
        by_window.setdefault(window_start(published), []).append(event)
    return by_window


def land_records(root: Path | LandingStorage, records: list[Event]) -> Counter[datetime]:
    """CloudTrail records landed in the windows of their eventTime; their count by window."""
    zone = cloudtrail_zone(root)
    by_window: dict[datetime, list[Event]] = {}
    for record in records:
        moment = CLOUDTRAIL_RECORD.record_time(record)
        assert moment is not None
        by_window.setdefault(window_start(moment), []).append(record)
    for window, members in by_window.items():
        zone.write_window(window, members, FETCHED_AT)
    return Counter({w: len(m) for w, m in by_window.items()})


def land_okta(root: Path | LandingStorage, events: list[Event]) -> None:
    zone = okta_zone(root)
    by_window: dict[datetime, list[Event]] = {}
    for event in events:
        published = datetime.fromisoformat(event["published"].replace("Z", "+00:00"))
        by_window.setdefault(window_start(published), []).append(event)
    for window, members in by_window.items():
        zone.write_window(window, members, FETCHED_AT)


def iso(moment: datetime, milliseconds: bool = False) -> str:
    return moment.isoformat(timespec="milliseconds" if milliseconds else "seconds").replace(
        "+00:00", "Z"
    )


def okta_sso(
    uuid: str, at: datetime, login: str, app: str, app_name: str, ip: str = "198.51.100.10"
) -> Event:
    """A user.authentication.sso into an app, shaped as Okta (and the simulator) write it."""
    return {
        "uuid": uuid,
        "published": iso(at, milliseconds=True),
        "eventType": "user.authentication.sso",
        "displayMessage": "User single sign on to app",
        "actor": {
            "id": f"00u{uuid[:8]}",
            "type": "User",
            "alternateId": login,
            "displayName": login.split("@")[0].title(),
            "detailEntry": None,
        },
        "client": {"ipAddress": ip, "userAgent": {"rawUserAgent": "Mozilla/5.0"}},
        "authenticationContext": {"externalSessionId": f"idx{uuid[:12]}"},
        "outcome": {"result": "SUCCESS", "reason": None},
        "target": [
            {"id": "0oa1", "type": "AppInstance", "alternateId": app, "displayName": app},
            {"id": "0ua1", "type": "AppUser", "alternateId": login, "displayName": login},
        ],
        "debugContext": {"debugData": {"requestUri": f"/app/{app_name}/0oa1/sso/saml"}},
    }


def assume_role_with_saml(
    event_id: str,
    at: datetime,
    login: str,
    role: str,
    error_code: str | None = None,
    session: str | None = None,
) -> Event:
    """AssumeRoleWithSAML as CloudTrail records Okta's AWS app exchanging an assertion; the
    role session is named `session` (by default the Okta username, the app's default)."""
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    session = session or login
    record: Event = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "SAMLUser",
            "principalId": f"c2FtbA==:{login}",
            "userName": login,
            "identityProvider": "c2FtbA==",
        },
        "eventTime": iso(at),
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRoleWithSAML",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.10",
        "userAgent": "Mozilla/5.0",
        "requestParameters": {
            "sAMLAssertionID": f"_{event_id}",
            "roleSessionName": session,
            "durationSeconds": 3600,
            "roleArn": role_arn,
            "principalArn": f"arn:aws:iam::{ACCOUNT}:saml-provider/Okta",
        },
        "responseElements": {
            "credentials": {"accessKeyId": f"ASIA{event_id.upper()[:12]}", "expiration": "x"},
            "assumedRoleUser": {
                "assumedRoleId": f"AROAEXAMPLE:{session}",
                "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
            },
            "subject": login,
            "subjectType": "unspecified",
            "issuer": "http://www.okta.com/exk1",
        },
        "requestID": f"req-{event_id}",
        "eventID": event_id,
        "readOnly": True,
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }
    if error_code:
        record["errorCode"] = error_code
        record["errorMessage"] = "Not authorized to perform sts:AssumeRoleWithSAML"
        record["responseElements"] = None
    return record


def assumed_role_call(
    event_id: str,
    at: datetime,
    session: str,
    name: str,
    source: str,
    role: str = "Engineer",
    request: Any = None,
    response: Any = None,
    error_code: str | None = None,
) -> Event:
    """A call made with an assumed role's credentials (the session name ends its ARN)."""
    record: Event = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": f"AROAEXAMPLE:{session}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLE",
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                    "accountId": ACCOUNT,
                    "userName": role,
                },
                "attributes": {"creationDate": iso(at), "mfaAuthenticated": "false"},
            },
        },
        "eventTime": iso(at),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "198.51.100.10",
        "userAgent": "aws-cli/2.15",
        "requestParameters": request,
        "responseElements": response,
        "eventID": event_id,
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }
    if error_code:
        record["errorCode"] = error_code
    return record


def iam_user_call(event_id: str, at: datetime, user: str, name: str, source: str) -> Event:
    return {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}",
            "accountId": ACCOUNT,
            "accessKeyId": "AKIAEXAMPLE",
            "userName": user,
        },
        "eventTime": iso(at),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "requestParameters": None,
        "responseElements": None,
        "eventID": event_id,
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }


def shape_varying_records(start: datetime) -> list[Event]:
    """Records whose requestParameters and responseElements change type from one to the next
    (null, object, string, list), across windows, and two sharing an eventTime second."""
    first, second, third = start + timedelta(minutes=1), start + WINDOW, start + 2 * WINDOW
    return [
        assumed_role_call(
            "vary-object",
            first,
            "alice@example.com",
            "AssumeRole",
            "sts.amazonaws.com",
            request={"roleArn": "arn:aws:iam::1:role/Deploy", "roleSessionName": "deploy-1"},
            response={"credentials": {"accessKeyId": "ASIA1"}},
        ),
        assumed_role_call(
            "vary-null", first, "alice@example.com", "GetCallerIdentity", "sts.amazonaws.com"
        ),
        assumed_role_call(
            "vary-string",
            second,
            "alice@example.com",
            "AssumeRole",
            "sts.amazonaws.com",
            request="roleSessionName=deploy-2",
            response="Success",
        ),
        assumed_role_call(
            "vary-nested-object",
            second,  # the same second as the record above
            "bob@example.com",
            "AssumeRole",
            "sts.amazonaws.com",
            request={"roleSessionName": {"unexpected": "object"}, "roleArn": ["a", "list"]},
            response=[1, 2],
        ),
        assumed_role_call(
            "vary-number",
            third,
            "bob@example.com",
            "PutObject",
            "s3.amazonaws.com",
            request=42,
            response=True,
        ),
    ]


def write_damaged(path: Path) -> None:
    """A gzip file cut short: DuckDB fails on it if it is ever read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(b'{"uuid": "never"}\n' * 1000)[:40])
