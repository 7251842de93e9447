"""The okta_pipeline security role allows every index and API the pipeline uses and nothing
beyond; `okta-pipeline opensearch grant-run-role` puts it idempotently through the security
plugin's REST API (a local HTTP fake of exactly the endpoints used: no security plugin runs here)
and, when it cannot, says why and what to do (the real local node, which has no such plugin)."""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest

from okta_pipeline.cli.main import main
from okta_pipeline.defs.alerts.resources import AlertsResource
from okta_pipeline.defs.deployment import DeploymentSettings
from okta_pipeline.defs.detections.monitors import desired_monitors
from okta_pipeline.defs.detections.resources import DetectionsResource, monitors_resource
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.lib.cloudtrail.index import daily_indices as cloudtrail_indices
from okta_pipeline.lib.cloudtrail.index import index_name as cloudtrail_index
from okta_pipeline.lib.cloudtrail.index import index_template as cloudtrail_template
from okta_pipeline.lib.correlation.identity_link import (
    sessions_index,
    sessions_indices,
    sessions_template,
)
from okta_pipeline.lib.detections.findings import findings_index, findings_template
from okta_pipeline.lib.http_server import send_json
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings, connect
from okta_pipeline.lib.opensearch.index_setup import has_plugin, retention_policy
from okta_pipeline.lib.opensearch.okta_index import index_name, index_template
from okta_pipeline.lib.opensearch.security_roles import ROLE_NAME, role_document

ADMIN = "arn:aws:iam::123456789012:role/okta-pipeline-os-admin-20260101"
RUN = "arn:aws:iam::123456789012:role/okta-pipeline-run-20260101"
DAY = datetime(2026, 11, 20, 10, 5, tzinfo=UTC)
TRAIL = "s3://org-trail-logs/security"
CLOUDTRAIL_ROOT = "OKTA_PIPELINE_CLOUDTRAIL_ROOT"
# Without a trail the definitions have no CloudTrail assets; with one, they load, link and search
# CloudTrail's indices and the identity links' too.
WITH_AND_WITHOUT_CLOUDTRAIL = pytest.mark.parametrize(
    "cloudtrail", [False, True], ids=["okta_only", "with_cloudtrail"]
)

# The security plugin's static action groups that the role names (static_action_groups.yml in
# opensearch-project/security). A group the role names that is missing here fails the tests.
ACTION_GROUPS: dict[str, tuple[str, ...]] = {
    "search": (
        "indices:data/read/search*",
        "indices:data/read/msearch*",
        "indices:admin/resolve/index",
        "suggest",
    ),
    "suggest": ("indices:data/read/suggest*",),
    "get": ("indices:data/read/get*", "indices:data/read/mget*"),
    "index": (
        "indices:data/write/index*",
        "indices:data/write/update*",
        "indices:admin/mapping/put",
        "indices:data/write/bulk*",
    ),
    "create_index": ("indices:admin/create", "indices:admin/mapping/put"),
}

# Cluster-level actions behind the pipeline's requests (the plugin checks _bulk, _msearch and
# index templates cluster-wide).
CLUSTER_ACTIONS_USED = {
    "cluster:monitor/state": "_cat/plugins (has_plugin)",
    "cluster:monitor/nodes/info": "_cat/plugins (has_plugin)",
    "indices:data/write/bulk": "_bulk: load events, write findings",
    "indices:data/read/msearch": "_msearch: detections",
    "indices:admin/index_template/get": "ensure_template, ensure_findings_template",
    "indices:admin/index_template/put": "ensure_template, ensure_findings_template",
    "cluster:admin/opendistro/ism/policy/get": "ensure_retention_policy",
    "cluster:admin/opendistro/ism/policy/write": "ensure_retention_policy",
    "cluster:admin/opendistro/alerting/monitor/search": "MonitorSync._scan",
    "cluster:admin/opendistro/alerting/monitor/write": "MonitorSync._create, _update",
    "cluster:admin/opendistro/alerting/monitor/delete": "MonitorSync._delete",
    "cluster:admin/opensearch/notifications/configs/get": "ensure_receiver_channel",
    "cluster:admin/opensearch/notifications/configs/create": "ensure_receiver_channel",
    "cluster:admin/opensearch/notifications/configs/update": "ensure_receiver_channel",
}


def deployed_names(cloudtrail: bool = False) -> dict[str, str]:
    """A concrete index of each family, from the deployed resources' own defaults; CloudTrail's
    and the identity links' when the deployment has a trail."""
    opensearch = OpenSearchResource(url="https://search.example.com")
    ledger = AlertsResource.model_fields["ledger_index"].default
    names = {
        "logs": index_name(opensearch.index_prefix, DAY),
        "findings": findings_index(opensearch.findings_prefix, DAY),
        "ledger": str(ledger),
    }
    if cloudtrail:
        names["cloudtrail"] = cloudtrail_index(opensearch.cloudtrail_prefix, DAY)
        names["sessions"] = sessions_index(opensearch.sessions_prefix, DAY)
    return names


def cloudtrail_names() -> dict[str, str]:
    """The CloudTrail and identity-link indices only."""
    names = deployed_names(cloudtrail=True)
    return {family: names[family] for family in ("cloudtrail", "sessions")}


def index_actions_used(cloudtrail: bool = False) -> list[tuple[str, str, str]]:
    """(action, index, where) for every index-level action behind the pipeline's requests."""
    names = deployed_names(cloudtrail)
    logs, findings, ledger = names["logs"], names["findings"], names["ledger"]
    writes = [
        "indices:data/write/bulk[s]",  # _bulk, per shard
        "indices:data/write/index",  # each item: create (events), index (findings)
        "indices:admin/create",  # auto_create, as the plugin names it
        "indices:admin/mapping/put",  # auto_put_mapping, as the plugin names it
    ]
    aws: list[tuple[str, str, str]] = []
    if cloudtrail:
        trail, sessions = names["cloudtrail"], names["sessions"]
        aws = [
            *[(action, trail, "opensearch_cloudtrail_events") for action in writes],
            ("indices:data/read/search", trail, "load counts, freshness, link, detections"),
            ("indices:admin/refresh", trail, "opensearch_cloudtrail_events"),
            ("indices:admin/refresh[s]", trail, "opensearch_cloudtrail_events"),
            ("indices:admin/mappings/get", trail, "indices_with_older_mapping"),
            *[(action, sessions, "aws_identity_links (write_links)") for action in writes],
            ("indices:data/read/search", sessions, "cross-source detections (links)"),
            ("indices:admin/refresh", sessions, "aws_identity_links"),
            ("indices:admin/refresh[s]", sessions, "aws_identity_links"),
        ]
    return [
        *[(action, logs, "load_windows") for action in writes],
        ("indices:data/read/search", logs, "detections, freshness, counts, monitors"),
        ("indices:admin/refresh", logs, "load"),
        ("indices:admin/refresh[s]", logs, "load"),
        ("indices:admin/get", logs, "delete_expired_indices"),
        ("indices:admin/mappings/get", logs, "indices_with_older_mapping"),
        ("indices:admin/aliases/get", logs, "_rejected_queries"),
        ("indices:admin/validate/query", logs, "_rejected_queries"),
        ("indices:admin/delete", logs, "delete_expired_indices"),
        ("indices:admin/opensearch/ism/managedindex", logs, "ISM applying retention"),
        *[(action, findings, "write_findings, intake") for action in writes],
        ("indices:data/read/search", findings, "alerts, intake"),
        ("indices:admin/refresh", findings, "okta_detections"),
        ("indices:admin/get", ledger, "Ledger.ensure_index (exists)"),
        ("indices:admin/create", ledger, "Ledger.ensure_index"),
        ("indices:data/write/index", ledger, "Ledger.claim (create)"),
        ("indices:data/write/update", ledger, "Ledger updates"),
        ("indices:data/write/bulk[s]", ledger, "an update's write"),
        ("indices:data/read/get", ledger, "Ledger.claim"),
        ("indices:data/read/search", ledger, "Ledger searches"),
        *aws,
    ]


def wildcard(pattern: str, value: str) -> bool:
    """The security plugin's matching: `*` and `?` are wildcards, everything else literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def expand(actions: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for action in actions:
        if ":" in action:
            found.add(action)
        else:
            assert action in ACTION_GROUPS, f"unknown action group {action!r}: add its definition"
            found |= expand(ACTION_GROUPS[action])
    return found


def cluster_allows(role: dict[str, Any], action: str) -> bool:
    return any(wildcard(p, action) for p in expand(role["cluster_permissions"]))


def index_allows(role: dict[str, Any], action: str, index: str) -> bool:
    return any(
        wildcard(p, action)
        for grant in role["index_permissions"]
        if any(wildcard(pattern, index) for pattern in grant["index_patterns"])
        for p in expand(grant["allowed_actions"])
    )


@WITH_AND_WITHOUT_CLOUDTRAIL
def test_the_role_allows_every_action_behind_the_pipelines_requests(cloudtrail: bool) -> None:
    role = role_document(cloudtrail=cloudtrail)
    for action, where in CLUSTER_ACTIONS_USED.items():
        assert cluster_allows(role, action), f"{action} ({where}) is not allowed"
    for action, index, where in index_actions_used(cloudtrail):
        assert index_allows(role, action, index), f"{action} on {index} ({where})"
    if not cloudtrail:  # no trail: nothing on CloudTrail's or the identity links' indices
        for action, index, where in index_actions_used(cloudtrail=True):
            if index in cloudtrail_names().values():
                assert not index_allows(role, action, index), f"{action} on {index} ({where})"


def test_without_a_trail_the_role_is_the_okta_only_one() -> None:
    assert role_document() == role_document(cloudtrail=False)
    patterns = [p for g in role_document()["index_permissions"] for p in g["index_patterns"]]
    assert patterns == ["okta-logs-2*", "okta-findings-2*", "okta-alert-ledger"]
    with_trail = role_document(cloudtrail=True)
    assert with_trail["index_permissions"][:3] == role_document()["index_permissions"]
    assert with_trail["cluster_permissions"] == role_document()["cluster_permissions"]


@WITH_AND_WITHOUT_CLOUDTRAIL
def test_every_index_pattern_the_code_uses_is_one_of_the_roles(cloudtrail: bool) -> None:
    role = role_document(cloudtrail=cloudtrail)
    patterns = {p for grant in role["index_permissions"] for p in grant["index_patterns"]}
    opensearch = OpenSearchResource(url="https://search.example.com")
    # What the CloudTrail assets template, load, link and search (defs/aws, defs/detections).
    aws = (
        {
            *cloudtrail_template(opensearch.cloudtrail_prefix)["index_patterns"],
            *sessions_template(opensearch.sessions_prefix)["index_patterns"],
            cloudtrail_indices(opensearch.cloudtrail_prefix),
            sessions_indices(opensearch.sessions_prefix),
        }
        if cloudtrail
        else set()
    )
    used = {
        *index_template(opensearch.index_prefix)["index_patterns"],
        *findings_template(opensearch.findings_prefix)["index_patterns"],
        *retention_policy(opensearch.index_prefix, timedelta(days=90))["policy"]["ism_template"][0][
            "index_patterns"
        ],
        *(
            index
            for body in desired_monitors(
                opensearch, DetectionsResource(), monitors_resource(DeploymentSettings())
            )
            for index in body["inputs"][0]["search"]["indices"]
        ),
        deployed_names()["ledger"],
        *aws,
    }
    assert used == patterns
    # Every concrete index the pipeline writes falls under one of them.
    for index in deployed_names(cloudtrail).values():
        assert any(wildcard(p, index) for p in patterns), index
    if not cloudtrail:
        for index in cloudtrail_names().values():
            assert not any(wildcard(p, index) for p in patterns), index


@WITH_AND_WITHOUT_CLOUDTRAIL
def test_the_role_grants_no_administration_and_deletes_no_document(cloudtrail: bool) -> None:
    role = role_document(cloudtrail=cloudtrail)
    for permission in role["cluster_permissions"]:
        assert "*" not in permission and not permission.startswith("restapi:"), permission
        assert permission not in ACTION_GROUPS and ":" in permission, permission
    for grant in role["index_permissions"]:
        for pattern in grant["index_patterns"]:
            assert not pattern.startswith((".", "*")) and pattern.count("*") <= 1, pattern
        assert not {"indices_all", "manage", "crud", "write", "delete", "data_access"} & set(
            grant["allowed_actions"]
        )
    forbidden_cluster = [
        "cluster:admin/opendistro/ism/policy/delete",
        "indices:admin/index_template/delete",
        "cluster:admin/opensearch/notifications/configs/delete",
        "cluster:admin/settings/update",
        "cluster:admin/snapshot/create",
        "cluster:admin/opendistro/alerting/alerts/ack",
        "restapi:admin/roles",
        "restapi:admin/rolesmapping",
    ]
    for action in forbidden_cluster:
        assert not cluster_allows(role, action), action
    names = deployed_names(cloudtrail=True)
    for index in names.values():
        assert not index_allows(role, "indices:data/write/delete", index), index
        assert not index_allows(role, "indices:admin/close", index), index
        assert not index_allows(role, "indices:admin/settings/update", index), index
    for family in ("findings", "ledger", "cloudtrail", "sessions"):
        assert not index_allows(role, "indices:admin/delete", names[family]), family
    outside = [
        ".opendistro_security",
        ".opendistro-alerting-config",
        ".opendistro-ism-config",
        "security-auditlog-2026.11.20",
        "okta-logs-dev-2026.11.20",  # another deployment's prefix
        "okta-logs",  # not a daily index
        "cloudtrail-dev-2026.11.20",
        "cloudtrail",
        "okta-aws-sessions-dev-2026.11.20",
        "other",
    ]
    for index in outside:
        for action in ("indices:data/read/search", "indices:data/write/index"):
            assert not index_allows(role, action, index), f"{action} on {index}"


def test_bad_names_are_refused() -> None:
    with pytest.raises(ValueError, match="not an index name"):
        role_document(logs_prefix="okta-*")
    with pytest.raises(ValueError, match="not an index name"):
        role_document(cloudtrail=True, cloudtrail_prefix="cloud*")
    with pytest.raises(ValueError, match="not an index name"):
        role_document(cloudtrail=True, sessions_prefix="Sessions")


def test_the_role_takes_the_prefixes_the_definitions_use() -> None:
    """The resource's defaults are the prefixes the role is made for; other prefixes (another
    deployment's) give their own patterns."""
    opensearch = OpenSearchResource(url="https://search.example.com")
    role = role_document(
        cloudtrail=True,
        cloudtrail_prefix=opensearch.cloudtrail_prefix,
        sessions_prefix=opensearch.sessions_prefix,
    )
    assert role == role_document(cloudtrail=True)
    other = role_document(cloudtrail=True, cloudtrail_prefix="trail-b", sessions_prefix="links-b")
    patterns = [p for g in other["index_permissions"] for p in g["index_patterns"]]
    assert patterns[3:] == ["trail-b-2*", "links-b-2*"]


# The security plugin's REST API, as far as grant_run_role uses it.
class SecurityApi(BaseHTTPRequestHandler):
    caller: ClassVar[dict[str, Any] | None] = None
    may_configure: ClassVar[bool] = True
    roles: ClassVar[dict[str, dict[str, Any]]] = {}
    mappings: ClassVar[dict[str, dict[str, Any]]] = {}
    requests: ClassVar[list[tuple[str, str, dict[str, str]]]] = []

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _serve(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        body: Any = json.loads(raw) if raw else None
        path = urlsplit(self.path).path
        type(self).requests.append((self.command, path, dict(self.headers)))
        if path == "/_plugins/_security/authinfo":
            if self.caller is None:
                return self._send(401, {"error": "Unauthorized"})
            return self._send(200, self.caller)
        if not self.may_configure:
            return self._send(403, {"status": "FORBIDDEN", "message": "no permissions"})
        kind, _, name = path.removeprefix("/_plugins/_security/api/").partition("/")
        store = {"roles": self.roles, "rolesmapping": self.mappings}[kind]
        if self.command == "GET" and not name:
            return self._send(200, store)
        if self.command == "GET":
            if name not in store:
                return self._send(404, {"status": "NOT_FOUND", "message": f"'{name}' not found."})
            return self._send(200, {name: store[name]})
        if self.command == "PUT":
            created = name not in store
            store[name] = stored_role(body) if kind == "roles" else stored_mapping(body)
            return self._send(201 if created else 200, {"status": "CREATED" if created else "OK"})
        for operation in body:
            assert operation["op"] == "replace"
            store[name][operation["path"].strip("/")] = operation["value"]
        return self._send(200, {"status": "OK"})

    def _send(self, status: int, payload: Any) -> None:
        send_json(self, status, payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def stored_role(body: dict[str, Any]) -> dict[str, Any]:
    """As the plugin stores and returns a role: flags and empty defaults filled in."""
    return {
        "reserved": False,
        "hidden": False,
        "static": False,
        "tenant_permissions": [],
        **body,
        "index_permissions": [
            {"fls": [], "masked_fields": [], **grant} for grant in body["index_permissions"]
        ],
    }


def stored_mapping(body: dict[str, Any]) -> dict[str, Any]:
    return {"reserved": False, "hidden": False, "and_backend_roles": [], "hosts": [], **body}


@pytest.fixture
def security_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The fake, as an upgraded deployment finds it: the run role still mapped as an admin.
    The environment is the setup task's: the URL and SigV4's region, with fake credentials."""
    SecurityApi.caller = {
        "user_name": ADMIN,
        "backend_roles": [ADMIN],
        "roles": ["all_access", "security_manager"],
    }
    SecurityApi.may_configure = True
    SecurityApi.roles = {}
    SecurityApi.mappings = {
        "all_access": stored_mapping({"backend_roles": [ADMIN, RUN], "users": []}),
        "security_manager": stored_mapping({"backend_roles": [ADMIN, RUN], "users": []}),
        "readall": stored_mapping({"backend_roles": [], "users": [RUN, "analyst"]}),
    }
    SecurityApi.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), SecurityApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("OPENSEARCH_URL", url)
    monkeypatch.setenv("OPENSEARCH_AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv(CLOUDTRAIL_ROOT, raising=False)
    yield url
    server.shutdown()
    server.server_close()


def grant(capsys: pytest.CaptureFixture[str], *roles: str) -> tuple[int, list[str], str]:
    SecurityApi.requests = []
    args = [arg for role in roles for arg in ("--backend-role", role)]
    code = main(["opensearch", "grant-run-role", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def changes() -> list[tuple[str, str]]:
    return [(method, path) for method, path, _ in SecurityApi.requests if method != "GET"]


def test_grant_creates_the_role_maps_the_run_role_and_takes_it_out_of_admin_mappings(
    security_api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, err = grant(capsys, RUN)
    assert (code, err) == (0, "")
    assert lines == [
        f"acting as {ADMIN} (roles: all_access, security_manager)",
        f"role {ROLE_NAME}: created",
        f"role mapping {ROLE_NAME}: created ({RUN})",
        f"role mapping all_access: removed {RUN}",
        f"role mapping readall: removed {RUN}",
        f"role mapping security_manager: removed {RUN}",
    ]
    assert SecurityApi.roles[ROLE_NAME] == stored_role(role_document())
    assert SecurityApi.mappings[ROLE_NAME]["backend_roles"] == [RUN]
    assert SecurityApi.mappings["all_access"]["backend_roles"] == [ADMIN]
    assert SecurityApi.mappings["security_manager"]["backend_roles"] == [ADMIN]
    assert SecurityApi.mappings["readall"]["users"] == ["analyst"]
    # Signed as the setup task signs: SigV4 with the task role's credentials, no password.
    for _, path, headers in SecurityApi.requests:
        assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "/eu-west-1/es/aws4_request" in headers["Authorization"], path

    code, lines, err = grant(capsys, RUN)
    assert code == 0 and changes() == []
    assert lines[1:] == [
        f"role {ROLE_NAME}: unchanged",
        f"role mapping {ROLE_NAME}: unchanged ({RUN})",
    ]


def test_grant_adds_cloudtrail_and_the_identity_links_when_the_environment_has_a_trail(
    security_api: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The setup task reads the trail as the definitions do (OKTA_PIPELINE_CLOUDTRAIL_ROOT):
    a deployment that turns CloudTrail on and runs the task again gets the role updated."""
    assert grant(capsys, RUN)[0] == 0
    assert SecurityApi.roles[ROLE_NAME] == stored_role(role_document())
    monkeypatch.setenv(CLOUDTRAIL_ROOT, TRAIL)
    code, lines, err = grant(capsys, RUN)
    assert (code, err) == (0, "")
    assert lines[1:] == [
        f"role {ROLE_NAME}: updated",
        f"role mapping {ROLE_NAME}: unchanged ({RUN})",
    ]
    assert SecurityApi.roles[ROLE_NAME] == stored_role(role_document(cloudtrail=True))
    role = SecurityApi.roles[ROLE_NAME]
    for action, index, where in index_actions_used(cloudtrail=True):
        assert index_allows(role, action, index), f"{action} on {index} ({where})"

    monkeypatch.setenv(CLOUDTRAIL_ROOT, "org-trail-logs")  # not s3://: refused, nothing sent
    code, _, err = grant(capsys, RUN)
    assert code == 1 and changes() == [] and SecurityApi.requests == []
    assert f"{CLOUDTRAIL_ROOT}='org-trail-logs'" in err


def test_grant_restores_a_role_or_mapping_changed_by_hand(
    security_api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert grant(capsys, RUN)[0] == 0
    SecurityApi.roles[ROLE_NAME]["cluster_permissions"].append("cluster:admin/settings/update")
    SecurityApi.mappings[ROLE_NAME]["backend_roles"].append("arn:aws:iam::123456789012:role/x")
    code, lines, _ = grant(capsys, RUN)
    assert code == 0
    assert lines[1:] == [
        f"role {ROLE_NAME}: updated",
        f"role mapping {ROLE_NAME}: updated ({RUN}); no longer mapped: "
        "arn:aws:iam::123456789012:role/x",
    ]
    assert SecurityApi.roles[ROLE_NAME] == stored_role(role_document())
    assert SecurityApi.mappings[ROLE_NAME]["backend_roles"] == [RUN]


def test_grant_refuses_to_demote_the_identity_it_runs_as(
    security_api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = grant(capsys, ADMIN)
    assert code == 1 and changes() == []
    assert f"--backend-role {ADMIN} is this command's own identity" in err
    assert "pipeline_role_arn" in err


def test_grant_says_what_to_do_when_it_may_not(
    security_api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    SecurityApi.may_configure = False
    code, _, err = grant(capsys, RUN)
    assert code == 1 and changes() == []
    assert "may not change" in err and "(403: no permissions)" in err
    assert "master user" in err and "opensearch_security_setup_command" in err

    SecurityApi.caller = None  # the plugin did not accept the credentials
    code, _, err = grant(capsys, RUN)
    assert code == 1
    assert "did not accept" in err and "(401)" in err and "SigV4" in err


def test_session_arns_and_wildcards_are_refused_before_any_request(
    security_api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    session = "arn:aws:sts::123456789012:assumed-role/okta-pipeline-run-1/abc"
    code, _, err = grant(capsys, session)
    assert code == 1 and "session ARN" in err and "arn:aws:iam::" in err
    code, _, err = grant(capsys, "arn:aws:iam::123456789012:role/*")
    assert code == 1 and "no wildcard" in err
    assert SecurityApi.requests == []


@WITH_AND_WITHOUT_CLOUDTRAIL
def test_dry_run_prints_the_role_and_mapping_and_contacts_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cloudtrail: bool
) -> None:
    monkeypatch.setenv("OPENSEARCH_URL", "http://127.0.0.1:1")
    if cloudtrail:
        monkeypatch.setenv(CLOUDTRAIL_ROOT, TRAIL)
    else:
        monkeypatch.delenv(CLOUDTRAIL_ROOT, raising=False)
    assert main(["opensearch", "grant-run-role", "--backend-role", RUN, "--dry-run"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["role"] == {ROLE_NAME: role_document(cloudtrail=cloudtrail)}
    assert printed["mapping"] == {"backend_roles": [RUN], "users": [], "hosts": []}
    patterns = {
        p for g in printed["role"][ROLE_NAME]["index_permissions"] for p in g["index_patterns"]
    }
    assert ("cloudtrail-2*" in patterns) is cloudtrail
    assert ("okta-aws-sessions-2*" in patterns) is cloudtrail


def test_a_cluster_without_the_security_plugin_gets_a_clear_error(
    opensearch_endpoint: OpenSearchSettings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real local node: it has no security plugin, so there is no role to grant."""
    if has_plugin(connect(opensearch_endpoint), "opensearch-security"):
        pytest.skip("this cluster has the security plugin")
    monkeypatch.delenv("OPENSEARCH_AWS_REGION", raising=False)
    code = main(
        ["opensearch", "grant-run-role", "--backend-role", RUN, "--url", opensearch_endpoint.url]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert f"{opensearch_endpoint.url} has no security plugin" in err
    assert "fine-grained access control" in err and "terraform/opensearch.tf" in err
    assert "Traceback" not in err
