"""Reading one SQS message of Okta's log stream: an EventBridge envelope around a LogEvent."""

from __future__ import annotations

import json
from typing import Any

from okta_pipeline.lib.landing.shapes import OKTA_EVENT

OKTA_PARTNER_PREFIX = "aws.partner/okta.com/"
DETAIL_TYPE = "SystemLog"

Event = dict[str, Any]


def parse_message(body: str, source_prefix: str = OKTA_PARTNER_PREFIX) -> Event | str:
    """The LogEvent an envelope carries, or why the body is not one (a reason for people).

    Only `detail` matters downstream: the envelope's `id` is EventBridge's, new on every
    delivery, so a redelivered event is recognised by its LogEvent `uuid`, never by it."""
    try:
        envelope = json.loads(body)
    except ValueError as error:
        return f"not JSON ({error})"
    if not isinstance(envelope, dict):
        return f"not an EventBridge envelope (a JSON {type(envelope).__name__})"
    detail_type = envelope.get("detail-type")
    if detail_type != DETAIL_TYPE:
        return f"detail-type {detail_type!r} is not {DETAIL_TYPE!r}"
    source = envelope.get("source")
    if not isinstance(source, str) or not source.startswith(source_prefix):
        return (
            f"source {source!r} is not this deployment's Okta log stream (expected "
            f"{source_prefix}...): the EventBridge rule lets through more than Okta"
        )
    detail = envelope.get("detail")
    if not isinstance(detail, dict):
        return f"detail is not a LogEvent (a JSON {type(detail).__name__})"
    if OKTA_EVENT.record_id(detail) is None:
        return "detail is not a LogEvent: no uuid"
    if OKTA_EVENT.record_time(detail) is None:
        return "detail is not a LogEvent: no parseable published time"
    if not isinstance(detail.get(OKTA_EVENT.type_field), str):
        return "detail is not a LogEvent: no eventType"
    return detail
