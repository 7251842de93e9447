"""The `cloudtrail-*` indices: daily by `eventTime`, `_id` = `eventID`, and a mapping that no
record can break.

CloudTrail's `requestParameters`, `responseElements`, `additionalEventData` and
`serviceEventDetails` change shape from one API to the next (the same key is a string in one
record and an object in another), so they stay in `_source` and are not indexed in place. The
few values the identity link and the detections need are extracted into the `okta_pipeline`
namespace, typed, indexed and left out of `_source`: `_source` stays the record AWS wrote.
`sourceIPAddress` is a keyword (AWS writes service names there, "ec2.amazonaws.com"); its
address, when it is one, is `okta_pipeline.source_ip`.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from okta_pipeline.lib.landing import CLOUDTRAIL_RECORD, Event
from okta_pipeline.lib.opensearch.bulk_loader import IndexedSource, append_derived
from okta_pipeline.lib.opensearch.derived_fields import NAMESPACE
from okta_pipeline.lib.opensearch.okta_index import daily_indices, daily_template

__all__ = ["CLOUDTRAIL_LOGS", "CLOUDTRAIL_PREFIX", "daily_indices", "index_name", "index_template"]

CLOUDTRAIL_PREFIX = "cloudtrail"
MAPPING_VERSION = 1

_KEYWORD = {"type": "keyword", "ignore_above": 1024}
_LONG_KEYWORD = {"type": "keyword", "ignore_above": 8191}
_DATE = {"type": "date", "ignore_malformed": True}
_ANY_SHAPE = {"type": "object", "enabled": False}

# (derived name, path in the record): string values only; any other shape is left out.
EXTRACTED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("role_session_name", ("requestParameters", "roleSessionName")),
    ("role_arn", ("requestParameters", "roleArn")),
    ("principal_arn", ("requestParameters", "principalArn")),
    ("issued_access_key_id", ("responseElements", "credentials", "accessKeyId")),
    ("assumed_role_arn", ("responseElements", "assumedRoleUser", "arn")),
    ("saml_subject", ("responseElements", "subject")),
    ("saml_issuer", ("responseElements", "issuer")),
    ("console_login", ("responseElements", "ConsoleLogin")),
    ("mfa_used", ("additionalEventData", "MFAUsed")),
    ("saml_provider_arn", ("additionalEventData", "SamlProviderArn")),
    ("target_user_name", ("requestParameters", "userName")),
    ("policy_arn", ("requestParameters", "policyArn")),
    ("bucket_name", ("requestParameters", "bucketName")),
    ("trail_name", ("requestParameters", "name")),
)

_IDENTITY = {
    "type": "object",
    "dynamic": False,
    "properties": {
        **{
            name: _KEYWORD
            for name in (
                "type",
                "principalId",
                "arn",
                "accountId",
                "accessKeyId",
                "userName",
                "invokedBy",
                "identityProvider",
            )
        },
        "sessionContext": {
            "type": "object",
            "dynamic": False,
            "properties": {
                "sessionIssuer": {
                    "type": "object",
                    "dynamic": False,
                    "properties": {
                        n: _KEYWORD for n in ("type", "principalId", "arn", "accountId", "userName")
                    },
                },
                "attributes": {
                    "type": "object",
                    "dynamic": False,
                    "properties": {"creationDate": _DATE, "mfaAuthenticated": _KEYWORD},
                },
                "sourceIdentity": _KEYWORD,
                "webIdFederationData": _ANY_SHAPE,
            },
        },
        "onBehalfOf": _ANY_SHAPE,
    },
}
CLOUDTRAIL_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "_meta": {"mapping_version": MAPPING_VERSION},
    "_source": {"excludes": [NAMESPACE]},
    "properties": {
        "eventTime": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
        **{
            name: _KEYWORD
            for name in (
                "eventVersion",
                "eventSource",
                "eventName",
                "awsRegion",
                "sourceIPAddress",
                "errorCode",
                "requestID",
                "eventID",
                "readOnly",
                "eventType",
                "managementEvent",
                "recipientAccountId",
                "eventCategory",
                "sharedEventID",
                "vpcEndpointId",
                "apiVersion",
                "sessionCredentialFromConsole",
            )
        },
        "userAgent": _LONG_KEYWORD,
        "errorMessage": {"type": "text", "fields": {"keyword": _KEYWORD}},
        "userIdentity": _IDENTITY,
        "resources": {
            "type": "object",
            "dynamic": False,
            "properties": {n: _KEYWORD for n in ("ARN", "accountId", "type")},
        },
        "requestParameters": _ANY_SHAPE,
        "responseElements": _ANY_SHAPE,
        "additionalEventData": _ANY_SHAPE,
        "serviceEventDetails": _ANY_SHAPE,
        "tlsDetails": _ANY_SHAPE,
        "insightDetails": _ANY_SHAPE,
        "edgeDeviceDetails": _ANY_SHAPE,
        NAMESPACE: {
            "type": "object",
            "dynamic": False,
            "properties": {
                **{name: _KEYWORD for name, _ in EXTRACTED},
                "source_ip": {"type": "ip", "ignore_malformed": True},
            },
        },
    },
}


def index_name(prefix: str, event_time: datetime) -> str:
    return f"{prefix}-{event_time:%Y.%m.%d}"


def index_template(prefix: str, shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    return daily_template(
        prefix, CLOUDTRAIL_MAPPING, "AWS CloudTrail records", MAPPING_VERSION, shards, replicas
    )


def derive(record: Mapping[str, Any]) -> dict[str, Any]:
    """The `okta_pipeline` fields of one record (empty when it has none)."""
    derived: dict[str, Any] = {}
    for name, path in EXTRACTED:
        value: Any = record
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(value, str) and value:
            derived[name] = value
    source = record.get("sourceIPAddress")
    if isinstance(source, str):
        # not an address: a service name ("ec2.amazonaws.com") or "AWS Internal"
        with contextlib.suppress(ValueError):
            derived["source_ip"] = str(ipaddress.ip_address(source))
    return derived


def document(record: Event, source: str) -> str:
    return append_derived(record, source, derive(record))


CLOUDTRAIL_LOGS = IndexedSource(CLOUDTRAIL_RECORD, index_name, document)
