"""A silent log stream: polling lands events and the stream delivered none of them.

Okta deactivates a stream after two failed deliveries and logs the lifecycle event, which a
catalog detection finds. A broken rule, queue policy or partner event source logs nothing, so
silence is judged from the landing zone: events landed in the last `SILENCE` and no receipt
among them. It raises a finding of its own detection, one per silence: its window is the first
window after the stream's last delivery, so every evaluation while the silence lasts writes the
same finding again, and the alert ledger delivers it once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from okta_pipeline.lib.detections.findings import Finding
from okta_pipeline.lib.detections.model import Detection, Match, Severity, StatefulLogic
from okta_pipeline.lib.detections.search import EventSearch
from okta_pipeline.lib.landing.zone import LandingZone
from okta_pipeline.lib.log_stream.drain import receipts_zone
from okta_pipeline.lib.windows import WINDOW, window_start

SILENCE = timedelta(minutes=10)
SILENCE_MINUTES = int(SILENCE.total_seconds() // 60)
# How far back the stream's last delivery is looked for; a stream silent for longer gets a
# finding per UTC day, not one per evaluation.
LAST_DELIVERY_LOOKBACK = timedelta(days=1)


def _judged_from_the_landing_zone(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Match]:
    """Silence is not in the indexed events (pushed and polled events are the same documents),
    so the catalog's engine finds nothing; the stream's health check judges it."""
    return []


STREAM_SILENT = Detection(
    id="okta_log_stream_silent",
    version=1,
    title="Okta log stream silent",
    description=f"Polling landed events in the last {SILENCE_MINUTES} minutes and Okta's log "
    "stream delivered none of them: the stream was deactivated, or the EventBridge rule, the "
    "queue or its policy is broken. Findings then wait for polling, minutes behind.",
    severity=Severity.HIGH,
    tactics=("TA0005",),
    techniques=("T1562.008",),
    fields=(),
    false_positives=("A log stream deactivated on purpose, with the queue left configured",),
    response="In Okta (Reports > Log Streaming) check the stream is ACTIVE and reactivate it; "
    "then check the EventBridge rule on the partner event bus targets the queue, and the "
    "queue's policy allows the rule. Polling keeps the windows complete meanwhile.",
    entity=("log_stream.queue",),
    logic=StatefulLogic(
        function_name="log_stream_silence",
        function=_judged_from_the_landing_zone,
        parameters={"silence_minutes": SILENCE_MINUTES},
        why_not_sigma="It is about what did not arrive by push, which no event records.",
    ),
    examples=(),
    source="pipeline health: the log stream's delivery check",
    summary="{title}: {count} events landed by polling in the last "
    f"{SILENCE_MINUTES} minutes and none came by the stream to {{log_stream.queue}} "
    "(last delivery: {last_delivery})",
)


@dataclass(frozen=True)
class StreamSilence:
    """The last `SILENCE` as the landing zone saw it."""

    landed: int
    pushed: int
    last_received: str | None
    """The newest receipt's arrival time in the last `SILENCE`."""

    @property
    def silent(self) -> bool:
        return self.landed > 0 and self.pushed == 0


def judge_silence(zone: LandingZone, now: datetime) -> StreamSilence:
    receipts = receipts_zone(zone)
    landed = pushed = 0
    newest: str | None = None
    moment = window_start(now - SILENCE)
    while moment <= now:
        landed += sum(1 for _ in zone.iter_window_lines(moment))
        stamps = receipts.read_window(moment)
        pushed += len(stamps)
        for stamp in stamps:
            newest = max(newest or "", str(stamp["received"]))
        moment += WINDOW
    return StreamSilence(landed, pushed, newest)


def silent_since(zone: LandingZone, now: datetime) -> tuple[datetime, datetime | None]:
    """The first window after the stream's last delivery, and that delivery's window (None
    when it delivered nothing within the lookback: the silence is then dated by the UTC day)."""
    receipts = receipts_zone(zone)
    oldest = now - LAST_DELIVERY_LOOKBACK
    moment = window_start(now - SILENCE) - WINDOW  # the windows after it were just judged
    while moment >= oldest:
        if receipts.has_window(moment):
            return moment + WINDOW, moment
        moment -= WINDOW
    return now.replace(hour=0, minute=0, second=0, microsecond=0), None


def silence_finding(
    zone: LandingZone, queue_name: str, silence: StreamSilence, now: datetime
) -> Finding:
    """The finding for a silent stream, the same for every evaluation while it lasts."""
    since, last_window = silent_since(zone, now)
    last = f"in the window of {last_window:%Y-%m-%d %H:%M} UTC" if last_window else "none in a day"
    return Finding(
        detection=STREAM_SILENT,
        window=since,
        entity={"log_stream.queue": queue_name},
        evidence=(),
        count=silence.landed,
        details={"last_delivery": last},
    )
