"""Five-minute UTC windows: partition `2026-11-22-10:05` is [10:05, 10:10)."""

from __future__ import annotations

import dagster as dg

PARTITION_FORMAT = "%Y-%m-%d-%H:%M"
# A fixed start (never computed at import): Okta keeps ~90 days, and Dagster wants fewer than
# ~100k partitions per asset (288 a day), so move this forward about once a year.
PARTITIONS_START = "2026-08-01-00:00"

five_minute_partitions = dg.TimeWindowPartitionsDefinition(
    cron_schedule="*/5 * * * *",
    fmt=PARTITION_FORMAT,
    timezone="UTC",
    start=PARTITIONS_START,
    end_offset=0,
)
