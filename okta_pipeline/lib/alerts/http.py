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
    retry_if_exception_type,
    stop_after_attempt,
)

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


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
    sleep: Callable[[float], None] = time.sleep


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

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        retrying = Retrying(
            retry=retry_if_exception_type((_BusyError, httpx.TransportError)),
            stop=stop_after_attempt(self.policy.attempts),
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
            raise DestinationUnavailableError(
                f"{self.destination} still answered {busy.status} after {self.policy.attempts} "
                "attempts; the findings stay pending for the next run"
            ) from None
        except httpx.TransportError as error:
            raise DestinationUnavailableError(
                f"{self.destination} could not be reached ({type(error).__name__}) after "
                f"{self.policy.attempts} attempts; the findings stay pending for the next run"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _BusyError) and error.retry_after is not None:
            return min(error.retry_after, self.policy.max_wait_seconds)
        attempt = int(state.attempt_number)
        backoff = self.policy.backoff_seconds * 2 ** (attempt - 1)
        return float(min(backoff, self.policy.max_wait_seconds))


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
