"""Detections that need history or sequences, in Python: each reads what it needs itself."""

from __future__ import annotations

from okta_pipeline.lib.detections.model import StatefulFunction
from okta_pipeline.lib.detections.stateful.novelty import sign_in_novelty
from okta_pipeline.lib.detections.stateful.self_grant import privilege_self_grant
from okta_pipeline.lib.detections.stateful.sessions import session_from_two_networks
from okta_pipeline.lib.detections.stateful.takeover import mfa_reset_takeover
from okta_pipeline.lib.detections.stateful.travel import impossible_travel

STATEFUL_FUNCTIONS: dict[str, StatefulFunction] = {
    "impossible_travel": impossible_travel,
    "sign_in_novelty": sign_in_novelty,
    "mfa_reset_takeover": mfa_reset_takeover,
    "privilege_self_grant": privilege_self_grant,
    "session_from_two_networks": session_from_two_networks,
}
