"""Setting up a declared incident in Slack, one recorded step at a time.

Declaring is a sequence of Slack calls. Each finished step is written to the incident
row before the next begins, so a declaration interrupted by a crash or a Slack outage
resumes where it stopped: no second channel, card or announcement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col

from app.config import Settings
from app.incidents import repository as repo
from app.incidents.reminders import next_due
from app.incidents.rules import channel_name
from app.incidents.snapshot import IncidentSnapshot
from app.logging import bind_request, get_logger
from app.slack import blocks
from app.slack.gateway import SlackCallError, SlackGateway
from app.store.database import Database
from app.store.idempotency import claim_request
from app.store.models import Incident, ProcessedRequest
from app.store.types import utcnow

log = get_logger(__name__)

STEPS = ("channel", "invite", "topic", "card", "pin", "announce", "bookmark")
STEP_LABELS = {
    "channel": "create the channel",
    "invite": "invite the responders",
    "topic": "set the channel topic",
    "card": "post the incident card",
    "pin": "pin the card",
    "announce": "announce it",
    "bookmark": "bookmark the announcement",
}
MAX_NAME_ATTEMPTS = 20
# Slack message metadata marking the card and the announcement, so that a step interrupted
# after Slack posted the message (but before its ts was saved) finds it instead of posting
# it twice.
CARD_EVENT = "firebreak_card"
ANNOUNCEMENT_EVENT = "firebreak_announcement"


def _marker(event_type: str, incident_id: int) -> dict[str, Any]:
    return {"event_type": event_type, "event_payload": {"incident_id": incident_id}}


@dataclass
class SetupResult:
    incident: IncidentSnapshot
    pending: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def complete(self) -> bool:
        return not self.pending

    def pending_text(self) -> str:
        return ", ".join(STEP_LABELS[step] for step in self.pending)


class Provisioner:
    def __init__(self, settings: Settings, db: Database, slack: SlackGateway) -> None:
        self.settings = settings
        self.db = db
        self.slack = slack
        self._announce_channel: str | None = None
        self._steps: dict[str, Callable[[Incident], None]] = {
            "channel": self._create_channel,
            "invite": self._invite,
            "topic": self._set_topic,
            "card": self._post_card,
            "pin": self._pin_card,
            "announce": self._announce,
            "bookmark": self._bookmark,
        }

    def run(self, incident_id: int, *, resumed: bool = False) -> SetupResult:
        """Do every step not done yet; stop at the first Slack failure and say what is left.

        Only one process sets an incident up at a time (a lease in the database), so a
        retry never races the declaration it is retrying.
        """
        if not self._take_lease(incident_id):
            return self._result(incident_id, None)
        try:
            if resumed:
                self._record_resume(incident_id)
            return self._run_steps(incident_id)
        finally:
            self._release_lease(incident_id)

    def _run_steps(self, incident_id: int) -> SetupResult:
        error: str | None = None
        for step in STEPS:
            incident = self._load(incident_id)
            if step in incident.setup_steps:
                continue
            bind_request(incident=incident.reference)
            try:
                self._steps[step](incident)
            except SlackCallError as failure:
                error = failure.error
                log.warning("declaration_step_failed", step=step, error=failure.error)
                self._record_failure(incident_id, step, failure.error)
                break
            self._mark_done(incident_id, step)
        return self._result(incident_id, error)

    def resume_all(self) -> list[SetupResult]:
        """Finish declarations a crash or an outage interrupted (start-up and periodically)."""
        with self.db.session() as session:
            unfinished = list(repo.unfinished_declarations(session))
        return [self.run(incident_id, resumed=True) for incident_id in unfinished]

    # --- the lease ----------------------------------------------------------------------

    def _lease_key(self, incident_id: int) -> str:
        return f"setup-lease:{incident_id}"

    def _take_lease(self, incident_id: int) -> bool:
        lapsed = utcnow() - timedelta(seconds=self.settings.setup_lease_seconds)
        key = self._lease_key(incident_id)
        with self.db.session() as session:
            session.execute(
                delete(ProcessedRequest).where(
                    col(ProcessedRequest.key) == key, col(ProcessedRequest.received_at) < lapsed
                )
            )
            return claim_request(session, key, "setup_lease", incident_id)

    def _renew_lease(self, session: Session, incident_id: int) -> None:
        session.execute(
            update(ProcessedRequest)
            .where(col(ProcessedRequest.key) == self._lease_key(incident_id))
            .values(received_at=utcnow())
        )

    def _release_lease(self, incident_id: int) -> None:
        with self.db.session() as session:
            session.execute(
                delete(ProcessedRequest).where(
                    col(ProcessedRequest.key) == self._lease_key(incident_id)
                )
            )

    def _record_resume(self, incident_id: int) -> None:
        with self.db.session() as session:
            incident = repo.get_incident(session, incident_id)
            pending = [STEP_LABELS[step] for step in STEPS if step not in incident.setup_steps]
            repo.record_event(
                session,
                incident_id,
                "setup_resumed",
                source="system",
                actor_id=None,
                text="Firebreak resumed setting up the incident; still to do: "
                + ", ".join(pending),
                data={"pending": pending},
            )

    # --- bookkeeping --------------------------------------------------------------------

    def _load(self, incident_id: int) -> Incident:
        with self.db.session() as session:
            return repo.get_incident(session, incident_id)

    def _save(self, incident_id: int, **values: object) -> None:
        with self.db.session() as session:
            incident = repo.get_incident(session, incident_id, lock=True)
            for name, value in values.items():
                setattr(incident, name, value)
            session.add(incident)

    def _mark_done(self, incident_id: int, step: str) -> None:
        with self.db.session() as session:
            incident = repo.get_incident(session, incident_id, lock=True)
            done = [*incident.setup_steps, step]
            incident.setup_steps = done
            incident.setup_complete = all(s in done for s in STEPS)
            incident.setup_error = None
            session.add(incident)
            self._renew_lease(session, incident_id)
            if incident.setup_complete:
                repo.record_event(
                    session,
                    incident_id,
                    "channel_ready",
                    source="system",
                    actor_id=None,
                    text=f"#{incident.channel_name} is ready",
                    data={"channel": incident.channel_id},
                )

    def _record_failure(self, incident_id: int, step: str, error: str) -> None:
        with self.db.session() as session:
            incident = repo.get_incident(session, incident_id, lock=True)
            if incident.setup_error is None:
                repo.record_event(
                    session,
                    incident_id,
                    "setup_delayed",
                    source="system",
                    actor_id=None,
                    text=f"Could not {STEP_LABELS[step]} yet ({error}); Firebreak will retry",
                    data={"step": step, "error": error},
                )
            incident.setup_error = f"{step}: {error}"
            session.add(incident)

    def _result(self, incident_id: int, error: str | None) -> SetupResult:
        with self.db.session() as session:
            incident = repo.get_incident(session, incident_id)
            snapshot = IncidentSnapshot.of(incident, repo.current_roles(session, incident_id))
            pending = [step for step in STEPS if step not in incident.setup_steps]
        return SetupResult(snapshot, pending, error)

    def _snapshot(self, incident: Incident) -> IncidentSnapshot:
        with self.db.session() as session:
            incident_id = incident.id or 0
            return IncidentSnapshot.of(
                incident, repo.current_roles(session, incident_id), next_due(session, incident_id)
            )

    # --- the steps ----------------------------------------------------------------------

    def _create_channel(self, incident: Incident) -> None:
        assert incident.id is not None
        if incident.channel_name and not incident.channel_id:
            # A name was chosen before an interruption: the channel may exist already.
            existing = self.slack.find_channel(incident.channel_name)
            if existing:
                self._save(incident.id, channel_id=existing)
                return
        for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
            name = channel_name(incident.number, incident.title, attempt)
            self._save(incident.id, channel_name=name)
            try:
                channel_id, created = self.slack.create_channel(name, private=incident.is_private)
            except SlackCallError as error:
                if error.error == "name_taken":
                    continue
                raise
            self._save(incident.id, channel_id=channel_id, channel_name=created)
            return
        raise SlackCallError("conversations.create", "name_taken")

    def _invite(self, incident: Incident) -> None:
        assert incident.channel_id is not None
        people = {incident.declared_by, *self._snapshot(incident).roles.values()}
        self.slack.invite(incident.channel_id, sorted(people))

    def _set_topic(self, incident: Incident) -> None:
        assert incident.channel_id is not None
        self.slack.set_topic(incident.channel_id, blocks.channel_topic(self._snapshot(incident)))

    def _post_card(self, incident: Incident) -> None:
        assert incident.channel_id is not None and incident.id is not None
        snapshot = self._snapshot(incident)
        marker = _marker(CARD_EVENT, incident.id)
        card_ts = self.slack.find_marked(incident.channel_id, marker)
        if card_ts is None:
            card = blocks.incident_card(snapshot, self.settings.roles, self.settings.severities)
            text = blocks.card_text(snapshot)
            card_ts = self.slack.post(incident.channel_id, text, card, metadata=marker).ts
        self._save(incident.id, card_ts=card_ts)

    def _pin_card(self, incident: Incident) -> None:
        assert incident.channel_id is not None and incident.card_ts is not None
        self.slack.pin(incident.channel_id, incident.card_ts)

    def _announce(self, incident: Incident) -> None:
        assert incident.id is not None
        if incident.is_private:
            return
        channel = self._announcement_channel()
        snapshot = self._snapshot(incident)
        marker = _marker(ANNOUNCEMENT_EVENT, incident.id)
        ts = self.slack.find_marked(channel, marker)
        if ts is None:
            text, announcement = blocks.announcement_text(snapshot), blocks.announcement(snapshot)
            ts = self.slack.post(channel, text, announcement, metadata=marker).ts
        self._save(
            incident.id, announcement_channel_id=channel, announcement_ts=ts, updated_at=utcnow()
        )

    def _bookmark(self, incident: Incident) -> None:
        if incident.is_private or not incident.announcement_ts:
            return
        assert incident.channel_id is not None and incident.announcement_channel_id is not None
        link = self.slack.permalink(incident.announcement_channel_id, incident.announcement_ts)
        if link not in self.slack.bookmark_links(incident.channel_id):
            self.slack.bookmark(incident.channel_id, "Stakeholder updates", link)

    def _announcement_channel(self) -> str:
        if self._announce_channel is None:
            name = self.settings.announce_channel
            found = self.slack.find_channel(name)
            if found is None:
                raise SlackCallError("conversations.list", "channel_not_found", f"#{name}")
            self.slack.join(found)
            self._announce_channel = found
        return self._announce_channel
