"""Stakeholder updates: the modal's defaults, posting an update, snoozing a reminder.

An update is stored (stakeholder_update + a timeline event + the next due time) in one
transaction; Slack is told afterwards: the incident channel, a reply in the announcement
thread, the announcement root and the card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.config import Settings
from app.incidents import repository as repo
from app.incidents.errors import InvalidInput
from app.incidents.reminders import (
    Clock,
    ScheduleSink,
    cadence_minutes,
    due_after_update,
    set_due,
    snoozed_until,
)
from app.incidents.rules import Status
from app.incidents.service import IncidentService
from app.incidents.snapshot import IncidentSnapshot
from app.logging import bind_request, get_logger
from app.slack import update_blocks
from app.slack.gateway import SlackCallError, SlackGateway
from app.slack.update_blocks import MAX_NEXT_MINUTES, TEXT_LIMIT, UpdateContent
from app.statuspage.links import incident_link
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
    elif len(request.what_we_know) > TEXT_LIMIT:
        errors["know"] = f"Keep it to {TEXT_LIMIT} characters."
    if len(request.what_we_are_doing) > TEXT_LIMIT:
        errors["doing"] = f"Keep it to {TEXT_LIMIT} characters."
    minutes = request.next_update_minutes.strip()
    if not minutes.isdigit() or int(minutes) > MAX_NEXT_MINUTES:
        errors["next"] = f"A whole number of minutes from 0 to {MAX_NEXT_MINUTES}."
    return errors


class UpdateService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        slack: SlackGateway,
        incidents: IncidentService,
        clock: Clock,
        sink: ScheduleSink,
    ) -> None:
        self.settings = settings
        self.db = db
        self.slack = slack
        self.incidents = incidents
        self.clock = clock
        self.sink = sink

    def modal(self, incident_id: int, user_id: str, what_we_know: str = "") -> dict[str, Any]:
        incident = self.incidents.snapshot(incident_id)
        self.incidents.require_member(incident, user_id)
        minutes = cadence_minutes(self.settings, incident.severity)
        return update_blocks.update_modal(incident, minutes, what_we_know)

    def open_modal(
        self, trigger_id: str, incident_id: int, user_id: str, what_we_know: str = ""
    ) -> None:
        self.slack.open_view(trigger_id, self.modal(incident_id, user_id, what_we_know))

    def post(self, request: UpdateRequest) -> IncidentSnapshot | None:
        """Record and publish an update; None if this submission was handled before."""
        errors = validate_update(request)
        if errors:
            raise InvalidInput(" ".join(errors.values()))
        incident = self.incidents.snapshot(request.incident_id)
        self.incidents.require_member(incident, request.user_id)
        status = Status(request.status.lower())
        if status != incident.status:
            incident = self.incidents.change_status(
                incident.id, status, request.user_id, "modal"
            ).incident
        content = self._store(request, status)
        if content is None:
            return None
        snapshot = self.incidents.snapshot(request.incident_id)
        self._publish(snapshot, content, request.user_id)
        return snapshot

    def _store(self, request: UpdateRequest, status: Status) -> UpdateContent | None:
        now = self.clock()
        minutes = int(request.next_update_minutes)
        with self.db.session() as session:
            if request.request_key and not claim_request(session, request.request_key, "update"):
                return None
            stored = repo.get_incident(session, request.incident_id, lock=True)
            due = due_after_update(now, minutes) if stored.is_open else None
            public = request.public and not stored.is_private
            link = incident_link(self.settings.status_url, stored.reference) if public else None
            session.add(
                StakeholderUpdate(
                    incident_id=request.incident_id,
                    status=status.value,
                    severity=stored.severity,
                    what_we_know=request.what_we_know.strip(),
                    what_we_are_doing=request.what_we_are_doing.strip(),
                    next_update_minutes=minutes,
                    posted_by=request.user_id,
                    posted_at=now,
                    public=public,
                )
            )
            stored.last_update_at = now
            stored.updated_at = now
            session.add(stored)
            if stored.is_open:
                set_due(session, request.incident_id, due)
            repo.record_event(
                session,
                request.incident_id,
                "stakeholder_update",
                source="modal",
                actor_id=request.user_id,
                text=request.what_we_know.strip(),
                occurred_at=now,
                data={
                    "status": status.value,
                    "doing": request.what_we_are_doing.strip(),
                    "next_update_minutes": minutes,
                },
            )
        if stored.is_open:
            self.sink.schedule(request.incident_id, due)
        return UpdateContent(
            status=status,
            what_we_know=request.what_we_know.strip(),
            what_we_are_doing=request.what_we_are_doing.strip(),
            next_update_minutes=minutes,
            next_due_at=due,
            status_link=link,
        )

    def _publish(self, incident: IncidentSnapshot, content: UpdateContent, author: str) -> None:
        bind_request(incident=incident.reference)
        text = update_blocks.update_text(incident, content)
        message = update_blocks.update_message(incident, content, author)
        channel_ts = thread_ts = None
        if incident.channel_id:
            channel_ts = self._post(incident.channel_id, text, message)
        if incident.announcement_channel_id and incident.announcement_ts:
            thread_ts = self._post(
                incident.announcement_channel_id, text, message, incident.announcement_ts
            )
        self._remember_messages(incident.id, channel_ts, thread_ts)
        # The card's "last update" line and the announcement root's latest status.
        self.incidents.refresh(incident)
        log.info("stakeholder_update_posted", next_minutes=content.next_update_minutes)

    def _post(
        self, channel: str, text: str, message: list[Any], thread_ts: str | None = None
    ) -> str | None:
        try:
            return self.slack.post(channel, text, message, thread_ts=thread_ts).ts
        except SlackCallError as error:
            log.warning("update_post_failed", channel=channel, error=error.error)
            return None

    def _quietly(self, call: Any) -> None:
        try:
            call()
        except SlackCallError as error:
            log.warning("slack_update_failed", method=error.method, error=error.error)

    def _remember_messages(
        self, incident_id: int, channel_ts: str | None, thread_ts: str | None
    ) -> None:
        with self.db.session() as session:
            latest = repo.latest_update(session, incident_id)
            if latest is not None:
                latest.channel_ts = channel_ts
                latest.thread_ts = thread_ts
                session.add(latest)

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
            repo.record_event(
                session,
                incident_id,
                "reminder_snoozed",
                source="button",
                actor_id=user_id,
                text=f"<@{user_id}> snoozed the update reminder for {minutes} min",
                occurred_at=now,
                data={"minutes": minutes, "until": due.isoformat()},
            )
            reference = stored.reference
        self.sink.schedule(incident_id, due)
        snapshot = self.incidents.snapshot(incident_id)
        self.incidents.refresh(snapshot)
        if snapshot.channel_id:
            self._quietly(
                lambda: self.slack.post(
                    snapshot.channel_id or "",
                    f"<@{user_id}> snoozed the {reference} update reminder for {minutes} min.",
                )
            )
        return f"Snoozed for {minutes} min."
