"""The OpenObserve sink: landed windows shipped by `openobserve_okta_logs` over a real socket to a
stand-in keeping OpenObserve's request and response shapes and its ingest horizon; and, when
OPENOBSERVE_URL names a server, to that server."""

from __future__ import annotations

import gzip
import json
import logging
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest

from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.range_load import PARITY
from okta_pipeline.defs.sinks.assets import openobserve_okta_logs
from okta_pipeline.defs.sinks.resources import OpenObserveResource
from okta_pipeline.defs.sinks.shipping import ALL_ACCEPTED
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.okta_simulator.log_stream import ExtendableSource
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg, StoredEvent
from okta_pipeline.lib.sinks.openobserve import OpenObserveDestination
from okta_pipeline.lib.standins.openobserve import OpenObserveStandIn
from okta_pipeline_tests.okta.helpers import TOKEN, range_tags, recent_window, running_simulator
from okta_pipeline_tests.run_results import check_results

USER, PASSWORD = "pipeline@example.com", "stand-in-password-never-logged"


def resources(
    base_url: str, landing: Path, openobserve_url: str, **settings: Any
) -> dict[str, Any]:
    return {
        "okta": OktaResource(base_url=base_url, api_token=TOKEN, backoff_seconds=0.01),
        "landing": LandingZoneResource(root=str(landing)),
        "openobserve": OpenObserveResource(
            url=openobserve_url, user=USER, password=PASSWORD, **settings
        ),
    }


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_every_landed_event_is_stored_once_and_only_late_events_are_sent_again(
    tmp_path: Path,
) -> None:
    start, end = recent_window(hours_ago=1, span=timedelta(hours=2))
    source = ExtendableSource(SimulatedOrg(seed=103, events_per_minute=10))
    zone = LandingZone(tmp_path / "landing")
    instance = dg.DagsterInstance.ephemeral()
    with OpenObserveStandIn(USER, PASSWORD) as openobserve:
        with running_simulator(source=source) as (_, base_url):
            given = resources(base_url, tmp_path / "landing", openobserve.base_url)
            first = dg.materialize(
                [okta_system_log, openobserve_okta_logs],
                resources=given,
                tags=range_tags(start, end),
                instance=instance,
            )
            assert first.success
            uuids = [e["uuid"] for e in zone.iter_window_events(start, end)]
            assert len(uuids) > 200 and set(openobserve.stored) == set(uuids)
            assert set(openobserve.stored.values()) == {1}
            assert check_results(first)[PARITY].passed
            assert check_results(first)[ALL_ACCEPTED].passed
            stored = openobserve.records[("default", "okta")]
            by_uuid = {r["uuid"]: r for r in stored}
            event = zone.read_window(start)[0]
            published = datetime.fromisoformat(event["published"].replace("Z", "+00:00"))
            assert by_uuid[event["uuid"]]["_timestamp"] == int(published.timestamp() * 1e6)
            assert {k: v for k, v in by_uuid[event["uuid"]].items() if k != "_timestamp"} == event

            calls = openobserve.calls
            again = dg.materialize(
                [okta_system_log, openobserve_okta_logs],
                resources=given,
                tags=range_tags(start, end),
                instance=instance,
            )
            assert again.success and openobserve.calls == calls

            window = start + 7 * WINDOW
            late = []
            for n, template in enumerate(zone.read_window(window)[:2]):
                event = {**template, "uuid": f"late-event-{n:02d}"}
                moment = ms(datetime.fromisoformat(event["published"].replace("Z", "+00:00")))
                source.append(StoredEvent(moment, event["uuid"], moment, event))
                late.append(event["uuid"])
            refetched = dg.materialize(
                [okta_system_log, openobserve_okta_logs],
                resources=given,
                partition_key=window.strftime("%Y-%m-%d-%H:%M"),
                instance=instance,
            )
        assert refetched.success and openobserve.calls == calls + 1
        assert set(openobserve.stored) == set(uuids) | set(late)
        assert set(openobserve.stored.values()) == {1}


def test_a_backfill_past_the_ingest_horizon_says_so_before_sending_and_sends_once_raised(
    tmp_path: Path,
) -> None:
    start, end = recent_window(hours_ago=5.5, span=timedelta(hours=1))
    zone = LandingZone(tmp_path / "landing")
    instance = dg.DagsterInstance.ephemeral()
    with running_simulator(source=SimulatedOrg(seed=107, events_per_minute=10)) as (_, okta):
        with OpenObserveStandIn(USER, PASSWORD) as openobserve:
            refused = dg.materialize(
                [okta_system_log, openobserve_okta_logs],
                resources=resources(okta, tmp_path / "landing", openobserve.base_url),
                tags=range_tags(start, end),
                instance=instance,
                raise_on_error=False,
            )
            horizon = datetime.now(UTC) - timedelta(hours=5)
            older = {e["uuid"] for e in zone.iter_window_events(start, end) if _at(e) < horizon}
            assert older and not older & set(openobserve.stored)  # never sent to be refused
            stamps = [r["_timestamp"] for r in openobserve.records.get(("default", "okta"), [])]
            assert all(int(stamp) >= horizon.timestamp() * 1e6 - 60e6 for stamp in stamps)
        parity = check_results(refused)[PARITY]
        assert not refused.success and not parity.passed  # the blocking check holds them back
        assert "ZO_INGEST_ALLOWED_UPTO" in parity.description
        warnings = [
            e.message
            for e in instance.all_logs(refused.run_id)
            if e.level == logging.WARNING and "ingest horizon" in e.message
        ]
        assert warnings, "the run said so before sending"

        # the server's horizon raised to a day, and this side to match: they are sent, once
        with OpenObserveStandIn(USER, PASSWORD, ingest_allowed_upto_hours=24) as raised:
            sent = dg.materialize(
                [openobserve_okta_logs],
                resources=resources(
                    okta, tmp_path / "landing", raised.base_url, ingest_allowed_upto_hours=24
                ),
                tags=range_tags(start, end),
                instance=instance,
            )
            assert sent.success and older <= set(raised.stored)
            assert check_results(sent)[PARITY].passed


def test_a_server_horizon_shorter_than_configured_is_counted_not_resent(tmp_path: Path) -> None:
    start, end = recent_window(hours_ago=1.5, span=WINDOW)
    with (
        running_simulator(source=SimulatedOrg(seed=109, events_per_minute=20)) as (_, okta),
        OpenObserveStandIn(USER, PASSWORD, ingest_allowed_upto_hours=1) as openobserve,
    ):
        given = resources(okta, tmp_path / "landing", openobserve.base_url)
        shipped = dg.materialize(
            [okta_system_log, openobserve_okta_logs],
            resources=given,
            tags=range_tags(start, end),
        )
        calls = openobserve.calls
        again = dg.materialize(
            [openobserve_okta_logs], resources=given, tags=range_tags(start, end)
        )
        assert again.success and openobserve.calls == calls  # nothing stored twice
    assert shipped.success
    landed = LandingZone(tmp_path / "landing").read_window(start)
    refused = check_results(shipped)[ALL_ACCEPTED]
    assert not refused.passed and "Too old data" in refused.description
    assert refused.metadata["dead_lettered"].value == len(landed) - len(openobserve.stored)
    assert check_results(shipped)[PARITY].passed
    (dead,) = (tmp_path / "landing" / "_dead_letter" / "openobserve").glob("*.jsonl.gz")
    with gzip.open(dead, "rt") as lines:
        letters = [json.loads(line) for line in lines]
    assert {letter["event"]["uuid"] for letter in letters} == {e["uuid"] for e in landed}
    assert all(letter["reason"].startswith("PartialRefusal") for letter in letters)


def test_refused_credentials_fail_the_blocking_check_naming_them(tmp_path: Path) -> None:
    start, end = recent_window(hours_ago=1, span=WINDOW)
    instance = dg.DagsterInstance.ephemeral()
    with (
        running_simulator(source=SimulatedOrg(seed=113, events_per_minute=10)) as (_, okta),
        OpenObserveStandIn(USER, "the-rotated-password") as openobserve,
    ):
        shipped = dg.materialize(
            [okta_system_log, openobserve_okta_logs],
            resources=resources(okta, tmp_path / "landing", openobserve.base_url),
            tags=range_tags(start, end),
            instance=instance,
            raise_on_error=False,
        )
    assert not shipped.success and not openobserve.stored
    parity = check_results(shipped)[PARITY]
    assert "HTTP 401" in parity.description
    assert "OPENOBSERVE_USER / OPENOBSERVE_PASSWORD" in parity.description
    records = instance.get_records_for_run(shipped.run_id).records
    assert all(PASSWORD not in dg.serialize_value(r.event_log_entry) for r in records)


def test_an_unavailable_server_is_retried_and_the_window_lands(tmp_path: Path) -> None:
    start, end = recent_window(hours_ago=1, span=WINDOW)
    with (
        running_simulator(source=SimulatedOrg(seed=127, events_per_minute=10)) as (_, okta),
        OpenObserveStandIn(USER, PASSWORD) as openobserve,
    ):
        given = resources(okta, tmp_path / "landing", openobserve.base_url)
        assert dg.materialize(
            [okta_system_log], resources=given, tags=range_tags(start, end)
        ).success
        openobserve.fail_next(3, 503)
        shipped = dg.materialize(
            [openobserve_okta_logs], resources=given, tags=range_tags(start, end)
        )
    landed = LandingZone(tmp_path / "landing").read_window(start)
    assert shipped.success and set(openobserve.stored) == {e["uuid"] for e in landed}
    assert openobserve.calls == 1 and len(openobserve.requests) == 4


@pytest.mark.skipif(
    not os.environ.get("OPENOBSERVE_URL"),
    reason="set OPENOBSERVE_URL, OPENOBSERVE_USER and OPENOBSERVE_PASSWORD to run against a "
    "real OpenObserve",
)
def test_a_real_openobserve_takes_a_window(tmp_path: Path) -> None:  # pragma: no cover
    start, end = recent_window(hours_ago=1, span=WINDOW)
    stream = f"okta_pipeline_test_{uuid.uuid4().hex[:8]}"
    url = os.environ["OPENOBSERVE_URL"]
    organization = os.environ.get("OPENOBSERVE_ORG", "default")
    with running_simulator(source=SimulatedOrg(seed=131, events_per_minute=10)) as (_, okta):
        shipped = dg.materialize(
            [okta_system_log, openobserve_okta_logs],
            resources={
                "okta": OktaResource(base_url=okta, api_token=TOKEN),
                "landing": LandingZoneResource(root=str(tmp_path / "landing")),
                "openobserve": OpenObserveResource(
                    url=url,
                    organization=organization,
                    stream=stream,
                    user=os.environ["OPENOBSERVE_USER"],
                    password=os.environ["OPENOBSERVE_PASSWORD"],
                ),
            },
            tags=range_tags(start, end),
        )
    assert shipped.success and check_results(shipped)[ALL_ACCEPTED].passed
    landed = LandingZone(tmp_path / "landing").read_window(start)
    search = httpx.post(
        f"{url.rstrip('/')}/api/{organization}/_search",
        auth=(os.environ["OPENOBSERVE_USER"], os.environ["OPENOBSERVE_PASSWORD"]),
        json={
            "query": {
                "sql": f'SELECT COUNT(DISTINCT uuid) AS n FROM "{stream}"',  # noqa: S608
                "start_time": int(start.timestamp() * 1e6),
                "end_time": int(end.timestamp() * 1e6),
            }
        },
    )
    assert search.json()["hits"][0]["n"] == len(landed)


def _at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["published"].replace("Z", "+00:00"))


def test_a_records_size_is_its_utf8_bytes_and_its_json_keeps_every_field() -> None:
    destination = OpenObserveDestination(httpx.Client(), "default", "okta")
    published = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for name in ("Ana Lopez", "Zoë Øvergård 山田"):
        event = {"uuid": str(uuid.uuid4()), "published": published, "actor": {"name": name}}
        line = json.dumps(event, ensure_ascii=False) + "\n"
        entry = destination.entry(event, line)
        body = str(entry.body)
        assert entry.size == len(body.encode())
        sent = json.loads(body)
        assert {k: v for k, v in sent.items() if k != "_timestamp"} == event
        assert sent["_timestamp"] == int(
            datetime.fromisoformat(published.replace("Z", "+00:00")).timestamp() * 1_000_000
        )
