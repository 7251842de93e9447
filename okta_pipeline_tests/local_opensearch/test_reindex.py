"""The reindex module on the real node: the by-query APIs operators reach for."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch


@pytest.fixture
def events(opensearch: OpenSearch) -> Iterator[str]:
    index = f"test-reindex-{uuid.uuid4().hex[:8]}"
    for number, event_type in enumerate(["user.session.start"] * 3 + ["system.push.send"] * 2):
        opensearch.index(index=index, id=str(number), body={"eventType": event_type})
    opensearch.indices.refresh(index=index)
    yield index
    opensearch.indices.delete(index=f"{index}*")


def event_types(opensearch: OpenSearch, index: str) -> list[str]:
    opensearch.indices.refresh(index=index)
    hits = opensearch.search(index=index, body={"size": 100, "sort": ["_doc"]})["hits"]["hits"]
    return sorted(hit["_source"]["eventType"] for hit in hits)


def test_delete_by_query_removes_only_the_matching_documents(
    opensearch: OpenSearch, events: str
) -> None:
    result = opensearch.delete_by_query(
        index=events, body={"query": {"term": {"eventType.keyword": "system.push.send"}}}
    )
    assert result["deleted"] == 2 and not result["failures"]
    assert event_types(opensearch, events) == ["user.session.start"] * 3


def test_update_by_query_and_reindex(opensearch: OpenSearch, events: str) -> None:
    updated = opensearch.update_by_query(
        index=events,
        body={
            "query": {"term": {"eventType.keyword": "system.push.send"}},
            "script": {"source": "ctx._source.eventType = 'system.push.verify'"},
        },
        params={"refresh": "true"},
    )
    assert updated["updated"] == 2
    copied = opensearch.reindex(
        body={"source": {"index": events}, "dest": {"index": f"{events}-copy"}}
    )
    assert copied["created"] == 5
    assert event_types(opensearch, f"{events}-copy") == sorted(
        ["user.session.start"] * 3 + ["system.push.verify"] * 2
    )
