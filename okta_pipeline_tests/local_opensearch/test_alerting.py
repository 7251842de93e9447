"""Alerting and Notifications on the real node: the three monitor kinds detections compile to.

Monitors are created disabled, so only `_execute` runs them: nothing fires on a schedule while
the rest of the suite runs.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.cluster_endpoint import external_endpoint
from okta_pipeline_tests.webhook_receiver import webhook_receiver

MONITORS = "/_plugins/_alerting/monitors"
CHANNELS = "/_plugins/_notifications/configs"
local_only = pytest.mark.skipif(
    external_endpoint(os.environ) is not None,
    reason="a cluster named by OPENSEARCH_URL cannot reach a receiver on this machine's loopback",
)
SIGN_INS = [
    ("alice@example.com", "FAILURE"),
    ("alice@example.com", "FAILURE"),
    ("alice@example.com", "FAILURE"),
    ("alice@example.com", "FAILURE"),
    ("bob@example.com", "FAILURE"),
    ("bob@example.com", "SUCCESS"),
    ("carol@example.com", "FAILURE"),
    ("carol@example.com", "FAILURE"),
    ("carol@example.com", "FAILURE"),
]


@pytest.fixture
def sign_ins(opensearch: OpenSearch) -> Iterator[str]:
    """An index of Okta-shaped sign-in events; deleted afterwards with any monitors on it."""
    index = f"test-alerting-{uuid.uuid4().hex[:8]}"
    opensearch.indices.create(
        index=index,
        body={
            "mappings": {
                "properties": {
                    "published": {"type": "date"},
                    "eventType": {"type": "keyword"},
                    "actor": {"properties": {"alternateId": {"type": "keyword"}}},
                    "outcome": {"properties": {"result": {"type": "keyword"}}},
                }
            }
        },
    )
    for number, (user, result) in enumerate(SIGN_INS):
        opensearch.index(index=index, id=f"seed-{number}", body=sign_in(user, result))
    opensearch.indices.refresh(index=index)
    yield index
    found = opensearch.transport.perform_request(
        "POST",
        f"{MONITORS}/_search",
        body={"query": {"match_phrase": {"monitor.name": index}}, "size": 100},
    )
    for hit in found["hits"]["hits"]:
        opensearch.transport.perform_request("DELETE", f"{MONITORS}/{hit['_id']}")
    opensearch.indices.delete(index=index)


def sign_in(user: str, result: str) -> dict[str, Any]:
    return {
        "published": "2026-11-30T10:00:00.000Z",
        "eventType": "user.session.start",
        "actor": {"alternateId": user},
        "outcome": {"result": result},
    }


def create_monitor(opensearch: OpenSearch, body: dict[str, Any]) -> str:
    body = {"type": "monitor", "enabled": False, **body}
    body.setdefault("schedule", {"period": {"interval": 1, "unit": "MINUTES"}})
    created = opensearch.transport.perform_request("POST", MONITORS, body=body)
    return str(created["_id"])


def execute(opensearch: OpenSearch, monitor_id: str) -> dict[str, Any]:
    result: dict[str, Any] = opensearch.transport.perform_request(
        "POST", f"{MONITORS}/{monitor_id}/_execute"
    )
    assert result.get("error") is None, result
    return result


def query_level(index: str, name: str, threshold: int, actions: list[Any]) -> dict[str, Any]:
    return {
        "monitor_type": "query_level_monitor",
        "name": name,
        "inputs": [
            {
                "search": {
                    "indices": [index],
                    "query": {"size": 0, "query": {"term": {"outcome.result": "FAILURE"}}},
                }
            }
        ],
        "triggers": [
            {
                "query_level_trigger": {
                    "id": "failed-sign-ins",
                    "name": "failed sign-ins",
                    "severity": "1",
                    "condition": {
                        "script": {
                            "source": f"ctx.results[0].hits.total.value > {threshold}",
                            "lang": "painless",
                        }
                    },
                    "actions": actions,
                }
            }
        ],
    }


@local_only
def test_query_monitor_fires_and_delivers_its_mustache_message_to_a_webhook(
    opensearch: OpenSearch, sign_ins: str
) -> None:
    channel = f"test-channel-{uuid.uuid4().hex[:8]}"
    with webhook_receiver() as receiver:
        opensearch.transport.perform_request(
            "POST",
            CHANNELS,
            body={
                "config_id": channel,
                "config": {
                    "name": channel,
                    "config_type": "webhook",
                    "is_enabled": True,
                    "webhook": {"url": receiver.url, "method": "POST"},
                },
            },
        )
        try:
            action = {
                "id": "to-webhook",
                "name": "to webhook",
                "destination_id": channel,
                "throttle_enabled": False,
                "subject_template": {"source": "{{ctx.monitor.name}}", "lang": "mustache"},
                "message_template": {
                    "source": "{{ctx.monitor.name}} / {{ctx.trigger.name}}: "
                    "{{ctx.results.0.hits.total.value}} failed sign-ins",
                    "lang": "mustache",
                },
            }
            firing = create_monitor(opensearch, query_level(sign_ins, sign_ins, 5, [action]))
            result = execute(opensearch, firing)
            trigger = result["trigger_results"]["failed-sign-ins"]
            assert trigger["triggered"] is True
            assert trigger["action_results"]["to-webhook"]["error"] is None
            expected = f"{sign_ins} / failed sign-ins: 8 failed sign-ins"
            assert [d.body for d in receiver.wait_for(1)] == [expected]

            quiet_name = f"{sign_ins} quiet"
            quiet = create_monitor(opensearch, query_level(sign_ins, quiet_name, 8, [action]))
            result = execute(opensearch, quiet)
            assert result["trigger_results"]["failed-sign-ins"]["triggered"] is False
            assert len(receiver.wait_for(2, timeout=2)) == 1, "a quiet trigger sends nothing"
        finally:
            opensearch.transport.perform_request("DELETE", f"{CHANNELS}/{channel}")


def test_bucket_monitor_selects_exactly_the_entities_over_the_threshold(
    opensearch: OpenSearch, sign_ins: str
) -> None:
    monitor = create_monitor(
        opensearch,
        {
            "monitor_type": "bucket_level_monitor",
            "name": sign_ins,
            "inputs": [
                {
                    "search": {
                        "indices": [sign_ins],
                        "query": {
                            "size": 0,
                            "query": {"term": {"outcome.result": "FAILURE"}},
                            "aggregations": {
                                "per_user": {
                                    "composite": {
                                        "sources": [
                                            {"user": {"terms": {"field": "actor.alternateId"}}}
                                        ]
                                    }
                                }
                            },
                        },
                    }
                }
            ],
            "triggers": [
                {
                    "bucket_level_trigger": {
                        "id": "brute-force",
                        "name": "three or more failures",
                        "severity": "2",
                        "condition": {
                            "parent_bucket_path": "per_user",
                            "buckets_path": {"failures": "_count"},
                            "script": {"source": "params.failures >= 3", "lang": "painless"},
                        },
                        "actions": [],
                    }
                }
            ],
        },
    )
    buckets = execute(opensearch, monitor)["trigger_results"]["brute-force"]["agg_result_buckets"]
    counts = {key: b["agg_alert_content"]["bucket"]["doc_count"] for key, b in buckets.items()}
    assert counts == {
        "alice@example.com": 4,
        "carol@example.com": 3,
    }


def test_doc_level_monitor_flags_only_new_matching_documents(
    opensearch: OpenSearch, sign_ins: str
) -> None:
    monitor = create_monitor(
        opensearch,
        {
            "monitor_type": "doc_level_monitor",
            "name": sign_ins,
            "inputs": [
                {
                    "doc_level_input": {
                        "description": "failed sign-ins",
                        "indices": [sign_ins],
                        "queries": [
                            {
                                "id": "failure",
                                "name": "failure",
                                "query": "outcome.result:FAILURE",
                                "tags": ["okta"],
                            }
                        ],
                    }
                }
            ],
            "triggers": [
                {
                    "document_level_trigger": {
                        "id": "failed-document",
                        "name": "failed document",
                        "severity": "3",
                        "condition": {
                            "script": {"source": "query[id=failure]", "lang": "painless"}
                        },
                        "actions": [],
                    }
                }
            ],
        },
    )
    # The first run only records where the index stands: the seeded failures are old news.
    first = execute(opensearch, monitor)
    assert first["trigger_results"]["failed-document"]["triggeredDocs"] == []
    for doc_id, result in (("new-failure", "FAILURE"), ("new-success", "SUCCESS")):
        opensearch.index(index=sign_ins, id=doc_id, body=sign_in("dave@example.com", result))
    opensearch.indices.refresh(index=sign_ins)
    second = execute(opensearch, monitor)
    assert second["trigger_results"]["failed-document"]["triggeredDocs"] == [
        f"new-failure|{sign_ins}"
    ]
    assert json.dumps(second["input_results"]).count("new-") == 1


@local_only
def test_local_node_refuses_webhooks_to_the_metadata_range_but_not_loopback(
    opensearch: OpenSearch,
) -> None:
    """The local node sets the deny list itself instead of relying on 2.19's empty default."""
    settings = opensearch.cluster.get_settings(include_defaults=True, flat_settings=True)
    deny_list = "opensearch.notifications.core.http.host_deny_list"
    assert settings["defaults"][deny_list] == ["169.254.0.0/16"]
    channel = f"test-denied-{uuid.uuid4().hex[:8]}"
    opensearch.transport.perform_request(
        "POST",
        CHANNELS,
        body={
            "config_id": channel,
            "config": {
                "name": channel,
                "config_type": "webhook",
                "is_enabled": True,
                "webhook": {"url": "http://169.254.169.254/latest/meta-data"},
            },
        },
    )
    try:
        refused = opensearch.transport.perform_request(
            "POST", f"/_plugins/_notifications/feature/test/{channel}", params={"ignore": 400}
        )
        assert "Host of url is denied" in json.dumps(refused)
    finally:
        opensearch.transport.perform_request("DELETE", f"{CHANNELS}/{channel}")
