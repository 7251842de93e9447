"""The five-minute UTC windows every partitioned asset shares."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

WINDOW = timedelta(minutes=5)


def window_start(moment: datetime) -> datetime:
    """The start of the half-open 5-minute UTC window [start, start + 5 min) holding `moment`."""
    utc = moment.astimezone(UTC)
    return utc.replace(minute=utc.minute - utc.minute % 5, second=0, microsecond=0)


def windows_between(start: datetime, end: datetime) -> Iterator[datetime]:
    """The starts of the windows in [start, end), for window-aligned bounds."""
    moment = window_start(start)
    while moment < end:
        yield moment
        moment += WINDOW
