"""When windows are fetched: once after a settle delay, and again while late events may arrive."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from okta_pipeline.lib.durations import spoken

# Fetch a window this many minutes after it ends (0-4), so most of its events are persisted.
SETTLE_MINUTES = 2
# Fetch the newest windows this often (a whole number of windows dividing an hour); 15 fetches
# three windows per run, for a third of the Okta requests and runs.
FETCH_EVERY_MINUTES = 5
# Re-fetch every window this recent, on LOOKBACK_CRON, to pick up events Okta persisted late.
LOOKBACK = timedelta(hours=1)
LOOKBACK_CRON = "4-59/15 * * * *"
# Hourly, request every window of the last day that was never fetched (after an outage of the
# daemon, or a run that kept failing), so gaps do not go unnoticed.
CATCH_UP = timedelta(days=1)
CATCH_UP_CRON = "9 * * * *"
# Daily, re-fetch the windows between 26 and 50 hours old (about a day, about one request per
# 1,000 events): events Okta persists more than an hour late, up to a day and more, are landed.
DAILY_REFETCH_CRON = "44 2 * * *"
DAILY_REFETCH_NEWEST = timedelta(hours=26)
DAILY_REFETCH_OLDEST = timedelta(hours=50)
# How far back the load, the detections and the alerts follow a re-fetched window.
FOLLOW = DAILY_REFETCH_OLDEST + timedelta(hours=1)


def fetch_condition(
    settle_minutes: int = SETTLE_MINUTES,
    every_minutes: int = FETCH_EVERY_MINUTES,
    lookback: timedelta = LOOKBACK,
    lookback_cron: str = LOOKBACK_CRON,
) -> dg.AutomationCondition:
    """Fetch the windows closed since the last fetch, `settle_minutes` after the last of them
    ends; re-fetch recent windows for late events; catch up on windows never fetched."""
    if not 0 <= settle_minutes <= 4:
        raise ValueError("settle_minutes must be 0-4 for 5-minute windows")
    if every_minutes <= 0 or every_minutes % 5 or 60 % every_minutes:
        raise ValueError("every_minutes must be a multiple of 5 that divides 60")
    fetch_minutes = ",".join(str(m) for m in range(settle_minutes, 60, every_minutes))
    first_fetch = (
        dg.AutomationCondition.cron_tick_passed(f"{fetch_minutes} * * * *")
        & dg.AutomationCondition.in_latest_time_window(timedelta(minutes=every_minutes))
        & ~dg.AutomationCondition.in_progress()
    ).with_label(
        f"fetch the windows closed in the last {spoken(timedelta(minutes=every_minutes), one='')},"
        f" {spoken(timedelta(minutes=settle_minutes))} after they close"
    )
    refetch = (
        dg.AutomationCondition.cron_tick_passed(lookback_cron)
        & dg.AutomationCondition.in_latest_time_window(lookback)
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"re-fetch windows of the last {spoken(lookback, one='')}, for late events")
    catch_up = (
        dg.AutomationCondition.cron_tick_passed(CATCH_UP_CRON)
        & dg.AutomationCondition.missing()
        & dg.AutomationCondition.in_latest_time_window(CATCH_UP)
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"fetch windows of the last {spoken(CATCH_UP, one='')} never fetched")
    daily = (
        dg.AutomationCondition.cron_tick_passed(DAILY_REFETCH_CRON)
        & dg.AutomationCondition.in_latest_time_window(DAILY_REFETCH_OLDEST)
        & ~dg.AutomationCondition.in_latest_time_window(DAILY_REFETCH_NEWEST)
        & ~dg.AutomationCondition.in_progress()
    ).with_label(
        f"re-fetch windows {spoken(DAILY_REFETCH_NEWEST)} to {spoken(DAILY_REFETCH_OLDEST)} old, "
        "daily, for events Okta persisted late"
    )
    return first_fetch | refetch | catch_up | daily


def follow_upstream(after_blocking_checks: bool = False) -> dg.AutomationCondition:
    """Materialize a window when its upstream window is (re)materialized, as far back as a
    re-fetch reaches (`FOLLOW`); with `after_blocking_checks`, once those checks passed."""
    condition = dg.AutomationCondition.eager().without(
        dg.AutomationCondition.in_latest_time_window()
    ) & dg.AutomationCondition.in_latest_time_window(FOLLOW)
    if after_blocking_checks:
        condition = condition & dg.AutomationCondition.all_deps_blocking_checks_passed()
    return condition


automation_sensor = dg.AutomationConditionSensorDefinition(
    "okta_pipeline_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    # A tick that requests many windows (the hour's re-fetch, a catch-up) becomes one backfill
    # whose runs follow the assets' backfill policies: one ranged run, not a run per window.
    # The newest window alone is a plain run. deploy/dagster.yaml limits runs per backfill, so
    # these backfills never wait behind a user's.
    emit_backfills=True,
)
