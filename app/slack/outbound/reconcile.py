"""Compare what Slack shows with the database, and redraw what differs.

The outbox makes a lost redraw unlikely; this catches the rest (a message edited by hand,
an effect Slack refused for good and a person fixed since, a database restored from a
backup). Incidents with Slack work still pending are left to the notifier.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import SQLModel, col

from app.config import Settings
from app.incidents import effects
from app.incidents.effects import EffectsReady, Kind
from app.incidents.service import snapshot_of
from app.incidents.snapshot import IncidentSnapshot
from app.logging import get_logger
from app.metrics import Metrics
from app.slack.outbound import blocks
from app.slack.outbound.gateway import SlackCallError, SlackGateway
from app.slack.outbound.notifier import forget_drawn
from app.store.database import Database
from app.store.models import Incident, SlackEffect
from app.store.types import utcnow

log = get_logger(__name__)

_EFFECTS = SQLModel.metadata.tables[SlackEffect.__tablename__]
# Resolved incidents are checked for a day: "resolved" must not stay "Investigating".
RECENTLY_CLOSED = timedelta(hours=24)


class Reconciler:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        slack: SlackGateway,
        metrics: Metrics,
        kick: EffectsReady,
    ) -> None:
        self.settings = settings
        self.db = db
        self.slack = slack
        self.metrics = metrics
        self.kick = kick

    def run(self) -> int:
        """Check each live incident; returns how many surfaces were queued for a redraw."""
        repairs = 0
        for incident, card_ts in self._live_incidents():
            try:
                stale = self._stale_surfaces(incident, card_ts)
            except SlackCallError as error:
                log.info("reconcile_skipped", incident=incident.reference, error=error.error)
                continue
            if stale:
                self._repair(incident, stale)
                repairs += len(stale)
        return repairs

    def _live_incidents(self) -> list[tuple[IncidentSnapshot, str | None]]:
        since = utcnow() - RECENTLY_CLOSED
        with self.db.session() as session:
            busy = select(_EFFECTS.c.incident_id).where(_EFFECTS.c.done_at.is_(None))
            incidents = (
                session.execute(
                    select(Incident).where(
                        col(Incident.setup_complete).is_(True),
                        col(Incident.imported_at).is_(None),
                        col(Incident.id).not_in(busy),
                        col(Incident.status).not_in(["resolved", "closed"])
                        | (col(Incident.updated_at) >= since),
                    )
                )
                .scalars()
                .all()
            )
            catalog = self.settings.catalog
            return [(snapshot_of(session, i, catalog), i.card_ts) for i in incidents]

    def _stale_surfaces(self, incident: IncidentSnapshot, card_ts: str | None) -> list[Kind]:
        slack = self.slack
        stale: list[Kind] = []
        if incident.channel_id and card_ts:
            card = slack.message(incident.channel_id, card_ts)
            if card is not None and card.get("text") != blocks.card_text(incident):
                stale.append(Kind.CARD)
        topic = blocks.channel_topic(incident)[:250]
        if incident.channel_id and slack.topic(incident.channel_id) != topic:
            stale.append(Kind.TOPIC)
        if incident.announcement_channel_id and incident.announcement_ts:
            root = slack.message(incident.announcement_channel_id, incident.announcement_ts)
            if root is not None and root.get("text") != blocks.announcement_text(incident):
                stale.append(Kind.ANNOUNCEMENT)
        return stale

    def _repair(self, incident: IncidentSnapshot, stale: list[Kind]) -> None:
        log.warning(
            "slack_out_of_date", incident=incident.reference, surfaces=[s.value for s in stale]
        )
        for surface in stale:
            self.metrics.reconcile_repairs.labels(surface.value).inc()
        with self.db.session() as session:
            effects.redraw(session, incident.id, stale)
            forget_drawn(session, incident.id, stale)
        self.kick(incident.id)
