"""PagerDuty Events API v2: trigger and resolve an alert, idempotent by `dedup_key`.

Plain HTTP rather than PagerDuty's client library: the Events API is one POST, and our
own client gives the timeout and the transient-or-not answer the outbox needs.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from app.integrations.http import CallError, request

SERVICE = "pagerduty"
# Firebreak's severity (by position in the configured list) -> PagerDuty's.
PD_SEVERITIES = ("critical", "error", "warning", "info")


def dedup_key(team_id: str, number: int) -> str:
    """The same incident always pages as the same alert, however often it is sent."""
    return f"firebreak/{team_id}/INC-{number}"


def parse_dedup_key(key: str) -> tuple[str, int] | None:
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != "firebreak" or not parts[2].startswith("INC-"):
        return None
    number = parts[2].removeprefix("INC-")
    return (parts[1], int(number)) if number.isdigit() else None


@dataclass(frozen=True)
class Alert:
    dedup_key: str
    summary: str
    severity: str
    source: str
    link: str | None = None


class PagerDutyClient:
    def __init__(self, events_url: str, timeout: float) -> None:
        self.events_url = events_url
        self.timeout = timeout

    def trigger(self, routing_key: str, alert: Alert) -> None:
        """Trigger (or, for a dedup_key already open, merge into) the alert."""
        event: dict[str, object] = {
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": alert.dedup_key,
            "client": "Firebreak",
            "payload": {
                "summary": alert.summary[:1024],
                "source": alert.source,
                "severity": alert.severity,
            },
        }
        if alert.link:
            event["client_url"] = alert.link
            event["links"] = [{"href": alert.link, "text": "Incident channel in Slack"}]
        self._send(event)

    def resolve(self, routing_key: str, key: str) -> None:
        self._send({"routing_key": routing_key, "event_action": "resolve", "dedup_key": key})

    def _send(self, event: dict[str, object]) -> None:
        answer = request(SERVICE, "POST", self.events_url, body=event, timeout=self.timeout)
        if answer.status != 202:
            raise CallError(SERVICE, answer.status, "unexpected answer")


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """X-PagerDuty-Signature: `v1=<hex HMAC-SHA256 of the body>`, comma-separated while a
    secret is being rotated; any one matching is enough."""
    if not header:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return any(
        hmac.compare_digest(part.strip().removeprefix("v1="), expected)
        for part in header.split(",")
        if part.strip().startswith("v1=")
    )
