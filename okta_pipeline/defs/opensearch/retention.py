"""`okta_index_retention`: delete Okta indices past retention, daily."""

from datetime import timedelta

import dagster as dg

from okta_pipeline.defs.asset_attributes import HOLDS_NO_PERSONAL_DATA, OWNERS, RETENTION_VERSION
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.window_results import without_empty
from okta_pipeline.lib.opensearch.index_setup import delete_expired_indices, ensure_retention_policy


@dg.asset(
    group_name="opensearch",
    kinds={"opensearch"},
    owners=OWNERS,
    tags=HOLDS_NO_PERSONAL_DATA,
    code_version=RETENTION_VERSION,
    automation_condition=dg.AutomationCondition.on_cron("30 3 * * *"),
)
def okta_index_retention(
    context: dg.AssetExecutionContext, opensearch: OpenSearchResource
) -> dg.MaterializeResult:
    """A row is one daily Okta index deleted past retention. Applies the ISM retention policy
    (where the cluster has Index Management) and deletes daily indices whose name date is past
    retention, which also catches backfilled indices that ISM would keep because they were
    created recently."""
    client = opensearch.client()
    prefix, days = opensearch.index_prefix, opensearch.retention_days
    policy = ensure_retention_policy(client, prefix, timedelta(days=days))
    if policy.startswith("unavailable"):
        context.log.warning(f"ISM policy not applied ({policy}); deleting by index name date only")
    deleted = delete_expired_indices(client, prefix, days)
    return dg.MaterializeResult(
        metadata=without_empty(
            {"ism_policy": policy, "retention_days": days, "deleted_indices": deleted}
        )
    )
