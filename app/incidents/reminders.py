"""When stakeholder updates are due, and the reminders that chase them.

The pure cadence rules come first (no I/O). `ReminderService` below applies them: each
open incident has one `reminder_state` row whose `next_due_at` is the truth about when
the next reminder fires. Sending a reminder claims the row with a conditional UPDATE on
`next_due_at`, so of several replicas (or a sweep and a job in one) only one sends it.
After resolution the same row holds the postmortem nudge, so no other table is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlmodel import Session, col

from app.config import Settings
from app.incidents import repository as repo
from app.incidents.ports import Reminder, ReminderKind, Workspace, WorkspaceError
from app.incidents.rules import Source, Status
from app.logging import bind_request, get_logger
from app.store.database import Database
from app.store.models import Incident, ReminderState
from app.store.types import utcnow

log = get_logger(__name__)

Clock = Callable[[], datetime]


# --- pure rules --------------------------------------------------------------------------


def cadence_minutes(settings: Settings, severity: str) -> int:
    """Minutes between stakeholder updates for `severity`; 0 means no reminders."""
    try:
        return settings.severity(severity).update_minutes
    except KeyError:
        return 0


def after_minutes(moment: datetime, minutes: int) -> datetime | None:
    return moment + timedelta(minutes=minutes) if minutes > 0 else None


def due_after_update(posted_at: datetime, next_update_minutes: int) -> datetime | None:
    """An update restarts the clock from the moment it was posted."""
    return after_minutes(posted_at, next_update_minutes)


def due_after_reminder(sent_at: datetime, cadence: int) -> datetime | None:
    """An unanswered reminder repeats a cadence after it was sent, never in a burst.

    Counting from the send time (not the missed due time) means a bot that was down for
    several periods sends one reminder on start, not one per missed period.
    """
    return after_minutes(sent_at, cadence)


def due_after_severity_change(
    last_update_or_declared: datetime, cadence: int, now: datetime
) -> datetime | None:
    """The new cadence counts from the last update; already overdue means due now."""
    due = after_minutes(last_update_or_declared, cadence)
    return max(due, now) if due is not None else None


def snoozed_until(now: datetime, snooze_minutes: int) -> datetime:
    return now + timedelta(minutes=snooze_minutes)


def postmortem_nudge_at(resolved_at: datetime, nudge_days: int) -> datetime | None:
    return resolved_at + timedelta(days=nudge_days) if nudge_days > 0 else None


def due_after_status_change(
    status: Status,
    *,
    now: datetime,
    cadence: int,
    nudge_days: int,
    was_open: bool,
    current_due: datetime | None,
) -> datetime | None:
    """Resolving swaps update reminders for the postmortem nudge; closing stops both;
    reopening restarts update reminders from now."""
    if status is Status.CLOSED:
        return None
    if status is Status.RESOLVED:
        return postmortem_nudge_at(now, nudge_days)
    return after_minutes(now, cadence) if not was_open else current_due


def reminder_kind(status: Status) -> ReminderKind | None:
    if status.is_open:
        return ReminderKind.UPDATE
    return ReminderKind.POSTMORTEM if status is Status.RESOLVED else None


def reminder_recipient(roles: dict[str, str], kind: ReminderKind) -> str | None:
    """Update reminders go to the comms lead, else the commander; nudges to the commander."""
    if kind is ReminderKind.UPDATE and roles.get("comms"):
        return roles["comms"]
    return roles.get("commander")


# --- scheduling hook ---------------------------------------------------------------------


class ReminderSchedule(Protocol):
    """Told after a commit that an incident's next reminder moved (None: no reminder)."""

    def schedule(self, incident_id: int, due: datetime | None) -> None: ...


class NoSchedule:
    """For tools that run without a scheduler: the maintenance sweep finds what is due."""

    def schedule(self, incident_id: int, due: datetime | None) -> None:
        return None


def set_due(session: Session, incident_id: int, due: datetime | None) -> None:
    """Write the next due time in the caller's transaction (the change's own)."""
    state = session.get(ReminderState, incident_id)
    if state is None:
        session.add(ReminderState(incident_id=incident_id, next_due_at=due))
        return
    state.next_due_at = due
    session.add(state)


def next_due(session: Session, incident_id: int) -> datetime | None:
    state = session.get(ReminderState, incident_id)
    return state.next_due_at if state else None


# --- sending -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fired:
    incident_id: int
    kind: ReminderKind
    due_at: datetime
    sent_at: datetime


class ReminderService:
    """Sends the reminders that are due; every replica may call it, one send wins."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        slack: Workspace,
        clock: Clock = utcnow,
        schedule: ReminderSchedule | None = None,
        on_update_reminder: Callable[[], object] = lambda: None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.slack = slack
        self.clock = clock
        self.schedule: ReminderSchedule = schedule or NoSchedule()
        self.on_update_reminder = on_update_reminder

    def due(self, now: datetime, limit: int = 5000) -> Sequence[int]:
        with self.db.session() as session:
            return (
                session.execute(
                    select(col(ReminderState.incident_id))
                    .where(col(ReminderState.next_due_at) <= now)
                    .order_by(col(ReminderState.next_due_at))
                    .limit(limit)
                )
                .scalars()
                .all()
            )

    def scheduled(self) -> list[tuple[int, datetime]]:
        """Every pending reminder, to rebuild scheduler jobs from the database."""
        with self.db.session() as session:
            rows = session.execute(
                select(col(ReminderState.incident_id), col(ReminderState.next_due_at)).where(
                    col(ReminderState.next_due_at).is_not(None)
                )
            ).all()
        return [(incident_id, due) for incident_id, due in rows]

    def fire(self, incident_id: int, now: datetime | None = None) -> Fired | None:
        """Send this incident's reminder if it is due and nobody sent it yet.

        On PostgreSQL the conditional UPDATE holds the row until the transaction ends, and
        the message is posted inside that transaction: a replica that dies mid-send rolls
        the claim back (the next leader sends it), a second claimer waits and then finds
        nothing to claim. SQLite runs one process with one writer, so there the claim is
        committed first and the Slack call holds no database lock; a failed post puts the
        claim back.
        """
        now = now or self.clock()
        message: ReminderMessage | None = None
        with self.db.session() as session:
            row = session.execute(
                select(ReminderState, Incident)
                .join(Incident, col(Incident.id) == col(ReminderState.incident_id))
                .where(col(ReminderState.incident_id) == incident_id)
            ).first()
            if row is None:
                return None
            state, incident = row
            if state.next_due_at is None or state.next_due_at > now:
                return None
            due_at = state.next_due_at
            status = Status(incident.status)
            kind = reminder_kind(status)
            follow = self._follow_up(incident, kind, now)
            if not _claim(session, incident_id, due_at, follow, now):
                return None
            if kind is None or not incident.channel_id:
                log.info("reminder_dropped", incident=incident.reference, status=status.value)
            else:
                message = self._compose(session, incident, kind)
                if self.db.is_postgres:
                    self._record(session, incident, message, now, self._post(incident, message))
                    message = None
        if message is not None:
            self._send_after_claim(incident, message, now, due_at, follow)
        self.schedule.schedule(incident_id, follow)
        return Fired(incident_id, kind or ReminderKind.UPDATE, due_at, now)

    def _follow_up(
        self, incident: Incident, kind: ReminderKind | None, now: datetime
    ) -> datetime | None:
        if kind is ReminderKind.UPDATE:
            return due_after_reminder(now, cadence_minutes(self.settings, incident.severity))
        return None

    def _compose(self, session: Session, incident: Incident, kind: ReminderKind) -> ReminderMessage:
        assert incident.id is not None
        bind_request(incident=incident.reference)
        recipient = reminder_recipient(repo.current_roles(session, incident.id), kind)
        reminder = Reminder(
            kind, incident.id, incident.reference, recipient, incident.last_update_at
        )
        if kind is ReminderKind.UPDATE:
            event_text = f"Reminded {_mention(recipient)} that a stakeholder update is due"
        else:
            event_text = f"Nudged {_mention(recipient)} to schedule the postmortem review"
        return ReminderMessage(reminder, event_text)

    def _post(self, incident: Incident, message: ReminderMessage) -> str:
        assert incident.channel_id is not None
        try:
            return self.slack.remind(incident.channel_id, message.reminder)
        except WorkspaceError as error:
            # The caller puts the claim back, so the next tick or job tries again.
            log.warning("reminder_post_failed", error=error.error)
            raise

    def _send_after_claim(
        self,
        incident: Incident,
        message: ReminderMessage,
        now: datetime,
        due_at: datetime,
        follow: datetime | None,
    ) -> None:
        try:
            ts = self._post(incident, message)
        except WorkspaceError:
            with self.db.session() as session:
                _unclaim(session, incident.id or 0, due_at, follow)
            raise
        with self.db.session() as session:
            self._record(session, incident, message, now, ts)

    def _record(
        self,
        session: Session,
        incident: Incident,
        message: ReminderMessage,
        now: datetime,
        ts: str,
    ) -> None:
        assert incident.id is not None
        session.execute(
            update(ReminderState)
            .where(col(ReminderState.incident_id) == incident.id)
            .values(last_reminder_ts=ts)
            .execution_options(synchronize_session=False)
        )
        update_kind = message.kind is ReminderKind.UPDATE
        repo.record_event(
            session,
            incident.id,
            "reminder_sent" if update_kind else "postmortem_nudge_sent",
            source=Source.REMINDER,
            actor_id=None,
            text=message.event_text,
            occurred_at=now,
            data={"recipient": message.recipient, "kind": message.kind.value},
            message_ts=ts,
        )
        log.info("reminder_sent", kind=message.kind.value, recipient=message.recipient)
        if update_kind:
            self.on_update_reminder()


@dataclass(frozen=True)
class ReminderMessage:
    reminder: Reminder
    event_text: str

    @property
    def kind(self) -> ReminderKind:
        return self.reminder.kind

    @property
    def recipient(self) -> str | None:
        return self.reminder.recipient


def _unclaim(session: Session, incident_id: int, due_at: datetime, follow: datetime | None) -> None:
    """Put a claim back after a failed post, unless something rescheduled it since."""
    still_claimed = (
        col(ReminderState.next_due_at).is_(None)
        if follow is None
        else col(ReminderState.next_due_at) == follow
    )
    session.execute(
        update(ReminderState)
        .where(col(ReminderState.incident_id) == incident_id, still_claimed)
        .values(next_due_at=due_at, sent_count=col(ReminderState.sent_count) - 1)
        .execution_options(synchronize_session=False)
    )


def _claim(
    session: Session, incident_id: int, due_at: datetime, follow: datetime | None, now: datetime
) -> bool:
    result = session.execute(
        update(ReminderState)
        .where(
            col(ReminderState.incident_id) == incident_id,
            col(ReminderState.next_due_at) == due_at,
        )
        .values(
            next_due_at=follow,
            last_sent_at=now,
            sent_count=col(ReminderState.sent_count) + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def _mention(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "nobody (no commander)"
