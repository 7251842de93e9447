"""Calls to alert destinations (Jira, Slack): retried while they are busy, refused clearly when
they never will be."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
)

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors before the request left: safe to retry even a call that creates."""


class DestinationRefusedError(RuntimeError):
    """The destination refused for a reason a retry will not fix (credentials, permissions, a
    missing project or channel): the message names the destination, the status and the fix."""

    def __init__(self, destination: str, status: int, detail: str, fix: str) -> None:
        self.destination = destination
        self.status = status
        super().__init__(f"{destination} answered {status}: {detail}. {fix}")


class DestinationUnavailableError(RuntimeError):
    """The destination stayed busy or down through every retry: the next run tries again."""


@dataclass(frozen=True)
class _BusyError(Exception):
    status: int
    retry_after: float | None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    backoff_seconds: float = 1.0
    max_wait_seconds: float = 60.0
    max_total_seconds: float = 180.0
    """No retry starts whose wait would end past this many seconds after the first attempt:
    with one request's timeout after it, a send stays well inside the ledger's in-flight window
    (ten minutes), so no other run takes over a claim whose call is still being retried."""
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


DEFAULT_RETRY = RetryPolicy()


@dataclass
class RetryingSender:
    """Sends requests with an httpx client; 429 and 5xx are retried with exponential backoff,
    or after the server's Retry-After when it gives one."""

    client: httpx.Client
    destination: str
    refusal_hints: dict[int, str]
    policy: RetryPolicy = DEFAULT_RETRY
    retries: int = 0

    def send(self, method: str, url: str, creates: bool = False, **kwargs: Any) -> httpx.Response:
        """Send one request. One that `creates` (an issue, a comment, a message) is retried
        only when the destination surely did not act (429, or the connection never made):
        after a timeout or a 5xx it may have, and sending it again would make a second one, so
        it fails at once and the next run asks the destination before sending again."""

        def retried(error: BaseException) -> bool:
            if isinstance(error, _BusyError):
                return not creates or error.status == 429
            if creates:
                return isinstance(error, NOT_SENT_ERRORS)
            return isinstance(error, httpx.TransportError)

        started = self.policy.clock()

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= self.policy.attempts:
                return True
            upcoming = state.upcoming_sleep or 0.0
            return self.policy.clock() - started + upcoming > self.policy.max_total_seconds

        retrying = Retrying(
            retry=retry_if_exception(retried),
            stop=stop,
            wait=self._wait,
            sleep=self.policy.sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = self.client.request(method, url, **kwargs)
                    if response.status_code in RETRIED_STATUSES:
                        self.retries += 1
                        raise _BusyError(response.status_code, retry_after(response))
                    if response.status_code >= 400:
                        raise DestinationRefusedError(
                            self.destination,
                            response.status_code,
                            _error_detail(response),
                            self.refusal_hints.get(
                                response.status_code,
                                "Check the destination's configuration; the findings stay "
                                "pending and are sent once it accepts them",
                            ),
                        )
                    return response
        except _BusyError as busy:
            if creates and busy.status != 429:
                raise DestinationUnavailableError(
                    _maybe_created(self.destination, busy.status)
                ) from None
            raise DestinationUnavailableError(
                f"{self.destination} still answered {busy.status} after {self._tried(started)}; "
                "the findings stay pending for the next run"
            ) from None
        except httpx.TransportError as error:
            if creates and not isinstance(error, NOT_SENT_ERRORS):
                raise DestinationUnavailableError(
                    _maybe_created(self.destination, type(error).__name__)
                ) from None
            raise DestinationUnavailableError(
                f"{self.destination} could not be reached ({type(error).__name__}) after "
                f"{self._tried(started)}; the findings stay pending for the next run"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _tried(self, started: float) -> str:
        return (
            f"{self.policy.clock() - started:.0f} s of retries (at most "
            f"{self.policy.attempts} attempts in {self.policy.max_total_seconds:g} s)"
        )

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _BusyError) and error.retry_after is not None:
            return min(error.retry_after, self.policy.max_wait_seconds)
        attempt = int(state.attempt_number)
        backoff = self.policy.backoff_seconds * 2 ** (attempt - 1)
        return float(min(backoff, self.policy.max_wait_seconds))


def _maybe_created(destination: str, answer: object) -> str:
    return (
        f"{destination} answered {answer} to a call that creates, after which it may have "
        "acted: it is not sent again blindly; the findings stay pending, and the next run asks "
        f"{destination} whether it arrived before sending it again"
    )


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After as seconds, from a number or an HTTP date."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _error_detail(response: httpx.Response) -> str:
    """What the destination said, without echoing anything long."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(body, dict):
        messages = body.get("errorMessages") or []
        errors = body.get("errors") or {}
        parts = [str(m) for m in messages] + [f"{k}: {v}" for k, v in dict(errors).items()]
        if body.get("error"):
            parts.append(str(body["error"]))
        if parts:
            return "; ".join(parts)[:300]
    return str(body)[:200]
