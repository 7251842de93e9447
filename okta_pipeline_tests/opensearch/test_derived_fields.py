"""The typed view of fields whose type varies: one answer for every shape Okta sends."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from okta_pipeline.lib.opensearch.bulk_loader import with_derived
from okta_pipeline.lib.opensearch.derived_fields import NAMESPACE, as_bool, as_mapping, derive

BEHAVIOR_PAIRS = ["New Geo-Location=NEGATIVE", "New IP=POSITIVE"]


def with_debug_data(debug_data: Any) -> dict[str, Any]:
    return {"uuid": "u", "debugContext": {"debugData": debug_data}}


@pytest.mark.parametrize(
    "behaviors",
    [
        "{New Geo-Location=NEGATIVE, New IP=POSITIVE}",
        {"New IP": "POSITIVE", "New Geo-Location": "NEGATIVE"},
        '{"New IP": "POSITIVE", "New Geo-Location": "NEGATIVE"}',
    ],
    ids=["java-text", "object", "json-text"],
)
def test_behaviors_read_the_same_from_every_form(behaviors: Any) -> None:
    derived = derive(with_debug_data({"behaviors": behaviors}))
    assert derived["behaviors"] == BEHAVIOR_PAIRS
    assert derived["positive_behaviors"] == ["New IP"]


@pytest.mark.parametrize(
    "risk",
    [
        "{reasons=Anomalous Location, Anomalous Device, level=HIGH}",
        {"level": "high", "reasons": "Anomalous Location, Anomalous Device"},
    ],
    ids=["java-text", "object"],
)
def test_risk_level_and_reasons_keep_commas_inside_values(risk: Any) -> None:
    derived = derive(with_debug_data({"risk": risk}))
    assert derived["risk_level"] == "HIGH"
    assert derived["risk_reasons"] == "Anomalous Location, Anomalous Device"


def test_log_only_security_data_json_text_supplies_risk_and_behaviors() -> None:
    security = {
        "risk": {"reasons": "Anomalous Device", "level": "MEDIUM"},
        "behaviors": {"New Device": "POSITIVE", "Velocity": "NEGATIVE"},
    }
    derived = derive(with_debug_data({"logOnlySecurityData": json.dumps(security)}))
    assert derived["risk_level"] == "MEDIUM"
    assert derived["behaviors"] == ["New Device=POSITIVE", "Velocity=NEGATIVE"]


def test_debug_data_given_as_json_text_is_read_as_its_object() -> None:
    text = json.dumps({"requestUri": "/api/v1/authn", "threatSuspected": "true"})
    derived = derive(with_debug_data(text))
    assert derived["debug_data"] == {"requestUri": "/api/v1/authn", "threatSuspected": "true"}
    assert derived["threat_suspected"] is True


@pytest.mark.parametrize("debug_data", ["", "  ", "not json", None, [1, "two"], 7])
def test_debug_data_of_no_usable_shape_derives_nothing(debug_data: Any) -> None:
    assert derive(with_debug_data(debug_data)) == {}


def test_debug_data_values_are_indexed_as_text_whatever_their_type() -> None:
    derived = derive(
        with_debug_data({"requestId": 12345, "url": {"path": "/x"}, "factor": True, "other": 1})
    )
    assert derived["debug_data"] == {"requestId": "12345", "url": '{"path":"/x"}', "factor": "true"}


def test_proxy_flag_and_api_token_are_typed_from_their_raw_shapes() -> None:
    event = {
        "securityContext": {"isProxy": "TRUE"},
        "transaction": {"detail": {"requestApiTokenId": "00T1"}},
    }
    assert derive(event) == {"is_proxy": True, "api_token_id": "00T1"}
    assert derive({"securityContext": {"isProxy": "null"}, "transaction": {"detail": ""}}) == {}
    assert derive({"securityContext": None, "transaction": None, "debugContext": ""}) == {}


def test_as_bool_and_as_mapping_refuse_what_they_cannot_read() -> None:
    assert [as_bool(v) for v in (True, "false", " True ", "yes", 1, None)] == [
        True,
        False,
        True,
        None,
        None,
        None,
    ]
    assert as_mapping("{level=LOW}") == {"level": "LOW"}
    assert as_mapping("[1, 2]") is None and as_mapping("{}") == {}


def test_the_document_sent_is_the_landed_text_plus_the_namespace() -> None:
    event = with_debug_data({"risk": "{level=LOW}"})
    landed = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    sent = orjson.loads(with_derived(event, landed))
    derived = {"debug_data": {"risk": "{level=LOW}"}, "risk_level": "LOW"}
    assert sent == {**event, NAMESPACE: derived}
    assert with_derived({"uuid": "plain"}, '{"uuid":"plain"}') == '{"uuid":"plain"}'
    clash = {"uuid": "x", NAMESPACE: "its own", "securityContext": {"isProxy": True}}
    text = json.dumps(clash)
    assert with_derived(clash, text) == text, "a key of the same name is never doubled"
