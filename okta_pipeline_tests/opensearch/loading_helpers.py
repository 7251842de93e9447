"""Loading helpers shared by the OpenSearch tests: land events, run the asset, read back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from opensearchpy import OpenSearch, TransportError

from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.landing import WINDOW, Event, LandingZone, split_into_windows
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline_tests.okta.helpers import PARTITION_FORMAT, range_tags
from okta_pipeline_tests.run_results import RangeCheck, check_results, window_metadata

FETCHED_AT = datetime.now(UTC)


def resource(endpoint: OpenSearchSettings, prefix: str, **overrides: Any) -> OpenSearchResource:
    return OpenSearchResource(
        url=endpoint.url,
        username=endpoint.username,
        password=endpoint.password,
        ca_certs=endpoint.ca_certs,
        index_prefix=prefix,
        **overrides,
    )


def land(root: Path, org: SimulatedOrg, start: datetime, end: datetime) -> list[Event]:
    window = (int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    events = [s.event for s in org.published_between(*window)]
    split_into_windows(LandingZone(root), events, start, end, FETCHED_AT)
    return events


def load(
    endpoint: OpenSearchSettings,
    prefix: str,
    root: Path,
    start: datetime,
    end: datetime,
    instance: dg.DagsterInstance | None = None,
    reload_unchanged_windows: bool = False,
) -> dg.ExecuteInProcessResult:
    """Run the load over [start, end), in `instance` when given (where earlier loads are)."""
    resources = {
        "opensearch": resource(endpoint, prefix),
        "landing": LandingZoneResource(root=str(root)),
    }
    run_config = {
        "ops": {
            "opensearch_okta_logs": {
                "config": {"reload_unchanged_windows": reload_unchanged_windows}
            }
        },
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    partitions: dict[str, Any] = (
        {"partition_key": start.strftime(PARTITION_FORMAT)}
        if end - start == WINDOW
        else {"tags": range_tags(start, end)}
    )
    return dg.materialize(
        [opensearch_okta_logs],
        instance=instance,
        resources=resources,
        run_config=run_config,
        raise_on_error=False,
        **partitions,
    )


def metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """The load's totals over the run's windows, from each window's own metadata."""
    windows = window_metadata(result, "opensearch_okta_logs").values()
    sent = [w for w in windows if w["sent_this_run"]]
    return {
        "indexed": sum(w["window_indexed"] for w in sent),
        "unchanged": sum(w["window_unchanged"] for w in sent),
        "dead_lettered": sum(w["window_dead_lettered"] for w in sent),
        "documents": sum(w["dagster/partition_row_count"] for w in windows),
        "windows_not_sent_again": len(windows) - len(sent),
        "dead_letter_file": next(
            (w["dead_letter_file"] for w in sent if "dead_letter_file" in w), None
        ),
    }


def checks(result: dg.ExecuteInProcessResult) -> dict[str, RangeCheck]:
    return check_results(result)


def stored_sources(client: OpenSearch, prefix: str, events: list[Event]) -> dict[str, Any]:
    client.indices.refresh(index=f"{prefix}-*")
    found: dict[str, Any] = {}
    for start in range(0, len(events), 500):
        batch = events[start : start + 500]
        response = client.search(
            index=f"{prefix}-*",
            body={"size": len(batch), "query": {"ids": {"values": [e["uuid"] for e in batch]}}},
        )
        found.update({hit["_id"]: hit["_source"] for hit in response["hits"]["hits"]})
    return found


def some_indexed(client: OpenSearch, prefix: str) -> bool:
    """Whether a load running beside the test has indexed anything yet. An index it has just
    created answers 503 until its shard starts: nothing yet."""
    try:
        return count(client, prefix) > 0
    except TransportError as error:
        if error.status_code == 503:
            return False
        raise


def count(client: OpenSearch, prefix: str) -> int:
    client.indices.refresh(index=f"{prefix}-*", params={"ignore_unavailable": "true"})
    response = client.count(
        index=f"{prefix}-*", params={"ignore_unavailable": "true", "allow_no_indices": "true"}
    )
    return int(response["count"])
