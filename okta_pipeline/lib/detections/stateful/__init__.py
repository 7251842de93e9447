"""Detections that need history or sequences, in Python: each reads what it needs itself."""

from __future__ import annotations

from okta_pipeline.lib.detections.model import StatefulFunction
from okta_pipeline.lib.detections.stateful.aws import (
    activity_after_okta_suspension,
    console_login_bypassing_okta,
    risky_sign_in_then_aws_persistence,
    saml_without_okta_sso,
)
from okta_pipeline.lib.detections.stateful.novelty import sign_in_novelty
from okta_pipeline.lib.detections.stateful.self_grant import privilege_self_grant
from okta_pipeline.lib.detections.stateful.sessions import session_from_two_networks
from okta_pipeline.lib.detections.stateful.stuffing import credential_stuffing, distributed_spray
from okta_pipeline.lib.detections.stateful.takeover import mfa_reset_takeover
from okta_pipeline.lib.detections.stateful.travel import impossible_travel

STATEFUL_FUNCTIONS: dict[str, StatefulFunction] = {
    "impossible_travel": impossible_travel,
    "sign_in_novelty": sign_in_novelty,
    "mfa_reset_takeover": mfa_reset_takeover,
    "privilege_self_grant": privilege_self_grant,
    "session_from_two_networks": session_from_two_networks,
    "risky_sign_in_then_aws_persistence": risky_sign_in_then_aws_persistence,
    "activity_after_okta_suspension": activity_after_okta_suspension,
    "saml_without_okta_sso": saml_without_okta_sso,
    "console_login_bypassing_okta": console_login_bypassing_okta,
    "credential_stuffing": credential_stuffing,
    "distributed_spray": distributed_spray,
}
