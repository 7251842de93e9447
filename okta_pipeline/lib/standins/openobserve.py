"""A stand-in for OpenObserve's log ingestion (`_json` and `_multi`); OpenObserve cannot be
installed here.

It keeps OpenObserve's documented shapes: basic auth (401 otherwise), `POST
/api/{org}/{stream}/_json` with a JSON array or `/_multi` with one JSON object per line, and a
200 answer `{"code": 200, "status": [{"name", "successful", "failed", "error"?}]}` that counts
refusals without naming them. Like OpenObserve it refuses records whose `_timestamp` is older
than its ingest horizon (`ZO_INGEST_ALLOWED_UPTO`, 5 hours) with its message, and stores the
rest. What it stored is kept, counted by the record's `uuid`.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import threading
import time
from collections import Counter
from typing import Any

from okta_pipeline.lib.standins.server import (
    STORED_PATH,
    Request,
    Response,
    StandInServer,
    stored_summary,
)

_PATH = re.compile(r"^/api/([A-Za-z0-9_-]+)/([A-Za-z0-9_-]+)/(_json|_multi)$")
TOO_OLD = (
    "Too old data, only last {hours} hours data can be ingested. Data discarded. You can "
    "adjust ingestion max time by setting the environment variable "
    "ZO_INGEST_ALLOWED_UPTO=<max_hours>"
)


class OpenObserveStandIn(StandInServer):
    max_body_bytes = 200 * 1024 * 1024  # OpenObserve's ZO_PAYLOAD_LIMIT default

    def __init__(self, user: str, password: str, ingest_allowed_upto_hours: int = 5) -> None:
        super().__init__()
        self._authorization = (
            "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        ).encode()
        self.allowed_upto_hours = ingest_allowed_upto_hours
        self.stored: Counter[str] = Counter()
        """Stored records by uuid: more than 1 is a duplicate in the stream."""
        self.records: dict[tuple[str, str], list[dict[str, Any]]] = {}
        """(organization, stream) -> records in arrival order."""
        self.calls = 0
        self._state = threading.Lock()

    def handle(self, request: Request) -> Response:
        if request.method == "GET" and request.path == STORED_PATH:
            with self._state:
                return Response(200, stored_summary(self.stored))
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, self._authorization):
            return Response(401, {"code": 401, "message": "Unauthorized Access"})
        match = _PATH.match(request.path)
        if request.method != "POST" or not match:
            return Response(404, {"code": 404, "message": "not found"})
        organization, stream, kind = match.groups()
        try:
            records = (
                json.loads(request.body)
                if kind == "_json"
                else [json.loads(line) for line in request.body.splitlines() if line.strip()]
            )
        except ValueError as invalid:
            return Response(400, {"code": 400, "message": f"Invalid json: {invalid}"})
        if isinstance(records, dict):
            records = [records]
        if not isinstance(records, list):
            return Response(400, {"code": 400, "message": "Invalid json: expected an array"})
        oldest = int((time.time() - self.allowed_upto_hours * 3600) * 1_000_000)
        successful = failed = 0
        error: str | None = None
        with self._state:
            self.calls += 1
            kept = self.records.setdefault((organization, stream), [])
            for record in records:
                if not isinstance(record, dict):
                    failed += 1
                    error = "Invalid json: a record is not an object"
                    continue
                stamp = record.get("_timestamp")
                if isinstance(stamp, int) and stamp < oldest:
                    failed += 1
                    error = TOO_OLD.format(hours=self.allowed_upto_hours)
                    continue
                successful += 1
                kept.append(record)
                self.stored[str(record.get("uuid"))] += 1
        status: dict[str, Any] = {"name": stream, "successful": successful, "failed": failed}
        if error:
            status["error"] = error
        return Response(200, {"code": 200, "status": [status]})
