"""Window-aligned UTC times on the command line."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from okta_pipeline.lib.windows import window_start


def aligned_time(text: str) -> datetime:
    """An ISO 8601 time on a 5-minute boundary (UTC unless it says otherwise)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    moment = moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)
    if moment != window_start(moment):
        raise argparse.ArgumentTypeError(
            f"{text} is not on a 5-minute boundary (try {window_start(moment):%Y-%m-%dT%H:%M}Z)"
        )
    return moment
