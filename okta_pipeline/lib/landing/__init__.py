"""The raw landing zone: each source's records, one gzipped JSON Lines file per 5-minute window,
in a directory or under an S3 prefix (`storage`), keyed and placed by the source's `shapes`."""

from okta_pipeline.lib.landing.shapes import CLOUDTRAIL_RECORD, OKTA_EVENT, RecordShape
from okta_pipeline.lib.landing.zone import (
    DAMAGE,
    WINDOW,
    CorruptWindowError,
    Event,
    LandingZone,
    WindowWrite,
    event_key,
    parse_published,
    split_into_windows,
    window_start,
)

__all__ = [
    "CLOUDTRAIL_RECORD",
    "DAMAGE",
    "OKTA_EVENT",
    "WINDOW",
    "CorruptWindowError",
    "Event",
    "LandingZone",
    "RecordShape",
    "WindowWrite",
    "event_key",
    "parse_published",
    "split_into_windows",
    "window_start",
]
