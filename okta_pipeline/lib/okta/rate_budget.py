"""Spend at most a configured share of Okta's per-org rate limit, judged by Okta's own headers.

Okta's limit for /api/v1/logs is per org and shared with every other integration. The share is
kept org-wide: a client waits for the reset once the org's remaining requests in the window (from
Okta's headers, which count every caller) fall to what the share leaves to others, so concurrent
runs of the pipeline together stay within one share, however many there are. (Two runs that
read the same last remaining request can both send it: at most one request per extra run.) It
also never sends more than the share itself in a window.
Waits are computed on the server's clock (`X-Rate-Limit-Reset` minus `Date`), as Okta's SDKs do,
so local clock skew does not matter. A wait longer than `max_reset_wait_seconds` (Okta's windows
are at most 60 s) is refused with OktaUnavailableError rather than slept: such a header is wrong.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from okta_pipeline.lib.okta.errors import OktaUnavailableError


@dataclass(frozen=True)
class RateLimitHeaders:
    limit: int
    remaining: int
    reset_epoch: float
    server_now_epoch: float

    @property
    def seconds_to_reset(self) -> float:
        return max(0.0, self.reset_epoch - self.server_now_epoch)


def parse_rate_limit_headers(headers: httpx.Headers) -> RateLimitHeaders | None:
    # Okta may repeat the headers, one set per limit that applies: the tightest binds.
    try:
        limits = [int(v) for v in headers.get_list("x-rate-limit-limit", split_commas=True)]
        left = [int(v) for v in headers.get_list("x-rate-limit-remaining", split_commas=True)]
        resets = [float(v) for v in headers.get_list("x-rate-limit-reset", split_commas=True)]
    except ValueError:
        return None
    if not (limits and left and resets) or not all(math.isfinite(r) for r in resets):
        return None  # "inf" or "nan" parse as floats but are no time to wait for
    limit, remaining, reset = min(limits), min(left), min(resets)
    date = headers.get("date")
    try:
        server_now = parsedate_to_datetime(date).timestamp() if date else time.time()
    except (TypeError, ValueError):
        server_now = time.time()
    return RateLimitHeaders(limit, remaining, reset, server_now)


class RateBudget:
    def __init__(
        self,
        share: float = 0.5,
        reset_margin_seconds: float = 1.0,
        max_reset_wait_seconds: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("the share of Okta's rate limit must be in (0, 1]")
        if not max_reset_wait_seconds > 0:
            raise ValueError("max_reset_wait_seconds must be positive")
        self.max_reset_wait_seconds = max_reset_wait_seconds
        self.share = share
        self._margin = reset_margin_seconds
        self._sleep = sleep
        self._monotonic = monotonic
        self._window: float | None = None  # the server's reset time of the current window
        self._used = 0
        self._allowed = 1
        self._limit = 1
        self._org_remaining = 1
        self._resume_at = 0.0  # local monotonic time when the current window is over
        self._headers: RateLimitHeaders | None = None  # of the last response that had them
        self.waited_seconds = 0.0

    def allowed_per_window(self, limit: int) -> int:
        return max(1, math.floor(limit * self.share))

    def before_request(self) -> None:
        """Block until a request fits in this client's share of the current window."""
        if self._window is None or self._monotonic() >= self._resume_at:
            return
        if self._used >= self._allowed or self._org_remaining <= self.reserved_for_others:
            self._refuse_a_wait_past_the_cap(self._headers)
            self._wait_until(self._resume_at)

    @property
    def reserved_for_others(self) -> int:
        """Requests of the window this pipeline leaves to other integrations."""
        return self._limit - self._allowed

    def after_response(self, response: httpx.Response) -> None:
        headers = parse_rate_limit_headers(response.headers)
        if headers is None or headers.limit == 0:
            return  # 0 means the concurrency cap, not a window
        if headers.reset_epoch != self._window:
            self._window, self._used = headers.reset_epoch, 0
        self._used += 1
        self._allowed = self.allowed_per_window(headers.limit)
        self._limit = headers.limit
        self._org_remaining = headers.remaining
        self._headers = headers
        self._resume_at = self._monotonic() + headers.seconds_to_reset + self._margin

    def wait_after_rejection(self, response: httpx.Response) -> float:
        """After a 429: wait until Okta's reset (at least one second); return the wait."""
        headers = parse_rate_limit_headers(response.headers)
        self._refuse_a_wait_past_the_cap(headers)
        delay = (headers.seconds_to_reset if headers else 0.0) + self._margin
        self._wait_until(self._monotonic() + max(1.0, delay))
        return delay

    def _refuse_a_wait_past_the_cap(self, headers: RateLimitHeaders | None) -> None:
        """Raise OktaUnavailableError rather than wait longer than the cap for a reset."""
        if headers is None or headers.seconds_to_reset <= self.max_reset_wait_seconds:
            return
        server_now = datetime.fromtimestamp(headers.server_now_epoch, UTC).isoformat()
        raise OktaUnavailableError(
            f"Okta's X-Rate-Limit-Reset ({headers.reset_epoch:.0f}, against its Date "
            f"{server_now}) says to wait {headers.seconds_to_reset:.0f} s, over the cap of "
            f"{self.max_reset_wait_seconds:g} s (Okta's windows are at most 60 s): a proxy or "
            "a wrong clock may be rewriting those headers; check what sits between this "
            "pipeline and Okta, or raise the Okta resource's max_reset_wait_seconds, then re-run."
        )

    def _wait_until(self, deadline: float) -> None:
        delay = deadline - self._monotonic()
        if delay > 0:
            self._sleep(delay)
            self.waited_seconds += delay
