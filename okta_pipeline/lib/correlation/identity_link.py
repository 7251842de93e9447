"""The identity link: each AWS session federated through SAML, mapped to the Okta user and
the Okta session that produced it, where the evidence allows.

An `AssumeRoleWithSAML` record names a role session name (by default the Okta login; an
org's AWS app may send something else, which `LinkRules` maps back), the SAML subject, the
issued access key and the assumed-role ARN. The Okta side is the user's SSO into the AWS app
(`user.authentication.sso`, request URI `/app/amazon_aws/...`) shortly before. The evidence
kept: the session name matched a login, how many seconds the SSO came before, and whether both
came from the same IP address. A SAML session with no SSO behind it stays unlinked: that is
itself a finding (a forged assertion).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from opensearchpy import OpenSearch, helpers

from okta_pipeline.lib.detections.search import (
    EventSearch,
    Hit,
    any_term_ignoring_case,
    iso,
    parse_time,
    term,
    terms,
)
from okta_pipeline.lib.opensearch.derived_fields import NAMESPACE
from okta_pipeline.lib.opensearch.index_setup import ensure_index_template, managed_template_name
from okta_pipeline.lib.opensearch.okta_index import daily_indices, daily_template

ASSUME_ROLE_WITH_SAML = "AssumeRoleWithSAML"
SSO = "user.authentication.sso"
REQUEST_URI = f"{NAMESPACE}.debug_data.requestUri"
SESSIONS_PREFIX = "okta-aws-sessions"
LOGINS_PER_QUERY = 500
"""Logins asked for in one SSO search (each is a clause; clusters allow 1,024 by default)."""

# What an AWS call says about the session that made it.
CALLER_KEY = "userIdentity.accessKeyId"
CALLER_ARN = "userIdentity.arn"
CALLER_CREATED = "userIdentity.sessionContext.attributes.creationDate"
CALLER_FIELDS = (CALLER_KEY, CALLER_ARN, CALLER_CREATED, "userIdentity.type")

_ASSUME_FIELDS = (
    f"{NAMESPACE}.role_session_name",
    f"{NAMESPACE}.saml_subject",
    f"{NAMESPACE}.issued_access_key_id",
    f"{NAMESPACE}.assumed_role_arn",
    f"{NAMESPACE}.role_arn",
    f"{NAMESPACE}.principal_arn",
    f"{NAMESPACE}.saml_issuer",
    "sourceIPAddress",
    "recipientAccountId",
)
_SSO_FIELDS = (
    "actor.alternateId",
    "actor.id",
    "authenticationContext.externalSessionId",
    "client.ipAddress",
)


@dataclass(frozen=True)
class LinkRules:
    """How an org's AWS SAML sessions name their Okta users."""

    session_name_pattern: str = r"(?P<login>.+)"
    """Matched against the role session name (then the SAML subject); the `login` group is the
    Okta login. E.g. `okta-(?P<login>[^@]+)` for names like `okta-ana.lopez`."""
    login_domain: str = ""
    """Appended as `@<domain>` when the captured login has none (names without a domain)."""
    aws_app_names: tuple[str, ...] = ("amazon_aws",)
    """Okta app names of the AWS federation apps (their SSO request URI is /app/<name>/...)."""
    sso_lead: timedelta = timedelta(minutes=5)
    """How long before the AssumeRoleWithSAML its SSO may be."""
    clock_skew: timedelta = timedelta(seconds=60)
    """How long after it (the two services' clocks and log times differ by seconds)."""

    def login_of(self, *names: str | None) -> str | None:
        """The Okta login named by the first of `names` the pattern matches (lower case)."""
        pattern = re.compile(self.session_name_pattern)
        for name in names:
            match = pattern.fullmatch(name) if name else None
            if match is None:
                continue
            login = match.groupdict().get("login") or match.group(0)
            if "@" not in login and self.login_domain:
                login = f"{login}@{self.login_domain}"
            return login.lower()
        return None


@dataclass(frozen=True)
class SessionLink:
    """One AWS SAML session and, when found, the Okta SSO that produced it."""

    assume_event_id: str
    assumed_at: datetime
    account_id: str
    role_arn: str
    assumed_role_arn: str
    access_key_id: str
    session_name: str
    source_ip: str
    saml_issuer: str
    login: str | None
    okta_user_id: str | None = None
    okta_session_id: str | None = None
    sso_uuid: str | None = None
    sso_published: datetime | None = None
    sso_ip: str | None = None
    evidence: tuple[str, ...] = field(default_factory=tuple)

    @property
    def linked(self) -> bool:
        return self.sso_uuid is not None

    @property
    def confidence(self) -> str:
        """high: an SSO from the same address; medium: an SSO from another; none: no SSO."""
        if not self.linked:
            return "none"
        return "high" if self.sso_ip == self.source_ip else "medium"

    @property
    def session_keys(self) -> list[str]:
        """What the session's calls carry: the issued key, and the ARN with its creation."""
        keys = [self.access_key_id] if self.access_key_id else []
        if self.assumed_role_arn:
            keys.append(caller_session(self.assumed_role_arn, self.assumed_at))
        return keys

    def document(self) -> dict[str, Any]:
        return {
            "assume_event_id": self.assume_event_id,
            "assumed_at": iso(self.assumed_at),
            "account_id": self.account_id,
            "role_arn": self.role_arn,
            "assumed_role_arn": self.assumed_role_arn,
            "access_key_id": self.access_key_id,
            "session_name": self.session_name,
            "source_ip": self.source_ip,
            "saml_issuer": self.saml_issuer,
            "session_keys": self.session_keys,
            "linked": self.linked,
            "confidence": self.confidence,
            "evidence": list(self.evidence),
            "okta": {
                "login": self.login,
                "user_id": self.okta_user_id,
                "session_id": self.okta_session_id,
                "sso_uuid": self.sso_uuid,
                "sso_published": iso(self.sso_published) if self.sso_published else None,
                "ip": self.sso_ip,
            },
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> SessionLink:
        okta = document.get("okta") or {}
        sso_published = okta.get("sso_published")
        return cls(
            assume_event_id=str(document["assume_event_id"]),
            assumed_at=parse_time(document["assumed_at"]),
            account_id=str(document.get("account_id") or ""),
            role_arn=str(document.get("role_arn") or ""),
            assumed_role_arn=str(document.get("assumed_role_arn") or ""),
            access_key_id=str(document.get("access_key_id") or ""),
            session_name=str(document.get("session_name") or ""),
            source_ip=str(document.get("source_ip") or ""),
            saml_issuer=str(document.get("saml_issuer") or ""),
            login=okta.get("login"),
            okta_user_id=okta.get("user_id"),
            okta_session_id=okta.get("session_id"),
            sso_uuid=okta.get("sso_uuid"),
            sso_published=parse_time(sso_published) if sso_published else None,
            sso_ip=okta.get("ip"),
            evidence=tuple(document.get("evidence") or ()),
        )


def caller_session(arn: str, created: datetime) -> str:
    """The key of an assumed-role session as its calls show it: ARN and creation second."""
    return f"{arn}|{iso(created.replace(microsecond=0))}"


def caller_keys(hit: Hit) -> list[str]:
    """The session keys an AWS call carries (see `SessionLink.session_keys`)."""
    keys = []
    if isinstance(key := hit.get(CALLER_KEY), str) and key:
        keys.append(key)
    arn, created = hit.get(CALLER_ARN), hit.get(CALLER_CREATED)
    if isinstance(arn, str) and isinstance(created, str) and ":assumed-role/" in arn:
        # a creationDate in another form: the access key still links the call
        with contextlib.suppress(ValueError):
            keys.append(caller_session(arn, parse_time(created)))
    return keys


def link_sessions(
    okta: EventSearch, cloudtrail: EventSearch, start: datetime, end: datetime, rules: LinkRules
) -> list[SessionLink]:
    """Every AWS SAML session started in [start, end), linked where the evidence allows."""
    assumed = list(
        cloudtrail.scan(term("eventName", ASSUME_ROLE_WITH_SAML), start, end, fields=_ASSUME_FIELDS)
    )
    logins = {
        hit.uuid: rules.login_of(
            _text(hit, f"{NAMESPACE}.role_session_name"), _text(hit, f"{NAMESPACE}.saml_subject")
        )
        for hit in assumed
    }
    wanted = sorted({login for login in logins.values() if login})
    sign_ons: dict[str, list[Hit]] = {}
    apps = [{"prefix": {REQUEST_URI: f"/app/{name}/"}} for name in rules.aws_app_names]
    since, until = start - rules.sso_lead, end + rules.clock_skew
    for first in range(0, len(wanted), LOGINS_PER_QUERY):
        chunk = wanted[first : first + LOGINS_PER_QUERY]
        query = {
            "bool": {
                "filter": [
                    term("eventType", SSO),
                    any_term_ignoring_case("actor.alternateId", chunk),
                ],
                "should": apps,
                "minimum_should_match": 1,
            }
        }
        for hit in okta.scan(query, since, until, fields=_SSO_FIELDS):
            sign_ons.setdefault(str(hit.get("actor.alternateId")).lower(), []).append(hit)

    # An SSO explains the sessions assumed from its own address, however many (a CLI assuming
    # several roles); from another address (NAT, dual stack) it explains one session at most,
    # and only if it explains none from its own. A forged assertion sent from elsewhere can
    # then not hide behind a real SSO of the user it names.
    def same_address(assume: Hit, sso: Hit) -> bool:
        return bool(sso.get("client.ipAddress") == (_text(assume, "sourceIPAddress") or ""))

    links = {
        hit.uuid: _link(hit, logins[hit.uuid], sign_ons, rules, same_address) for hit in assumed
    }
    used = {link.sso_uuid for link in links.values() if link.linked}
    for hit in sorted(assumed, key=lambda h: (h.published, h.uuid)):
        if links[hit.uuid].linked or logins[hit.uuid] is None:
            continue

        def unused_elsewhere(assume: Hit, sso: Hit) -> bool:
            return sso.uuid not in used and not same_address(assume, sso)

        link = _link(hit, logins[hit.uuid], sign_ons, rules, unused_elsewhere)
        if link.linked:
            used.add(link.sso_uuid)
        elif _link(hit, logins[hit.uuid], sign_ons, rules, lambda _a, _s: True).linked:
            link = replace(
                link,
                evidence=(
                    *link.evidence,
                    "every Okta SSO of this login near it already explains another session",
                ),
            )
        links[hit.uuid] = link
    return [links[hit.uuid] for hit in assumed]


def _link(
    assume: Hit,
    login: str | None,
    sign_ons: Mapping[str, list[Hit]],
    rules: LinkRules,
    may_explain: Callable[[Hit, Hit], bool],
) -> SessionLink:
    source_ip = _text(assume, "sourceIPAddress") or ""
    session_name = _text(assume, f"{NAMESPACE}.role_session_name") or ""
    base = SessionLink(
        assume_event_id=assume.uuid,
        assumed_at=assume.published,
        account_id=_text(assume, "recipientAccountId") or "",
        role_arn=_text(assume, f"{NAMESPACE}.role_arn") or "",
        assumed_role_arn=_text(assume, f"{NAMESPACE}.assumed_role_arn") or "",
        access_key_id=_text(assume, f"{NAMESPACE}.issued_access_key_id") or "",
        session_name=session_name,
        source_ip=source_ip,
        saml_issuer=_text(assume, f"{NAMESPACE}.saml_issuer") or "",
        login=login,
        evidence=(f"session name {session_name!r} is Okta login {login}",) if login else (),
    )
    if login is None:
        return base
    earliest, latest = assume.published - rules.sso_lead, assume.published + rules.clock_skew
    candidates = [
        s
        for s in sign_ons.get(login, [])
        if earliest <= s.published <= latest and may_explain(assume, s)
    ]
    if not candidates:
        return base
    # The same address first, then the SSO nearest before the AssumeRoleWithSAML.
    best = min(
        candidates,
        key=lambda s: (
            s.get("client.ipAddress") != source_ip,
            abs((assume.published - s.published).total_seconds()),
        ),
    )
    seconds = round((assume.published - best.published).total_seconds(), 3)
    same_ip = best.get("client.ipAddress") == source_ip
    return replace(
        base,
        okta_user_id=_text(best, "actor.id"),
        okta_session_id=_text(best, "authenticationContext.externalSessionId"),
        sso_uuid=best.uuid,
        sso_published=best.published,
        sso_ip=_text(best, "client.ipAddress"),
        evidence=(
            *base.evidence,
            f"Okta SSO into the AWS app {seconds:g} s before",
            "same source IP" if same_ip else "another source IP than the SSO",
        ),
    )


def _text(hit: Hit, path: str) -> str | None:
    value = hit.get(path)
    return value if isinstance(value, str) and value else None


def sessions_index(prefix: str, moment: datetime) -> str:
    return f"{prefix}-{moment:%Y.%m.%d}"


def sessions_indices(prefix: str) -> str:
    return daily_indices(prefix)


_KEYWORD = {"type": "keyword", "ignore_above": 1024}
SESSIONS_TEMPLATE_VERSION = 1


def sessions_template(prefix: str, replicas: int = 0) -> dict[str, Any]:
    date = {"type": "date"}
    keywords = (
        "assume_event_id",
        "account_id",
        "role_arn",
        "assumed_role_arn",
        "access_key_id",
        "session_name",
        "source_ip",
        "saml_issuer",
        "session_keys",
        "confidence",
        "evidence",
    )
    mappings = {
        "dynamic": False,
        "_meta": {"mapping_version": SESSIONS_TEMPLATE_VERSION},
        "properties": {
            **{name: _KEYWORD for name in keywords},
            "assumed_at": date,
            "linked": {"type": "boolean"},
            "okta": {
                "properties": {
                    **{n: _KEYWORD for n in ("login", "user_id", "session_id", "ip", "sso_uuid")},
                    "sso_published": date,
                }
            },
        },
    }
    description = "AWS SAML sessions linked to the Okta users and sessions behind them"
    return daily_template(
        prefix, mappings, description, SESSIONS_TEMPLATE_VERSION, replicas=replicas
    )


def write_links(
    client: OpenSearch, prefix: str, links: Sequence[SessionLink], replicas: int = 0
) -> int:
    """Index each link under its AssumeRoleWithSAML's eventID (a re-run rewrites it, so a link
    found once the Okta side arrived replaces the unlinked one), under the prefix's template;
    return how many."""
    ensure_index_template(
        client, managed_template_name(prefix), sessions_template(prefix, replicas)
    )
    actions = (
        {
            "_op_type": "index",
            "_index": sessions_index(prefix, link.assumed_at),
            "_id": link.assume_event_id,
            "_source": link.document(),
        }
        for link in links
    )
    written = 0
    for ok, item in helpers.streaming_bulk(
        client, actions, max_retries=5, initial_backoff=1, raise_on_error=False
    ):
        if not ok:
            outcome = item.get("index", {})
            raise RuntimeError(
                f"OpenSearch refused session link {outcome.get('_id')}: {outcome.get('error')}; "
                "re-run the partitions"
            )
        written += 1
    return written


def links_by_key(search: EventSearch, keys: Iterable[str]) -> dict[str, SessionLink]:
    """The stored links whose session keys include any of `keys`, by each of their keys."""
    return {
        key: link
        for link in _stored_links(search, "session_keys", keys)
        for key in link.session_keys
    }


def links_of_assumptions(search: EventSearch, event_ids: Iterable[str]) -> dict[str, SessionLink]:
    """The stored links of these AssumeRoleWithSAML records, by their eventID."""
    return {
        link.assume_event_id: link for link in _stored_links(search, "assume_event_id", event_ids)
    }


def _stored_links(search: EventSearch, field: str, values: Iterable[str]) -> list[SessionLink]:
    if search.sessions_index is None:
        return []
    wanted = sorted(set(values))
    found = []
    for offset in range(0, len(wanted), 1000):
        response = search.search(
            {"size": 10_000, "query": terms(field, wanted[offset : offset + 1000])},
            index=search.sessions_index,
        )
        found += [SessionLink.from_document(hit["_source"]) for hit in response["hits"]["hits"]]
    return found
