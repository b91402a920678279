"""PagerDuty's webhooks (v3): an acknowledgement lands on the incident's timeline.

Signed with the subscription's secret (`X-PagerDuty-Signature: v1=<HMAC-SHA256>`); an
unsigned or wrongly signed body is refused before it is parsed. PagerDuty retries a
delivery it thinks failed, so each event id is recorded once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.config import Settings
from app.incidents import effects
from app.incidents import repository as repo
from app.incidents.rules import Source
from app.integrations.pagerduty import parse_dedup_key, signature_valid
from app.logging import bind_request, get_logger
from app.store.database import Database
from app.store.idempotency import claim_request

log = get_logger(__name__)

PATH = "/integrations/pagerduty"
# Counts as the incident's acknowledgement time in the export.
ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


class PagerDutyWebhook:
    def __init__(
        self, settings: Settings, db: Database, effects_ready: effects.EffectsReady
    ) -> None:
        self.secret = settings.pagerduty_webhook_secret
        self.db = db
        self.effects_ready = effects_ready

    def handle(self, body: bytes, signature: str | None) -> Answer:
        if self.secret is None:
            return Answer(404, {"error": "not found"})
        if not signature_valid(self.secret.get_secret_value(), body, signature):
            log.warning("pagerduty_webhook_refused")
            return Answer(401, {"error": "invalid signature"})
        try:
            event = json.loads(body)["event"]
            kind = str(event["event_type"])
            event_id = str(event["id"])
            data = event.get("data") or {}
        except (ValueError, KeyError, TypeError):
            return Answer(400, {"error": "not a PagerDuty v3 webhook"})
        if kind != "incident.acknowledged":
            return Answer(200, {"ok": True, "ignored": kind})
        return self._acknowledged(event, event_id, data)

    def _acknowledged(self, event: dict[str, Any], event_id: str, data: dict[str, Any]) -> Answer:
        ours = parse_dedup_key(str(data.get("incident_key") or ""))
        if ours is None:
            return Answer(200, {"ok": True, "ignored": "not a Firebreak page"})
        team_id, number = ours
        agent = (event.get("agent") or {}).get("summary") or "Someone"
        with self.db.session() as session:
            incident = repo.incident_by_number(session, team_id, number)
            if incident is None or incident.id is None:
                return Answer(200, {"ok": True, "ignored": "unknown incident"})
            incident_id = incident.id
            if not claim_request(session, f"pagerduty:{event_id}", "pagerduty", incident_id):
                return Answer(200, {"ok": True, "duplicate": True})
            text = f"{agent} acknowledged the page in PagerDuty"
            repo.record_event(
                session,
                incident_id,
                ACKNOWLEDGED,
                source=Source.PAGERDUTY,
                actor_id=None,
                text=text,
                occurred_at=_time(event.get("occurred_at")),
                data={"pagerduty_incident": data.get("id"), "agent": agent},
            )
            effects.say_in_channel(session, incident_id, f":eyes: {text}.")
        bind_request(incident=f"INC-{number}")
        log.info("pagerduty_acknowledged")
        self.effects_ready(incident_id)
        return Answer(200, {"ok": True})


def _time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
