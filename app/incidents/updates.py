"""Stakeholder updates: the modal's defaults, posting an update, snoozing a reminder.

An update is stored (stakeholder_update, a status change if it moves the status, a
timeline event, the next due time and the Slack effects) in one transaction; the notifier
then posts it to the incident channel and the announcement thread and redraws the card
and the announcement, each once.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from app.incidents import effects
from app.incidents import repository as repo
from app.incidents.errors import InvalidInput
from app.incidents.reminders import (
    Clock,
    ReminderSchedule,
    cadence_minutes,
    due_after_update,
    next_due,
    set_due,
    snoozed_until,
)
from app.incidents.rules import MAX_NEXT_MINUTES, UPDATE_TEXT_LIMIT, Source, Status
from app.incidents.service import IncidentService, snapshot_of
from app.incidents.snapshot import IncidentSnapshot
from app.integrations import outbox
from app.logging import bind_request, get_logger
from app.store.database import Database
from app.store.idempotency import claim_request
from app.store.models import Incident, ReminderState, StakeholderUpdate

log = get_logger(__name__)


@dataclass(frozen=True)
class UpdateRequest:
    incident_id: int
    user_id: str
    status: str
    what_we_know: str
    what_we_are_doing: str
    next_update_minutes: str
    request_key: str | None = None
    public: bool = False


def validate_update(request: UpdateRequest) -> dict[str, str]:
    """block_id -> problem, for the modal's inline errors."""
    errors: dict[str, str] = {}
    if Status.__members__.get(request.status.upper()) is None:
        errors["status"] = "Pick a status."
    if not request.what_we_know.strip():
        errors["know"] = "Say what we know, even if it is “still investigating”."
    elif len(request.what_we_know) > UPDATE_TEXT_LIMIT:
        errors["know"] = f"Keep it to {UPDATE_TEXT_LIMIT} characters."
    if len(request.what_we_are_doing) > UPDATE_TEXT_LIMIT:
        errors["doing"] = f"Keep it to {UPDATE_TEXT_LIMIT} characters."
    minutes = request.next_update_minutes.strip()
    if not minutes.isdigit() or int(minutes) > MAX_NEXT_MINUTES:
        errors["next"] = f"A whole number of minutes from 0 to {MAX_NEXT_MINUTES}."
    return errors


class UpdateService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        incidents: IncidentService,
        clock: Clock,
        schedule: ReminderSchedule,
    ) -> None:
        self.settings = settings
        self.db = db
        self.incidents = incidents
        self.clock = clock
        self.schedule = schedule

    def modal_defaults(self, incident_id: int, user_id: str) -> tuple[IncidentSnapshot, int]:
        """The incident and its cadence in minutes, for a member opening the update form."""
        incident = self.incidents.snapshot(incident_id)
        self.incidents.require_member(incident, user_id)
        return incident, cadence_minutes(self.settings, incident.severity)

    def post(self, request: UpdateRequest) -> IncidentSnapshot | None:
        """Record an update (and the status it moves to); None if handled before."""
        errors = validate_update(request)
        if errors:
            raise InvalidInput(" ".join(errors.values()))
        return self.incidents.as_member(
            request.incident_id, request.user_id, lambda: self._post(request)
        )

    def _post(self, request: UpdateRequest) -> IncidentSnapshot | None:
        status = Status(request.status.lower())
        now = self.clock()
        minutes = int(request.next_update_minutes)
        with self.db.session() as session:
            if request.request_key and not claim_request(session, request.request_key, "update"):
                return None
            stored = repo.get_incident(session, request.incident_id, lock=True)
            self.incidents.require_member_in(session, stored, request.user_id)
            moved = self.incidents.move_status(
                session, stored, status, request.user_id, Source.MODAL
            )
            if moved:
                effects.say_in_channel(session, request.incident_id, moved)
            update = StakeholderUpdate(
                incident_id=request.incident_id,
                status=status.value,
                severity=stored.severity,
                what_we_know=request.what_we_know.strip(),
                what_we_are_doing=request.what_we_are_doing.strip(),
                next_update_minutes=minutes,
                posted_by=request.user_id,
                posted_at=now,
                # Published on the status page only if asked, and never for a private one.
                public=request.public and not stored.is_private,
            )
            session.add(update)
            stored.last_update_at = now
            stored.updated_at = now
            session.add(stored)
            due = due_after_update(now, minutes) if stored.is_open else None
            if stored.is_open:
                set_due(session, request.incident_id, due)
            else:
                due = next_due(session, request.incident_id)
            repo.record_event(
                session,
                request.incident_id,
                "stakeholder_update",
                source=Source.MODAL,
                actor_id=request.user_id,
                text=request.what_we_know.strip(),
                occurred_at=now,
                data={
                    "status": status.value,
                    "doing": request.what_we_are_doing.strip(),
                    "next_update_minutes": minutes,
                    "public": request.public,
                },
            )
            session.flush()
            assert update.id is not None
            effects.post_update(session, request.incident_id, update.id, in_thread=False)
            effects.post_update(session, request.incident_id, update.id, in_thread=True)
            outbox.public_update_published(session, self.settings, stored, update)
            # The card's "last update" line and the announcement root's latest status.
            effects.redraw(session, request.incident_id)
            snapshot = snapshot_of(session, stored)
            claim = self.incidents.claim_effects(session, request.incident_id)
        self.schedule.schedule(request.incident_id, due)
        bind_request(incident=snapshot.reference)
        log.info("stakeholder_update_recorded", next_minutes=minutes)
        self.incidents.effects_ready(request.incident_id, claim)
        return snapshot

    def snooze(self, incident_id: int, user_id: str, request_key: str | None = None) -> str:
        """Push the due reminder back by the snooze time; returns what to tell the user."""
        now = self.clock()
        minutes = self.settings.snooze_minutes
        # Anyone may view a public channel's messages; only its members run the incident.
        self.incidents.require_member(self.incidents.snapshot(incident_id), user_id)
        with self.db.session() as session:
            if request_key and not claim_request(session, request_key, "snooze"):
                return ""
            stored: Incident = repo.get_incident(session, incident_id, lock=True)
            if not stored.is_open:
                return f"{stored.reference} is {stored.status}; there is nothing to snooze."
            due = snoozed_until(now, minutes)
            state = session.get(ReminderState, incident_id)
            if state is None or state.next_due_at is None:
                return "No update reminder is scheduled."
            set_due(session, incident_id, due)
            text = f"<@{user_id}> snoozed the update reminder for {minutes} min"
            repo.record_event(
                session,
                incident_id,
                "reminder_snoozed",
                source=Source.BUTTON,
                actor_id=user_id,
                text=text,
                occurred_at=now,
                data={"minutes": minutes, "until": due.isoformat()},
            )
            effects.redraw(session, incident_id, [effects.Kind.CARD])
            effects.say_in_channel(
                session,
                incident_id,
                f"<@{user_id}> snoozed the {stored.reference} update reminder for {minutes} min.",
            )
        self.schedule.schedule(incident_id, due)
        self.incidents.effects_ready(incident_id)
        return f"Snoozed for {minutes} min."
