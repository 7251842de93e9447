"""The System Log API over an event source: `GET /api/v1/logs` and `POST /oauth2/v1/token`.

Transport-free: `handle()` takes a parsed request and returns a response, so the HTTP server
(server.py) stays thin and this logic can be read and tested on its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from okta_pipeline.lib.okta_simulator.auth import Authenticator, AuthRejectedError
from okta_pipeline.lib.okta_simulator.log_stream import (
    LOG_STREAMS_PATH,
    LogStreamer,
    LogStreamError,
)
from okta_pipeline.lib.okta_simulator.rate_limit import RateLimiter
from okta_pipeline.lib.okta_simulator.scim_filter import FilterError, Predicate, parse_filter
from okta_pipeline.lib.okta_simulator.sources import EventSource, StoredEvent

LOGS_PATH = "/api/v1/logs"
TOKEN_PATH = "/oauth2/v1/token"  # noqa: S105 - a URL path, not a secret
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
RETENTION = timedelta(days=90)
MAX_SINCE_AGE = timedelta(days=180)
DEFAULT_SPAN = timedelta(days=7)
_SCAN_STEP_MS = 15 * 60_000


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    base_url: str


@dataclass
class Response:
    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, summary: str, causes: list[str] | None = None
    ) -> None:
        super().__init__(summary)
        self.status, self.code, self.summary, self.causes = status, code, summary, causes or []

    def body(self) -> dict[str, Any]:
        return okta_error(self.code, self.summary, self.causes)


def okta_error(code: str, summary: str, causes: list[str] | None = None) -> dict[str, Any]:
    return {
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oae" + secrets.token_urlsafe(16),
        "errorCauses": [{"errorSummary": cause} for cause in causes or []],
    }


def _rate_limited(headers: list[tuple[str, str]]) -> Response:
    """Okta's 429 for /api/v1/logs, with the rate-limit headers that go with it."""
    return Response(
        429,
        okta_error("E0000047", "API call exceeded rate limit due to too many requests."),
        headers,
    )


@dataclass
class ServedStats:
    log_requests: int = 0
    pages_with_events: int = 0
    events_served: int = 0
    rate_limited: int = 0
    errors_injected: int = 0
    storm_rejections: int = 0
    storm_early_requests: int = 0
    """Requests that came during a storm before the reset its last 429 announced."""


class SimulatorApp:
    def __init__(
        self,
        source: EventSource,
        authenticator: Authenticator,
        rate_limiter: RateLimiter,
        clock: Callable[[], float] = time.time,
        on_served: Callable[[list[StoredEvent]], None] | None = None,
        wall_clock: Callable[[], float] = time.time,
        log_streams: LogStreamer | None = None,
    ) -> None:
        """`clock` decides which events are persisted yet; `wall_clock` times rate-limit windows,
        storms and the Date header (the rate limiter must share it)."""
        self.source = source
        self.authenticator = authenticator
        self.rate_limiter = rate_limiter
        self.stats = ServedStats()
        self.log_streams = log_streams
        self._clock = clock
        self._wall_clock = wall_clock
        self._cursor_key = secrets.token_bytes(32)
        self._on_served = on_served
        self._faults: list[int] = []
        self._storm_until = 0.0
        self._announced_reset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """The simulator's wall clock, in epoch seconds: what its Date header says."""
        return self._wall_clock()

    def start_rate_limit_storm(self, seconds: float) -> None:
        """Answer every log request with 429 for `seconds` of the wall clock, as Okta does
        while another integration uses up the org's limit window after window."""
        with self._lock:
            self._storm_until = self._wall_clock() + seconds

    def inject_faults(self, *statuses: int) -> None:
        """Fail the next log requests with these statuses (after rate limiting), in order."""
        with self._lock:
            self._faults.extend(statuses)

    def handle(self, request: Request) -> Response:
        if request.path == TOKEN_PATH and request.method == "POST":
            return self._token(request)
        if request.path == LOGS_PATH and request.method == "GET":
            return self._logs(request)
        if self.log_streams is not None and request.path.startswith(LOG_STREAMS_PATH):
            return self._log_streams(request, self.log_streams)
        return Response(
            404,
            okta_error(
                "E0000022",
                "The endpoint does not support the provided HTTP method"
                if request.path in (LOGS_PATH, TOKEN_PATH)
                else f"Not found: Resource not found: {request.path}",
            ),
        )

    # -- token endpoint -------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        try:
            body = self.authenticator.issue_token(
                form, request.headers.get("dpop"), request.base_url + TOKEN_PATH
            )
        except AuthRejectedError as rejection:
            return Response(
                rejection.status,
                {"error": rejection.error, "error_description": rejection.summary},
                list(rejection.headers.items()),
            )
        return Response(200, body, [("Cache-Control", "no-store")])

    # -- log streams ----------------------------------------------------------------------

    def _log_streams(self, request: Request, streams: LogStreamer) -> Response:
        try:
            self.authenticator.authorize(
                request.headers, request.method, request.base_url + request.path
            )
        except AuthRejectedError as rejection:
            code = rejection.okta_code or "E0000011"
            return Response(
                rejection.status,
                okta_error(code, rejection.summary),
                list(rejection.headers.items()),
            )
        parts = request.path.removeprefix(LOG_STREAMS_PATH).strip("/").split("/")
        try:
            if parts == [""] and request.method == "GET":
                return Response(200, streams.all(request.base_url))
            if parts == [""] and request.method == "POST":
                body = json.loads(request.body or b"null")
                return Response(200, streams.create(body, request.base_url))
            if len(parts) == 1 and request.method == "GET":
                found = streams.get(parts[0], request.base_url)
            elif len(parts) == 3 and parts[1] == "lifecycle" and request.method == "POST":
                if parts[2] not in ("activate", "deactivate"):
                    raise LogStreamError(f"lifecycle: no operation {parts[2]!r}")
                found = streams.set_status(parts[0], parts[2] == "activate", request.base_url)
            else:
                return Response(
                    405,
                    okta_error(
                        "E0000022", "The endpoint does not support the provided HTTP method"
                    ),
                )
        except (LogStreamError, ValueError) as error:
            return Response(
                400, okta_error("E0000001", "Api validation failed: logStream", [str(error)])
            )
        if found is None:
            return Response(
                404,
                okta_error("E0000007", f"Not found: Resource not found: {parts[0]} (LogStream)"),
            )
        return Response(200, found)

    # -- logs endpoint --------------------------------------------------------------------

    def _logs(self, request: Request) -> Response:
        storm = self._storm_answer()
        if storm is not None:
            return storm
        admission = self.rate_limiter.acquire()
        headers = [
            ("X-Rate-Limit-Limit", str(admission.limit)),
            ("X-Rate-Limit-Remaining", str(admission.remaining)),
            ("X-Rate-Limit-Reset", str(admission.reset_epoch_seconds)),
        ]
        with self._lock:
            self.stats.log_requests += 1
        if not admission.allowed:
            with self._lock:
                self.stats.rate_limited += 1
            return _rate_limited(headers)
        try:
            with self._lock:
                fault = self._faults.pop(0) if self._faults else None
            if fault is not None:
                with self._lock:
                    self.stats.errors_injected += 1
                if fault == 429:  # as if another integration had used up the org's window
                    headers[1] = ("X-Rate-Limit-Remaining", "0")
                    return _rate_limited(headers)
                return Response(fault, okta_error("E0000009", "Internal Server Error"), headers)
            try:
                self.authenticator.authorize(
                    request.headers, "GET", request.base_url + request.path
                )
            except AuthRejectedError as rejection:
                headers.extend(rejection.headers.items())
                code = rejection.okta_code or "E0000011"
                return Response(rejection.status, okta_error(code, rejection.summary), headers)
            try:
                events, next_query = self._page(request)
            except ApiError as error:
                return Response(error.status, error.body(), headers)
            self_url = f"{request.base_url}{LOGS_PATH}?{request.query}".rstrip("?")
            headers.append(("Link", f'<{self_url}>; rel="self"'))
            if next_query is not None:
                headers.append(
                    ("Link", f'<{request.base_url}{LOGS_PATH}?{next_query}>; rel="next"')
                )
            with self._lock:
                self.stats.events_served += len(events)
                self.stats.pages_with_events += 1 if events else 0
            if self._on_served is not None and events:
                self._on_served(events)
            return Response(200, [stored.event for stored in events], headers)
        finally:
            self.rate_limiter.release()

    def _storm_answer(self) -> Response | None:
        now = self._wall_clock()
        with self._lock:
            if now >= self._storm_until:
                return None
            self.stats.log_requests += 1
            self.stats.rate_limited += 1
            self.stats.storm_rejections += 1
            if now < self._announced_reset:
                self.stats.storm_early_requests += 1
            window = self.rate_limiter.window_seconds
            reset = (math.floor(now / window) + 1) * window
            self._announced_reset = reset
        return _rate_limited(
            [
                ("X-Rate-Limit-Limit", str(self.rate_limiter.limit)),
                ("X-Rate-Limit-Remaining", "0"),
                ("X-Rate-Limit-Reset", str(reset)),
            ]
        )

    def _page(self, request: Request) -> tuple[list[StoredEvent], str | None]:
        params = dict(parse_qsl(request.query, keep_blank_values=True))
        now_ms = int(self._clock() * 1000)
        limit = _limit(params.get("limit"))
        descending = _sort_order(params.get("sortOrder")) == "DESCENDING"
        predicate = _predicate(params.get("filter"), params.get("q"))
        until_ms = _parse_time(params, "until") if "until" in params else None
        if "since" in params:
            since_ms = _parse_time(params, "since")
        else:
            since_ms = (until_ms or now_ms) - int(DEFAULT_SPAN.total_seconds() * 1000)
        if since_ms < now_ms - MAX_SINCE_AGE.total_seconds() * 1000:
            raise ApiError(
                400,
                "E0000053",
                "Invalid parameter: since",
                ["since: must be within the last 180 days"],
            )
        retention_floor = now_ms - int(RETENTION.total_seconds() * 1000)
        fingerprint = _fingerprint(params)
        position = self._read_cursor(params["after"], fingerprint) if "after" in params else None

        if until_ms is not None and until_ms < since_ms:
            raise ApiError(
                400, "E0000001", "Api validation failed: until", ["until: must not be before since"]
            )
        since_ms = max(since_ms, retention_floor)
        # Seek to the cursor instead of rescanning from `since`: paging a day stays linear.
        if until_ms is not None:
            if position is not None and descending:
                until_ms = min(until_ms, position[0] + 1)
            elif position is not None:
                since_ms = max(since_ms, position[0])
            candidates = self._bounded(since_ms, until_ms, now_ms, descending)
        else:
            if position is not None:
                since_ms = max(since_ms, position[0])
            candidates = self._polling(since_ms, now_ms)
        page: list[StoredEvent] = []
        more = False
        for stored in candidates:
            key = _position(stored, polling=until_ms is None)
            if position is not None and (key >= position if descending else key <= position):
                continue
            if predicate is not None and not predicate(stored.event):
                continue
            if len(page) == limit:
                more = True
                break
            page.append(stored)

        if until_ms is not None and not more:
            return page, None  # a bounded query ends without a next link
        last = _position(page[-1], polling=until_ms is None) if page else position
        next_params = {k: v for k, v in params.items() if k != "after"}
        if last is not None:
            next_params["after"] = self._write_cursor(last, fingerprint)
        return page, urlencode(next_params)

    def _bounded(
        self, since_ms: int, until_ms: int, now_ms: int, descending: bool
    ) -> Iterator[StoredEvent]:
        """Events published in [since, until) that Okta has persisted by now, in order."""
        if descending:
            end = until_ms
            while end > since_ms:
                start = max(since_ms, end - _SCAN_STEP_MS)
                chunk = [
                    s for s in self.source.published_between(start, end) if s.persisted_ms <= now_ms
                ]
                yield from reversed(chunk)
                end = start
        else:
            for stored in self.source.published_between(since_ms, until_ms):
                if stored.persisted_ms <= now_ms:
                    yield stored

    def _polling(self, since_ms: int, now_ms: int) -> Iterator[StoredEvent]:
        """Events persisted in [since, now], in persistence order: published order may differ.

        Walks persistence time in steps; an event persisted in a step was published at most
        `max_persistence_delay_ms` before it, so each step regenerates only what it needs.
        """
        lookback = self.source.max_persistence_delay_ms
        step_start = since_ms
        while step_start <= now_ms:
            step_end = min(step_start + _SCAN_STEP_MS, now_ms + 1)
            visible = [
                s
                for s in self.source.published_between(step_start - lookback, step_end)
                if step_start <= s.persisted_ms < step_end
            ]
            visible.sort(key=lambda s: (s.persisted_ms, s.uuid))
            yield from visible
            step_start = step_end

    def _write_cursor(self, position: tuple[int, str], fingerprint: str) -> str:
        payload = (
            base64.urlsafe_b64encode(
                json.dumps([position[0], position[1], fingerprint], separators=(",", ":")).encode()
            )
            .decode()
            .rstrip("=")
        )
        signature = hmac.new(self._cursor_key, payload.encode(), hashlib.sha256).hexdigest()[:24]
        return f"{payload}.{signature}"

    def _read_cursor(self, cursor: str, fingerprint: str) -> tuple[int, str]:
        payload, _, signature = cursor.partition(".")
        expected = hmac.new(self._cursor_key, payload.encode(), hashlib.sha256).hexdigest()[:24]
        if not hmac.compare_digest(signature, expected):
            raise ApiError(
                400,
                "E0000001",
                "Api validation failed: after",
                ["after: the cursor is invalid; use the next link exactly as returned"],
            )
        position_ms, uuid, cursor_fingerprint = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
        if cursor_fingerprint != fingerprint:
            raise ApiError(
                400,
                "E0000001",
                "Api validation failed: after",
                ["after: the cursor belongs to a different query"],
            )
        return int(position_ms), str(uuid)


def _position(stored: StoredEvent, polling: bool) -> tuple[int, str]:
    return (stored.persisted_ms if polling else stored.published_ms, stored.uuid)


def _fingerprint(params: Mapping[str, str]) -> str:
    kept = sorted((k, v) for k, v in params.items() if k not in ("after", "limit"))
    return hashlib.sha256(json.dumps(kept).encode()).hexdigest()[:16]


def _parse_time(params: Mapping[str, str], name: str) -> int:
    text = params[name]
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ApiError(
            400,
            "E0000001",
            f"Api validation failed: {name}",
            [
                f"{name}: The date format in your query is not recognized. Please enter "
                "dates using ISO8601 string format, e.g. 2024-01-01T00:00:00.000Z"
            ],
        )
    return round(moment.astimezone(UTC).timestamp() * 1000)


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    try:
        value = int(text)
    except ValueError:
        raise ApiError(
            400,
            "E0000001",
            "Api validation failed: limit",
            ["limit: must be an integer between 1 and 1000"],
        ) from None
    if value < 1:
        raise ApiError(
            400,
            "E0000001",
            "Api validation failed: limit",
            ["limit: must be an integer between 1 and 1000"],
        )
    return min(value, MAX_LIMIT)


def _sort_order(text: str | None) -> str:
    order = (text or "ASCENDING").upper()
    if order not in ("ASCENDING", "DESCENDING"):
        raise ApiError(
            400,
            "E0000001",
            "Api validation failed: sortOrder",
            ["sortOrder: must be ASCENDING or DESCENDING"],
        )
    return order


def _predicate(filter_text: str | None, q: str | None) -> Predicate | None:
    checks: list[Predicate] = []
    if filter_text:
        try:
            checks.append(parse_filter(filter_text))
        except FilterError as error:
            raise ApiError(
                400, "E0000053", "Invalid parameter: filter", [f"filter: {error}"]
            ) from None
    if q:
        keywords = q.lower().split()
        if len(keywords) > 10 or any(len(k) > 40 for k in keywords):
            raise ApiError(
                400,
                "E0000001",
                "Api validation failed: q",
                ["q: at most 10 keywords of at most 40 characters each"],
            )
        checks.append(lambda event: all(k in json.dumps(event).lower() for k in keywords))
    if not checks:
        return None
    return lambda event: all(check(event) for check in checks)
