"""A clock that waits advance instead of block: a ten-minute storm passes in seconds, and every
wait the pipeline takes is still counted, in order, at its full length."""

from __future__ import annotations

import threading
import time


class SkippingClock:
    """Real time plus every wait taken so far."""

    def __init__(self) -> None:
        self._skipped = 0.0
        self._lock = threading.Lock()
        self.waits: list[float] = []

    def time(self) -> float:
        return time.time() + self._skipped

    def monotonic(self) -> float:
        return time.monotonic() + self._skipped

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
            self._skipped += max(0.0, seconds)
        time.sleep(0.001)  # let other threads run, as a real wait would

    @property
    def skipped(self) -> float:
        return self._skipped
