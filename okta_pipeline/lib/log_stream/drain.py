"""Drain the log stream's SQS queue into the landing zone's 5-minute windows.

Each event joins the window its `published` falls in, merged with what polling landed there
(union by uuid, through the landing zone's conditional writes), and a message is deleted only
after its window is written: a drain killed in between leaves the message to come back, and
landing it again changes nothing. Bodies that are not Okta events are set aside with their
reason, then deleted. Each event's first arrival is recorded in `okta_log_stream` receipts
(uuid, published, received), which is how push is compared with polling, window by window.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from okta_pipeline.lib.landing.shapes import OKTA_EVENT, RecordShape
from okta_pipeline.lib.landing.zone import Event, LandingZone, WindowWrite
from okta_pipeline.lib.log_stream.envelope import OKTA_PARTNER_PREFIX, parse_message
from okta_pipeline.lib.windows import window_start

SqsClient = Any  # a boto3 SQS client
RECEIPTS_DATASET = "okta_log_stream"
RECEIPT = RecordShape(
    noun="receipt", id_field="uuid", time_field="published", type_field="eventType"
)
REJECTED_FOLDER = "_log_stream_rejected"
MAX_BATCH = 10  # SQS returns and deletes at most 10 messages per call


@dataclass
class DrainReport:
    messages: int = 0
    events: int = 0
    new: int = 0
    """Events no window had yet (neither polled nor pushed before)."""
    duplicates: int = 0
    """Events already landed: pushed twice, or polled first."""
    rejected: Counter[str] = field(default_factory=Counter)
    deleted: int = 0
    delete_failures: int = 0
    windows: dict[datetime, WindowWrite] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    """Seconds from each new event's `published` to its window being written."""
    rejected_location: str | None = None

    def latency(self, quantile: float) -> float | None:
        if not self.latencies:
            return None
        if len(self.latencies) == 1:
            return round(self.latencies[0], 3)
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return round(cuts[min(98, max(0, round(quantile * 100) - 1))], 3)

    def summary(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "events": self.events,
            "new": self.new,
            "duplicates": self.duplicates,
            "rejected": sum(self.rejected.values()),
            "deleted": self.deleted,
            "windows": len(self.windows),
        }


def receipts_zone(zone: LandingZone) -> LandingZone:
    """Where the drain records which events came by push: beside the windows, same storage."""
    return LandingZone(zone.storage, dataset=RECEIPTS_DATASET, shape=RECEIPT)


def queue_depth(sqs: SqsClient, queue_url: str) -> int:
    """Messages waiting or in flight: what tells a sensor there is something to drain."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
        attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
    )


def drain_queue(
    sqs: SqsClient,
    queue_url: str,
    zone: LandingZone,
    source_prefix: str = OKTA_PARTNER_PREFIX,
    wait_seconds: int = 1,
    max_messages: int = 10_000,
    round_messages: int = 500,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    after_write: Callable[[], None] | None = None,
) -> DrainReport:
    """Receive until the queue is empty (or `max_messages`), landing a round at a time.

    `after_write` runs between writing a round's windows and deleting its messages (tests
    use it to kill the process there)."""
    report = DrainReport()
    receipts = receipts_zone(zone)
    while report.messages < max_messages:
        messages = _receive_round(
            sqs, queue_url, wait_seconds, min(round_messages, max_messages - report.messages)
        )
        if not messages:
            break
        report.messages += len(messages)
        _land_round(messages, zone, receipts, source_prefix, clock, report)
        if after_write is not None:
            after_write()
        _delete(sqs, queue_url, messages, report)
    return report


def _receive_round(
    sqs: SqsClient, queue_url: str, wait_seconds: int, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` messages: long-poll for the first, then take what is already there."""
    messages: list[dict[str, Any]] = []
    wait = wait_seconds
    while len(messages) < limit:
        answer = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(MAX_BATCH, limit - len(messages)),
            WaitTimeSeconds=wait,
        )
        batch = answer.get("Messages", [])
        if not batch:
            break
        messages += batch
        wait = 0
    return messages


def _land_round(
    messages: list[dict[str, Any]],
    zone: LandingZone,
    receipts: LandingZone,
    source_prefix: str,
    clock: Callable[[], datetime],
    report: DrainReport,
) -> None:
    received = clock()
    by_window: dict[datetime, dict[str, Event]] = {}
    stamps: dict[datetime, list[Event]] = {}
    rejected: list[Event] = []
    for message in messages:
        parsed = parse_message(message.get("Body", ""), source_prefix)
        if isinstance(parsed, str):
            report.rejected[parsed.split(" (")[0]] += 1
            rejected.append(
                {
                    "reason": parsed,
                    "messageId": message.get("MessageId"),
                    "body": message.get("Body"),
                }
            )
            continue
        published = OKTA_EVENT.record_time(parsed)
        assert published is not None  # parse_message checked it
        window = window_start(published)
        uuid = OKTA_EVENT.key(parsed)
        report.events += 1
        if uuid in by_window.setdefault(window, {}):
            report.duplicates += 1
            continue
        by_window[window][uuid] = parsed
        stamps.setdefault(window, []).append(
            {
                "uuid": uuid,
                "published": parsed["published"],
                "eventType": parsed.get("eventType"),
                "received": received.isoformat(),
                "messageId": message.get("MessageId"),
            }
        )
    for window, events in sorted(by_window.items()):
        write = zone.write_window(window, events.values(), received)
        receipts.write_window(window, stamps[window], received)
        report.new += write.added
        report.duplicates += len(events) - write.added
        report.windows[window] = write
        written = clock()
        known = {e["uuid"] for e in stamps[window]}
        for event in events.values():
            if OKTA_EVENT.key(event) in known:
                moment = OKTA_EVENT.record_time(event)
                if moment is not None:
                    report.latencies.append((written - moment).total_seconds())
    if rejected:
        day = received.replace(hour=0, minute=0, second=0, microsecond=0)
        report.rejected_location = zone.write_unplaceable(
            day, day + timedelta(days=1), rejected, folder=REJECTED_FOLDER
        )


def _delete(
    sqs: SqsClient, queue_url: str, messages: list[dict[str, Any]], report: DrainReport
) -> None:
    for offset in range(0, len(messages), MAX_BATCH):
        batch = messages[offset : offset + MAX_BATCH]
        answer = sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)
            ],
        )
        report.deleted += len(answer.get("Successful", []))
        # A failed delete (an expired receipt handle) only means the message comes back, and
        # landing it again changes nothing.
        report.delete_failures += len(answer.get("Failed", []))


def pushed_uuids(zone: LandingZone, window: datetime) -> set[str]:
    """The uuids the log stream delivered for a window (from the receipts)."""
    return {str(r["uuid"]) for r in receipts_zone(zone).read_window(window)}
