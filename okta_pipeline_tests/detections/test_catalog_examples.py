"""Every detection's positive and negative examples, evaluated together on the real node."""

from __future__ import annotations

import pytest

from okta_pipeline.lib.detections.findings import ACTIVE, SUPPRESSED
from okta_pipeline.lib.detections.model import Detection, Example
from okta_pipeline_tests.catalog_examples import CASES, CATALOG, LoadedExamples, case_id


@pytest.mark.parametrize(
    ("detection", "number", "example"),
    CASES,
    ids=[case_id(d, n, e) for d, n, e in CASES],
)
def test_example(
    catalog_examples: LoadedExamples, detection: Detection, number: int, example: Example
) -> None:
    mine = catalog_examples.uuids[(detection.id, number)]
    findings = [f for f in catalog_examples.evaluation.findings if f.detection.id == detection.id]
    if example.expect_finding:
        found = [f for f in findings if {e.uuid for e in f.evidence} <= mine and f.evidence]
        assert found, f"{detection.id} missed its example {example.name!r}"
        assert all(f.status == ACTIVE for f in found), [f.exception for f in found]
    elif example.suppressed:
        found = [f for f in findings if {e.uuid for e in f.evidence} & mine]
        assert found, f"{detection.id} did not fire on its suppressed example {example.name!r}"
        assert {f.status for f in found} == {SUPPRESSED}, [f.summary for f in found]
        assert all(f.exception in detection.exceptions for f in found)
    else:
        fired = [f.summary for f in findings if {e.uuid for e in f.evidence} & mine]
        assert not fired, f"{detection.id} fired on its negative example {example.name!r}: {fired}"


def test_every_detection_has_examples_both_ways() -> None:
    assert len(CATALOG) >= 60
    for detection in CATALOG:
        kinds = {e.expect_finding for e in detection.examples}
        assert kinds == {True, False}, detection.id
