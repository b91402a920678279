"""Jira Cloud REST API v3: create an issue for an action item, find it again, read status.

Plain HTTP (basic auth with an API token) rather than a client library: three endpoints,
and the outbox needs our own timeout and transient-or-not answer on each. An issue carries
a label naming its action item, so a retry after an answer that never came finds the issue
instead of filing a second one.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from app.integrations.http import CallError, request

SERVICE = "jira"
SEARCH_BATCH = 50


def browse_url(base_url: str, key: str) -> str:
    return f"{base_url.rstrip('/')}/browse/{key}"


def item_label(team_id: str, item_id: int) -> str:
    return f"firebreak-{team_id.lower()}-action-{item_id}"


def _doc(text: str) -> dict[str, object]:
    """Atlassian Document Format: v3 takes descriptions as documents, not strings."""
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


class JiraClient:
    def __init__(
        self, base_url: str, project: str, email: str, token: str, issue_type: str, timeout: float
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.project = project
        self.issue_type = issue_type
        self.timeout = timeout
        credentials = base64.b64encode(f"{email}:{token}".encode()).decode()
        self._headers = {"Authorization": f"Basic {credentials}"}

    def browse_url(self, key: str) -> str:
        return browse_url(self.base_url, key)

    def create_issue(self, summary: str, description: str, label: str) -> str:
        body = {
            "fields": {
                "project": {"key": self.project},
                "issuetype": {"name": self.issue_type},
                "summary": " ".join(summary.split())[:250],
                "description": _doc(description),
                "labels": ["firebreak", label],
            }
        }
        answer = self._call("POST", "/rest/api/3/issue", body)
        key = answer.get("key") if isinstance(answer, dict) else None
        if not isinstance(key, str):
            raise CallError(SERVICE, 201, "no issue key in the answer")
        return key

    def find_by_label(self, label: str) -> str | None:
        issues = self._search(f'project = "{self.project}" AND labels = "{label}"', 1)
        return next(iter(issues), None)

    def done_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these issues are in a status of Jira's Done category."""
        wanted = list(keys)
        done: set[str] = set()
        for start in range(0, len(wanted), SEARCH_BATCH):
            batch = ", ".join(f'"{key}"' for key in wanted[start : start + SEARCH_BATCH])
            done.update(self._search(f"key in ({batch}) AND statusCategory = Done", SEARCH_BATCH))
        return done

    def _search(self, jql: str, limit: int) -> list[str]:
        answer = self._call(
            "POST",
            "/rest/api/3/search/jql",
            {"jql": jql, "fields": ["status"], "maxResults": limit},
        )
        issues = answer.get("issues", []) if isinstance(answer, dict) else []
        return [str(issue["key"]) for issue in issues if isinstance(issue, dict) and "key" in issue]

    def _call(self, method: str, path: str, body: object) -> object:
        return request(
            SERVICE,
            method,
            self.base_url + path,
            headers=self._headers,
            body=body,
            timeout=self.timeout,
        ).body
