"""Turn the CloudTrail items of a detection's examples (`source: cloudtrail`) into complete
CloudTrail records, beside the Okta events `example_events` builds.

Keys of an item: `eventName`, `at` and `place` as for Okta events (`place` sets
`sourceIPAddress`); `identity`: `saml` (the default: a session federated through Okta SAML),
`iam_user` (with `user_name`) or `root`; `session_of`: whose SAML session makes the call
(default `{user}`). An `AssumeRoleWithSAML` item starts that session: it issues the access key
and the assumed-role ARN that the session's later items carry. Other keys are merged into the
record as they are (`requestParameters`, `errorCode`, ...).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from okta_pipeline.lib.detections.model import Example
from okta_pipeline_tests.detections.example_events import (
    PLACES,
    Identities,
    _merge,
    _substitute,
    offset,
)

ACCOUNT = "111122223333"
ROLE = "OktaAdmin"
SAML_PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/Okta"
OKTA_ISSUER = "http://www.okta.com/exkexampleissuer"
SOURCES = {
    "AssumeRoleWithSAML": "sts.amazonaws.com",
    "ConsoleLogin": "signin.amazonaws.com",
    "GetObject": "s3.amazonaws.com",
    "ListBuckets": "s3.amazonaws.com",
    "PutBucketPolicy": "s3.amazonaws.com",
    "StopLogging": "cloudtrail.amazonaws.com",
    "GetSecretValue": "secretsmanager.amazonaws.com",
}


def is_cloudtrail(item: Any) -> bool:
    return isinstance(item, dict) and item.get("source") == "cloudtrail"


def example_records(example: Example, anchor: datetime, tag: str) -> list[dict[str, Any]]:
    """The example's CloudTrail records, complete, from `anchor` on, with ids from `tag`."""
    identities = Identities(tag)
    sessions: dict[str, dict[str, Any]] = {}
    records: list[dict[str, Any]] = []
    for item in example.events:
        if not is_cloudtrail(item):
            continue
        spec = _substitute(dict(item), identities, 0)
        spec.pop("source")
        at = anchor + offset(spec.pop("at", "0s"))
        place = PLACES[str(spec.pop("place", "home"))]
        name = str(spec.pop("eventName"))
        identity = str(spec.pop("identity", "saml"))
        login = str(spec.pop("session_of", identities.value("user", 0)))
        user_name = str(spec.pop("user_name", "deploy-admin"))
        event_id = f"ex-{tag}-ct-{len(records):03d}"
        record: dict[str, Any] = {
            "eventVersion": "1.08",
            "eventTime": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": SOURCES.get(name, "iam.amazonaws.com"),
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": place["ip"],
            "userAgent": "aws-cli/2.15.0 Python/3.11.6",
            "requestParameters": None,
            "responseElements": None,
            "requestID": f"req-{event_id}",
            "eventID": event_id,
            "readOnly": name.startswith(("Get", "List", "Describe")),
            "eventType": "AwsConsoleSignIn" if name == "ConsoleLogin" else "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
        }
        if name == "AssumeRoleWithSAML":
            session = _session(tag, login, at)
            sessions[login] = session
            record |= _assume_role_with_saml(login, session)
        elif identity == "saml":
            session = sessions.get(login) or _session(tag, login, at)
            record["userIdentity"] = _assumed_role(session)
        elif identity == "iam_user":
            record["userIdentity"] = {
                "type": "IAMUser",
                "principalId": "AIDAEXAMPLEUSER00001",
                "arn": f"arn:aws:iam::{ACCOUNT}:user/{user_name}",
                "accountId": ACCOUNT,
                "userName": user_name,
            }
        else:
            record["userIdentity"] = {
                "type": "Root",
                "principalId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:root",
                "accountId": ACCOUNT,
            }
        if name == "ConsoleLogin":
            record["responseElements"] = {"ConsoleLogin": "Success"}
            record["additionalEventData"] = {
                "LoginTo": "https://console.aws.amazon.com/console/home",
                "MobileVersion": "No",
                "MFAUsed": "No",
                **({"SamlProviderArn": SAML_PROVIDER} if identity == "saml" else {}),
            }
        records.append(_merge(record, spec))
    return records


def _session(tag: str, login: str, created: datetime) -> dict[str, Any]:
    digest = hashlib.sha256(f"{tag}:{login}".encode()).hexdigest().upper()
    return {
        "login": login,
        "access_key": f"ASIA{digest[:16]}",
        "role_id": f"AROA{digest[16:32]}",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/{login}",
        "created": created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _assume_role_with_saml(login: str, session: dict[str, Any]) -> dict[str, Any]:
    return {
        "userIdentity": {
            "type": "SAMLUser",
            "principalId": f"exampleQualifier=:{login}",
            "userName": login,
            "identityProvider": "exampleQualifier=",
        },
        "requestParameters": {
            "sAMLAssertionID": f"id{session['access_key'][4:]}",
            "roleSessionName": login,
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/{ROLE}",
            "principalArn": SAML_PROVIDER,
            "durationSeconds": 3600,
        },
        "responseElements": {
            "credentials": {
                "accessKeyId": session["access_key"],
                "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE",
                "expiration": "Mar 1, 2026, 1:00:00 PM",
            },
            "assumedRoleUser": {
                "assumedRoleId": f"{session['role_id']}:{login}",
                "arn": session["arn"],
            },
            "subject": login,
            "subjectType": "persistent",
            "issuer": OKTA_ISSUER,
            "audience": "https://signin.aws.amazon.com/saml",
            "nameQualifier": "exampleQualifier=",
        },
        "readOnly": True,
    }


def _assumed_role(session: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "principalId": f"{session['role_id']}:{session['login']}",
        "arn": session["arn"],
        "accountId": ACCOUNT,
        "accessKeyId": session["access_key"],
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": session["role_id"],
                "arn": f"arn:aws:iam::{ACCOUNT}:role/{ROLE}",
                "accountId": ACCOUNT,
                "userName": ROLE,
            },
            "attributes": {"creationDate": session["created"], "mfaAuthenticated": "false"},
        },
    }
