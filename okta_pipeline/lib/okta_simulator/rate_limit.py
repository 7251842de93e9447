"""Okta's per-org rate limit for /api/v1/logs: fixed windows plus a cap on requests in flight."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Admission:
    allowed: bool
    limit: int
    remaining: int
    reset_epoch_seconds: int
    over_concurrency: bool = False


class RateLimiter:
    def __init__(
        self,
        limit_per_window: int,
        window_seconds: int = 60,
        max_in_flight: int = 15,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if window_seconds < 1:
            raise ValueError("the rate-limit window is a whole number of seconds, at least 1")
        self.limit = limit_per_window
        self.window_seconds = window_seconds
        self.max_in_flight = max_in_flight
        self._clock = clock
        self._lock = threading.Lock()
        self._in_flight = 0
        self.used_per_window: Counter[int] = Counter()
        self.rejected = 0

    def acquire(self) -> Admission:
        """Count one request; the caller must `release()` it when the response is sent."""
        with self._lock:
            now = self._clock()
            window = math.floor(now / self.window_seconds)
            reset = (window + 1) * self.window_seconds
            if self._in_flight >= self.max_in_flight:
                self.rejected += 1
                return Admission(False, 0, 0, math.ceil(now) + 1, over_concurrency=True)
            self.used_per_window[window] += 1
            used = self.used_per_window[window]
            if used > self.limit:
                self.rejected += 1
                return Admission(False, self.limit, 0, reset)
            self._in_flight += 1
            return Admission(True, self.limit, self.limit - used, reset)

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1
