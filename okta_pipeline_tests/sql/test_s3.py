"""The views over an S3 landing zone, against a local S3 on a real socket: a range downloads
only its windows, and the command reads S3 through the endpoint it is given."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from okta_pipeline.cli.main import main
from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.landing.storage import S3Storage
from okta_pipeline.lib.landing_sql.landed_files import WindowRange
from okta_pipeline.lib.landing_sql.views import open_landing
from okta_pipeline_tests.sql.landings import (
    land_records,
    land_simulated,
    shape_varying_records,
    write_damaged,
)
from okta_pipeline_tests.storage.local_s3 import CREDENTIALS, LocalS3, running_s3

START = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
PREFIX = "team/landing"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalS3]:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with running_s3() as local:
        yield local


def storage(s3: LocalS3) -> S3Storage:
    return S3Storage(s3.bucket, PREFIX, client=s3.client())


def object_sizes(s3: LocalS3) -> dict[str, int]:
    pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=s3.bucket)
    return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}


def test_a_range_downloads_only_its_windows(s3: LocalS3, tmp_path: Path) -> None:
    landed = land_simulated(storage(s3), START - 3 * WINDOW, START + 4 * WINDOW)
    land_simulated(storage(s3), START - timedelta(days=1), START - timedelta(days=1) + WINDOW)
    land_records(storage(s3), shape_varying_records(START))
    LandingZone(storage(s3)).write_unplaceable(START, START + WINDOW, [{"uuid": "x"}])
    damaged = tmp_path / "damaged.jsonl.gz"
    write_damaged(damaged)
    storage(s3).put_file("okta_system_log/_damaged/dt=2026-12-01/13-05-0123.jsonl.gz", damaged)
    since, until = START, START + 2 * WINDOW
    sizes = object_sizes(s3)

    with open_landing(f"s3://{s3.bucket}/{PREFIX}", WindowRange(since, until), s3.client()) as db:
        okta = dict(
            db.connection.execute(
                "SELECT window_start, count(*) FROM okta_events GROUP BY ALL"
            ).fetchall()
        )
        uuids = {row[0] for row in db.connection.execute("SELECT uuid FROM okta_events").fetchall()}
        cloudtrail = db.connection.execute("SELECT count(*) FROM cloudtrail_events").fetchone()
        files = db.files
        downloaded = sorted(p.relative_to(db.scratch).as_posix() for p in db.scratch.rglob("*.gz"))
        scratch = db.scratch
    windows = [START, START + WINDOW]
    assert okta == {w: len(landed[w]) for w in windows}
    assert uuids == {e["uuid"] for w in windows for e in landed[w]}
    assert cloudtrail == (4,)
    assert files["okta_events"].windows == windows == files["cloudtrail_events"].windows
    expected = [
        f"{dataset}/dt=2026-12-01/{w:%H-%M}.jsonl.gz"
        for dataset in ("cloudtrail_events", "okta_system_log")
        for w in windows
    ]
    assert downloaded == expected, "only the range's windows are downloaded"
    assert sum(f.downloaded_bytes for f in files.values()) == sum(
        sizes[f"{PREFIX}/{key}"] for key in expected
    )
    assert not scratch.exists(), "the downloads are removed with the connection"


def test_everything_landed_without_a_range(s3: LocalS3) -> None:
    landed = land_simulated(storage(s3), START, START + 3 * WINDOW)
    with open_landing(f"s3://{s3.bucket}/{PREFIX}", s3_client=s3.client()) as db:
        count = db.connection.execute("SELECT count(*) FROM okta_events").fetchone()
        assert db.files["cloudtrail_events"].windows == []
    assert count == (sum(len(e) for e in landed.values()),)


def test_the_command_reads_s3_through_its_endpoint(
    s3: LocalS3, capsys: pytest.CaptureFixture[str]
) -> None:
    land_simulated(storage(s3), START, START + 2 * WINDOW)
    records = shape_varying_records(START)
    land_records(storage(s3), records)
    code = main(
        [
            "sql",
            "--landing",
            f"s3://{s3.bucket}/{PREFIX}",
            "--s3-endpoint-url",
            s3.endpoint_url,
            "--since",
            "2026-12-01T13:05",
            "--format",
            "json",
            "SELECT event_id, raw FROM cloudtrail_events ORDER BY event_id",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = [json.loads(line) for line in captured.out.splitlines()]
    later = [r for r in records if r["eventTime"] >= "2026-12-01T13:05"]
    assert [r["raw"] for r in rows] == sorted(later, key=lambda r: str(r["eventID"]))
    assert f"from s3://{s3.bucket}/{PREFIX}/" in captured.err
    assert "okta_events 1 window, cloudtrail_events 2 windows" in captured.err
    assert "MB downloaded" in captured.err
