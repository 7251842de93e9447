"""`opensearch_okta_logs`: the landed events of each window, indexed idempotently, with checks."""

from collections.abc import Iterator

import dagster as dg

from okta_pipeline.defs.asset_attributes import HOLDS_PERSONAL_DATA, OWNERS
from okta_pipeline.defs.okta.assets import DAY_OF_WINDOWS, okta_system_log
from okta_pipeline.defs.okta.automation import follow_upstream
from okta_pipeline.defs.opensearch.range_load import (
    LoadConfig,
    LoadTarget,
    load_check_specs,
    load_landed_range,
)
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.partitions import five_minute_partitions
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.defs.window_results import WindowEvent
from okta_pipeline.lib.landing import OKTA_EVENT
from okta_pipeline.lib.opensearch.bulk_loader import OKTA_LOGS
from okta_pipeline.lib.opensearch.index_setup import template_name
from okta_pipeline.lib.opensearch.okta_index import MAPPING_VERSION, index_template

# Follow every fetch: first fetches, lookback re-fetches, catch-ups and the daily re-fetch.
load_condition = follow_upstream()


@dg.asset(
    partitions_def=five_minute_partitions,
    deps=[okta_system_log],
    pool="opensearch",
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=DAY_OF_WINDOWS),
    automation_condition=load_condition,
    group_name="opensearch",
    kinds={"opensearch"},
    owners=OWNERS,
    tags=HOLDS_PERSONAL_DATA,
    code_version=f"mapping-{MAPPING_VERSION}",
    check_specs=load_check_specs("opensearch_okta_logs", OKTA_EVENT),
)
def opensearch_okta_logs(
    context: dg.AssetExecutionContext,
    config: LoadConfig,
    opensearch: OpenSearchResource,
    landing: LandingZoneResource,
) -> Iterator[WindowEvent]:
    """A row is one Okta event as a document of `okta-logs-YYYY.MM.DD` (the day of its
    `published`): `_id` = its uuid, `_source` = the raw event, searchable through the index's
    typed mapping. Re-runs and backfills converge to the same documents; a window whose landed
    file is unchanged since its last clean load, with its documents all still indexed, is not
    sent again."""
    target = LoadTarget(
        prefix=opensearch.index_prefix,
        source=OKTA_LOGS,
        template_name=template_name(opensearch.index_prefix),
        template=index_template,
        mapping_version=MAPPING_VERSION,
        run_tag="opensearch",
    )
    yield from load_landed_range(context, config, opensearch, landing.zone(), target)
