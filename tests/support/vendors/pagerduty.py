"""PagerDuty's Events API v2 (`POST /v2/enqueue`), as documented: a routing key of 32
characters in the body, `event_action` trigger/acknowledge/resolve, a trigger needs
`payload.summary`, `payload.source` and a known `payload.severity`; 202 on success, 400
for a malformed event. Alerts are deduplicated by `dedup_key` while open."""

from __future__ import annotations

from typing import Any

from tests.support.vendors.base import Headers, ServiceError, VendorEmulator

ROUTING_KEY = "R0123456789abcdef0123456789abcd"
SEVERITIES = {"critical", "error", "warning", "info"}


class PagerDutyEmulator(VendorEmulator):
    name = "pagerduty"

    def __init__(self) -> None:
        super().__init__()
        self.alerts: dict[str, dict[str, Any]] = {}  # dedup_key -> alert
        self.events_url = self.url + "/v2/enqueue"
        # The integration keys of the PagerDuty services this account has.
        self.routing_keys = {ROUTING_KEY}

    def handle(self, method: str, path: str, headers: Headers, body: Any) -> tuple[int, Any]:
        if method != "POST" or path != "/v2/enqueue":
            raise ServiceError(404, {"status": "not found"})
        if not isinstance(body, dict):
            raise ServiceError(400, {"status": "invalid event", "errors": ["not JSON"]})
        if body.get("routing_key") not in self.routing_keys:
            raise ServiceError(400, {"status": "invalid event", "errors": ["bad routing_key"]})
        action = body.get("event_action")
        key = body.get("dedup_key")
        with self.lock:
            if action == "trigger":
                payload = body.get("payload") or {}
                if not payload.get("summary") or not payload.get("source"):
                    raise ServiceError(400, {"status": "invalid event", "errors": ["payload"]})
                if payload.get("severity") not in SEVERITIES:
                    raise ServiceError(400, {"status": "invalid event", "errors": ["severity"]})
                alert = self.alerts.get(key or "")
                if alert is None or alert["status"] == "resolved":
                    self.alerts[key or f"generated-{len(self.alerts)}"] = {
                        "status": "triggered",
                        "routing_key": body["routing_key"],
                        "summary": payload["summary"],
                        "links": body.get("links", []),
                    }
            elif action in ("acknowledge", "resolve"):
                if not key:
                    raise ServiceError(400, {"status": "invalid event", "errors": ["dedup_key"]})
                if key in self.alerts:
                    self.alerts[key]["status"] = (
                        "resolved" if action == "resolve" else "acknowledged"
                    )
            else:
                raise ServiceError(400, {"status": "invalid event", "errors": ["event_action"]})
        return 202, {"status": "success", "message": "Event processed", "dedup_key": key}
