"""Okta's log stream, received: EventBridge envelopes drained from SQS into the landing zone."""

from okta_pipeline.lib.log_stream.drain import DrainReport, drain_queue, queue_depth
from okta_pipeline.lib.log_stream.envelope import OKTA_PARTNER_PREFIX, parse_message

__all__ = ["OKTA_PARTNER_PREFIX", "DrainReport", "drain_queue", "parse_message", "queue_depth"]
