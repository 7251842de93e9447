"""A stand-in for Jira Cloud: the REST v3 calls alert routing makes, in memory, with basic auth.

The demo uses it when no Jira is configured, and the tests use it over a real socket. It keeps
Jira's shapes (keys like SEC-1, Atlassian Document Format bodies, error bodies with
`errorMessages` and `errors`) and refuses what Jira refuses: bad credentials, unknown projects,
issue types and priorities.
"""

from __future__ import annotations

import base64
import hmac
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from okta_pipeline.lib.standins.server import Request, Response, StandInServer

PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
_LABEL_QUERY = re.compile(r'labels = "([^"]+)"(?: ORDER BY created DESC)?')
_ISSUE = re.compile(r"/rest/api/3/issue/([A-Z][A-Z0-9]*-\d+)(/comment)?")


@dataclass
class Issue:
    key: str
    fields: dict[str, Any]
    comments: list[dict[str, Any]] = field(default_factory=list)
    status: str = "To Do"

    @property
    def labels(self) -> list[str]:
        return list(self.fields.get("labels", []))


class JiraStandIn(StandInServer):
    def __init__(
        self,
        email: str,
        api_token: str,
        projects: tuple[str, ...] = ("SEC",),
        issue_types: tuple[str, ...] = ("Task", "Bug"),
        port: int = 0,
    ) -> None:
        super().__init__(port)
        self._credentials = f"{email}:{api_token}".encode()
        self.projects = projects
        self.issue_types = issue_types
        self.issues: dict[str, Issue] = {}
        self._counter = 0
        self._issues_lock = threading.Lock()

    def close_issue(self, key: str) -> None:
        self.issues[key].status = "Done"

    def handle(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response(401, {"errorMessages": ["Client must be authenticated"], "errors": {}})
        if request.method == "POST" and request.path == "/rest/api/3/issue":
            return self._create(request.json())
        if request.method == "POST" and request.path == "/rest/api/3/search/jql":
            return self._search(request.json())
        match = _ISSUE.fullmatch(request.path)
        if match is None or match.group(1) not in self.issues:
            return Response(404, {"errorMessages": ["Issue does not exist"], "errors": {}})
        issue = self.issues[match.group(1)]
        if match.group(2):
            if request.method == "POST":
                comment = {"id": str(len(issue.comments) + 1), "body": request.json()["body"]}
                issue.comments.append(comment)
                return Response(201, comment)
            start = int((request.query.get("startAt") or ["0"])[0])
            size = min(int((request.query.get("maxResults") or ["50"])[0]), 100)
            page = issue.comments[start : start + size]
            return Response(
                200,
                {
                    "comments": page,
                    "startAt": start,
                    "maxResults": size,
                    "total": len(issue.comments),
                },
            )
        if request.method == "PUT":
            for change in request.json().get("update", {}).get("labels", []):
                if "add" in change and change["add"] not in issue.labels:
                    issue.fields["labels"] = [*issue.labels, change["add"]]
            return Response(204, "")
        return Response(200, {"key": issue.key, "fields": self._status(issue)})

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(header[6:], validate=True)
        except ValueError:
            return False
        return hmac.compare_digest(given, self._credentials)

    def _create(self, body: dict[str, Any]) -> Response:
        fields = body.get("fields") or {}
        errors = {}
        project = (fields.get("project") or {}).get("key")
        if project not in self.projects:
            errors["project"] = "valid project is required"
        if (fields.get("issuetype") or {}).get("name") not in self.issue_types:
            errors["issuetype"] = "valid issue type is required"
        priority = fields.get("priority")
        if priority is not None and priority.get("name") not in PRIORITIES:
            errors["priority"] = "Specify the Priority (name) in the string format"
        summary = str(fields.get("summary") or "")
        if not summary:
            errors["summary"] = "You must specify a summary of the issue."
        elif "\n" in summary or "\r" in summary:
            errors["summary"] = "The summary is invalid because it contains newline characters."
        elif len(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        if not isinstance(fields.get("description"), dict):
            errors["description"] = "Operation value must be an Atlassian Document"
        if errors:
            return Response(400, {"errorMessages": [], "errors": errors})
        with self._issues_lock:
            self._counter += 1
            key = f"{project}-{self._counter}"
            self.issues[key] = Issue(key, dict(fields))
        return Response(201, {"id": str(self._counter), "key": key, "self": f"/issue/{key}"})

    def _search(self, body: dict[str, Any]) -> Response:
        match = _LABEL_QUERY.fullmatch(str(body.get("jql", "")).strip())
        if match is None:
            return Response(400, {"errorMessages": ['The stand-in understands labels = "x"']})
        found = [i for i in self.issues.values() if match.group(1) in i.labels]
        found.sort(key=lambda i: int(i.key.split("-")[1]), reverse=True)
        limit = int(body.get("maxResults", 50))
        return Response(
            200, {"issues": [{"key": i.key, "fields": self._status(i)} for i in found[:limit]]}
        )

    @staticmethod
    def _status(issue: Issue) -> dict[str, Any]:
        category = "done" if issue.status == "Done" else "new"
        return {"status": {"name": issue.status, "statusCategory": {"key": category}}}
