"""Cross-source detections: Okta and AWS CloudTrail read together, through the identity link.

Each reads CloudTrail's records of the range (`search.cloudtrail`), the stored links from AWS
sessions to Okta users and sessions (`search.sessions_index`), and the Okta events it needs.
Without CloudTrail configured they find nothing. Records are read page by page on
(eventTime, eventID), so records that share a second are all seen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from okta_pipeline.lib.correlation.identity_link import (
    ASSUME_ROLE_WITH_SAML,
    CALLER_FIELDS,
    SessionLink,
    caller_keys,
    links_by_key,
    links_of_assumptions,
)
from okta_pipeline.lib.detections.model import EvidenceEvent, Match
from okta_pipeline.lib.detections.search import CLOUDTRAIL, EventSearch, Hit, iso, term, terms
from okta_pipeline.lib.opensearch.derived_fields import NAMESPACE
from okta_pipeline.lib.windows import window_start

LOGIN = "okta.login"
SESSION = "aws.session"
SESSION_ID = "authenticationContext.externalSessionId"
DENY_PUSH = "user.mfa.okta_verify.deny_push"
SUSPENDED = ("user.lifecycle.suspend", "user.lifecycle.deactivate", "user.account.lock")
REINSTATED = (
    "user.lifecycle.unsuspend",
    "user.lifecycle.activate",
    "user.lifecycle.reactivate",
    "user.account.unlock",
)


def risky_sign_in_then_aws_persistence(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Match]:
    """Sensitive AWS calls by a session whose Okta session showed a risky sign-in."""
    if search.cloudtrail is None:
        return []
    span = timedelta(hours=float(parameters.get("span_hours", 12)))
    sensitive = [str(name) for name in parameters.get("sensitive_calls", [])]
    calls = list(
        search.cloudtrail.scan(
            terms("eventName", sensitive), start, end, fields=(*CALLER_FIELDS, "eventName")
        )
    )
    sessions = _calls_by_session(search, calls)
    okta_sessions = {link.okta_session_id for link in sessions if link.okta_session_id}
    if not okta_sessions:
        return []
    earliest = min(link.sso_published or link.assumed_at for link in sessions) - span
    risks = _risky_events(search, sorted(okta_sessions), earliest, end, parameters)
    matches = []
    for link, session_calls in sessions.items():
        found = risks.get(link.okta_session_id or "", [])
        reasons = sorted({reason for reason, _ in found})
        if not reasons:
            continue
        risky = [hit for _, hit in found]
        for window, in_window in _by_window(session_calls).items():
            matches.append(
                Match(
                    window=window,
                    entity={LOGIN: str(link.login), SESSION: link.assumed_role_arn},
                    events=(
                        *(hit.evidence for hit in risky),
                        *_link_evidence(link),
                        *(hit.evidence for hit in in_window),
                    ),
                    details={
                        "user": str(link.login),
                        "reasons": ", ".join(reasons),
                        "calls": ", ".join(sorted({str(h.get("eventName")) for h in in_window})),
                        "role": link.role_arn,
                        "account": link.account_id,
                        "okta_session": str(link.okta_session_id),
                        "link": link.confidence,
                    },
                )
            )
    return matches


def activity_after_okta_suspension(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Match]:
    """AWS calls by a session whose Okta user was suspended, deactivated or locked out before
    the call (and not reinstated since): the federated credentials outlive the Okta account."""
    if search.cloudtrail is None or search.sessions_index is None:
        return []
    lifetime = timedelta(hours=float(parameters.get("session_hours", 12)))
    # Suspensions are rare: find them first, then only their users' sessions.
    changes = list(
        search.scan(
            terms("eventType", [*SUSPENDED, *REINSTATED]),
            start - lifetime,
            end,
            fields=("eventType", "target.alternateId"),
        )
    )
    suspended_logins = {
        login for hit in changes if hit.get("eventType") in SUSPENDED for login in _logins(hit)
    }
    if not suspended_logins:
        return []
    suspect = [
        link
        for link in _sessions_of(search, sorted(suspended_logins), start - lifetime, end)
        if link.linked
    ]
    if not suspect:
        return []
    keys = {key: link for link in suspect for key in link.session_keys}
    calls = _calls_of(search, keys, start, end)
    matches = []
    for link, session_calls in calls.items():
        history = sorted(
            (h for h in changes if link.login in _logins(h)),
            key=lambda h: h.published,
        )
        after: list[Hit] = []
        cause: Hit | None = None
        for call in session_calls:
            state = _state_at(history, call.published)
            if state is not None:
                cause = state
                after.append(call)
        if cause is None:
            continue
        for window, in_window in _by_window(after).items():
            matches.append(
                Match(
                    window=window,
                    entity={LOGIN: str(link.login), SESSION: link.assumed_role_arn},
                    events=(
                        cause.evidence,
                        *_link_evidence(link),
                        *(h.evidence for h in in_window),
                    ),
                    details={
                        "user": str(link.login),
                        "okta_change": str(cause.get("eventType")),
                        "okta_change_at": iso(cause.published),
                        "calls": ", ".join(sorted({str(h.get("eventName")) for h in in_window})),
                        "role": link.role_arn,
                        "account": link.account_id,
                    },
                )
            )
    return matches


def saml_without_okta_sso(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Match]:
    """An AssumeRoleWithSAML through Okta's SAML provider with no Okta SSO into the AWS app
    behind it: a forged assertion ("Golden SAML") or a stolen signing key."""
    if search.cloudtrail is None:
        return []
    issuers = [str(i) for i in parameters.get("okta_issuers", ["http://www.okta.com/"])]
    query = {
        "bool": {
            "filter": [term("eventName", ASSUME_ROLE_WITH_SAML)],
            "should": [{"prefix": {f"{NAMESPACE}.saml_issuer": issuer}} for issuer in issuers],
            "minimum_should_match": 1,
        }
    }
    assumed = list(search.cloudtrail.scan(query, start, end))
    links = links_of_assumptions(search, (hit.uuid for hit in assumed))
    unlinked = [links[h.uuid] for h in assumed if h.uuid in links and not links[h.uuid].linked]
    if not unlinked:
        return []
    keys = {key: link for link in unlinked for key in link.session_keys}
    calls = _calls_of(search, keys, start, end)
    matches = []
    for link in unlinked:
        window = window_start(link.assumed_at)
        following = [h for h in calls.get(link, []) if window_start(h.published) == window]
        matches.append(
            Match(
                window=window,
                entity={SESSION: link.assumed_role_arn},
                events=(
                    EvidenceEvent(link.assume_event_id, link.assumed_at, CLOUDTRAIL),
                    *(h.evidence for h in following),
                ),
                details={
                    "user": str(link.login or link.session_name),
                    "role": link.role_arn,
                    "account": link.account_id,
                    "source_ip": link.source_ip,
                    "why": "no Okta SSO into the AWS app by this user in the minutes before",
                },
            )
        )
    return matches


def console_login_bypassing_okta(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Match]:
    """A successful AWS console sign-in as an IAM user or the root user: outside Okta."""
    if search.cloudtrail is None:
        return []
    allowed = {str(user) for user in parameters.get("allowed_users", [])}
    query = {
        "bool": {
            "filter": [
                term("eventName", "ConsoleLogin"),
                terms("userIdentity.type", ["IAMUser", "Root"]),
                term(f"{NAMESPACE}.console_login", "Success"),
            ]
        }
    }
    fields = (
        "userIdentity.type",
        "userIdentity.arn",
        "userIdentity.userName",
        "recipientAccountId",
        "sourceIPAddress",
        f"{NAMESPACE}.mfa_used",
    )
    matches = []
    for hit in search.cloudtrail.scan(query, start, end, fields=fields):
        user = str(hit.get("userIdentity.userName") or hit.get("userIdentity.type"))
        if user in allowed or str(hit.get("userIdentity.arn")) in allowed:
            continue
        matches.append(
            Match(
                window=window_start(hit.published),
                entity={"aws.account": str(hit.get("recipientAccountId")), "aws.user": user},
                events=(hit.evidence,),
                details={
                    "identity": str(hit.get("userIdentity.type")),
                    "source_ip": str(hit.get("sourceIPAddress")),
                    "mfa_used": str(hit.get(f"{NAMESPACE}.mfa_used")),
                },
            )
        )
    return matches


def _calls_by_session(search: EventSearch, calls: list[Hit]) -> dict[SessionLink, list[Hit]]:
    """The calls whose session is linked to an Okta user, grouped by that session."""
    links = links_by_key(search, (key for call in calls for key in caller_keys(call)))
    grouped: dict[SessionLink, list[Hit]] = defaultdict(list)
    for call in calls:
        link = next((links[k] for k in caller_keys(call) if k in links), None)
        if link is not None and link.linked:
            grouped[link].append(call)
    return grouped


def _calls_of(
    search: EventSearch, keys: Mapping[str, SessionLink], start: datetime, end: datetime
) -> dict[SessionLink, list[Hit]]:
    """Every call in [start, end) by the sessions of `keys`, grouped by session."""
    assert search.cloudtrail is not None
    arns = sorted({link.assumed_role_arn for link in keys.values() if link.assumed_role_arn})
    access_keys = sorted(k for k in keys if "|" not in k)
    query = {
        "bool": {
            "should": [
                terms("userIdentity.accessKeyId", access_keys),
                terms("userIdentity.arn", arns),
            ],
            "minimum_should_match": 1,
            "must_not": [term("eventName", ASSUME_ROLE_WITH_SAML)],
        }
    }
    grouped: dict[SessionLink, list[Hit]] = defaultdict(list)
    for call in search.cloudtrail.scan(query, start, end, fields=(*CALLER_FIELDS, "eventName")):
        link = next((keys[k] for k in caller_keys(call) if k in keys), None)
        if link is not None:
            grouped[link].append(call)
    return grouped


def _logins(change: Hit) -> list[str]:
    """The Okta logins a suspension or reinstatement names, in lower case as links keep them."""
    return [str(login).lower() for login in _as_list(change.get("target.alternateId"))]


def _sessions_of(
    search: EventSearch, logins: list[str], since: datetime, until: datetime
) -> list[SessionLink]:
    """The stored links of these Okta users' AWS sessions started in [since, until)."""
    assert search.sessions_index is not None
    body: dict[str, Any] = {
        "size": 1000,
        "query": {
            "bool": {
                "filter": [
                    terms("okta.login", logins),
                    {"range": {"assumed_at": {"gte": iso(since), "lt": iso(until)}}},
                ]
            }
        },
        "sort": [{"assumed_at": "asc"}, {"assume_event_id": "asc"}],
    }
    links: list[SessionLink] = []
    while True:
        hits = search.search(body, index=search.sessions_index)["hits"]["hits"]
        links += [SessionLink.from_document(hit["_source"]) for hit in hits]
        if len(hits) < 1000:
            return links
        body["search_after"] = hits[-1]["sort"]


def _risky_events(
    search: EventSearch,
    sessions: list[str],
    since: datetime,
    until: datetime,
    parameters: Mapping[str, Any],
) -> dict[str, list[tuple[str, Hit]]]:
    """Per Okta session: its risk signals, each (reason, event)."""
    behaviors = {str(k): str(v) for k, v in parameters.get("risky_behaviors", {}).items()}
    fatigue = int(parameters.get("mfa_fatigue_denials", 3))
    query = {
        "bool": {
            "filter": [terms(SESSION_ID, sessions)],
            "should": [
                terms(f"{NAMESPACE}.positive_behaviors", sorted(behaviors)),
                term(f"{NAMESPACE}.risk_level", "HIGH"),
                term(f"{NAMESPACE}.is_proxy", True),
                term(f"{NAMESPACE}.threat_suspected", True),
                term("eventType", DENY_PUSH),
            ],
            "minimum_should_match": 1,
        }
    }
    fields = (
        SESSION_ID,
        "eventType",
        f"{NAMESPACE}.positive_behaviors",
        f"{NAMESPACE}.risk_level",
        f"{NAMESPACE}.is_proxy",
        f"{NAMESPACE}.threat_suspected",
    )
    found: dict[str, list[tuple[str, Hit]]] = defaultdict(list)
    denials: dict[str, list[Hit]] = defaultdict(list)
    for hit in search.scan(query, since, until, fields=fields):
        session = str(hit.get(SESSION_ID))
        if hit.get("eventType") == DENY_PUSH:
            denials[session].append(hit)
            continue
        positive = set(_as_list(hit.get(f"{NAMESPACE}.positive_behaviors")))
        reasons = [label for behavior, label in behaviors.items() if behavior in positive]
        if hit.get(f"{NAMESPACE}.risk_level") == "HIGH":
            reasons.append("high-risk sign-in")
        if hit.get(f"{NAMESPACE}.is_proxy") is True:
            reasons.append("proxy or Tor")
        if hit.get(f"{NAMESPACE}.threat_suspected") is True:
            reasons.append("ThreatInsight suspected a threat")
        found[session] += [(reason, hit) for reason in reasons]
    for session, denied in denials.items():
        if len(denied) >= fatigue:  # the session went on to AWS: the push was accepted
            found[session] += [("MFA push fatigue, then accepted", hit) for hit in denied]
    return found


def _state_at(history: list[Hit], moment: datetime) -> Hit | None:
    """The suspension in force at `moment` (None when the user was not, or was reinstated)."""
    state: Hit | None = None
    for change in history:
        if change.published > moment:
            break
        state = change if change.get("eventType") in SUSPENDED else None
    return state


def _link_evidence(link: SessionLink) -> tuple[EvidenceEvent, ...]:
    sso = (
        (EvidenceEvent(link.sso_uuid, link.sso_published),)
        if link.sso_uuid and link.sso_published
        else ()
    )
    return (*sso, EvidenceEvent(link.assume_event_id, link.assumed_at, CLOUDTRAIL))


def _by_window(hits: Iterable[Hit]) -> dict[datetime, list[Hit]]:
    grouped: dict[datetime, list[Hit]] = defaultdict(list)
    for hit in hits:
        grouped[window_start(hit.published)].append(hit)
    return dict(sorted(grouped.items()))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
