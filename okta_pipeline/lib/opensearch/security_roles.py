"""The pipeline's OpenSearch security role, and the mapping that gives it to the runs' IAM role.

Under fine-grained access control the runs are not the master user: their IAM role is a backend
role mapped to `okta_pipeline`, which allows what the pipeline does and nothing else. Its indices
are the Okta logs (`okta-logs-2*`), the findings (`okta-findings-2*`) and the alert ledger, and,
only when the deployment has a CloudTrail trail (OKTA_PIPELINE_CLOUDTRAIL_ROOT), CloudTrail's
records (`cloudtrail-2*`) and the identity links (`okta-aws-sessions-2*`); cluster-wide it reads
which plugins exist, manages its index templates, its retention (ISM) policy, its Alerting
monitors and the receiver's Notifications channel. It holds no
security-configuration permission and deletes no document: only whole Okta log indices (retention)
and monitors. Permission and action-group names are the security plugin's and the plugins' own.

The role and mapping are put with the security plugin's REST API by the domain's master user,
once after deploying: `okta-pipeline opensearch grant-run-role --backend-role <run role ARN>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors

from okta_pipeline.lib.alerts.ledger import LEDGER_INDEX
from okta_pipeline.lib.cloudtrail.index import CLOUDTRAIL_PREFIX
from okta_pipeline.lib.cloudtrail.index import daily_indices as cloudtrail_indices
from okta_pipeline.lib.correlation.identity_link import SESSIONS_PREFIX, sessions_indices
from okta_pipeline.lib.detections.findings import FINDINGS_PREFIX
from okta_pipeline.lib.opensearch.okta_index import TEMPLATE_NAME, daily_indices

ROLE_NAME = "okta_pipeline"
SECURITY_API = "/_plugins/_security/api"
AUTHINFO = "/_plugins/_security/authinfo"

CLUSTER_PERMISSIONS: tuple[str, ...] = (
    # `_cat/plugins` (has_plugin): the cluster state's nodes, then their plugins.
    "cluster:monitor/state",
    "cluster:monitor/nodes/info",
    # _bulk (events, findings) and _msearch (detections) are checked once for the cluster, then
    # for each index they touch.
    "indices:data/write/bulk",
    "indices:data/read/msearch",
    # The composable templates of the logs and the findings (the plugin checks them cluster-wide).
    "indices:admin/index_template/get",
    "indices:admin/index_template/put",
    # The retention policy: read and written, never deleted.
    "cluster:admin/opendistro/ism/policy/get",
    "cluster:admin/opendistro/ism/policy/write",
    # Detection monitors: this owner's found by search, created, updated, deleted when they leave
    # the catalog.
    "cluster:admin/opendistro/alerting/monitor/search",
    "cluster:admin/opendistro/alerting/monitor/write",
    "cluster:admin/opendistro/alerting/monitor/delete",
    # The receiver's webhook channel: read, created, updated. (Monitors run with the roles of the
    # user who saved them, this one: their searches need the logs' `search`; sending through the
    # channel needs no permission of the role on 2.19, so none is granted.)
    "cluster:admin/opensearch/notifications/configs/get",
    "cluster:admin/opensearch/notifications/configs/create",
    "cluster:admin/opensearch/notifications/configs/update",
)

# Action groups: `search` (search, msearch, resolve), `get` (get, mget), `index` (index, update and
# bulk documents, put mappings), `create_index` (create, put mappings). No group grants deleting
# documents or anything of `manage`.
_WRITE_DOCUMENTS = ("create_index", "index")
LOGS_ACTIONS: tuple[str, ...] = (
    *_WRITE_DOCUMENTS,
    "search",
    "indices:admin/refresh*",
    "indices:admin/get",  # retention lists the daily indices
    "indices:admin/mappings/get",  # indices created under an older mapping
    "indices:admin/aliases/get",  # whether any logs index exists yet (query validation)
    "indices:admin/validate/query",
    "indices:admin/delete",  # retention deletes whole daily indices
    # ISM attaches the retention policy to a new index only if the policy's user may manage it.
    "indices:admin/opensearch/ism/managedindex",
)
FINDINGS_ACTIONS: tuple[str, ...] = (*_WRITE_DOCUMENTS, "search", "indices:admin/refresh*")
LEDGER_ACTIONS: tuple[str, ...] = (
    *_WRITE_DOCUMENTS,
    "search",
    "get",
    "indices:admin/get",  # whether the ledger exists yet
)
# With a trail only: CloudTrail's records are loaded (bulk creates, refresh, counts by search),
# read by the identity link, the cross-source detections and the freshness check; no retention
# deletes them.
CLOUDTRAIL_ACTIONS: tuple[str, ...] = (
    *_WRITE_DOCUMENTS,
    "search",
    "indices:admin/refresh*",
    "indices:admin/mappings/get",  # days created under an older mapping
)
# The identity links: written (bulk index) and refreshed by aws_identity_links, searched by the
# cross-source detections.
SESSIONS_ACTIONS: tuple[str, ...] = (*_WRITE_DOCUMENTS, "search", "indices:admin/refresh*")


class SecuritySetupError(RuntimeError):
    """The role could not be put; the message names the cause and the fix."""


def role_document(
    logs_prefix: str = TEMPLATE_NAME,
    findings_prefix: str = FINDINGS_PREFIX,
    ledger_index: str = LEDGER_INDEX,
    *,
    cloudtrail: bool = False,
    cloudtrail_prefix: str = CLOUDTRAIL_PREFIX,
    sessions_prefix: str = SESSIONS_PREFIX,
) -> dict[str, Any]:
    """The `okta_pipeline` role, for the pipeline's index names; with `cloudtrail` (the
    deployment has a trail, so the definitions have the CloudTrail assets) also CloudTrail's
    and the identity links' daily indices. The prefixes default to those of OpenSearchResource."""
    names = [logs_prefix, findings_prefix, ledger_index]
    if cloudtrail:
        names += [cloudtrail_prefix, sessions_prefix]
    for name in names:
        if not name or any(c in name for c in "*?,/ ") or name != name.lower():
            raise ValueError(f"{name!r} is not an index name or prefix")
    index_permissions = [
        {"index_patterns": [daily_indices(logs_prefix)], "allowed_actions": list(LOGS_ACTIONS)},
        {
            "index_patterns": [daily_indices(findings_prefix)],
            "allowed_actions": list(FINDINGS_ACTIONS),
        },
        {"index_patterns": [ledger_index], "allowed_actions": list(LEDGER_ACTIONS)},
    ]
    description = (
        "okta_pipeline runs: the Okta log, findings and alert ledger indices, "
        "their templates, the retention policy and the detection monitors"
    )
    if cloudtrail:
        index_permissions += [
            {
                "index_patterns": [cloudtrail_indices(cloudtrail_prefix)],
                "allowed_actions": list(CLOUDTRAIL_ACTIONS),
            },
            {
                "index_patterns": [sessions_indices(sessions_prefix)],
                "allowed_actions": list(SESSIONS_ACTIONS),
            },
        ]
        description += "; the CloudTrail and identity link indices"
    return {
        "description": description,
        "cluster_permissions": list(CLUSTER_PERMISSIONS),
        "index_permissions": index_permissions,
    }


@dataclass(frozen=True)
class Caller:
    """Who the security plugin says is asking, and the security roles mapped to it."""

    name: str
    backend_roles: tuple[str, ...]
    roles: tuple[str, ...]


def check_backend_roles(backend_roles: Sequence[str]) -> None:
    """Refuse what can never match a run: nothing, wildcards, a session ARN."""
    if not backend_roles:
        raise SecuritySetupError("give the run role's IAM role ARN (--backend-role)")
    for role in backend_roles:
        if not role.strip() or "*" in role:
            raise SecuritySetupError(f"backend role {role!r}: give one exact ARN, no wildcard")
        if ":sts::" in role:
            raise SecuritySetupError(
                f"{role} is a session ARN: map the IAM role itself, "
                "arn:aws:iam::<account>:role/<name> (terraform output pipeline_role_arn)"
            )


def grant_run_role(
    client: OpenSearch,
    backend_roles: Sequence[str],
    url: str = "the cluster",
    role: dict[str, Any] | None = None,
) -> list[str]:
    """Put the role and map exactly `backend_roles` to it; take those backend roles out of every
    other mapping (the run role of an older deployment was the master user). One line per
    change; running it again changes nothing."""
    check_backend_roles(backend_roles)
    caller = whoami(client, url)
    lockout = set(backend_roles) & {caller.name, *caller.backend_roles}
    if lockout:
        raise SecuritySetupError(
            f"--backend-role {', '.join(sorted(lockout))} is this command's own identity "
            f"({caller.name}): run it as the admin role (the setup task does) and pass the run "
            "role's ARN (terraform output pipeline_role_arn)"
        )
    report = [f"acting as {caller.name} (roles: {', '.join(caller.roles) or 'none'})"]
    with _explained(url, caller):
        report.append(ensure_role(client, ROLE_NAME, role or role_document()))
        report.append(ensure_mapping(client, ROLE_NAME, backend_roles))
        report.extend(unmap_elsewhere(client, ROLE_NAME, backend_roles))
    return report


def whoami(client: OpenSearch, url: str = "the cluster") -> Caller:
    """The caller as the security plugin authenticated it; fails clearly without the plugin."""
    try:
        info = client.transport.perform_request("GET", AUTHINFO)
    except os_errors.ConnectionError as error:
        raise SecuritySetupError(
            f"cannot reach {url} ({error.error}): a VPC-only domain answers only inside its VPC; "
            "run the setup task there (terraform output opensearch_security_setup_command)"
        ) from None
    except os_errors.TransportError as error:
        if _no_security_plugin(error):
            raise SecuritySetupError(
                f"{url} has no security plugin (fine-grained access control is off), so there "
                "is no role to grant: every caller it admits may do everything. Run this against "
                "a domain with fine-grained access control (terraform/opensearch.tf turns it on)"
            ) from None
        if error.status_code == 401:
            raise SecuritySetupError(
                f"{url} did not accept this command's credentials (401): sign with SigV4 as the "
                "admin role (set OPENSEARCH_AWS_REGION, or --aws-region), e.g. by running the "
                "setup task (terraform output opensearch_security_setup_command)"
            ) from None
        if error.status_code == 403:
            raise SecuritySetupError(
                f"{url} refused this command's identity (403: {_reason(error)}): the domain "
                "access policy admits the run and admin roles only; run this as the admin role"
            ) from None
        raise _unexpected(url, error) from None
    return Caller(
        name=str(info.get("user_name", "?")),
        backend_roles=tuple(info.get("backend_roles") or ()),
        roles=tuple(info.get("roles") or ()),
    )


def ensure_role(client: OpenSearch, name: str, body: dict[str, Any]) -> str:
    """Create or update the role when the stored one differs; say which."""
    stored = _get(client, f"{SECURITY_API}/roles/{name}", name)
    if stored is not None and _role_key(stored) == _role_key(body):
        return f"role {name}: unchanged"
    client.transport.perform_request("PUT", f"{SECURITY_API}/roles/{name}", body=body)
    return f"role {name}: {'updated' if stored is not None else 'created'}"


def ensure_mapping(client: OpenSearch, name: str, backend_roles: Sequence[str]) -> str:
    """Map exactly `backend_roles` (no user, no host) to the role; say what changed."""
    wanted = sorted(set(backend_roles))
    listed = ", ".join(wanted)
    stored = _get(client, f"{SECURITY_API}/rolesmapping/{name}", name)
    if stored is not None and _members(stored) == (wanted, [], []):
        return f"role mapping {name}: unchanged ({listed})"
    client.transport.perform_request(
        "PUT",
        f"{SECURITY_API}/rolesmapping/{name}",
        body={"backend_roles": wanted, "users": [], "hosts": []},
    )
    if stored is None:
        return f"role mapping {name}: created ({listed})"
    dropped = sorted({m for found in _members(stored) for m in found} - set(wanted))
    return f"role mapping {name}: updated ({listed})" + (
        f"; no longer mapped: {', '.join(dropped)}" if dropped else ""
    )


def unmap_elsewhere(client: OpenSearch, keep: str, backend_roles: Iterable[str]) -> list[str]:
    """Take the backend roles out of every mapping but `keep`, as backend roles or as users."""
    removed = set(backend_roles)
    mappings = client.transport.perform_request("GET", f"{SECURITY_API}/rolesmapping")
    report = []
    for name, mapping in sorted(mappings.items()):
        members = {field: list(mapping.get(field) or []) for field in ("backend_roles", "users")}
        found = sorted(removed & {m for values in members.values() for m in values})
        if name == keep or not found:
            continue
        patch = [
            {"op": "replace", "path": f"/{field}", "value": [v for v in values if v not in removed]}
            for field, values in members.items()
            if removed & set(values)
        ]
        client.transport.perform_request("PATCH", f"{SECURITY_API}/rolesmapping/{name}", body=patch)
        report.append(f"role mapping {name}: removed {', '.join(found)}")
    return report


def _get(client: OpenSearch, path: str, name: str) -> dict[str, Any] | None:
    try:
        found = client.transport.perform_request("GET", path)
    except os_errors.NotFoundError:
        return None
    return dict(found[name])


def _members(mapping: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    return (
        sorted(mapping.get("backend_roles") or []),
        sorted(mapping.get("users") or []),
        sorted(mapping.get("hosts") or []),
    )


def _role_key(role: dict[str, Any]) -> tuple[Any, ...]:
    """What decides a role's meaning, in a form the stored and the desired role share."""
    indices = [
        (
            list(p.get("index_patterns") or []),
            list(p.get("allowed_actions") or []),
            p.get("dls") or None,
            list(p.get("fls") or []),
            list(p.get("masked_fields") or []),
        )
        for p in role.get("index_permissions") or []
    ]
    return (
        role.get("description", ""),
        list(role.get("cluster_permissions") or []),
        indices,
        list(role.get("tenant_permissions") or []),
    )


@contextmanager
def _explained(url: str, caller: Caller) -> Iterator[None]:
    """Turns the security API's refusals into what to do about them."""
    try:
        yield
    except os_errors.ConnectionError as error:
        raise SecuritySetupError(
            f"lost {url} ({error.error}): run again, every step is idempotent"
        ) from None
    except os_errors.TransportError as error:
        if error.status_code == 403 and "reserved" in _reason(error).lower():
            raise SecuritySetupError(
                f"{url} keeps a reserved role or mapping ({_reason(error)}): change it by hand "
                "in Dashboards (Security > Roles), then run again"
            ) from None
        if error.status_code in (401, 403):
            raise SecuritySetupError(
                f"{caller.name} may not change {url}'s security configuration "
                f"({error.status_code}: {_reason(error)}): run this as the domain's master user, "
                "the admin role (the setup task does; terraform output "
                "opensearch_security_setup_command)"
            ) from None
        raise _unexpected(url, error) from None


def _no_security_plugin(error: os_errors.TransportError) -> bool:
    """Without the plugin, its paths have no handler (400); a proxy may answer 404."""
    return error.status_code == 404 or (
        error.status_code == 400 and "no handler found" in f"{error.error} {error.info}"
    )


def _reason(error: os_errors.TransportError) -> str:
    info = error.info
    if isinstance(info, dict):
        found = info.get("message") or info.get("Message") or info.get("error") or info
        return str(found.get("reason", found) if isinstance(found, dict) else found)
    return str(info or error.error)


def _unexpected(url: str, error: os_errors.TransportError) -> SecuritySetupError:
    return SecuritySetupError(f"{url} answered {error.status_code}: {_reason(error)}")
