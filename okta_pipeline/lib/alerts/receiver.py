"""The alert receiver: an authenticated HTTP endpoint for OpenSearch Alerting webhook actions.

A monitor's action posts JSON naming the detection, its version, the entity (or the entity's
fields and the alert's comma-joined bucket keys) and the window (or its run's period end and the
lag it reads behind). The receiver checks the request (a shared secret in a header, or an
HMAC-SHA256 signature of the body), turns the alert into the finding the pipeline would write
for that detection, entity and window (the same deterministic id), stores it, and delivers it
through the same ledger: a monitor alert and a pipeline finding for one incident give one
ticket.

A connection that sends nothing (or stops mid-body) for `READ_TIMEOUT_SECONDS` is closed (408
when a body was expected), and a failure past the checks is a 500 with a generic message (the
error is logged, not sent). A replayed signed body names the same detection, entity and window:
it gives the same finding id, which the ledger has already delivered, so it sends nothing new.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

from okta_pipeline.lib.detections.single_event import NO_VALUE
from okta_pipeline.lib.http_server import BackgroundHTTPServer, send_json
from okta_pipeline.lib.windows import window_start

MAX_BODY_BYTES = 64 * 1024
MIN_SECRET_LENGTH = 16
TOKEN_HEADER = "x-okta-pipeline-token"  # noqa: S105 - a header's name, not a secret
SIGNATURE_HEADER = "x-okta-pipeline-signature"
READ_TIMEOUT_SECONDS = 10.0
"""How long the receiver waits on a connection's next bytes before closing it."""

log = logging.getLogger(__name__)


class AlertRejectedError(ValueError):
    """The alert names something the pipeline cannot accept (an unknown detection, a stale
    version): the status tells the sender, the message says what to fix."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class MonitorAlert:
    """What a monitor's webhook action says about one finding."""

    detection_id: str
    detection_version: int
    entity: dict[str, str]
    window: datetime
    evidence: tuple[str, ...]
    monitor: str


def parse_alert(body: bytes) -> MonitorAlert:
    """The alert in a webhook body, or a ValueError saying which field is wrong."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    detection_id = payload.get("detection_id")
    version = payload.get("detection_version")
    entity = payload.get("entity")
    if entity is None and "bucket_keys" in payload:
        entity = entity_from_bucket_keys(payload.get("entity_fields"), payload["bucket_keys"])
    moment = payload.get("window_start") or payload.get("period_end")
    if not isinstance(detection_id, str) or not detection_id:
        raise ValueError("detection_id (a string) is required")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError("detection_version (an integer) is required")
    if (
        not isinstance(entity, dict)
        or not entity
        or not all(isinstance(k, str) and isinstance(v, str | int) for k, v in entity.items())
    ):
        raise ValueError("entity (an object of field names to values) is required")
    if not isinstance(moment, str):
        raise ValueError("window_start or period_end (an ISO 8601 time) is required")
    try:
        instant = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{moment!r} is not an ISO 8601 time") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    lag = payload.get("lag_minutes", 0)
    if not isinstance(lag, int) or isinstance(lag, bool) or lag < 0:
        raise ValueError("lag_minutes must be a whole number of minutes, 0 or more")
    try:
        if "window_start" in payload:
            window = window_start(instant)
        else:
            # A monitor's run: it read up to its period end rounded down to the minute, less the
            # lag; the window is the one that ends there.
            end = instant.replace(second=0, microsecond=0) - timedelta(minutes=lag)
            window = window_start(end - timedelta(microseconds=1))
    except OverflowError:
        field = "window_start" if "window_start" in payload else "period_end less lag_minutes"
        raise ValueError(f"{field} ({moment!r}) is out of range") from None
    evidence = payload.get("evidence_uuids") or []
    if not isinstance(evidence, list) or not all(isinstance(u, str) for u in evidence):
        raise ValueError("evidence_uuids must be a list of strings")
    return MonitorAlert(
        detection_id,
        version,
        {str(k): str(v) or NO_VALUE for k, v in entity.items()},  # a missing field: ""
        window,
        tuple(evidence),
        str(payload.get("monitor", "")),
    )


def entity_from_bucket_keys(fields: object, keys: object) -> dict[str, str]:
    """The entity of a bucket-level alert: Alerting renders its bucket's key values joined by
    commas, and a missing value as "null"."""
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise ValueError("entity_fields (a list of field names) goes with bucket_keys")
    if not isinstance(keys, str):
        raise ValueError("bucket_keys must be a string")
    values = [keys] if len(fields) == 1 else keys.split(",")
    if len(values) != len(fields):
        raise ValueError(
            f"bucket_keys has {len(values)} comma-separated values for {len(fields)} entity "
            "fields (a value holds a comma); send entity as an object instead"
        )
    return {f: NO_VALUE if v == "null" else v for f, v in zip(fields, values, strict=True)}


def authentic(secret: bytes, headers: dict[str, str], body: bytes) -> bool:
    """A shared secret in X-Okta-Pipeline-Token, or X-Okta-Pipeline-Signature: sha256=<HMAC of
    the body>; compared in constant time."""
    token = headers.get(TOKEN_HEADER)
    if token is not None:
        return hmac.compare_digest(token.encode(), secret)
    signature = headers.get(SIGNATURE_HEADER, "")
    if not signature.startswith("sha256="):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature[len("sha256=") :].encode(), expected.encode())


AlertHandler = Callable[[MonitorAlert], dict[str, Any]]


class AlertReceiver(BackgroundHTTPServer):
    """Serves POST /alerts on `host:port`, in the calling thread (`serve_forever`) or a
    background one (`start`, or `with`); `timeout` is how many seconds a connection may send
    nothing before it is closed."""

    def __init__(
        self,
        secret: str,
        handle: AlertHandler,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout: float = READ_TIMEOUT_SECONDS,
    ):
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"the receiver's shared secret must be at least {MIN_SECRET_LENGTH} characters"
            )
        self._secret = secret.encode()
        self._handle = handle
        self.timeout = timeout
        super().__init__(self._handler(), host, port)

    def __repr__(self) -> str:
        return f"AlertReceiver(url={self.url!r})"

    @property
    def url(self) -> str:
        return f"{self.base_url}/alerts"

    def respond(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """The status and JSON answer for a request; any unexpected error is a 500 that says
        nothing of it (it may name the cluster or hold a credential), and is logged."""
        try:
            return self._respond(path, headers, body)
        except Exception:
            log.exception("the alert receiver failed to handle an alert")
            return 500, {"error": "the receiver failed to handle the alert; see its log"}

    def _respond(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        if path != "/alerts":
            return 404, {"error": "POST alerts to /alerts"}
        if not authentic(self._secret, headers, body):
            return 401, {"error": "missing or wrong shared secret or signature"}
        try:
            alert = parse_alert(body)
        except ValueError as error:
            return 400, {"error": str(error)}
        try:
            return 202, self._handle(alert)
        except AlertRejectedError as error:
            return error.status, {"error": str(error)}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # Each socket read waits this long at most: a timed-out request line or header is
            # closed unanswered (by BaseHTTPRequestHandler), a timed-out body with a 408.
            timeout = receiver.timeout

            def do_POST(self) -> None:
                try:
                    length = int(self.headers.get("Content-Length") or -1)
                except ValueError:
                    length = -1
                if length < 0:
                    self._write(411, {"error": "a Content-Length is required"})
                    return
                if length > MAX_BODY_BYTES:
                    self._write(413, {"error": f"bodies are limited to {MAX_BODY_BYTES} bytes"})
                    return
                try:
                    body = self.rfile.read(length)
                except TimeoutError:
                    self.close_connection = True
                    self._write(408, {"error": f"send the body within {self.timeout:g} s"})
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = receiver.respond(self.path, headers, body)
                self._write(status, answer)

            def _write(self, status: int, answer: dict[str, Any]) -> None:
                send_json(self, status, answer)

            def log_message(self, format: str, *args: object) -> None:
                pass  # request lines could carry nothing secret, but headers are never logged

        return Handler
