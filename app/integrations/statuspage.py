"""Atlassian Statuspage REST API: one Statuspage incident per Firebreak incident.

Plain HTTP with the page's API key (`Authorization: OAuth <key>`). The incident carries
metadata naming the Firebreak incident, so a retry after a lost answer finds it instead
of opening a second one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from app.integrations.http import CallError, request

SERVICE = "statuspage"
# Firebreak's status -> Statuspage's incident status; closed is resolved to the public.
STATUSES = {
    "investigating": "investigating",
    "identified": "identified",
    "monitoring": "monitoring",
    "resolved": "resolved",
    "closed": "resolved",
}


def component_status(severity: str, severity_names: list[str], status: str) -> str:
    """What a component shows during an incident of `severity`, the page's own words:
    the most severe level a major outage, the next a partial one, the rest degraded."""
    if STATUSES.get(status) == "resolved":
        return "operational"
    names = [name.upper() for name in severity_names]
    rank = names.index(severity.upper()) if severity.upper() in names else len(names)
    return ("major_outage", "partial_outage")[rank] if rank < 2 else "degraded_performance"


def _affecting(components: dict[str, str]) -> dict[str, object]:
    if not components:
        return {}
    return {"components": components, "component_ids": sorted(components)}


def marker(team_id: str, number: int) -> str:
    return f"{team_id}/INC-{number}"


class StatuspageClient:
    def __init__(self, base_url: str, page_id: str, api_key: str, timeout: float) -> None:
        self.base = f"{base_url}pages/{page_id}/incidents"
        self.timeout = timeout
        self._headers = {"Authorization": f"OAuth {api_key}"}

    def create(
        self, name: str, status: str, body: str, mark: str, components: dict[str, str]
    ) -> str:
        answer = self._call(
            "POST",
            self.base,
            {
                "incident": {
                    "name": name[:255],
                    "status": status,
                    "body": body,
                    "metadata": {"firebreak": {"incident": mark}},
                    **_affecting(components),
                }
            },
        )
        incident_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(incident_id, str):
            raise CallError(SERVICE, 201, "no incident id in the answer")
        return incident_id

    def update(self, incident_id: str, status: str, body: str, components: dict[str, str]) -> None:
        self._call(
            "PATCH",
            f"{self.base}/{incident_id}",
            {"incident": {"status": status, "body": body, **_affecting(components)}},
        )

    def find(self, name: str, mark: str) -> str | None:
        answer = self._call("GET", f"{self.base}?q={quote(name[:100])}", None)
        for incident in answer if isinstance(answer, list) else []:
            meta = incident.get("metadata") or {}
            if isinstance(meta, dict) and (meta.get("firebreak") or {}).get("incident") == mark:
                return str(incident["id"])
        return None

    def _call(self, method: str, url: str, body: object) -> Any:
        return request(
            SERVICE, method, url, headers=self._headers, body=body, timeout=self.timeout
        ).body
