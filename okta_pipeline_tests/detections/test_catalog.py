"""The catalog as data: it loads, it is documented, and malformed entries are refused clearly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from okta_pipeline.cli.main import main
from okta_pipeline.lib.detections.catalog import TACTICS, catalog_from, load_catalog
from okta_pipeline.lib.detections.docs import catalog_markdown, noise_text
from okta_pipeline.lib.detections.model import Kind
from okta_pipeline.lib.detections.noise import NOISE_GOAL, measured_noise
from okta_pipeline.lib.detections.sigma_rules import CatalogError

ROOT = Path(__file__).resolve().parents[2]
SEED_DETECTIONS = {
    "okta_admin_console_access_denied",
    "okta_user_added_to_admin_group",
    "okta_impossible_travel",
    "okta_brute_force_user",
    "okta_password_spray",
    "okta_mfa_push_fatigue",
    "okta_admin_role_granted",
    "okta_privilege_self_grant",
}
RULE = """
title: Test rule
name: okta_test_rule
description: A test.
logsource: {product: okta, service: okta}
detection:
  selection:
    eventType: user.session.start
  condition: selection
level: low
tags: [attack.initial-access, attack.t1078]
okta_pipeline:
  version: 1
  entity: [actor.alternateId]
  response: Look.
  examples:
    - {expect: finding, events: [{eventType: user.session.start}]}
    - {expect: nothing, events: [{eventType: user.session.end}]}
"""


def catalog_of(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_catalog_covers_the_seed_systems_and_every_kind() -> None:
    catalog = load_catalog()
    assert len(catalog) >= 30
    assert {d.id for d in catalog} >= SEED_DETECTIONS
    assert {d.kind for d in catalog} == set(Kind)
    for detection in catalog:
        assert set(detection.tactics) <= set(TACTICS.values()), detection.id
        assert all(re.fullmatch(r"T\d{4}(\.\d{3})?", t) for t in detection.techniques)
        assert detection.response and detection.false_positives and detection.fields
        assert detection.title and detection.description


def test_docs_detections_md_is_generated_from_the_current_catalog() -> None:
    written = (ROOT / "docs" / "detections.md").read_text()
    assert written == catalog_markdown(load_catalog()), (
        "docs/detections.md is stale: run `okta-pipeline detections docs > docs/detections.md`"
    )


def test_detections_list_prints_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detections", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [d["id"] for d in listed] == [d.id for d in load_catalog()]
    spray = next(d for d in listed if d["id"] == "okta_password_spray")
    assert spray["kind"] == "threshold" and "T1110.003" in spray["techniques"]
    assert main(["detections", "list"]) == 0
    assert f"{len(listed)} detections" in capsys.readouterr().out


def test_every_detection_is_listed_with_attack_ids_examples_and_its_measured_noise(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["detections", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) >= 60
    for detection in listed:
        assert detection["tactics"] and detection["techniques"], detection["id"]
        expected = {e["expect"] for e in detection["examples"]}
        assert "finding" in expected, f"{detection['id']} has no example that must alert"
    measured = {d["id"]: d["noise_per_org_day"] for d in listed}
    cross_source = {d.id for d in load_catalog() if d.cross_source}
    unmeasured = [i for i, rate in measured.items() if rate is None and i not in cross_source]
    assert not unmeasured, (
        f"no measured noise for {unmeasured}: run `okta-pipeline bench` to measure the catalog"
    )
    over = {i: rate for i, rate in measured.items() if rate is not None and rate > NOISE_GOAL}
    assert not over, f"over the noise goal of {NOISE_GOAL} per org-day: {over}"


def test_a_detection_the_benchmark_has_not_measured_says_so(tmp_path: Path) -> None:
    path = tmp_path / "noise.json"
    path.write_text(
        json.dumps(
            {
                "measured_days": 30,
                "org": {"events_per_minute": 20},
                "per_org_day": {"okta_password_spray": 0.1},
            }
        )
    )
    noise = measured_noise(path)
    assert noise is not None and noise.rate("okta_password_spray") == 0.1
    catalog = load_catalog()
    spray = next(d for d in catalog if d.id == "okta_password_spray")
    other = next(d for d in catalog if d.id != spray.id and not d.cross_source)
    assert noise_text(spray, noise) == "0.10"
    assert noise_text(other, noise) == "not measured"
    assert measured_noise(tmp_path / "missing.json") is None
    assert f"| {noise_text(spray, noise)} |" in catalog_markdown(catalog, noise)


def test_an_unknown_detection_id_names_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "detections",
            "run",
            "--id",
            "okta_nope",
            "--start",
            "2026-11-01T00:00Z",
            "--end",
            "2026-11-01T01:00Z",
        ]
    )
    assert code == 1
    assert "no detection 'okta_nope'" in capsys.readouterr().err


def test_a_well_formed_rule_loads(tmp_path: Path) -> None:
    (detection,) = catalog_from(catalog_of(tmp_path, {"sigma/a.yml": RULE})).detections
    assert detection.id == "okta_test_rule" and detection.kind == Kind.SINGLE_EVENT
    assert detection.tactics == ("TA0001",) and detection.techniques == ("T1078",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("version: 1", "version: 0"), "version must be a positive integer"),
        (("  entity: [actor.alternateId]\n", ""), "entity names the fields"),
        (("level: low", "level: dire"), "level"),
        (("tags: [attack.initial-access, attack.t1078]", "tags: [attack.t1078]"), "ATT&CK tactic"),
        (("    - {expect: nothing, events: [{eventType: user.session.end}]}\n", ""), "negative"),
        (("name: okta_test_rule", "name: test_rule"), "starts with okta_"),
        (("  response: Look.\n", ""), "response is required"),
        (("condition: selection", "condition: selection and"), "not a valid Sigma rule"),
    ],
)
def test_a_malformed_rule_is_refused_naming_its_file(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    broken = RULE.replace(*change)
    assert broken != RULE
    with pytest.raises(CatalogError, match=message) as failure:
        catalog_from(catalog_of(tmp_path, {"sigma/broken.yml": broken}))
    assert "sigma/broken.yml" in str(failure.value)


def test_duplicate_ids_and_unknown_stateful_functions_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="also used by"):
        catalog_from(catalog_of(tmp_path / "dup", {"sigma/a.yml": RULE, "sigma/b.yml": RULE}))
    stateful = "name: okta_x\nokta_pipeline: {version: 1, function: teleportation}\n"
    with pytest.raises(CatalogError, match="function 'teleportation' is not one of"):
        catalog_from(catalog_of(tmp_path / "fn", {"stateful/x.yml": stateful}))


def test_threshold_rules_must_count_whole_windows(tmp_path: Path) -> None:
    correlation = """
title: Base
name: okta_base
logsource: {product: okta, service: okta}
detection: {selection: {eventType: user.session.start}, condition: selection}
---
title: Burst
name: okta_burst
description: Burst.
correlation:
  type: event_count
  rules: [okta_base]
  group-by: [actor.alternateId]
  timespan: 7m
  condition: {gte: 3}
level: low
tags: [attack.credential-access, attack.t1110]
okta_pipeline:
  version: 1
  response: Look.
  examples:
    - {expect: finding, events: [{eventType: user.session.start}]}
    - {expect: nothing, events: [{eventType: user.session.end}]}
"""
    with pytest.raises(CatalogError, match="whole number of 5-minute windows"):
        catalog_from(catalog_of(tmp_path, {"sigma/burst.yml": correlation}))
    (burst,) = catalog_from(
        catalog_of(tmp_path / "ok", {"sigma/burst.yml": correlation.replace("7m", "10m")})
    ).detections
    assert burst.kind == Kind.THRESHOLD and burst.entity == ("actor.alternateId",)
