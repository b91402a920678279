"""Jira Cloud's REST API v3, the parts Firebreak uses, as documented: basic auth with an
account email and API token (401 otherwise), `POST /rest/api/3/issue` with a project key,
an issue type, a summary and a description in Atlassian Document Format (400 with
`errors` otherwise), `POST /rest/api/3/search/jql` with a JQL query."""

from __future__ import annotations

import base64
import re
from typing import Any

from tests.support.vendors.base import Headers, ServiceError, VendorEmulator

EMAIL = "bot@example.com"
TOKEN = "jira-api-token-0123456789"
PROJECT = "OPS"
_LABEL_QUERY = re.compile(r'^project = "([A-Z0-9_]+)" AND labels = "([^"]+)"$')
_DONE_QUERY = re.compile(r"^key in \(([^)]*)\) AND statusCategory = Done$")


class JiraEmulator(VendorEmulator):
    name = "jira"

    def __init__(self) -> None:
        super().__init__()
        self.issues: dict[str, dict[str, Any]] = {}

    def close(self, key: str) -> None:
        """Someone moves the issue to Done in Jira."""
        with self.lock:
            self.issues[key]["status"] = "Done"

    def handle(self, method: str, path: str, headers: Headers, body: Any) -> tuple[int, Any]:
        expected = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
        if headers.get("authorization") != expected:
            raise ServiceError(401, {"errorMessages": ["Client must be authenticated"]})
        if (method, path) == ("POST", "/rest/api/3/issue"):
            return self._create(body)
        if (method, path) == ("POST", "/rest/api/3/search/jql"):
            return 200, {"issues": self._search(body)}
        raise ServiceError(404, {"errorMessages": ["Not found"]})

    def _create(self, body: Any) -> tuple[int, Any]:
        fields = (body or {}).get("fields") or {}
        errors = {}
        if (fields.get("project") or {}).get("key") != PROJECT:
            errors["project"] = "valid project is required"
        if not (fields.get("issuetype") or {}).get("name"):
            errors["issuetype"] = "valid issue type is required"
        if not str(fields.get("summary") or "").strip() or "\n" in str(fields.get("summary")):
            errors["summary"] = "You must specify a summary of the issue."
        if (fields.get("description") or {}).get("type") != "doc":
            errors["description"] = "Operation value must be an Atlassian Document."
        if any(" " in label for label in fields.get("labels") or []):
            errors["labels"] = "The label must not contain spaces."
        if errors:
            raise ServiceError(400, {"errorMessages": [], "errors": errors})
        with self.lock:
            key = f"{PROJECT}-{len(self.issues) + 1}"
            self.issues[key] = {
                "summary": fields["summary"],
                "labels": list(fields.get("labels") or []),
                "status": "To Do",
            }
        return 201, {"id": str(10000 + len(self.issues)), "key": key, "self": f"/issue/{key}"}

    def _search(self, body: Any) -> list[dict[str, Any]]:
        jql = str((body or {}).get("jql") or "")
        with self.lock:
            if match := _LABEL_QUERY.match(jql):
                keys = [k for k, i in self.issues.items() if match.group(2) in i["labels"]]
            elif match := _DONE_QUERY.match(jql):
                wanted = {k.strip().strip('"') for k in match.group(1).split(",")}
                keys = [k for k in wanted if self.issues.get(k, {}).get("status") == "Done"]
            else:
                raise ServiceError(400, {"errorMessages": [f"Unsupported JQL: {jql}"]})
            return [
                {"key": k, "fields": {"status": {"name": self.issues[k]["status"]}}}
                for k in sorted(keys)
            ]
