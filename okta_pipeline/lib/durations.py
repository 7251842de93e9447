"""Durations as a person writes them ("the last hour", "20 minutes"), for labels and messages."""

from __future__ import annotations

from datetime import timedelta

_UNITS = (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1))


def spoken(duration: timedelta, one: str = "a") -> str:
    """`duration` in its largest whole unit: "an hour", "2 days", "20 minutes", "90 seconds".
    With `one=""`, a single unit reads "hour" (as in "the last hour")."""
    seconds = int(duration.total_seconds())
    if seconds <= 0:
        return "0 seconds"
    for unit, size in _UNITS:
        if seconds % size == 0:
            count = seconds // size
            if count == 1:
                article = "an" if one == "a" and unit == "hour" else one
                return f"{article} {unit}".strip()
            return f"{count} {unit}s"
    raise AssertionError("unreachable: every whole number of seconds has a unit")
