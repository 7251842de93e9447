"""Five-minute UTC windows: partition `2026-11-22-10:05` is [10:05, 10:10).

The first window comes from OKTA_PIPELINE_PARTITIONS_START, read once, when this module is
imported (the asset modules bind the partitions at import); unset, it is the first day of the
month 90 days back (`default_partitions_start`). The code server and every run must see the
same value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime

import dagster as dg

from okta_pipeline.defs.deployment import read_partitions_start, resolve_partitions_start
from okta_pipeline.defs.partition_horizon import PARTITION_FORMAT as PARTITION_FORMAT


def five_minute_partitions_from(start: datetime) -> dg.TimeWindowPartitionsDefinition:
    """Five-minute UTC windows from `start` up to the newest closed one."""
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule="*/5 * * * *",
        fmt=PARTITION_FORMAT,
        timezone="UTC",
        start=start.strftime(PARTITION_FORMAT),
        end_offset=0,
    )


def configured_start(environ: Mapping[str, str], now: datetime) -> datetime:
    """The setting's start (or the default), logging what the operator should know about it."""
    resolved = resolve_partitions_start(read_partitions_start(environ, now), now)
    for warning in resolved.warnings:
        dg.get_dagster_logger(__name__).warning(warning)
    return resolved.start


_start = configured_start(os.environ, datetime.now(UTC))
PARTITIONS_START = _start.strftime(PARTITION_FORMAT)
five_minute_partitions = five_minute_partitions_from(_start)
