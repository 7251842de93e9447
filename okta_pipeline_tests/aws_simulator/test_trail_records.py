"""The simulated trail's records: deterministic, ordered, and shaped like CloudTrail's."""

from __future__ import annotations

import re
from collections import Counter

from okta_pipeline.lib.aws_simulator.trail import SimulatedTrail
from okta_pipeline_tests.aws_simulator.trails import (
    END,
    MINUTE,
    START,
    cross_source_org,
    records,
    shared_org,
    trail,
)

EVENT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ALWAYS = {
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "eventID",
    "readOnly",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
}


def test_same_seed_same_records_and_objects_other_seed_other_records() -> None:
    window = (START + 30 * MINUTE, START + 45 * MINUTE)
    one, again = trail(), SimulatedTrail(cross_source_org())
    first = list(one.records_between(*window))
    assert first == list(again.records_between(*window))
    assert [o.body() for o in one.objects_between(*window)] == [
        o.body() for o in again.objects_between(*window)
    ]
    other = list(SimulatedTrail(cross_source_org(seed=18)).records_between(*window))
    assert {s.event_id for s in other}.isdisjoint(s.event_id for s in first)


def test_any_minute_regenerates_alone_the_same() -> None:
    minute = (START + 95 * MINUTE, START + 96 * MINUTE)
    alone = list(SimulatedTrail(shared_org()).records_between(*minute))
    assert alone and alone == [s for s in records() if minute[0] <= s.event_time_ms < minute[1]]


def test_records_are_ordered_in_range_and_have_cloudtrails_fields() -> None:
    stored = records()
    assert [s.sort_key for s in stored] == sorted(s.sort_key for s in stored)
    assert all(START <= s.event_time_ms < END for s in stored)
    regions, accounts = set(trail().aws.regions), {a.id for a in trail().aws.accounts}
    for s in stored:
        record = s.record
        assert record.keys() >= ALWAYS, ALWAYS - record.keys()
        assert EVENT_TIME.match(record["eventTime"]) and s.event_time_ms % 1000 == 0
        assert UUID.match(record["eventID"]) and s.event_id == record["eventID"]
        assert record["eventVersion"] in ("1.08", "1.09")
        assert record["eventType"] in ("AwsApiCall", "AwsConsoleSignIn", "AwsServiceEvent")
        assert record["eventCategory"] == "Management" and record["managementEvent"] is True
        assert isinstance(record["readOnly"], bool)
        assert record["awsRegion"] == s.region in regions
        assert record["recipientAccountId"] == s.account_id in accounts
        if record["eventType"] == "AwsApiCall":
            assert "requestID" in record
    with_tls = [s for s in stored if "tlsDetails" in s.record]
    assert with_tls and all(s.record["userIdentity"].get("type") != "AWSService" for s in with_tls)
    assert {s.record["eventType"] for s in stored} == {
        "AwsApiCall",
        "AwsConsoleSignIn",
        "AwsServiceEvent",
    }


def test_records_per_minute_follow_the_setting() -> None:
    quiet = SimulatedTrail(shared_org(), records_per_minute=10, attacks=False)
    busy = SimulatedTrail(shared_org(), records_per_minute=200, attacks=False)
    hour = (START, START + 60 * MINUTE)
    few, many = len(list(quiet.records_between(*hour))), len(list(busy.records_between(*hour)))
    # Federated sessions come on top of the service activity in both.
    assert many - few > 60 * 150


def test_bursts_share_one_event_time_second() -> None:
    per_second = Counter(
        (s.record["eventTime"], s.record["userIdentity"].get("arn")) for s in records()
    )
    bursts = [key for key, count in per_second.items() if count >= 3]
    assert len(bursts) > 100


def test_service_principals_workloads_and_automation_are_there() -> None:
    identities = [s.record["userIdentity"] for s in records()]
    services = {i["invokedBy"] for i in identities if i.get("type") == "AWSService"}
    assert {"ec2.amazonaws.com", "lambda.amazonaws.com", "cloudtrail.amazonaws.com"} <= services
    sessions = {i["arn"].rsplit("/", 1)[1] for i in identities if i.get("type") == "AssumedRole"}
    assert any(re.fullmatch(r"i-0[0-9a-f]{16}", name) for name in sessions)
    assert {"invoice-processor", "AWSConfig-Describe"} <= sessions
    assert any(
        i.get("type") == "IAMUser" and i["accessKeyId"].startswith("AKIA") for i in identities
    )
    assert any(i.get("type") == "AWSAccount" for i in identities)
    # Service events come without a userIdentity type, as CloudTrail writes them.
    assert any("type" not in i for i in identities)


def test_parameters_keep_cloudtrails_type_variance() -> None:
    stored = records()
    requests = [s.record["requestParameters"] for s in stored]
    responses = [s.record["responseElements"] for s in stored]
    filters = {type(r["filter"]) for r in requests if isinstance(r, dict) and "filter" in r}
    assert filters == {str, dict, list}
    parameters = {
        type(r["parameters"]) for r in requests if isinstance(r, dict) and "parameters" in r
    }
    assert parameters == {str, list}
    assert None in requests and None in responses
    assert any(isinstance(r, str) for r in responses)
    assert any(isinstance(r, dict) and isinstance(r.get("_return"), bool) for r in responses)


def test_some_calls_fail_as_services_report_it() -> None:
    codes = Counter(s.record.get("errorCode") for s in records())
    assert codes["AccessDenied"] and codes["ThrottlingException"]
    assert codes["Client.UnauthorizedOperation"] or codes["Client.RequestLimitExceeded"]
    failed = [s.record for s in records() if "errorCode" in s.record]
    assert all(r["responseElements"] is None and r["errorMessage"] for r in failed)
