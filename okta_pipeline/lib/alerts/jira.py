"""A small Jira Cloud REST v3 client: the calls alert routing needs, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from okta_pipeline.lib.alerts.http import (
    DEFAULT_RETRY,
    DestinationRefusedError,
    RetryingSender,
    RetryPolicy,
)

JIRA = "Jira"


@dataclass(frozen=True)
class JiraSettings:
    base_url: str
    email: str
    api_token: str
    project_key: str
    issue_type: str = "Task"

    def __repr__(self) -> str:  # the token never reaches logs or errors
        return f"JiraSettings(base_url={self.base_url!r}, project_key={self.project_key!r})"


class JiraClient:
    def __init__(
        self,
        settings: JiraSettings,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.settings = settings
        self._http = httpx.Client(
            base_url=settings.base_url.rstrip("/"),
            auth=(settings.email, settings.api_token),
            timeout=timeout_seconds,
            headers={"Accept": "application/json"},
        )
        self.sender = RetryingSender(
            self._http,
            JIRA,
            refusal_hints={
                400: f"Check the project key {settings.project_key!r} and the issue type "
                f"{settings.issue_type!r} (both must exist, and the type must be allowed in "
                "the project)",
                401: "Check the Jira email and API token (an API token of that Atlassian "
                "account, from id.atlassian.com)",
                403: f"Give that account permission to create and comment on issues in "
                f"{settings.project_key}",
                404: "Check the Jira base URL (https://<site>.atlassian.net) and the project key",
            },
            policy=retry,
        )

    def close(self) -> None:
        self._http.close()

    def find_issue(self, label: str) -> str | None:
        """The key of the newest issue carrying `label`, open or not."""
        response = self.sender.send(
            "POST",
            "/rest/api/3/search/jql",
            json={
                "jql": f'labels = "{label}" ORDER BY created DESC',
                "fields": ["status"],
                "maxResults": 1,
            },
        )
        issues = response.json().get("issues") or []
        return str(issues[0]["key"]) if issues else None

    def is_open(self, key: str) -> bool:
        """Whether the issue is still open; one deleted (or moved out of reach) is not, so the
        incident gets a new issue instead of failing every delivery."""
        try:
            response = self.sender.send(
                "GET", f"/rest/api/3/issue/{key}", params={"fields": "status"}
            )
        except DestinationRefusedError as error:
            if error.status == 404:
                return False
            raise
        category = response.json()["fields"]["status"].get("statusCategory") or {}
        return category.get("key") != "done"

    def create_issue(
        self, summary: str, description: dict[str, Any], priority: str | None, labels: list[str]
    ) -> str:
        fields: dict[str, Any] = {
            "project": {"key": self.settings.project_key},
            "issuetype": {"name": self.settings.issue_type},
            "summary": summary[:254],
            "description": description,
            "labels": labels,
        }
        if priority:
            fields["priority"] = {"name": priority}
        response = self.sender.send(
            "POST", "/rest/api/3/issue", creates=True, json={"fields": fields}
        )
        return str(response.json()["key"])

    def add_comment(self, key: str, body: dict[str, Any]) -> None:
        self.sender.send(
            "POST", f"/rest/api/3/issue/{key}/comment", creates=True, json={"body": body}
        )

    def has_comment_containing(self, key: str, marker: str) -> bool:
        """Whether a comment on the issue holds `marker` (how a comment is made only once)."""
        start = 0
        while True:
            page = self.sender.send(
                "GET",
                f"/rest/api/3/issue/{key}/comment",
                params={"startAt": start, "maxResults": 100},
            ).json()
            comments = page.get("comments", [])
            if any(marker in _plain_text(c.get("body")) for c in comments):
                return True
            start += len(comments)
            if not comments or start >= int(page.get("total", 0)):
                return False

    def add_labels(self, key: str, labels: list[str]) -> None:
        self.sender.send(
            "PUT",
            f"/rest/api/3/issue/{key}",
            json={"update": {"labels": [{"add": label} for label in labels]}},
        )


def _plain_text(document: Any) -> str:
    """All the text in an Atlassian Document Format node."""
    if isinstance(document, dict):
        own = str(document.get("text", ""))
        return own + " ".join(_plain_text(child) for child in document.get("content", []))
    if isinstance(document, list):
        return " ".join(_plain_text(item) for item in document)
    return str(document or "")
