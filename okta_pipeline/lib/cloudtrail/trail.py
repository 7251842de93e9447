"""Reading a CloudTrail trail's log objects from S3, for a time range.

CloudTrail writes `[<prefix>/]AWSLogs/[<organization id>/]<account>/CloudTrail/<region>/
<yyyy>/<mm>/<dd>/<account>_CloudTrail_<region>_<yyyymmdd>T<hhmm>Z_<id>.json.gz`, each a gzipped
`{"Records": [...]}`. The date folders and the time in the name are the delivery's, which comes
minutes after the records' `eventTime` (about five, up to fifteen, with no hard bound). So the
records of [start, end) are in the objects delivered from `start` to `end + max_delivery_delay`,
and one object holds records of several windows.

Objects are read in chunks and gunzipped incrementally, under two limits (`TrailBucket`'s
`max_object_bytes` and `max_uncompressed_bytes`): one over them is malformed, not an out of
memory error.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

S3Client = Any  # a boto3 S3 client
Record = dict[str, Any]

DEFAULT_MAX_DELIVERY_DELAY = timedelta(minutes=30)
# Names carry minutes: a record of 12:04:59 may be in an object named 12:04.
NAME_PRECISION = timedelta(minutes=1)
OBJECT_NAME = re.compile(
    r"(?P<account>\d{12})_CloudTrail_(?P<region>[a-z0-9-]+)_(?P<stamp>\d{8}T\d{4})Z_\w+\.json\.gz$"
)
_ACCOUNT = re.compile(r"\d{12}")
_ORGANIZATION = re.compile(r"o-[a-z0-9]{10,32}")
MIB = 1024 * 1024
# AWS delivers a trail's objects every few minutes, at most a few tens of MB gzipped (a busy
# account's data events). The limits are far above that: they only stop an object that would
# exhaust memory (a huge file, a gzip bomb), with up to `2 * workers` of them read at once.
DEFAULT_MAX_OBJECT_BYTES = 256 * MIB
DEFAULT_MAX_UNCOMPRESSED_BYTES = 1024 * MIB
READ_CHUNK_BYTES = MIB
_GZIP = 16 + zlib.MAX_WBITS  # zlib's window bits for a gzip member (header and trailer checked)


class MalformedObjectError(ValueError):
    """A trail object that is not a gzipped `{"Records": [...]}`, or is over the read limits."""


class ObjectTooLargeError(MalformedObjectError):
    """A trail object that gunzips to more than the limit."""


@dataclass(frozen=True)
class TrailObject:
    key: str
    delivered: datetime
    account: str
    region: str
    size: int


@dataclass(frozen=True)
class TrailLocation:
    """Where a trail's objects are: a bucket and the prefix its `AWSLogs/` lies under."""

    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, root: str) -> TrailLocation:
        """`s3://bucket` or `s3://bucket/prefix`."""
        if not root.startswith("s3://"):
            raise ValueError(
                f"the CloudTrail location {root!r} is not an S3 URL: use s3://<trail bucket> or "
                "s3://<trail bucket>/<prefix>, the prefix being what AWSLogs/ lies under"
            )
        bucket, _, prefix = root.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"the CloudTrail location {root!r} names no bucket")
        prefix = prefix.strip("/")
        if prefix.endswith("AWSLogs") or "/AWSLogs/" in f"/{prefix}/":
            raise ValueError(
                f"the CloudTrail location {root!r} should stop before AWSLogs/: give the prefix "
                "the trail was configured with"
            )
        return cls(bucket, prefix)

    @property
    def logs_prefix(self) -> str:
        return f"{self.prefix}/AWSLogs/" if self.prefix else "AWSLogs/"

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}"


class TrailBucket:
    """The objects of one trail location, found by listing its accounts, regions and days."""

    def __init__(
        self,
        client: S3Client,
        location: TrailLocation,
        accounts: Sequence[str] = (),
        regions: Sequence[str] = (),
        max_delivery_delay: timedelta = DEFAULT_MAX_DELIVERY_DELAY,
        max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
        max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES,
    ) -> None:
        self.client = client
        self.location = location
        self.accounts = tuple(accounts)
        self.regions = tuple(regions)
        self.max_delivery_delay = max_delivery_delay
        self.max_object_bytes = max_object_bytes
        self.max_uncompressed_bytes = max_uncompressed_bytes
        self.list_requests = 0

    def roots(self) -> list[str]:
        """Every `.../<account>/CloudTrail/<region>/` prefix of the trail (organization
        trails included), limited to the configured accounts and regions."""
        accounts: list[str] = []
        for child in self._children(self.location.logs_prefix):
            name = child.rstrip("/").rsplit("/", 1)[-1]
            if _ACCOUNT.fullmatch(name):
                accounts.append(child)
            elif _ORGANIZATION.fullmatch(name):
                accounts += [
                    c for c in self._children(child) if _ACCOUNT.fullmatch(c.rstrip("/")[-12:])
                ]
        if self.accounts:
            accounts = [a for a in accounts if a.rstrip("/")[-12:] in self.accounts]
        roots = []
        for account in accounts:
            for region in self._children(f"{account}CloudTrail/"):
                if not self.regions or region.rstrip("/").rsplit("/", 1)[-1] in self.regions:
                    roots.append(region)
        return sorted(roots)

    def objects_for(self, start: datetime, end: datetime) -> list[TrailObject]:
        """The objects that can hold records of [start, end), in delivery order."""
        first, last = start - NAME_PRECISION, end + self.max_delivery_delay
        found = []
        for root in self.roots():
            day = first.date()
            while day <= last.date():
                for key, size in self._keys(f"{root}{day:%Y/%m/%d}/"):
                    parsed = OBJECT_NAME.search(key)
                    if parsed is None:
                        continue  # not a log object (a digest, a folder marker)
                    delivered = datetime.strptime(parsed["stamp"], "%Y%m%dT%H%M").replace(
                        tzinfo=UTC
                    )
                    if first <= delivered <= last:
                        found.append(
                            TrailObject(key, delivered, parsed["account"], parsed["region"], size)
                        )
                day += timedelta(days=1)
        return sorted(found, key=lambda o: (o.delivered, o.key))

    def read(self, item: TrailObject) -> list[Any]:
        """The object's records (as stored: normally objects, but not checked here). One listed
        over `max_object_bytes` is refused unread."""
        if item.size > self.max_object_bytes:
            raise self._too_large(item, self.max_object_bytes, "compressed", "max_object")
        body = self.client.get_object(Bucket=self.location.bucket, Key=item.key)["Body"]
        with body:
            try:
                return parse_object(self._chunks(body, item), self.max_uncompressed_bytes)
            except ObjectTooLargeError:
                raise self._too_large(
                    item, self.max_uncompressed_bytes, "uncompressed", "max_uncompressed"
                ) from None

    def _chunks(self, body: Any, item: TrailObject) -> Iterator[bytes]:
        """The body in chunks, up to `max_object_bytes` (the object may have grown since it
        was listed)."""
        read = 0
        for chunk in iter(lambda: body.read(READ_CHUNK_BYTES), b""):
            read += len(chunk)
            if read > self.max_object_bytes:
                raise self._too_large(item, self.max_object_bytes, "compressed", "max_object")
            yield chunk

    def _too_large(
        self, item: TrailObject, limit: int, form: str, setting: str
    ) -> MalformedObjectError:
        """Why an object is skipped, and the setting to raise: `<setting>_mib` of the
        CloudTrailResource, `<setting>_bytes` of a TrailBucket."""
        return MalformedObjectError(
            f"{self.location.url(item.key)} is over {limit} bytes {form}, so skipped: raise "
            f"{setting}_mib ({setting}_bytes of a TrailBucket) if such objects are expected"
        )

    def read_ahead(
        self, objects: Sequence[TrailObject], workers: int = 8
    ) -> Iterator[tuple[TrailObject, list[Any] | MalformedObjectError]]:
        """Each object with its records (or why it is malformed), in order; up to `workers`
        objects are fetched at once, and no more than twice that are held."""
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trail-read") as pool:
            pending: list[tuple[TrailObject, Future[list[Any]]]] = []
            queue = iter(objects)
            for item in queue:
                pending.append((item, pool.submit(self.read, item)))
                if len(pending) >= 2 * workers:
                    break
            while pending:
                item, future = pending.pop(0)
                try:
                    yield item, future.result()
                except MalformedObjectError as error:
                    yield item, error
                following = next(queue, None)
                if following is not None:
                    pending.append((following, pool.submit(self.read, following)))

    def _children(self, prefix: str) -> list[str]:
        children: list[str] = []
        for page in self._pages(Prefix=prefix, Delimiter="/"):
            children += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        return children

    def _keys(self, prefix: str) -> Iterator[tuple[str, int]]:
        for page in self._pages(Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"], int(item.get("Size", 0))

    def _pages(self, **arguments: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.location.bucket, **arguments):
            self.list_requests += 1
            yield page


def parse_object(
    chunks: Iterable[bytes], max_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES
) -> list[Any]:
    """The `Records` of a trail object's bytes (in chunks); MalformedObjectError says what is
    wrong, ObjectTooLargeError that it gunzips to more than `max_bytes`."""
    try:
        text = gunzip(chunks, max_bytes)
    except (EOFError, zlib.error) as error:
        raise MalformedObjectError(f"not a whole gzip file ({error})") from None
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise MalformedObjectError(f"not JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("Records"), list):
        raise MalformedObjectError('not a CloudTrail log: no "Records" list')
    records: list[Any] = document["Records"]
    return records


def gunzip(chunks: Iterable[bytes], max_bytes: int) -> bytearray:
    """Every gzip member of `chunks`, decompressed as `gzip.decompress` does (NUL padding
    after a member skipped), holding no more than `max_bytes + 1` bytes of output."""
    text = bytearray()
    member, started = zlib.decompressobj(wbits=_GZIP), False
    for chunk in chunks:
        while chunk:
            if member.eof:
                chunk = chunk.lstrip(b"\x00")
                if not chunk:
                    break
                member = zlib.decompressobj(wbits=_GZIP)
            text += member.decompress(chunk, max_bytes + 1 - len(text))
            if len(text) > max_bytes:
                raise ObjectTooLargeError(f"over {max_bytes} bytes uncompressed")
            chunk = member.unused_data if member.eof else member.unconsumed_tail
            started = True
    if started and not member.eof:
        raise EOFError("compressed data ended before the end-of-stream marker")
    return text
