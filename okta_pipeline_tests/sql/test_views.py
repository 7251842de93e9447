"""The views over a landing directory: every landed record once, in its window, whole; records
whose fields change type; empty datasets; files that are not windows; window ranges."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.landing_sql.landed_files import WindowRange, window_of
from okta_pipeline.lib.landing_sql.views import CLOUDTRAIL_COLUMNS, OKTA_COLUMNS, open_landing
from okta_pipeline_tests.sql.landings import (
    land_records,
    land_simulated,
    shape_varying_records,
    write_damaged,
)

START = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def test_okta_events_hold_every_landed_event_once_in_its_window(tmp_path: Path) -> None:
    landed = land_simulated(tmp_path, START, START + 6 * WINDOW)
    with open_landing(tmp_path) as db:
        per_window = db.connection.execute(
            "SELECT window_start, count(*) FROM okta_events GROUP BY ALL"
        ).fetchall()
        rows = db.connection.execute("SELECT uuid, published, window_start, raw FROM okta_events")
        found = rows.fetchall()
    assert dict(per_window) == {w: len(events) for w, events in landed.items()}
    assert len(landed) == 6 and sum(len(e) for e in landed.values()) > 300
    events = {e["uuid"]: e for window in landed.values() for e in window}
    assert len(found) == len(events)
    for uuid, published, window, raw in found:
        assert json.loads(raw) == events[uuid], "the raw event is what was landed"
        assert window <= published < window + WINDOW


def test_okta_columns_are_typed_and_match_the_raw_event(tmp_path: Path) -> None:
    land_simulated(tmp_path, START, START + WINDOW)
    with open_landing(tmp_path) as db:
        described = db.connection.execute("DESCRIBE okta_events").fetchall()
        types = {row[0]: row[1] for row in described}
        cursor = db.connection.execute(
            "SELECT uuid, published, event_type, actor_login, client_ip, session_id, outcome, "
            "target, raw FROM okta_events"
        )
        rows = cursor.fetchall()
    assert list(types) == list(OKTA_COLUMNS)
    assert types["published"] == "TIMESTAMP WITH TIME ZONE" and types["raw"] == "JSON"
    for uuid, published, event_type, login, ip, session, outcome, target, raw in rows:
        event = json.loads(raw)
        assert uuid == event["uuid"] and event_type == event["eventType"]
        assert (
            published.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            == (event["published"])
        )
        assert login == event["actor"]["alternateId"]
        assert ip == event["client"]["ipAddress"]
        assert session == event["authenticationContext"]["externalSessionId"]
        assert outcome == event["outcome"]["result"]
        expected = [
            {k: t[k] for k in ("id", "type", "alternateId", "displayName")}
            for t in event["target"] or []
        ]
        assert (target or []) == expected


def test_cloudtrail_fields_that_change_type_never_break_the_view(tmp_path: Path) -> None:
    records = shape_varying_records(START)
    landed = land_records(tmp_path, records)
    with open_landing(tmp_path) as db:
        per_window = db.connection.execute(
            "SELECT window_start, count(*) FROM cloudtrail_events GROUP BY ALL"
        ).fetchall()
        cursor = db.connection.execute(
            "SELECT event_id, role_session_name, role_arn, request_parameters, "
            "response_elements, raw FROM cloudtrail_events"
        )
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    assert dict(per_window) == dict(landed) and sum(landed.values()) == len(records)
    by_id = {r["eventID"]: r for r in records}
    for event_id, (_, _, request, response, raw) in rows.items():
        assert json.loads(raw) == by_id[event_id]
        for column, field in ((request, "requestParameters"), (response, "responseElements")):
            original = by_id[event_id][field]
            assert (None if column is None else json.loads(column)) == original
    assert rows["vary-object"][:2] == ("deploy-1", "arn:aws:iam::1:role/Deploy")
    for other in ("vary-null", "vary-string", "vary-nested-object", "vary-number"):
        assert rows[other][:2] == (None, None), "only a string is a role session name or ARN"


def test_records_sharing_a_second_are_all_kept(tmp_path: Path) -> None:
    records = shape_varying_records(START)
    land_records(tmp_path, records)
    with open_landing(tmp_path) as db:
        same_second = db.connection.execute(
            "SELECT event_time, list(event_id ORDER BY event_id) FROM cloudtrail_events "
            "GROUP BY event_time HAVING count(*) > 1 ORDER BY event_time"
        ).fetchall()
    assert same_second == [
        (START + timedelta(minutes=1), ["vary-null", "vary-object"]),
        (START + WINDOW, ["vary-nested-object", "vary-string"]),
    ]


def test_a_dataset_with_nothing_landed_is_an_empty_view_with_the_same_columns(
    tmp_path: Path,
) -> None:
    land_simulated(tmp_path, START, START + WINDOW)
    with open_landing(tmp_path) as db:
        described = db.connection.execute("DESCRIBE cloudtrail_events").fetchall()
        count = db.connection.execute("SELECT count(*) FROM cloudtrail_events").fetchone()
        joined = db.connection.execute(
            "SELECT count(*) FROM okta_events o JOIN cloudtrail_events c "
            "ON c.caller_session_name = o.actor_login"
        ).fetchone()
    assert [row[0] for row in described] == list(CLOUDTRAIL_COLUMNS)
    assert {row[0]: row[1] for row in described}["event_time"] == "TIMESTAMP WITH TIME ZONE"
    assert count == (0,) and joined == (0,)
    with open_landing(tmp_path / "nothing-here") as db:
        assert db.connection.execute("SELECT count(*) FROM okta_events").fetchone() == (0,)


def test_only_window_files_are_read(tmp_path: Path) -> None:
    """Dead letters, damaged files set aside, unplaceable events, lock files and stray files sit
    beside the windows; reading any of them would fail or count events twice."""
    landed = land_simulated(tmp_path, START, START + WINDOW)
    zone = LandingZone(tmp_path)
    zone.write_unplaceable(START, START + WINDOW, [{"uuid": "unplaceable", "published": "x"}])
    base = tmp_path / "okta_system_log"
    write_damaged(base / "_damaged" / "dt=2026-12-01" / "13-00-0123456789ab.jsonl.gz")
    write_damaged(tmp_path / "_dead_letter" / "okta-logs" / "20261201T1300.jsonl.gz")
    write_damaged(base / "_dead_letter" / "dt=2026-12-01" / "13-00.jsonl.gz")
    write_damaged(base / "dt=2026-12-01" / "notes.jsonl.gz")
    write_damaged(base / "dt=2026-12-01" / ".13-05.jsonl.gz.tmp1234")
    assert (base / "dt=2026-12-01" / "13-00.jsonl.gz.lock").is_file()
    with open_landing(tmp_path) as db:
        count = db.connection.execute("SELECT count(*) FROM okta_events").fetchone()
        assert db.files["okta_events"].windows == [START]
    assert count == (len(landed[START]),)


def test_a_window_range_reads_only_its_windows(tmp_path: Path) -> None:
    landed = land_simulated(tmp_path, START - 2 * WINDOW, START + 4 * WINDOW)
    land_records(tmp_path, shape_varying_records(START))
    since, until = START, START + 2 * WINDOW
    with open_landing(tmp_path, WindowRange(since, until)) as db:
        okta = dict(
            db.connection.execute(
                "SELECT window_start, count(*) FROM okta_events GROUP BY ALL"
            ).fetchall()
        )
        cloudtrail = db.connection.execute("SELECT count(*) FROM cloudtrail_events").fetchone()
        assert db.files["okta_events"].windows == [START, START + WINDOW]
    assert okta == {w: len(landed[w]) for w in (START, START + WINDOW)}
    assert cloudtrail == (4,), "the third window's record is past --until"


def test_window_ranges_and_window_files() -> None:
    assert window_of("okta_system_log/dt=2026-12-01/13-05.jsonl.gz") == START + WINDOW
    assert window_of("p/cloudtrail_events/dt=2026-12-01/23-55.jsonl.gz") == datetime(
        2026, 12, 1, 23, 55, tzinfo=UTC
    )
    for not_a_window in (
        "okta_system_log/dt=2026-12-01/13-03.jsonl.gz",
        "okta_system_log/dt=2026-12-01/13-05.jsonl.gz.lock",
        "okta_system_log/dt=2026-13-01/13-05.jsonl.gz",
        "okta_system_log/_unplaceable/20261201T1300-20261201T1400.jsonl.gz",
    ):
        assert window_of(not_a_window) is None, not_a_window
    span = WindowRange(START, START + WINDOW)
    assert START in span and START + WINDOW not in span and START - WINDOW not in span
    assert span.may_hold_day("2026-12-01") and not span.may_hold_day("2026-11-30")
    with pytest.raises(ValueError, match="must be before"):
        WindowRange(START, START)
    with pytest.raises(ValueError, match="aligned"):
        WindowRange(START + timedelta(minutes=1))


def test_cloudtrail_per_window_counts_match_a_day_of_landed_records(tmp_path: Path) -> None:
    records = []
    for minute in range(0, 24 * 60, 7):
        at = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=minute, seconds=minute % 60)
        records.append(
            {
                "eventID": f"e-{minute}",
                "eventTime": at.isoformat().replace("+00:00", "Z"),
                "eventName": "ListBuckets",
                "eventSource": "s3.amazonaws.com",
                "requestParameters": None if minute % 2 else {"Host": "s3.amazonaws.com"},
            }
        )
    landed = land_records(tmp_path, records)
    with open_landing(tmp_path) as db:
        per_window = db.connection.execute(
            "SELECT window_start, count(*) FROM cloudtrail_events GROUP BY ALL"
        ).fetchall()
    assert Counter(dict(per_window)) == landed
