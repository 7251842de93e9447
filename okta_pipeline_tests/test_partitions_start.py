"""OKTA_PIPELINE_PARTITIONS_START: its format, the rolling default, the refusals and warnings,
and the definitions a code server loads with it."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from okta_pipeline.definitions import build_definitions
from okta_pipeline.defs.deployment import (
    PARTITIONS_START_VARIABLE,
    DeploymentSettings,
    DeploymentSettingsError,
    read_partitions_start,
    resolve_partitions_start,
)
from okta_pipeline.defs.partition_horizon import (
    MAX_PARTITIONS,
    WINDOW,
    default_partitions_start,
    fetchable_from,
    partition_count,
)
from okta_pipeline.defs.partitions import five_minute_partitions

NOW = datetime(2026, 12, 2, 3, 16, tzinfo=UTC)
PARTITIONED = {"okta_system_log", "opensearch_okta_logs", "okta_detections", "alert_deliveries"}


def read(value: str, now: datetime = NOW) -> datetime | None:
    return read_partitions_start({PARTITIONS_START_VARIABLE: value}, now)


@pytest.mark.parametrize(
    ("now", "start"),
    [
        (NOW, datetime(2026, 9, 1, tzinfo=UTC)),  # 90 days back is 2026-09-03
        (datetime(2026, 3, 1, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC)),  # exactly the 1st
        (datetime(2026, 5, 29, 23, 59, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
        (datetime(2026, 5, 30, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_the_default_is_the_first_of_the_month_90_days_back(now: datetime, start: datetime) -> None:
    assert default_partitions_start(now) == start
    assert resolve_partitions_start(None, now).start == start
    assert resolve_partitions_start(None, now).warnings == ()  # by design, not worth a warning


def test_the_default_moves_once_a_month_and_keeps_the_count_bounded() -> None:
    now, starts = datetime(2026, 1, 1, tzinfo=UTC), []
    while now < datetime(2028, 1, 1, tzinfo=UTC):
        start = default_partitions_start(now)
        assert start <= fetchable_from(now)  # every window Okta still has is a partition
        assert 90 * 288 <= partition_count(start, now) <= 121 * 288 < MAX_PARTITIONS
        starts.append(start)
        now += timedelta(hours=1)
    moves = [later for earlier, later in itertools.pairwise(starts) if later != earlier]
    # From 2025-10-01 to 2027-10-01: one move a month, never back, always to a 1st at midnight.
    assert len(moves) == 24
    assert all(move.day == 1 and move.hour == 0 for move in moves)
    assert moves == sorted(moves)


def test_a_date_or_a_partition_key_is_read_as_utc() -> None:
    assert read("2026-09-01") == datetime(2026, 9, 1, tzinfo=UTC)
    assert read(" 2026-09-01-12:05 ") == datetime(2026, 9, 1, 12, 5, tzinfo=UTC)
    assert read("") is None and read_partitions_start({}, NOW) is None
    settings = DeploymentSettings.from_environment({PARTITIONS_START_VARIABLE: "2026-10-01"}, NOW)
    assert settings.partitions_start == datetime(2026, 10, 1, tzinfo=UTC)
    assert DeploymentSettings.from_environment({}, NOW).partitions_start is None


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("2026-9-1", "YYYY-MM-DD"),
        ("2026-09-01T12:05", "YYYY-MM-DD-HH:MM"),
        ("2026-09-01-12:05:00", "YYYY-MM-DD-HH:MM"),
        ("yesterday", "e.g. 2026-09-01"),
        ("2026-02-30", "not a valid date"),
        ("2026-09-01-24:00", "not a valid date"),
        ("2026-09-01-12:03", "not on a 5-minute boundary: partitions are 5-minute UTC windows"),
        ("2026-09-01-12:07", "use 2026-09-01-12:05"),
        ("2026-12-02-03:20", "in the future"),
        ("2027-01-01", "unset it for the default (2026-09-01)"),
        # 100,000 windows before NOW is 2025-12-19 21:56: the first midnight after is allowed.
        ("2025-12-19", "Set it to 2025-12-20 or later"),
        ("2025-01-01", "Dagster slows down past 100,000"),
    ],
)
def test_a_bad_start_names_the_variable_the_value_and_the_fix(value: str, named: str) -> None:
    with pytest.raises(DeploymentSettingsError) as error:
        read(value)
    message = str(error.value)
    assert f"{PARTITIONS_START_VARIABLE}={value!r}" in message and named in message


def test_the_limit_is_100000_partitions() -> None:
    assert read("2025-12-20") == datetime(2025, 12, 20, tzinfo=UTC)
    latest_refused = datetime(2025, 12, 19, 21, 50, tzinfo=UTC)
    assert partition_count(latest_refused + WINDOW, NOW) == MAX_PARTITIONS
    with pytest.raises(DeploymentSettingsError, match="100,001 five-minute partitions"):
        read("2025-12-19-21:50")
    assert read("2025-12-19-21:55") == latest_refused + WINDOW
    assert read("2026-12-02-03:15") == datetime(2026, 12, 2, 3, 15, tzinfo=UTC)  # the open window


def test_a_start_beyond_oktas_retention_loads_with_a_warning() -> None:
    old = datetime(2026, 8, 1, tzinfo=UTC)
    (warning,) = resolve_partitions_start(old, NOW).warnings
    assert f"{PARTITIONS_START_VARIABLE}=2026-08-01-00:00" in warning
    assert "partitions before 2026-09-03 03:16 UTC cannot be fetched from Okta" in warning
    assert "move the start forward or unset it" in warning
    recent = datetime(2026, 9, 10, tzinfo=UTC)
    assert resolve_partitions_start(recent, NOW).warnings == ()


def test_a_start_nearing_the_limit_warns_a_month_ahead() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)  # refused from 2026-12-14 05:20
    warnings = resolve_partitions_start(start, NOW).warnings
    assert any("from 2026-12-14 05:20 UTC the partitions exceed 100,000" in w for w in warnings)
    later_start = datetime(2026, 1, 20, tzinfo=UTC)
    assert not any("exceed" in w for w in resolve_partitions_start(later_start, NOW).warnings)


def test_settings_with_another_start_than_the_partitions_are_refused() -> None:
    built = five_minute_partitions.start
    assert build_definitions(DeploymentSettings(partitions_start=built)).assets
    with pytest.raises(DeploymentSettingsError, match=PARTITIONS_START_VARIABLE):
        build_definitions(DeploymentSettings(partitions_start=built + timedelta(days=1)))


LOAD_DEFINITIONS = """
import json
from okta_pipeline.definitions import defs
print(json.dumps({
    spec.key.to_user_string(): spec.partitions_def.start.isoformat()
    for spec in defs().resolve_all_asset_specs() if spec.partitions_def is not None
}))
"""


def load_in_subprocess(value: str | None) -> subprocess.CompletedProcess[str]:
    """What a code server (or a run) loads, in a fresh process with the variable set."""
    environ = dict(os.environ)
    environ.pop(PARTITIONS_START_VARIABLE, None)
    if value is not None:
        environ[PARTITIONS_START_VARIABLE] = value
    return subprocess.run(
        [sys.executable, "-c", LOAD_DEFINITIONS],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def starts_loaded(result: subprocess.CompletedProcess[str]) -> dict[str, datetime]:
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    return {key: datetime.fromisoformat(start) for key, start in loaded.items()}


def test_the_loaded_definitions_start_where_the_variable_says() -> None:
    start = (datetime.now(UTC) - timedelta(days=10)).replace(hour=12, minute=5, second=0)
    start = start.replace(microsecond=0)
    result = load_in_subprocess(start.strftime("%Y-%m-%d-%H:%M"))
    assert starts_loaded(result) == dict.fromkeys(PARTITIONED, start)
    assert "cannot be fetched from Okta" not in result.stderr


def test_unset_the_loaded_definitions_start_at_the_default() -> None:
    before = default_partitions_start(datetime.now(UTC))
    starts = set(starts_loaded(load_in_subprocess(None)).values())
    assert starts <= {before, default_partitions_start(datetime.now(UTC))} and len(starts) == 1


def test_an_old_start_loads_with_a_warning_and_a_future_one_does_not_load() -> None:
    old = (datetime.now(UTC) - timedelta(days=120)).strftime("%Y-%m-%d")
    result = load_in_subprocess(old)
    assert set(starts_loaded(result)) == PARTITIONED
    assert f"{PARTITIONS_START_VARIABLE}={old}-00:00 is older than Okta's" in result.stderr

    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")
    refused = load_in_subprocess(future)
    assert refused.returncode != 0
    assert f"{PARTITIONS_START_VARIABLE}='{future}' is in the future" in refused.stderr
