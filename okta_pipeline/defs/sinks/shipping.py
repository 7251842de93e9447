"""Shipping landed windows to a sink, built like the OpenSearch range load: windows unchanged
since their last clean shipment are skipped, the rest go through `ship_windows`, and each window
gets its counts and the load's three checks on its own partition (accepted in place of
documents)."""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg

from okta_pipeline.defs.opensearch.range_load import (
    PARITY,
    REQUIRED_FIELDS,
    CheckWording,
    LandedWindows,
    LoadConfig,
    partition_key,
    run_dead_letter_key,
    window_checks,
    windows_between,
)
from okta_pipeline.defs.opensearch.window_loads import (
    WindowLoadRecord,
    last_loads,
    unchanged_since_last_load,
)
from okta_pipeline.defs.storage.resources import location_metadata
from okta_pipeline.defs.window_results import (
    WindowCheck,
    WindowEvent,
    add_window_metadata,
    materialize_windows,
    tag_run,
    window_check_spec,
)
from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.opensearch.bulk_loader import DeadLetters
from okta_pipeline.lib.sinks.model import Destination
from okta_pipeline.lib.sinks.sent_ledger import SentLedger
from okta_pipeline.lib.sinks.shipping import ship_windows

ALL_ACCEPTED = "all_events_accepted"


def sink_check_specs(asset: str, destination: str) -> list[dg.AssetCheckSpec]:
    """The load's three checks, per window, for a sink."""
    return [
        window_check_spec(
            PARITY,
            asset,
            f"Events {destination} accepted plus dead letters equal the events landed for the "
            "window",
            blocking=True,
        ),
        window_check_spec(
            REQUIRED_FIELDS,
            asset,
            "Every event of the window has a string uuid, a parseable published and a string "
            "eventType",
        ),
        window_check_spec(
            ALL_ACCEPTED,
            asset,
            f"{destination} accepted every landed event of the window: events it refused for "
            "what they are are dead-lettered with its reason (a warning); events it did not "
            "take after every retry fail until a re-run sends them",
        ),
    ]


def ship_landed_range(
    context: dg.AssetExecutionContext,
    config: LoadConfig,
    destination: Destination,
    label: str,
    zone: LandingZone,
) -> Iterator[WindowEvent]:
    """Ship the run's windows of `zone` to `destination` (`label` names it in messages)."""
    window = context.partition_time_window
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    moments = windows_between(start, end)
    versions = {moment: zone.window_version(moment) for moment in moments}  # before reading
    ledger = SentLedger(zone, destination.name)
    previous = (
        {}
        if config.reload_unchanged_windows
        else last_loads(context.instance, context.asset_key, map(partition_key, moments))
    )
    skipped = {
        moment: previous[partition_key(moment)]
        for moment in moments
        if partition_key(moment) in previous
        and unchanged_since_last_load(
            previous[partition_key(moment)], versions[moment], len(ledger.accepted(moment))
        )
    }
    if skipped:
        context.log.info(
            f"{len(skipped)} of {len(moments)} windows are unchanged since {label} accepted "
            "them all: not read again"
        )
    horizon = destination.horizon()
    if horizon is not None and start < horizon:
        older = sum(1 for moment in moments if moment + WINDOW <= horizon)
        context.log.warning(
            f"{older} of the range's {len(moments)} windows end before {horizon:%Y-%m-%d %H:%M} "
            f"UTC: their events not yet accepted are {destination.horizon_fix()}"
        )
    landed = LandedWindows(zone, [m for m in moments if m not in skipped])
    dead_letter_key = run_dead_letter_key(destination.name, start, end, context.run.run_id)
    with zone.spooled(dead_letter_key) as spool:
        dead_letters = DeadLetters(spool, location=zone.storage.location(dead_letter_key))
        report = ship_windows(destination, landed, ledger, dead_letters)

    wording = CheckWording(
        stored="accepted",
        not_taken=f"events were not accepted by {label} after every retry"
        + (f" ({report.last_unavailable})" if report.last_unavailable else "")
        + f": materialize this window again once {label} keeps up",
        all_taken_check=ALL_ACCEPTED,
    )
    refused = (
        f"events were not sent: {report.credentials_refused}"
        if report.credentials_refused
        else None
    )
    records: dict[datetime, WindowLoadRecord] = dict(skipped)
    checks: list[WindowCheck] = []
    for moment, load in report.windows.items():
        records[moment] = WindowLoadRecord(
            landed_version=versions[moment],
            raw_events=landed.counts.get(moment, 0),
            documents=load.indexed + load.unchanged,
            dead_lettered=load.dead_lettered,
            failed=load.failed,
            field_problems=sum(load.field_problems.values()),
        )
    for moment, record in sorted(records.items()):
        shipped = report.windows.get(moment)
        add_window_metadata(
            context,
            partition_key(moment),
            {
                **record.metadata(),
                "sent_this_run": shipped is not None,
                "window_accepted_this_run": shipped.indexed if shipped else None,
                "window_accepted_before": shipped.unchanged if shipped else None,
                "window_bytes": shipped.bytes if shipped else None,
                "dead_letter_file": location_metadata(report.dead_letter_location)
                if shipped and shipped.dead_lettered and report.dead_letter_location
                else None,
            },
        )
        beyond = report.beyond_horizon.get(moment, 0)
        reason = refused or (
            f"events were not sent, {beyond} of them {destination.horizon_fix()}"
            if beyond
            else None
        )
        checks += window_checks(
            partition_key(moment), record, shipped, report.dead_letter_location, wording, reason
        )
    totals = {
        "sent": report.sent,
        "accepted": report.accepted,
        "already_accepted": sum(w.unchanged for w in report.windows.values()),
        "dead_lettered": report.dead_lettered,
        "failed": report.failed,
        "windows_not_read_again": len(skipped),
    }
    context.log.info(
        f"Shipped {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC to {label}: {totals}"
    )
    if report.credentials_refused:
        context.log.error(report.credentials_refused)
    elif report.dead_lettered or report.failed:
        context.log.warning(report.summary())
    tag_run(context, destination.name, totals)
    yield from materialize_windows(context, checks)
