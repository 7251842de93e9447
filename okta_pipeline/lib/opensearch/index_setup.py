"""Idempotent setup of the Okta indices: the template, retention, and clean-up by name date."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from opensearchpy import OpenSearch

from okta_pipeline.lib.opensearch.okta_index import (
    MAPPING_VERSION,
    TEMPLATE_NAME,
    daily_indices,
    index_template,
)
from okta_pipeline.lib.spec_hash import spec_hash

ISM_PLUGIN = "opensearch-index-management"


def template_name(prefix: str) -> str:
    return TEMPLATE_NAME if prefix == TEMPLATE_NAME else f"{TEMPLATE_NAME}-{prefix}"


def managed_template_name(prefix: str) -> str:
    """The template of a prefix the project keeps beside Okta's (CloudTrail, the identity
    links)."""
    return f"okta-pipeline-{prefix}"


def drop_managed_prefix(client: OpenSearch, prefix: str) -> None:
    """Delete such a prefix's daily indices and its template (test and benchmark clean-up)."""
    client.indices.delete(index=daily_indices(prefix), params={"ignore_unavailable": "true"})
    client.indices.delete_index_template(name=managed_template_name(prefix), params={"ignore": 404})


def drop_prefix(client: OpenSearch, prefix: str) -> None:
    """Delete a prefix's daily indices, template and retention policy (test clean-up); a
    prefix that extends it (`okta-logs-dev` beside `okta-logs`) keeps its own."""
    client.indices.delete(index=daily_indices(prefix), params={"ignore_unavailable": "true"})
    client.indices.delete_index_template(name=template_name(prefix), params={"ignore": 404})
    if has_plugin(client, ISM_PLUGIN):
        policy = f"/_plugins/_ism/policies/{retention_policy_id(prefix)}"
        client.transport.perform_request("DELETE", policy, params={"ignore": 404})


def ensure_template(client: OpenSearch, prefix: str, shards: int = 1, replicas: int = 0) -> bool:
    """Put the Okta indices' template if it differs from the cluster's; True if changed."""
    return ensure_index_template(
        client, template_name(prefix), index_template(prefix, shards, replicas)
    )


def ensure_index_template(client: OpenSearch, name: str, desired: dict[str, Any]) -> bool:
    """Put a composable template if it differs from what the cluster has; True if changed."""
    # The cluster normalises what it stores (booleans become strings), so compare a hash of
    # the desired body, kept in the template's _meta.
    desired_hash = spec_hash(desired)
    current = _existing_template(client, name)
    if current is not None and current.get("_meta", {}).get("spec_hash") == desired_hash:
        return False
    desired["_meta"]["spec_hash"] = desired_hash
    client.indices.put_index_template(name=name, body=desired)
    return True


def _existing_template(client: OpenSearch, name: str) -> dict[str, Any] | None:
    if not client.indices.exists_index_template(name=name):
        return None
    found = client.indices.get_index_template(name=name)["index_templates"]
    return dict(found[0]["index_template"]) if found else None


def indices_with_older_mapping(
    client: OpenSearch, prefix: str, names: list[str], version: int = MAPPING_VERSION
) -> list[str]:
    """Those of `names` that exist and were created under an older template's mapping.

    Such an index keeps its mapping until it ages out or is reloaded: events of a shape that
    mapping cannot take are dead-lettered there.
    """
    if not names:
        return []
    mappings = client.indices.get_mapping(
        index=",".join(names), params={"ignore_unavailable": "true", "allow_no_indices": "true"}
    )
    return sorted(
        name
        for name, found in mappings.items()
        if found["mappings"].get("_meta", {}).get("mapping_version", 1) < version
    )


def has_plugin(client: OpenSearch, name: str) -> bool:
    plugins = client.cat.plugins(format="json")
    return any(p.get("component") == name for p in plugins)


def ism_age(age: timedelta) -> str:
    """An ISM `min_index_age` ("90d", "90m", "45s") for a whole number of seconds."""
    seconds = int(age.total_seconds())
    if seconds <= 0 or seconds != age.total_seconds():
        raise ValueError(f"retention must be a positive whole number of seconds, got {age}")
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def retention_policy_id(prefix: str) -> str:
    return f"{prefix}-retention"


def retention_policy(prefix: str, retention: timedelta) -> dict[str, Any]:
    """An ISM policy deleting `prefix-*` indices `retention` after creation.

    Its `ism_template` attaches it to every new index of the prefix: no index setting needed.
    """
    age = ism_age(retention)
    return {
        "policy": {
            "description": f"Delete {daily_indices(prefix)} indices {age} after creation",
            "default_state": "hot",
            "states": [
                {
                    "name": "hot",
                    "actions": [],
                    "transitions": [{"state_name": "delete", "conditions": {"min_index_age": age}}],
                },
                {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
            ],
            "ism_template": [{"index_patterns": [daily_indices(prefix)], "priority": 100}],
        }
    }


def ensure_retention_policy(client: OpenSearch, prefix: str, retention: timedelta) -> str:
    """Put the retention policy if ISM exists and the cluster's differs; say what happened.

    ISM ages indices by creation date, so backfilled old-dated indices also need
    `delete_expired_indices`, which works by the date in the name and needs no plugin.
    """
    if not has_plugin(client, ISM_PLUGIN):
        return "unavailable: the cluster has no Index Management plugin"
    policy_id = retention_policy_id(prefix)
    body = retention_policy(prefix, retention)
    path = f"/_plugins/_ism/policies/{policy_id}"
    existing = client.transport.perform_request("GET", path, params={"ignore": 404})
    stored = existing.get("policy", {}) if isinstance(existing, dict) else {}
    if stored.get("description") == body["policy"]["description"]:
        return f"unchanged {policy_id}"
    if isinstance(existing, dict) and existing.get("_seq_no") is not None:
        client.transport.perform_request(
            "PUT",
            path,
            body=body,
            params={"if_seq_no": existing["_seq_no"], "if_primary_term": existing["_primary_term"]},
        )
        return f"updated {policy_id}"
    client.transport.perform_request("PUT", path, body=body)
    return f"created {policy_id}"


def index_date(prefix: str, index: str) -> date | None:
    match = re.fullmatch(re.escape(prefix) + r"-(\d{4})\.(\d{2})\.(\d{2})", index)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def delete_expired_indices(
    client: OpenSearch, prefix: str, retention_days: int, today: date | None = None
) -> list[str]:
    """Delete daily indices whose *name* date is past retention (backfills included)."""
    cutoff = (today or datetime.now(UTC).date()) - timedelta(days=retention_days)
    names = client.indices.get(
        index=daily_indices(prefix), params={"expand_wildcards": "open,closed"}
    )
    expired = sorted(n for n in names if (d := index_date(prefix, n)) is not None and d < cutoff)
    for name in expired:
        client.indices.delete(index=name)
    return expired
