"""How far back the five-minute partitions reach: Okta's retention and Dagster's partition count.

Plain date arithmetic, no Dagster: `deployment.py` checks a configured start against these limits
and `partitions.py` builds the partitions from the result.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PARTITION_FORMAT = "%Y-%m-%d-%H:%M"
"""A partition's key: `2026-11-22-10:05` is the window [10:05, 10:10) UTC."""
WINDOW = timedelta(minutes=5)
OKTA_RETENTION = timedelta(days=90)
"""How long Okta keeps its System Log; `okta_system_log` refuses older windows."""
MAX_PARTITIONS = 100_000
"""Past about this many partitions per asset, Dagster's UI and daemon slow down."""
MAX_SPAN = MAX_PARTITIONS * WINDOW
"""347 days and 5 hours of five-minute windows."""


def default_partitions_start(now: datetime) -> datetime:
    """Midnight UTC on the first day of the month that holds `now - OKTA_RETENTION`.

    The first of a month, not `now - 90 days` itself: the start must not move each time the code
    server reloads or a run loads the definitions in its own process, and this one moves once a
    month. Rounding down rather than up keeps every window Okta still has (a backfill of the full
    90 days stays possible); the price is up to a month of partitions at the far end that Okta no
    longer has, which drop off at the next month's move. The count stays between 90 and 121 days
    of windows (25,920 to 34,848 partitions), far below `MAX_PARTITIONS`.
    """
    oldest = now.astimezone(UTC) - OKTA_RETENTION
    return datetime(oldest.year, oldest.month, 1, tzinfo=UTC)


def partition_count(start: datetime, now: datetime) -> int:
    """How many closed five-minute windows lie between `start` and `now`."""
    return max(0, (now - start) // WINDOW)


def fetchable_from(now: datetime) -> datetime:
    """The oldest moment Okta still has events for."""
    return now.astimezone(UTC) - OKTA_RETENTION


def earliest_allowed_start(now: datetime) -> datetime:
    """The first midnight UTC from which the partitions stay within `MAX_PARTITIONS`."""
    limit = now.astimezone(UTC) - MAX_SPAN
    midnight = datetime(limit.year, limit.month, limit.day, tzinfo=UTC)
    return midnight if midnight == limit else midnight + timedelta(days=1)
