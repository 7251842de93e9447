"""Each example query on a landing zone where its answer is known by construction."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from okta_pipeline.lib.landing import WINDOW, Event, window_start
from okta_pipeline.lib.landing_sql.examples import example, load_examples
from okta_pipeline.lib.landing_sql.views import open_landing
from okta_pipeline_tests.sql.landings import (
    ACCOUNT,
    assume_role_with_saml,
    assumed_role_call,
    iam_user_call,
    land_okta,
    land_records,
    land_simulated,
    okta_sso,
)

SIGN_IN = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
DAVE_AT = SIGN_IN + timedelta(minutes=20, milliseconds=999)
NAMED = {
    "aws_calls_after_okta_sign_in",
    "okta_users_assumed_roles",
    "okta_events_per_type",
    "cloudtrail_calls_per_name",
    "okta_events_per_target",
    "okta_and_aws_activity_for_user",
}


def run(root: Path, name: str, **parameters: str) -> list[dict[str, Any]]:
    found = example(name)
    given = {p: parameters.get(p, "nobody@example.com") for p in found.parameters}
    with open_landing(root) as db:
        cursor = db.connection.execute(found.sql, given or None)
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


def sign_in_landing(root: Path) -> list[Event]:
    """Okta sign-ins and AWS calls around them; the comments say which calls count."""
    carol_at = SIGN_IN + timedelta(minutes=10, milliseconds=250)
    land_okta(
        root,
        [
            okta_sso("a1", SIGN_IN, "alice@example.com", "AWS Account Federation", "amazon_aws"),
            okta_sso("b1", SIGN_IN + seconds(30), "bob@example.com", "Slack", "slack"),
            okta_sso(
                "c1", carol_at, "carol@example.com", "AWS IAM Identity Center", "amazon_aws_sso"
            ),
            okta_sso("d1", DAVE_AT, "dave@example.com", "Amazon Web Services", "amazon_aws"),
            {
                **okta_sso("e1", SIGN_IN, "erin@example.com", "Amazon Web Services", "x"),
                "outcome": {"result": "FAILURE", "reason": "INVALID_CREDENTIALS"},
            },
        ],
    )
    alice, carol = "alice@example.com", "Carol@Example.com"  # AWS keeps the case it was sent
    records = [
        assume_role_with_saml("ct-01", SIGN_IN + seconds(1), alice, "Engineer"),  # counts
        assumed_role_call(
            "ct-02", SIGN_IN + seconds(120), alice, "ListBuckets", "s3.amazonaws.com"
        ),
        assumed_role_call(  # 13:07, past the 5 minutes
            "ct-03", SIGN_IN + seconds(420), alice, "DescribeInstances", "ec2.amazonaws.com"
        ),
        assumed_role_call(  # 13:05:00, the first second past them
            "ct-04", SIGN_IN + seconds(300), alice, "ListUsers", "iam.amazonaws.com"
        ),
        assumed_role_call(  # before the sign-in
            "ct-05", SIGN_IN - seconds(1), alice, "ListRoles", "iam.amazonaws.com"
        ),
        assumed_role_call(  # bob signed in to Slack, not AWS
            "ct-06",
            SIGN_IN + seconds(120),
            "bob@example.com",
            "GetCallerIdentity",
            "sts.amazonaws.com",
        ),
        iam_user_call(  # the same second as ct-02, an IAM user's
            "ct-07", SIGN_IN + seconds(120), "deploy-bot", "PutObject", "s3.amazonaws.com"
        ),
        assumed_role_call(  # erin's sign-in failed
            "ct-08", SIGN_IN + seconds(60), "erin@example.com", "ListBuckets", "s3.amazonaws.com"
        ),
        assumed_role_call(  # carol's sign-in's second, before its milliseconds: counts
            "ct-09",
            carol_at.replace(microsecond=0),
            carol,
            "ListRoles",
            "iam.amazonaws.com",
            role="AWSReservedSSO_Admin",
        ),
        assumed_role_call(
            "ct-10",
            carol_at + seconds(299),
            carol,
            "GetObject",
            "s3.amazonaws.com",
            role="AWSReservedSSO_Admin",
            error_code="AccessDenied",
        ),
        assumed_role_call(  # past carol's 5 minutes
            "ct-11", carol_at + seconds(301), carol, "PutObject", "s3.amazonaws.com"
        ),
        # dave's app names role sessions by the username's part before the @: his calls are
        # his through the session his AssumeRoleWithSAML started, whose subject is his login
        assume_role_with_saml(
            "ct-12", DAVE_AT + seconds(2), "dave@example.com", "Admin", "AccessDenied"
        ),
        assume_role_with_saml(
            "ct-13", DAVE_AT + seconds(4), "dave@example.com", "Engineer", None, "dave"
        ),
        assumed_role_call(
            "ct-14", DAVE_AT + seconds(30), "dave", "ListBuckets", "s3.amazonaws.com"
        ),
        assumed_role_call(  # another dave's session, in another role: not the Okta user's
            "ct-15", DAVE_AT + seconds(31), "dave", "ListBuckets", "s3.amazonaws.com", role="Ops"
        ),
    ]
    land_records(root, records)
    return records


def test_aws_calls_after_okta_sign_in(tmp_path: Path) -> None:
    sign_in_landing(tmp_path)
    rows = run(tmp_path, "aws_calls_after_okta_sign_in")
    found = [
        (r["okta_login"], r["app"], r["event_name"], r["seconds_after"], r["error_code"])
        for r in rows
    ]
    assert found == [
        ("alice@example.com", "AWS Account Federation", "AssumeRoleWithSAML", 1, None),
        ("alice@example.com", "AWS Account Federation", "ListBuckets", 120, None),
        ("carol@example.com", "AWS IAM Identity Center", "ListRoles", 0, None),
        ("carol@example.com", "AWS IAM Identity Center", "GetObject", 299, "AccessDenied"),
        ("dave@example.com", "Amazon Web Services", "AssumeRoleWithSAML", 2, "AccessDenied"),
        ("dave@example.com", "Amazon Web Services", "AssumeRoleWithSAML", 4, None),
        ("dave@example.com", "Amazon Web Services", "ListBuckets", 30, None),
    ]
    assert rows[0]["signed_in_at"] == SIGN_IN and rows[0]["account_id"] == ACCOUNT
    assert rows[1]["called_at"] == SIGN_IN + seconds(120)
    assert rows[0]["okta_ip"] == rows[0]["source_ip"] == "198.51.100.10"


def test_okta_users_assumed_roles_over_the_last_seven_days(tmp_path: Path) -> None:
    now = window_start(datetime.now(UTC)) - WINDOW

    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    land_records(
        tmp_path,
        [
            assume_role_with_saml("r1", ago(2), "alice@example.com", "Engineer"),
            assume_role_with_saml("r2", ago(1), "alice@example.com", "Engineer"),
            assume_role_with_saml("r3", ago(3), "alice@example.com", "Admin", session="alice"),
            assume_role_with_saml("r4", ago(1), "bob@example.com", "Engineer"),
            assume_role_with_saml(
                "r5", ago(1), "mallory@example.com", "Engineer", error_code="AccessDenied"
            ),
            assume_role_with_saml("r6", ago(10), "alice@example.com", "ReadOnly"),
            assumed_role_call(
                "r7",
                ago(1),
                "alice@example.com",
                "AssumeRole",
                "sts.amazonaws.com",
                request={"roleArn": f"arn:aws:iam::{ACCOUNT}:role/Other", "roleSessionName": "x"},
            ),
        ],
    )
    rows = run(tmp_path, "okta_users_assumed_roles")
    role = f"arn:aws:iam::{ACCOUNT}:role/"
    assert [tuple(r.values()) for r in rows] == [
        ("alice@example.com", role + "Admin", "alice", 1, ago(3), ago(3)),
        ("alice@example.com", role + "Engineer", "alice@example.com", 2, ago(2), ago(1)),
        ("bob@example.com", role + "Engineer", "bob@example.com", 1, ago(1), ago(1)),
    ]


def test_okta_events_per_type(tmp_path: Path) -> None:
    landed = land_simulated(tmp_path, SIGN_IN, SIGN_IN + 3 * WINDOW)
    events = [e for window in landed.values() for e in window]
    rows = run(tmp_path, "okta_events_per_type")
    assert {r["event_type"]: r["events"] for r in rows} == Counter(e["eventType"] for e in events)
    actors: dict[str, set[str]] = {}
    for event in events:
        actors.setdefault(event["eventType"], set()).add(event["actor"]["alternateId"])
    assert {r["event_type"]: r["actors"] for r in rows} == {t: len(a) for t, a in actors.items()}
    assert [r["events"] for r in rows] == sorted((r["events"] for r in rows), reverse=True)


def test_cloudtrail_calls_per_name(tmp_path: Path) -> None:
    records = sign_in_landing(tmp_path)
    rows = run(tmp_path, "cloudtrail_calls_per_name")
    calls = Counter((r["eventSource"], r["eventName"]) for r in records)
    failed = Counter((r["eventSource"], r["eventName"]) for r in records if "errorCode" in r)
    assert {(r["event_source"], r["event_name"]): r["calls"] for r in rows} == calls
    assert {(r["event_source"], r["event_name"]): r["failed"] for r in rows} == {
        key: failed[key] for key in calls
    }
    order = [(-r["calls"], r["event_source"], r["event_name"]) for r in rows]
    assert order == sorted(order) and order[0] == (-4, "s3.amazonaws.com", "ListBuckets")


def test_okta_events_per_target(tmp_path: Path) -> None:
    sign_in_landing(tmp_path)
    rows = {(r["target_type"], r["target"]): r for r in run(tmp_path, "okta_events_per_target")}
    assert rows[("AppInstance", "Amazon Web Services")]["events"] == 2  # dave's and erin's
    assert rows[("AppInstance", "Amazon Web Services")]["actors"] == 2
    assert rows[("AppUser", "alice@example.com")]["events"] == 1
    assert len(rows) == 9  # four apps, five app users
    assert next(iter(rows)) == ("AppInstance", "Amazon Web Services")  # the most acted on first


def test_okta_and_aws_activity_for_one_user(tmp_path: Path) -> None:
    sign_in_landing(tmp_path)
    alice = run(tmp_path, "okta_and_aws_activity_for_user", user="alice@example.com")
    assert [(r["source"], r["action"]) for r in alice] == [
        ("aws", "iam.amazonaws.com:ListRoles"),  # ct-05, in her role session, a second before
        ("okta", "user.authentication.sso"),
        ("aws", "sts.amazonaws.com:AssumeRoleWithSAML"),
        ("aws", "s3.amazonaws.com:ListBuckets"),
        ("aws", "iam.amazonaws.com:ListUsers"),
        ("aws", "ec2.amazonaws.com:DescribeInstances"),
    ]
    assert [r["happened_at"] for r in alice] == sorted(r["happened_at"] for r in alice)
    dave = run(tmp_path, "okta_and_aws_activity_for_user", user="dave@example.com")
    failed = [r["outcome"] for r in dave if r["action"].endswith("AssumeRoleWithSAML")]
    assert sorted(failed) == ["AccessDenied", "SUCCESS"]
    assert sum(1 for r in dave if r["action"] == "s3.amazonaws.com:ListBuckets") == 2


@pytest.mark.parametrize("name", sorted(NAMED))
def test_every_example_runs_on_an_empty_landing_zone(tmp_path: Path, name: str) -> None:
    assert run(tmp_path, name) == []


def test_the_examples_are_the_named_ones_each_with_a_title() -> None:
    examples = load_examples()
    assert set(examples) >= NAMED
    for found in examples.values():
        assert found.title and found.sql.lstrip().startswith("--")
    with pytest.raises(ValueError, match="no example query named 'nope'; there are: "):
        example("nope")
