"""What the Dagster UI shows about each asset and condition: an owner, a description that says
what a row is, kinds, a code version, a personal-data tag, and labels a person reads."""

from __future__ import annotations

import re
from datetime import timedelta

import dagster as dg
import pytest

from okta_pipeline.definitions import build_definitions
from okta_pipeline.defs.deployment import DeploymentSettings
from okta_pipeline.defs.okta.automation import fetch_condition
from okta_pipeline.defs.opensearch.freshness import newest_event_freshness
from okta_pipeline.lib.durations import spoken

PERSONAL = {
    "okta_system_log",
    "opensearch_okta_logs",
    "okta_detections",
    "alert_deliveries",
    "cloudtrail_events",
    "opensearch_cloudtrail_events",
    "aws_identity_links",
    "okta_aws_detections",
}


@pytest.fixture(scope="module")
def specs() -> dict[str, dg.AssetSpec]:
    # With CloudTrail configured: its four assets beside Okta's six.
    defs = build_definitions(DeploymentSettings(cloudtrail_root="s3://trail-bucket/org"))
    return {
        spec.key.to_user_string(): spec
        for assets in defs.assets or []
        if isinstance(assets, dg.AssetsDefinition)
        for spec in assets.specs
    }


def test_every_asset_says_who_owns_it_what_a_row_is_and_whether_it_holds_personal_data(
    specs: dict[str, dg.AssetSpec],
) -> None:
    assert len(specs) == 10
    for name, spec in specs.items():
        assert spec.owners == ["team:security-engineering"], name
        assert spec.description and spec.description.startswith("A row is one"), name
        assert spec.kinds, name
        assert spec.code_version, name
        assert spec.tags.get("pii") == ("true" if name in PERSONAL else "false"), name


def test_automation_labels_and_check_descriptions_read_naturally() -> None:
    labels = [c.get_label() for c in fetch_condition(settle_minutes=2, every_minutes=15).children]
    assert labels == [
        "fetch the windows closed in the last 15 minutes, 2 minutes after they close",
        "re-fetch windows of the last hour, for late events",
        "fetch windows of the last day never fetched",
        "re-fetch windows 26 hours to 50 hours old, daily, for events Okta persisted late",
    ]
    (freshness,) = newest_event_freshness.check_specs
    texts = [*map(str, labels), freshness.description or ""]
    assert not [t for t in texts if re.search(r"\d:\d\d|day, ", t)], "timedelta's own format"
    assert "under an hour old (warns past 20 minutes)" in texts[-1]


@pytest.mark.parametrize(
    ("duration", "one", "expected"),
    [
        (timedelta(hours=1), "a", "an hour"),
        (timedelta(hours=1), "", "hour"),
        (timedelta(days=1), "a", "a day"),
        (timedelta(minutes=20), "a", "20 minutes"),
        (timedelta(minutes=90), "a", "90 minutes"),
        (timedelta(hours=26), "a", "26 hours"),
        (timedelta(seconds=61), "a", "61 seconds"),
        (timedelta(0), "a", "0 seconds"),
    ],
)
def test_durations_are_spoken_in_their_largest_whole_unit(
    duration: timedelta, one: str, expected: str
) -> None:
    assert spoken(duration, one=one) == expected
