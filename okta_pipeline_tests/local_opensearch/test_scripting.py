"""The rebuilt Painless and Mustache modules work on the real node, as Alerting needs them to."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch


@pytest.fixture
def scratch_index(opensearch: OpenSearch) -> Iterator[str]:
    name = f"test-scripting-{uuid.uuid4().hex[:8]}"
    docs = [
        {"user": "alice", "failures": 12},
        {"user": "alice", "failures": 3},
        {"user": "bob", "failures": 1},
    ]
    for number, doc in enumerate(docs):
        opensearch.index(index=name, id=str(number), body=doc)
    opensearch.indices.refresh(index=name)
    yield name
    opensearch.indices.delete(index=name)


def test_painless_script_executes(opensearch: OpenSearch) -> None:
    response = opensearch.transport.perform_request(
        "POST",
        "/_scripts/painless/_execute",
        body={"script": {"source": "params.a * params.b + 1", "params": {"a": 6, "b": 7}}},
    )
    assert response["result"] == "43"


def test_painless_script_query_and_bucket_selector(
    opensearch: OpenSearch, scratch_index: str
) -> None:
    """Threshold detections keep buckets with a Painless bucket_selector, as bucket monitors do."""
    response = opensearch.search(
        index=scratch_index,
        body={
            "size": 0,
            "query": {"script": {"script": {"source": "doc['failures'].value >= 2"}}},
            "aggs": {
                "per_user": {
                    "terms": {"field": "user.keyword"},
                    "aggs": {
                        "total": {"sum": {"field": "failures"}},
                        "over_threshold": {
                            "bucket_selector": {
                                "buckets_path": {"total": "total"},
                                "script": "params.total > 10",
                            }
                        },
                    },
                }
            },
        },
    )
    buckets = response["aggregations"]["per_user"]["buckets"]
    assert [(b["key"], b["total"]["value"]) for b in buckets] == [("alice", 15.0)]


def test_mustache_renders_an_alert_style_message(opensearch: OpenSearch) -> None:
    # _render/template returns JSON, so the message sits in a JSON field, as in an action body.
    template = (
        '{"message": "Monitor {{ctx.monitor.name}} fired: '
        '{{#ctx.results}}{{hits.total.value}} hits{{/ctx.results}}"}'
    )
    response = opensearch.transport.perform_request(
        "POST",
        "/_render/template",
        body={
            "source": template,
            "params": {
                "ctx": {
                    "monitor": {"name": "brute force"},
                    "results": [{"hits": {"total": {"value": 7}}}],
                }
            },
        },
    )
    assert response["template_output"] == {"message": "Monitor brute force fired: 7 hits"}


def test_mustache_search_template(opensearch: OpenSearch, scratch_index: str) -> None:
    response = opensearch.transport.perform_request(
        "POST",
        f"/{scratch_index}/_search/template",
        body={
            "source": {"query": {"term": {"user.keyword": "{{who}}"}}},
            "params": {"who": "bob"},
        },
    )
    assert [hit["_source"]["user"] for hit in response["hits"]["hits"]] == ["bob"]
