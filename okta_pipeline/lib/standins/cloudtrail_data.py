"""A stand-in for CloudTrail Lake's `cloudtrail-data` API (moto does not implement it).

`POST /PutAuditEvents?channelArn=...` as boto3 sends it, answered as AWS documents it: a SigV4
`Authorization` header for this service and region with a known access key, or 403; a
`channelArn` of an existing channel, or `InvalidChannelARN` / `ChannelNotFound`; 1 to 100
events and at most 1 MB, ids matching `[-_A-Za-z0-9]{1,128}` and unique in the request, or a
`ValidationException` / `DuplicatedAuditEventId` for the whole request. Each entry is then
judged on its own and listed in `successful` (with a new `eventID`) or `failed` (with an
`errorCode`): `InvalidData` for eventData that is not a JSON object, `FieldNotFound` for a
missing required field, `InvalidRecipient` for another account, `InvalidChecksum`. Throttling
and refusals can be scripted per entry. What it accepted is kept, counted by id.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import uuid
from collections import Counter
from typing import Any

from okta_pipeline.lib.standins.server import (
    STORED_PATH,
    Request,
    Response,
    StandInServer,
    stored_summary,
)

MAX_EVENTS = 100
MAX_BYTES = 1_000_000
_ID = re.compile(r"^[-_A-Za-z0-9]{1,128}$")
_CREDENTIAL = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)/\d{8}/([-a-z0-9]+)/cloudtrail-data/aws4_request, "
    r"SignedHeaders=[-;a-z0-9]+, Signature=[0-9a-f]{64}$"
)
REQUIRED = ("version", "eventSource", "eventName", "eventTime", "UID", "recipientAccountId")


class CloudTrailDataStandIn(StandInServer):
    def __init__(self, channel_arn: str, access_key_id: str, region: str = "us-east-1") -> None:
        super().__init__()
        self.channel_arn = channel_arn
        self.account = channel_arn.split(":")[4]
        self.region = region
        self.access_key_id = access_key_id
        self.accepted: Counter[str] = Counter()
        """Accepted audit events by id: more than 1 is a duplicate in the lake."""
        self.first_accepted_at: dict[str, float] = {}
        """When (`time.monotonic()`) each id was first accepted."""
        self.event_data: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.throttled = 0
        self._throttle = 0
        self._refuse: dict[str, str] = {}
        self._state = threading.Lock()

    def throttle_next_entries(self, count: int) -> None:
        """Fail the next `count` entries with `Throttling`, as a busy channel does."""
        with self._state:
            self._throttle += count

    def refuse_entries(self, ids: dict[str, str]) -> None:
        """Fail these ids with these error codes every time they are sent."""
        with self._state:
            self._refuse.update(ids)

    def handle(self, request: Request) -> Response:
        if request.method == "GET" and request.path == STORED_PATH:
            with self._state:
                return Response(200, stored_summary(self.accepted))
        if request.method != "POST" or request.path != "/PutAuditEvents":
            return _error(404, "UnknownOperationException", "unknown operation")
        refused = self._authenticate(request)
        if refused:
            return refused
        arn = (request.query.get("channelArn") or [""])[0]
        if not arn.startswith("arn:"):
            return _error(400, "InvalidChannelARN", "The specified channel ARN is not valid.")
        if arn != self.channel_arn:
            return _error(404, "ChannelNotFound", f"The channel {arn} could not be found.")
        if len(request.body) > MAX_BYTES:
            return _error(400, "ValidationException", f"Request is over {MAX_BYTES} bytes.")
        body = request.json()
        events = body.get("auditEvents") if isinstance(body, dict) else None
        if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
            return _error(400, "ValidationException", "auditEvents: 1 to 100 members.")
        ids = [e.get("id") if isinstance(e, dict) else None for e in events]
        bad = [i for i in ids if not isinstance(i, str) or not _ID.match(i)]
        if bad:
            return _error(400, "ValidationException", f"auditEvents.id {bad[0]!r} is invalid.")
        if len(set(ids)) != len(ids):
            return _error(400, "DuplicatedAuditEventId", "Two or more entries share an id.")
        successful: list[dict[str, str]] = []
        failed: list[dict[str, str]] = []
        with self._state:
            self.calls += 1
            for event in events:
                problem = self._judge(event)
                if problem:
                    failed.append(
                        {"id": event["id"], "errorCode": problem[0], "errorMessage": problem[1]}
                    )
                    continue
                self.accepted[event["id"]] += 1
                self.first_accepted_at.setdefault(event["id"], time.monotonic())
                self.event_data[event["id"]] = json.loads(event["eventData"])
                successful.append({"id": event["id"], "eventID": str(uuid.uuid4())})
        return Response(200, {"successful": successful, "failed": failed})

    def _authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        match = _CREDENTIAL.match(header)
        if not match or "x-amz-date" not in request.headers:
            return _error(
                403, "MissingAuthenticationTokenException", "Missing or malformed SigV4 headers."
            )
        if match.group(1) != self.access_key_id:
            return _error(
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        if match.group(2) != self.region:
            return _error(
                403, "InvalidSignatureException", "Credential should be scoped to a valid region."
            )
        return None

    def _judge(self, event: dict[str, Any]) -> tuple[str, str] | None:
        """Caller holds the state lock."""
        scripted = self._refuse.get(event["id"])
        if scripted:
            return scripted, "refused (scripted)"
        if self._throttle:
            self._throttle -= 1
            self.throttled += 1
            return "Throttling", "Rate exceeded"
        raw = event.get("eventData")
        try:
            data = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return "InvalidData", "eventData is not a JSON object"
        given = event.get("eventDataChecksum")
        if given is not None:
            actual = base64.b64encode(hashlib.sha256(str(raw).encode()).digest()).decode()
            if given != actual:
                return "InvalidChecksum", "eventDataChecksum does not match eventData"
        identity = data.get("userIdentity")
        if (
            not isinstance(identity, dict)
            or not identity.get("type")
            or not identity.get("principalId")
        ):
            return "FieldNotFound", "userIdentity.type and userIdentity.principalId are required"
        missing = [f for f in REQUIRED if not data.get(f)]
        if missing:
            return "FieldNotFound", f"{missing[0]} is required"
        if data["recipientAccountId"] != self.account:
            return "InvalidRecipient", "recipientAccountId is not the channel's account"
        return None


def _error(status: int, code: str, message: str) -> Response:
    return Response(status, {"message": message}, {"x-amzn-ErrorType": code})
