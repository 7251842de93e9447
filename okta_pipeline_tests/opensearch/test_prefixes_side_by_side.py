"""Two deployments on one cluster whose prefixes extend each other (`okta-logs` and
`okta-logs-dev`): their templates, policies, searches and clean-up stay apart."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from opensearchpy import OpenSearch

from okta_pipeline.lib.detections.findings import ensure_findings_template
from okta_pipeline.lib.opensearch.index_setup import (
    delete_expired_indices,
    drop_prefix,
    ensure_retention_policy,
    ensure_template,
)
from okta_pipeline.lib.opensearch.okta_index import daily_indices


def test_a_prefix_and_one_that_extends_it_keep_their_own_indices(opensearch: OpenSearch) -> None:
    base = f"test-sides-{uuid.uuid4().hex[:8]}"
    dev = f"{base}-dev"
    try:
        for prefix in (base, dev):
            assert ensure_template(opensearch, prefix)  # same priority, disjoint patterns
            assert ensure_findings_template(opensearch, f"{prefix}-findings")
            assert not ensure_retention_policy(opensearch, prefix, timedelta(days=90)).startswith(
                "unavailable"
            )
        for prefix in (base, dev):
            for day in ("2026.01.01", "2026.11.30"):
                opensearch.index(
                    index=f"{prefix}-{day}", body={"uuid": prefix}, params={"refresh": "true"}
                )
        found = opensearch.search(index=daily_indices(base), body={"query": {"match_all": {}}})
        assert {hit["_source"]["uuid"] for hit in found["hits"]["hits"]} == {base}

        expired = delete_expired_indices(opensearch, base, 90, today=date(2026, 12, 1))
        assert expired == [f"{base}-2026.01.01"]
        assert opensearch.indices.exists(index=f"{dev}-2026.01.01")

        drop_prefix(opensearch, base)
        assert not opensearch.indices.exists(index=f"{base}-2026.11.30")
        assert opensearch.indices.exists(index=f"{dev}-2026.11.30")
        assert not ensure_template(opensearch, dev)  # its template is still there, unchanged
    finally:
        for prefix in (base, dev):
            drop_prefix(opensearch, prefix)
            opensearch.indices.delete_index_template(
                name=f"{prefix}-findings", params={"ignore": 404}
            )
