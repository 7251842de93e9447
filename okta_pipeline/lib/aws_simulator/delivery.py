"""CloudTrail's delivery to S3: a gzipped JSON object per account and region every five minutes.

A record is written to the first delivery at or after its event time plus a delay (mostly 5-7
minutes, at most 10), so it lands 5 to 15 minutes after it happened: one object holds records
of several five-minute windows, and one window's records are spread over several objects.
"""

from __future__ import annotations

import gzip
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from okta_pipeline.lib.aws_simulator.accounts import AwsOrganization
from okta_pipeline.lib.aws_simulator.records import StoredRecord

SECOND = 1000
MINUTE = 60 * SECOND
DELIVERY_INTERVAL_MS = 5 * MINUTE
MIN_DELIVERY_DELAY_MS = 5 * MINUTE
MAX_DELIVERY_DELAY_MS = 15 * MINUTE
_BASE62 = string.digits + string.ascii_letters


class DeliverySchedule:
    """When each (account, region) delivers, and which delivery a record goes into."""

    def __init__(self, seed: int, org: AwsOrganization) -> None:
        rng = random.Random(f"aws-delivery:{seed}")
        self.seed = seed
        self._offsets = {
            (account.id, region): rng.randrange(DELIVERY_INTERVAL_MS // SECOND) * SECOND
            for account in org.accounts
            for region in org.regions
        }

    def delivered_ms(self, rng: random.Random, account_id: str, region: str, event_ms: int) -> int:
        """The delivery a record of this event time goes into; draws its delay from `rng`."""
        if rng.random() < 0.85:
            delay = rng.randint(MIN_DELIVERY_DELAY_MS, 7 * MINUTE)
        else:
            delay = rng.randint(7 * MINUTE, MAX_DELIVERY_DELAY_MS - DELIVERY_INTERVAL_MS)
        offset = self._offsets[(account_id, region)]
        ready = event_ms + delay - offset
        return offset + -(-ready // DELIVERY_INTERVAL_MS) * DELIVERY_INTERVAL_MS

    def unique_string(self, account_id: str, region: str, delivered_ms: int) -> str:
        rng = random.Random(f"aws-object:{self.seed}:{account_id}:{region}:{delivered_ms}")
        return "".join(rng.choices(_BASE62, k=16))


def object_key(
    account_id: str,
    region: str,
    delivered_ms: int,
    unique: str,
    organization_id: str | None = None,
) -> str:
    """AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_
    YYYYMMDDTHHmmZ_<unique>.json.gz, dated by the delivery (UTC)."""
    moment = datetime.fromtimestamp(delivered_ms / 1000, tz=UTC)
    folder = f"{organization_id}/{account_id}" if organization_id else account_id
    return (
        f"AWSLogs/{folder}/CloudTrail/{region}/{moment:%Y/%m/%d}/"
        f"{account_id}_CloudTrail_{region}_{moment:%Y%m%dT%H%MZ}_{unique}.json.gz"
    )


@dataclass(frozen=True)
class TrailObject:
    """One delivered log file: its key (without the bucket prefix) and its records."""

    key: str
    account_id: str
    region: str
    delivered_ms: int
    records: tuple[StoredRecord, ...]

    def body(self) -> bytes:
        """gzip of {"Records": [...]}; the same records give the same bytes (mtime 0)."""
        document = orjson.dumps({"Records": [stored.record for stored in self.records]})
        return gzip.compress(document, compresslevel=6, mtime=0)


class ObjectSource(Protocol):
    def objects_between(self, start_ms: int, end_ms: int) -> Sequence[TrailObject]:
        """Objects delivered in [start, end)."""
        ...


@dataclass(frozen=True)
class Delivery:
    objects: int
    records: int


def full_key(prefix: str, key: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/{key}" if prefix else key


def deliver(
    s3_client: Any,
    bucket: str,
    prefix: str,
    trail: ObjectSource,
    start_ms: int,
    end_ms: int,
    delivered_by_ms: int | None = None,
) -> Delivery:
    """Write every object delivered in [start, end), up to `delivered_by_ms` when given, as
    CloudTrail would have by then. Writing again puts the same keys and bytes."""
    objects = records = 0
    for trail_object in trail.objects_between(start_ms, end_ms):
        if delivered_by_ms is not None and trail_object.delivered_ms > delivered_by_ms:
            continue
        s3_client.put_object(
            Bucket=bucket,
            Key=full_key(prefix, trail_object.key),
            Body=trail_object.body(),
            ContentType="application/json",
            ContentEncoding="gzip",
        )
        objects += 1
        records += len(trail_object.records)
    return Delivery(objects, records)
