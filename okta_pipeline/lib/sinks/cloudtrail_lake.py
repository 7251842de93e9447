"""CloudTrail Lake: Okta events as audit events of a channel, through `PutAuditEvents`.

Each event's audit event `id` and `eventData.UID` are its Okta `uuid`, so a destination query
can tell a resend (which the sent ledger prevents) from a second event. CloudTrail Lake takes at
most 100 events and 1 MB per call. Per-entry failures come back in `failed` with an
`errorCode`: `Throttling` and `InternalFailure` are retried, the others are dead-lettered.

How a LogEvent becomes `eventData` (the fields CloudTrail Lake defines for integrations):

| eventData field            | from the Okta LogEvent                                           |
| -------------------------- | ---------------------------------------------------------------- |
| version                    | "1.0" (this mapping's version)                                   |
| userIdentity.type          | actor.type ("Unknown" when absent)                               |
| userIdentity.principalId   | actor.id (else actor.alternateId, else "unknown")                |
| userIdentity.details       | actor.alternateId, actor.displayName                             |
| userAgent                  | client.userAgent.rawUserAgent                                    |
| eventSource                | "okta.com" (or the org's host, when configured)                  |
| eventName                  | eventType                                                        |
| eventTime                  | published, to the second, `yyyy-MM-ddTHH:mm:ssZ`                |
| UID                        | uuid                                                             |
| requestParameters          | target, transaction, authenticationContext                       |
| responseElements           | outcome                                                          |
| errorCode, errorMessage    | outcome.result and outcome.reason, when the result is not SUCCESS |
| sourceIPAddress            | client.ipAddress                                                 |
| recipientAccountId         | the channel's account (from its ARN)                             |
| additionalEventData        | the rest: displayMessage, severity, legacyEventType, published   |
|                            | (to the millisecond), client, request, securityContext,          |
|                            | debugContext, version                                            |

Nothing of the event is dropped: every top-level field lands in one of them.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from okta_pipeline.lib.sinks.model import (
    BatchResult,
    DestinationRefusedError,
    DestinationUnavailableError,
    Entry,
    EntryRefusedError,
    Event,
    Refusal,
)

MAX_ENTRIES = 100
MAX_REQUEST_BYTES = 1_000_000  # "up to 1 MB" per PutAuditEvents request
EVENT_ID = re.compile(r"^[-_A-Za-z0-9]{1,128}$")
CHANNEL_ARN = re.compile(
    r"^arn:aws[-a-z]*:cloudtrail:([-a-z0-9]+):(\d{12}):channel/[-_A-Za-z0-9]+$"
)
RETRYABLE_ENTRY_ERRORS = frozenset({"Throttling", "InternalFailure"})
CREDENTIAL_ERRORS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "AccessDeniedException",
        "ExpiredTokenException",
        "MissingAuthenticationTokenException",
        "IncompleteSignatureException",
        "ChannelInsufficientPermission",
    }
)
MAPPING_VERSION = "1.0"
_REQUEST_FIELDS = ("target", "transaction", "authenticationContext")
_ADDITIONAL_FIELDS = (
    "displayMessage",
    "severity",
    "legacyEventType",
    "client",
    "request",
    "securityContext",
    "debugContext",
    "version",
)


@dataclass(frozen=True)
class Channel:
    arn: str
    region: str
    account: str

    @classmethod
    def parse(cls, arn: str) -> Channel:
        match = CHANNEL_ARN.match(arn.strip())
        if not match:
            raise ValueError(
                f"{arn!r} is not a CloudTrail Lake channel ARN "
                "(arn:aws:cloudtrail:<region>:<account>:channel/<id>): copy it from the "
                "channel's page in the CloudTrail console, or `aws cloudtrail list-channels`"
            )
        return cls(arn.strip(), match.group(1), match.group(2))


def event_data(event: Event, account: str, event_source: str = "okta.com") -> dict[str, Any]:
    """The `eventData` of one Okta event (the table above)."""
    actor = _object(event.get("actor"))
    client = _object(event.get("client"))
    outcome = _object(event.get("outcome"))
    identity: dict[str, Any] = {
        "type": _text(actor.get("type")) or "Unknown",
        "principalId": _text(actor.get("id")) or _text(actor.get("alternateId")) or "unknown",
    }
    details = {k: actor[k] for k in ("alternateId", "displayName") if actor.get(k) is not None}
    if details:
        identity["details"] = details
    data: dict[str, Any] = {
        "version": MAPPING_VERSION,
        "userIdentity": identity,
        "eventSource": event_source,
        "eventName": _text(event.get("eventType")) or "unknown",
        "eventTime": _event_time(str(event["published"])),
        "UID": str(event["uuid"]),
        "recipientAccountId": account,
    }
    agent = _text(_object(client.get("userAgent")).get("rawUserAgent"))
    if agent:
        data["userAgent"] = agent
    address = _text(client.get("ipAddress"))
    if address:
        data["sourceIPAddress"] = address
    request = {k: event[k] for k in _REQUEST_FIELDS if event.get(k) is not None}
    if request:
        data["requestParameters"] = request
    if outcome:
        data["responseElements"] = {"outcome": outcome}
    result = _text(outcome.get("result"))
    if result and result != "SUCCESS":
        data["errorCode"] = result
        reason = _text(outcome.get("reason"))
        if reason:
            data["errorMessage"] = reason
    additional = {k: event[k] for k in _ADDITIONAL_FIELDS if event.get(k) is not None}
    additional["published"] = event["published"]
    known = {"actor", "outcome", "eventType", "published", "uuid", *_REQUEST_FIELDS}
    additional.update({k: v for k, v in event.items() if k not in known and k not in additional})
    data["additionalEventData"] = additional
    return data


def checksum(data: str) -> str:
    """base64 of the SHA-256 of the eventData string, as `eventDataChecksum` wants it."""
    return base64.b64encode(hashlib.sha256(data.encode()).digest()).decode()


class CloudTrailLakeDestination:
    """PutAuditEvents to one channel through boto3's `cloudtrail-data` client."""

    name = "cloudtrail_lake"
    max_entries = MAX_ENTRIES
    max_bytes = MAX_REQUEST_BYTES

    def __init__(
        self,
        client: Any,
        channel: Channel,
        external_id: str | None = None,
        event_source: str = "okta.com",
    ) -> None:
        self.client = client
        self.channel = channel
        self.external_id = external_id
        self.event_source = event_source

    def entry(self, event: Event, line: str) -> Entry:
        uuid = str(event["uuid"])
        if not EVENT_ID.match(uuid):
            raise EntryRefusedError(
                "InvalidId", "the uuid is not an audit event id ([-_A-Za-z0-9], 1 to 128)"
            )
        data = orjson.dumps(event_data(event, self.channel.account, self.event_source)).decode()
        body = {"id": uuid, "eventData": data, "eventDataChecksum": checksum(data)}
        size = len(orjson.dumps(body))
        if size + self.batch_bytes([]) > self.max_bytes:
            raise EntryRefusedError(
                "EventTooLarge",
                f"{size} bytes as an audit event, over PutAuditEvents' {self.max_bytes} bytes "
                "per request; not truncated",
            )
        return Entry(uuid, str(event["published"]), body, size)

    def batch_bytes(self, entries: list[Entry]) -> int:
        return len(b'{"auditEvents":[]}') + sum(e.size + 1 for e in entries)

    def horizon(self) -> datetime | None:
        return None  # CloudTrail Lake takes events of any age

    def horizon_fix(self) -> str:
        return ""

    def send(self, entries: list[Entry]) -> BatchResult:
        from botocore.exceptions import BotoCoreError, ClientError

        arguments: dict[str, Any] = {
            "channelArn": self.channel.arn,
            "auditEvents": [e.body for e in entries],
        }
        if self.external_id:
            arguments["externalId"] = self.external_id
        try:
            response = self.client.put_audit_events(**arguments)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            message = str(error.response.get("Error", {}).get("Message", ""))
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if code in CREDENTIAL_ERRORS or status in (401, 403):
                raise DestinationRefusedError(
                    f"CloudTrail Lake refused the credentials ({code}: {message}). Fix the AWS "
                    "credentials the run uses (the task role's cloudtrail-data:PutAuditEvents "
                    f"on {self.channel.arn}, or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), "
                    "then materialize the windows again: nothing accepted is sent twice."
                ) from None
            if code == "ChannelNotFound" or code == "InvalidChannelARN":
                raise DestinationRefusedError(
                    f"CloudTrail Lake has no channel {self.channel.arn} ({code}: {message}). "
                    "Fix OKTA_PIPELINE_CLOUDTRAIL_LAKE_CHANNEL_ARN, then materialize the "
                    "windows again."
                ) from None
            raise DestinationUnavailableError(
                f"PutAuditEvents failed ({status} {code}: {message})"
            ) from None
        except BotoCoreError as error:
            raise DestinationUnavailableError(
                f"PutAuditEvents failed ({type(error).__name__})"
            ) from None
        result = BatchResult()
        for item in response.get("successful", []):
            result.accepted[str(item["id"])] = str(item.get("eventID", ""))
        for item in response.get("failed", []):
            code = str(item.get("errorCode", "Unknown"))
            result.refused.append(
                Refusal(
                    str(item["id"]),
                    code,
                    str(item.get("errorMessage", "")),
                    retryable=code in RETRYABLE_ENTRY_ERRORS,
                )
            )
        return result


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _event_time(published: str) -> str:
    moment = datetime.fromisoformat(published.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
