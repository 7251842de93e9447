"""When windows are fetched: once after a settle delay, and again while late events may arrive."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

# Fetch a window this many minutes after it ends (1-4), so most of its events are persisted.
SETTLE_MINUTES = 2
# Re-fetch every window this recent, on LOOKBACK_CRON, to pick up events Okta persisted late.
LOOKBACK = timedelta(hours=1)
LOOKBACK_CRON = "4-59/15 * * * *"
# Hourly, request every window of the last day that was never fetched (after an outage of the
# daemon, or a run that kept failing), so gaps do not go unnoticed.
CATCH_UP = timedelta(days=1)
CATCH_UP_CRON = "9 * * * *"


def fetch_condition(
    settle_minutes: int = SETTLE_MINUTES,
    lookback: timedelta = LOOKBACK,
    lookback_cron: str = LOOKBACK_CRON,
) -> dg.AutomationCondition:
    if not 0 <= settle_minutes <= 4:
        raise ValueError("settle_minutes must be 0-4 for 5-minute windows")
    first_fetch = dg.AutomationCondition.on_cron(f"{settle_minutes}-59/5 * * * *")
    refetch = (
        dg.AutomationCondition.cron_tick_passed(lookback_cron)
        & dg.AutomationCondition.in_latest_time_window(lookback)
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"re-fetch windows of the last {lookback}")
    catch_up = (
        dg.AutomationCondition.cron_tick_passed(CATCH_UP_CRON)
        & dg.AutomationCondition.missing()
        & dg.AutomationCondition.in_latest_time_window(CATCH_UP)
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"fetch windows of the last {CATCH_UP} never fetched")
    return first_fetch | refetch | catch_up


automation_sensor = dg.AutomationConditionSensorDefinition(
    "okta_pipeline_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
