"""Atlassian Statuspage's REST API v1 incidents, as documented: `Authorization: OAuth
<api key>` (401 otherwise), create with `POST /v1/pages/{page}/incidents`, update with
`PATCH .../incidents/{id}`, list with `GET .../incidents?q=`; statuses investigating,
identified, monitoring, resolved (422 for anything else). `components` maps a component id
of the page to operational, degraded_performance, partial_outage or major_outage (422 for
an unknown id or status); `component_ids` lists the affected ones."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.vendors.base import Headers, ServiceError, VendorEmulator

API_KEY = "statuspage-key-0123456789"
PAGE_ID = "pg123abc"
STATUSES = {"investigating", "identified", "monitoring", "resolved"}
COMPONENT_STATUSES = {"operational", "degraded_performance", "partial_outage", "major_outage"}


class StatuspageEmulator(VendorEmulator):
    name = "statuspage"

    def __init__(self) -> None:
        super().__init__()
        self.incidents: dict[str, dict[str, Any]] = {}
        self.api_url = self.url + "/v1/"
        self.components: dict[str, str] = {}  # component id -> status

    def handle(self, method: str, path: str, headers: Headers, body: Any) -> tuple[int, Any]:
        if headers.get("authorization") != f"OAuth {API_KEY}":
            raise ServiceError(401, {"error": "Could not authenticate"})
        parts = urlsplit(path)
        base = f"/v1/pages/{PAGE_ID}/incidents"
        if parts.path == base and method == "POST":
            return self._create(body)
        if parts.path == base and method == "GET":
            query = parse_qs(parts.query).get("q", [""])[0]
            with self.lock:
                return 200, [i for i in self.incidents.values() if query in i["name"]]
        if parts.path.startswith(base + "/") and method == "PATCH":
            return self._update(parts.path.removeprefix(base + "/"), body)
        raise ServiceError(404, {"error": "Not found"})

    def _fields(self, body: Any) -> dict[str, Any]:
        incident = (body or {}).get("incident")
        if not isinstance(incident, dict):
            raise ServiceError(422, {"error": "incident is missing"})
        if incident.get("status") not in STATUSES:
            raise ServiceError(422, {"error": "Status is not included in the list"})
        components = incident.get("components") or {}
        for component_id, status in components.items():
            if component_id not in self.components or status not in COMPONENT_STATUSES:
                raise ServiceError(422, {"error": f"Invalid component {component_id}"})
        with self.lock:
            self.components.update(components)
        return incident

    def _create(self, body: Any) -> tuple[int, Any]:
        fields = self._fields(body)
        if not fields.get("name"):
            raise ServiceError(422, {"error": "Name can't be blank"})
        with self.lock:
            incident_id = f"sp{len(self.incidents) + 1}"
            self.incidents[incident_id] = {
                "id": incident_id,
                "name": fields["name"],
                "status": fields["status"],
                "metadata": fields.get("metadata") or {},
                "incident_updates": [{"status": fields["status"], "body": fields.get("body")}],
            }
            return 201, self.incidents[incident_id]

    def _update(self, incident_id: str, body: Any) -> tuple[int, Any]:
        fields = self._fields(body)
        with self.lock:
            incident = self.incidents.get(incident_id)
            if incident is None:
                raise ServiceError(404, {"error": "Not found"})
            incident["status"] = fields["status"]
            incident["incident_updates"].append(
                {"status": fields["status"], "body": fields.get("body")}
            )
            return 200, incident
