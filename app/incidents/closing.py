"""Closing: once the review is done, the incident's channel is archived after a while.

Closing sets `incident.archive_due_at` (FIREBREAK_ARCHIVE_AFTER_HOURS later, none for 0)
in the status change's own transaction; reopening clears it. The scheduler's sweep asks
`ClosingService.archive_due` on the leader. Archiving claims the incident with a
conditional UPDATE on `archive_due_at`, so of several replicas only one archives; it posts
one last message saying where the postmortem is, then archives the channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session, col

from app.config import Settings
from app.incidents import repository as repo
from app.incidents.ports import Workspace, WorkspaceError
from app.incidents.rules import Source, Status
from app.incidents.snapshot import IncidentSnapshot, channel_ref
from app.logging import bind_request, get_logger
from app.store.database import Database
from app.store.models import Incident, TimelineEvent
from app.store.types import utcnow

log = get_logger(__name__)

ARCHIVE_NOTICE = "archive_notice"
ARCHIVED = "channel_archived"
UNARCHIVED = "channel_unarchived"
ARCHIVE_FAILED = "archive_failed"
# Slack was unreachable: try again this much later rather than give up.
RETRY_AFTER = timedelta(minutes=10)


def archive_at(closed_at: datetime, hours: float) -> datetime | None:
    """When a channel closed at `closed_at` is archived; None when archiving is off."""
    return closed_at + timedelta(hours=hours) if hours > 0 else None


class ClosingService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        slack: Workspace,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.db = db
        self.slack = slack
        self.clock = clock

    def due(self, now: datetime, limit: int = 500) -> Sequence[int]:
        with self.db.session() as session:
            return (
                session.execute(
                    select(col(Incident.id))
                    .where(col(Incident.archive_due_at) <= now)
                    .order_by(col(Incident.archive_due_at))
                    .limit(limit)
                )
                .scalars()
                .all()
            )

    def archive_due(self, now: datetime | None = None) -> list[int]:
        """Archive every channel whose time has come; returns the incidents archived."""
        at = now or self.clock()
        return [incident_id for incident_id in self.due(at) if self.archive(incident_id, at)]

    def archive(self, incident_id: int, now: datetime) -> bool:
        claimed = self._claim(incident_id, now)
        if claimed is None:
            return False
        snapshot, closed_at = claimed
        if not snapshot.channel_id:
            return False
        bind_request(incident=snapshot.reference)
        self._post_notice(snapshot, closed_at, now)
        try:
            self.slack.archive(snapshot.channel_id)
        except WorkspaceError as error:
            self._failed(snapshot, error, now)
            return False
        with self.db.session() as session:
            stored = repo.get_incident(session, incident_id)
            stored.archived_at = now
            session.add(stored)
            repo.record_event(
                session,
                incident_id,
                ARCHIVED,
                source=Source.SCHEDULER,
                actor_id=None,
                text=f"Archived {channel_ref(snapshot.channel_id)}",
                occurred_at=now,
            )
        log.info("channel_archived")
        return True

    def _claim(self, incident_id: int, now: datetime) -> tuple[IncidentSnapshot, datetime] | None:
        with self.db.session() as session:
            incident = session.get(Incident, incident_id)
            if incident is None or incident.archive_due_at is None:
                return None
            due = incident.archive_due_at
            if due > now:
                return None
            claimed = session.execute(
                update(Incident)
                .where(col(Incident.id) == incident_id, col(Incident.archive_due_at) == due)
                .values(archive_due_at=None)
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", 0) != 1 or incident.status != Status.CLOSED.value:
                return None
            snapshot = IncidentSnapshot.of(incident, repo.current_roles(session, incident_id))
            return snapshot, incident.closed_at or due

    def _post_notice(self, incident: IncidentSnapshot, closed_at: datetime, now: datetime) -> None:
        """The last word in the channel, once per closing even when archiving is retried."""
        with self.db.session() as session:
            if _has_event_since(session, incident.id, ARCHIVE_NOTICE, closed_at):
                return
        try:
            ts = self.slack.tell_archiving(incident)
        except WorkspaceError as error:
            # Archived by hand already (is_archived) or Slack is down: archiving decides.
            log.warning("archive_notice_not_posted", error=error.error)
            return
        with self.db.session() as session:
            repo.record_event(
                session,
                incident.id,
                ARCHIVE_NOTICE,
                source=Source.SCHEDULER,
                actor_id=None,
                text="Told the channel where the postmortem is before archiving",
                occurred_at=now,
                message_ts=ts,
            )

    def _failed(self, incident: IncidentSnapshot, error: WorkspaceError, now: datetime) -> None:
        retry = error.error in ("unavailable", "ratelimited") or error.error.startswith("http_5")
        with self.db.session() as session:
            stored = repo.get_incident(session, incident.id)
            if retry and stored.status == Status.CLOSED.value and stored.archive_due_at is None:
                stored.archive_due_at = now + RETRY_AFTER
                session.add(stored)
            else:
                repo.record_event(
                    session,
                    incident.id,
                    ARCHIVE_FAILED,
                    source=Source.SCHEDULER,
                    actor_id=None,
                    text=f"Slack did not archive {channel_ref(incident.channel_id)} "
                    f"({error.error})",
                    occurred_at=now,
                    data={"error": error.error},
                )
        log.warning("channel_not_archived", error=error.error, retry=retry)


def _has_event_since(session: Session, incident_id: int, kind: str, since: datetime) -> bool:
    found = session.execute(
        select(col(TimelineEvent.id))
        .where(
            col(TimelineEvent.incident_id) == incident_id,
            col(TimelineEvent.kind) == kind,
            col(TimelineEvent.occurred_at) >= since,
        )
        .limit(1)
    ).first()
    return found is not None
