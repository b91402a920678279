"""Settings that point Firebreak's integrations at the local emulators."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from tests.support.vendors import jira, pagerduty, statuspage
from tests.support.vendors.jira import JiraEmulator
from tests.support.vendors.pagerduty import PagerDutyEmulator
from tests.support.vendors.statuspage import StatuspageEmulator

WEBHOOK_SECRET = "pd-webhook-secret-0123"


def integration_settings(
    pd: PagerDutyEmulator, jr: JiraEmulator, sp: StatuspageEmulator
) -> dict[str, Any]:
    return {
        "pagerduty_routing_key": pagerduty.ROUTING_KEY,
        "pagerduty_events_url": pd.events_url,
        "pagerduty_webhook_secret": WEBHOOK_SECRET,
        "jira_url": jr.url,
        "jira_project": jira.PROJECT,
        "jira_email": jira.EMAIL,
        "jira_api_token": jira.TOKEN,
        "statuspage_api_key": statuspage.API_KEY,
        "statuspage_page_id": statuspage.PAGE_ID,
        "statuspage_url": sp.api_url,
        "integrations_timeout_seconds": 0.5,
        "effects_interval_seconds": 0.2,
    }


def acknowledgement(dedup_key: str, event_id: str = "01ABCDEF") -> bytes:
    """A PagerDuty v3 webhook body for an acknowledged incident."""
    return json.dumps(
        {
            "event": {
                "id": event_id,
                "event_type": "incident.acknowledged",
                "resource_type": "incident",
                "occurred_at": "2026-12-04T10:05:00.000Z",
                "agent": {"type": "user_reference", "summary": "Dana On-Call"},
                "data": {
                    "id": "Q1ABCDEF",
                    "type": "incident",
                    "incident_key": dedup_key,
                    "status": "acknowledged",
                },
            }
        }
    ).encode()


def pagerduty_signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
