"""Build CloudTrail records: ids, CloudTrail's time formats, userIdentity shapes, the record.

Records are plain dicts in CloudTrail's field order. Identities and other nested parts may be
shared between records of one principal, so treat records as read-only.
"""

from __future__ import annotations

import base64
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from okta_pipeline.lib.aws_simulator.accounts import IamUser, Role

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as the simulated trail keeps it, with when it is delivered and its truth."""

    event_time_ms: int
    event_id: str
    delivered_ms: int
    """When the S3 object holding it is written."""
    account_id: str
    region: str
    record: Record
    scenario: str | None = None
    incident: str | None = None
    """One occurrence of a scenario, e.g. `aws_saml_without_okta_sso#493712`."""

    @property
    def sort_key(self) -> tuple[int, str]:
        return (self.event_time_ms, self.event_id)


_VARIANT = "89ab"


def random_uuid(rng: random.Random) -> str:
    """A version-4 UUID from the seeded generator (eventID, most requestIDs)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def s3_request_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016X}"


def session_token(rng: random.Random) -> str:
    # Real tokens are longer; the prefix is what every STS token starts with.
    return "IQoJb3JpZ2luX2Vj" + base64.b64encode(rng.randbytes(240)).decode()


@lru_cache(maxsize=8192)
def event_time(second: int) -> str:
    """CloudTrail's eventTime: UTC, second precision, e.g. 2026-12-01T13:05:07Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))


@lru_cache(maxsize=8192)
def event_time_ms(formatted: str) -> int:
    """The epoch milliseconds of an eventTime string."""
    return (
        int(datetime.strptime(formatted, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
        * 1000
    )


def java_date(time_ms: int) -> str:
    """The date format IAM and STS use inside responseElements: `Dec 1, 2026, 2:05:08 PM`."""
    moment = datetime.fromtimestamp(time_ms // 1000, tz=UTC)
    hour = moment.hour % 12 or 12
    return (
        f"{moment:%b} {moment.day}, {moment.year}, {hour}:{moment:%M:%S} "
        f"{'AM' if moment.hour < 12 else 'PM'}"
    )


def assumed_role_identity(
    role: Role,
    session_name: str,
    access_key: str,
    created_ms: int,
    *,
    invoked_by: str | None = None,
    ec2_role_delivery: bool = False,
) -> dict[str, Any]:
    """userIdentity of a call made with a role session's temporary credentials."""
    context: dict[str, Any] = {
        "sessionIssuer": role.session_issuer,
        "webIdFederationData": {},
        "attributes": {"creationDate": event_time(created_ms // 1000), "mfaAuthenticated": "false"},
    }
    if ec2_role_delivery:
        context["ec2RoleDelivery"] = "2.0"
    identity = {
        "type": "AssumedRole",
        "principalId": f"{role.role_id}:{session_name}",
        "arn": role.session_arn(session_name),
        "accountId": role.account_id,
        "accessKeyId": access_key,
        "sessionContext": context,
    }
    if invoked_by:
        identity["invokedBy"] = invoked_by
    return identity


def iam_user_identity(
    user: IamUser, access_key: str | None = None, console_login_ms: int | None = None
) -> dict[str, Any]:
    """An IAM user's call: with its AKIA key, or with a console session's ASIA key."""
    identity: dict[str, Any] = {
        "type": "IAMUser",
        "principalId": user.user_id,
        "arn": user.arn,
        "accountId": user.account_id,
        "accessKeyId": access_key or user.access_key_id,
        "userName": user.name,
    }
    if console_login_ms is not None:
        identity["sessionContext"] = _console_context(console_login_ms)
    return identity


def root_identity(
    account_id: str, access_key: str = "", console_login_ms: int | None = None
) -> dict[str, Any]:
    identity: dict[str, Any] = {
        "type": "Root",
        "principalId": account_id,
        "arn": f"arn:aws:iam::{account_id}:root",
        "accountId": account_id,
        "accessKeyId": access_key,
    }
    if console_login_ms is not None:
        identity["sessionContext"] = _console_context(console_login_ms)
    return identity


def _console_context(login_ms: int) -> dict[str, Any]:
    return {
        "sessionIssuer": {},
        "webIdFederationData": {},
        "attributes": {"creationDate": event_time(login_ms // 1000), "mfaAuthenticated": "false"},
    }


def aws_service_identity(service: str) -> dict[str, Any]:
    return {"type": "AWSService", "invokedBy": service}


_TLS = (
    ("TLSv1.3", "TLS_AES_128_GCM_SHA256"),
    ("TLSv1.3", "TLS_AES_128_GCM_SHA256"),
    ("TLSv1.3", "TLS_AES_256_GCM_SHA384"),
    ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"),
)


def tls_details(rng: random.Random, host: str) -> dict[str, str]:
    version, cipher = rng.choice(_TLS)
    return {"tlsVersion": version, "cipherSuite": cipher, "clientProvidedHostHeader": host}


def api_call(
    rng: random.Random,
    time_ms: int,
    identity: dict[str, Any],
    account_id: str,
    region: str,
    source: str,
    name: str,
    source_ip: str,
    user_agent: str,
    request: Any,
    response: Any = None,
    *,
    read_only: bool,
    version: str = "1.08",
    event_type: str = "AwsApiCall",
    error: tuple[str, str] | None = None,
    additional: dict[str, Any] | None = None,
    resources: list[dict[str, str]] | None = None,
    request_id: str | None = None,
    api_version: str | None = None,
    shared_event_id: str | None = None,
    tls_host: str | None = None,
    console: bool = False,
) -> Record:
    """One CloudTrail record, fields in the order CloudTrail writes them; optional ones only
    where the call has them."""
    record: Record = {
        "eventVersion": version,
        "userIdentity": identity,
        "eventTime": event_time(time_ms // 1000),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
    }
    if error is not None:
        record["errorCode"], record["errorMessage"] = error
        response = None
    record["requestParameters"] = request
    record["responseElements"] = response
    if additional is not None:
        record["additionalEventData"] = additional
    record["requestID"] = request_id or random_uuid(rng)
    record["eventID"] = random_uuid(rng)
    record["readOnly"] = read_only
    if resources is not None:
        record["resources"] = resources
    record["eventType"] = event_type
    if api_version is not None:
        record["apiVersion"] = api_version
    record["managementEvent"] = True
    record["recipientAccountId"] = account_id
    if shared_event_id is not None:
        record["sharedEventID"] = shared_event_id
    record["eventCategory"] = "Management"
    if tls_host is not None:
        record["tlsDetails"] = tls_details(rng, tls_host)
    if console:
        record["sessionCredentialFromConsole"] = "true"
    return record


def console_sign_in(
    rng: random.Random,
    time_ms: int,
    identity: dict[str, Any],
    account_id: str,
    region: str,
    source_ip: str,
    user_agent: str,
    *,
    mfa_used: bool,
    saml_provider_arn: str | None = None,
    failure: str | None = None,
) -> Record:
    """A `ConsoleLogin` (eventType AwsConsoleSignIn): no requestID, the outcome in
    responseElements, and the sign-in's details in additionalEventData."""
    additional: dict[str, Any] = {
        "LoginTo": (
            f"https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true"
            f"&region={region}&state=hashArgsFromTB_{region}_{rng.getrandbits(64):016x}"
        ),
        "MobileVersion": "No",
        "MFAUsed": "Yes" if mfa_used else "No",
    }
    if saml_provider_arn is not None:
        additional["SamlProviderArn"] = saml_provider_arn
    record: Record = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": event_time(time_ms // 1000),
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
    }
    if failure is not None:
        record["errorMessage"] = failure
    record.update(
        {
            "requestParameters": None,
            "responseElements": {"ConsoleLogin": "Failure" if failure else "Success"},
            "additionalEventData": additional,
            "eventID": random_uuid(rng),
            "readOnly": False,
            "eventType": "AwsConsoleSignIn",
            "managementEvent": True,
            "recipientAccountId": account_id,
            "eventCategory": "Management",
            "tlsDetails": tls_details(rng, "signin.aws.amazon.com"),
        }
    )
    return record
