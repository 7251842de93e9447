"""A dataset's landed window files in a range of windows, as local paths DuckDB can read.

A directory's files are read where they are. An S3 prefix's are listed and only the windows in
the range downloaded to a scratch directory: DuckDB reads S3 through its `httpfs` extension,
which it downloads at run time from a host a locked-down network may not reach, while boto3 is
already here and honours the landing zone's endpoint. Only `dt=YYYY-MM-DD/HH-MM.jsonl.gz` files
are windows; `_dead_letter/`, `_damaged/`, `_unplaceable/` and lock files are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from okta_pipeline.lib.landing.storage import DirectoryStorage, LandingStorage, S3Storage
from okta_pipeline.lib.windows import window_start

WINDOW_FILE = re.compile(r"dt=(\d{4}-\d{2}-\d{2})/(\d{2})-(\d{2})\.jsonl\.gz$")
DOWNLOAD_THREADS = 8


@dataclass(frozen=True)
class WindowRange:
    """Windows whose start is in [since, until); an open end reaches everything landed."""

    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        for bound in (self.since, self.until):
            if bound is not None and (bound.tzinfo is None or bound != window_start(bound)):
                raise ValueError(f"{bound} is not an aware, 5-minute aligned UTC time")
        if self.since and self.until and self.since >= self.until:
            raise ValueError(f"since ({self.since:%Y-%m-%d %H:%M}) must be before until")

    def __contains__(self, window: datetime) -> bool:
        return (self.since is None or window >= self.since) and (
            self.until is None or window < self.until
        )

    def may_hold_day(self, day: str) -> bool:
        """Whether a `dt=` day (YYYY-MM-DD) can hold a window of the range."""
        return (self.since is None or day >= f"{self.since:%Y-%m-%d}") and (
            self.until is None or day <= f"{self.until:%Y-%m-%d}"
        )


@dataclass(frozen=True)
class LandedFiles:
    dataset: str
    paths: list[Path] = field(default_factory=list)
    """Local files, one per window, in window order."""
    windows: list[datetime] = field(default_factory=list)
    downloaded_bytes: int = 0
    """What was downloaded from S3 to read them (0 for a directory)."""


def window_of(key: str) -> datetime | None:
    """The window a landed key or path holds (its start), or None when it is not a window."""
    match = WINDOW_FILE.search(key)
    if match is None:
        return None
    day, hour, minute = match.groups()
    try:
        moment = datetime.strptime(f"{day} {hour}:{minute}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment if moment == window_start(moment) else None


def landed_files(
    storage: LandingStorage, dataset: str, windows: WindowRange, scratch: Path
) -> LandedFiles:
    """The dataset's window files in `windows`; files from S3 are downloaded under `scratch`."""
    if isinstance(storage, DirectoryStorage):
        return _directory_files(storage.root, dataset, windows)
    if isinstance(storage, S3Storage):
        return _s3_files(storage, dataset, windows, scratch)
    raise TypeError(f"cannot list a landing zone kept in {type(storage).__name__}")


def _directory_files(root: Path, dataset: str, windows: WindowRange) -> LandedFiles:
    found: dict[datetime, Path] = {}
    base = root / dataset
    days = sorted(base.glob("dt=*")) if base.is_dir() else []
    for day in days:
        if not windows.may_hold_day(day.name.removeprefix("dt=")):
            continue
        for path in day.glob("*.jsonl.gz"):
            window = window_of(f"{day.name}/{path.name}")
            if window is not None and window in windows:
                found[window] = path
    ordered = sorted(found)
    return LandedFiles(dataset, [found[w] for w in ordered], ordered)


def _s3_files(storage: S3Storage, dataset: str, windows: WindowRange, scratch: Path) -> LandedFiles:
    keys = dict(_s3_window_keys(storage, dataset, windows))
    ordered = sorted(keys)
    paths = [scratch / dataset / _relative(keys[w]) for w in ordered]

    def download(pair: tuple[str, Path]) -> int:
        key, path = pair
        path.parent.mkdir(parents=True, exist_ok=True)
        body = storage.client.get_object(Bucket=storage.bucket, Key=key)["Body"]
        with body:
            data = body.read()
        path.write_bytes(data)
        return len(data)

    with ThreadPoolExecutor(max_workers=DOWNLOAD_THREADS) as pool:
        sizes = list(
            pool.map(download, [(keys[w], p) for w, p in zip(ordered, paths, strict=True)])
        )
    return LandedFiles(dataset, paths, ordered, sum(sizes))


def _s3_window_keys(
    storage: S3Storage, dataset: str, windows: WindowRange
) -> Iterator[tuple[datetime, str]]:
    """List only from the range's first day on, and stop after its last (keys come sorted)."""
    listing = {"Bucket": storage.bucket, "Prefix": storage.key(f"{dataset}/dt=")}
    if windows.since is not None:
        listing["StartAfter"] = storage.key(f"{dataset}/dt={windows.since:%Y-%m-%d}")
    for page in storage.client.get_paginator("list_objects_v2").paginate(**listing):
        for item in page.get("Contents", []):
            key = str(item["Key"])
            window = window_of(key)
            if window is None:
                continue
            if windows.until is not None and window >= windows.until:
                return
            if window in windows:
                yield window, key


def _relative(key: str) -> str:
    match = WINDOW_FILE.search(key)
    assert match is not None
    return match.group(0)
