"""A detection whose query the node refuses (`okta_broken`), beside a good one."""

from __future__ import annotations

from okta_pipeline.defs.detections.resources import DetectionsResource
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.model import Detection, SingleEventLogic

GOOD = "okta_account_lockout"
BROKEN = "okta_broken"


def broken_copy(detection: Detection) -> Detection:
    """`detection` as `okta_broken`, with a query the node refuses to parse."""
    return Detection(
        **{
            **detection.__dict__,
            "id": BROKEN,
            "logic": SingleEventLogic(
                query={"query_string": {"query": "eventType:(unclosed"}}, lucene="eventType:("
            ),
        }
    )


class GoodAndBroken(DetectionsResource):
    """The account-lockout detection and its copy whose query the node refuses."""

    def selected(self) -> tuple[Detection, ...]:
        good = load_catalog().get(GOOD)
        return (good, broken_copy(good))
