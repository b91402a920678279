"""What lands on an incident's timeline from the channel: marked messages and notes.

A message is marked by pinning it or by a :pushpin: reaction. Its event keeps Slack's
message time, so a message pinned an hour late still sits where it was said. Unmarking
keeps the event with `removed_at`; editing a marked message keeps the first wording.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.incidents import repository as repo
from app.incidents.errors import InvalidInput, NotAllowed
from app.incidents.ports import Workspace, WorkspaceError
from app.incidents.rules import Source
from app.incidents.snapshot import IncidentSnapshot
from app.logging import get_logger
from app.store.database import Database
from app.store.idempotency import claim_request
from app.store.models import Incident, TimelineEvent
from app.store.types import utcnow

log = get_logger(__name__)

PINNED = "message_pinned"
REACTED = "message_reacted"
ADDED = "message_added"  # the "Add to incident timeline" message shortcut
NOTE = "note"
MARK_REACTION = "pushpin"
MARK_KINDS = (PINNED, REACTED, ADDED)
_SOURCES = {PINNED: Source.PIN, REACTED: Source.REACTION, ADDED: Source.SHORTCUT}
MAX_NOTE = 3000
MAX_LISTED = 40
CURATOR_ROLES = ("scribe", "commander")
EDIT, STRIKE, RESTORE = "edit", "strike", "restore"


@dataclass(frozen=True)
class Curation:
    """A scribe's change to one entry: new words (edit), strike it, or restore it."""

    event_id: int
    action: str
    actor: str
    request_key: str
    text: str | None = None


def ts_to_datetime(ts: str) -> datetime:
    """A Slack message timestamp ("1700000000.000100") as a UTC datetime."""
    return datetime.fromtimestamp(float(ts), UTC)


@dataclass(frozen=True)
class Mark:
    """Someone pinned (or :pushpin:-reacted to) a message in a channel."""

    kind: str
    channel_id: str
    ts: str
    marked_by: str
    event_key: str
    fallback: dict[str, Any] | None = None


class TimelineService:
    def __init__(
        self, db: Database, slack: Workspace, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.slack = slack
        self.clock = clock

    # --- marking messages ---------------------------------------------------------------

    def mark(self, mark: Mark) -> bool:
        """Put a marked message on the timeline; False when ignored or already there."""
        incident = self._incident(mark.channel_id)
        if incident is None or mark.ts == incident.card_ts or self._is_bot(mark.marked_by):
            return False
        assert incident.id is not None
        return self._put(incident.id, mark)

    def add_message(self, incident_id: int, mark: Mark) -> bool:
        """A message someone put on an incident's timeline with the shortcut, from its
        channel or from anywhere; False when it is on that timeline already."""
        with self.db.session() as session:
            on_timeline = session.execute(
                select(col(TimelineEvent.id)).where(
                    col(TimelineEvent.incident_id) == incident_id,
                    col(TimelineEvent.kind).in_(MARK_KINDS),
                    col(TimelineEvent.message_ts) == mark.ts,
                    col(TimelineEvent.removed_at).is_(None),
                )
            ).first()
        return on_timeline is None and self._put(incident_id, mark)

    def _put(self, incident_id: int, mark: Mark) -> bool:
        existing = self._existing(incident_id, mark.kind, mark.ts)
        if existing is not None:
            return self._restore(existing, mark.event_key)
        message = self._fetch(mark)
        permalink = self._permalink(mark.channel_id, mark.ts)
        with self.db.session() as session:
            if not claim_request(session, mark.event_key, "timeline", incident_id):
                return False
            try:
                with session.begin_nested():
                    repo.record_event(
                        session,
                        incident_id,
                        mark.kind,
                        source=_SOURCES[mark.kind],
                        actor_id=message.get("user") or message.get("bot_id"),
                        text=str(message.get("text") or ""),
                        occurred_at=ts_to_datetime(mark.ts),
                        message_ts=mark.ts,
                        permalink=permalink,
                        data={"marked_by": mark.marked_by, "channel": mark.channel_id},
                    )
            except IntegrityError:
                # A second pin event for the same message raced this one: it is there once.
                return False
        return True

    def unmark(self, kind: str, channel_id: str, ts: str, event_key: str) -> bool:
        incident = self._incident(channel_id)
        if incident is None or incident.id is None:
            return False
        if kind == REACTED and self._still_marked(channel_id, ts):
            return False
        with self.db.session() as session:
            if not claim_request(session, event_key, "timeline", incident.id):
                return False
            event = _marked_event(session, incident.id, kind, ts)
            if event is None or event.removed_at is not None:
                return False
            event.removed_at = self.clock()
            session.add(event)
        return True

    def edited(self, channel_id: str, ts: str, text: str, edited_ts: str | None) -> int:
        """A marked message was edited: take the new text, keep the first one."""
        incident = self._incident(channel_id)
        if incident is None or incident.id is None:
            return 0
        edited_at = ts_to_datetime(edited_ts) if edited_ts else self.clock()
        changed = 0
        with self.db.session() as session:
            events = session.execute(
                select(TimelineEvent).where(
                    col(TimelineEvent.incident_id) == incident.id,
                    col(TimelineEvent.message_ts) == ts,
                    col(TimelineEvent.kind).in_(MARK_KINDS),
                )
            ).scalars()
            for event in events:
                if event.text == text:
                    continue
                if event.original_text is None:
                    event.original_text = event.text
                event.text = text
                event.edited_at = edited_at
                session.add(event)
                changed += 1
        return changed

    # --- notes --------------------------------------------------------------------------

    def note(self, incident_id: int, text: str, actor: str, request_key: str | None) -> bool:
        cleaned = text.strip()
        if not cleaned:
            raise InvalidInput("Type `/incident note <what happened>`.")
        if len(cleaned) > MAX_NOTE:
            raise InvalidInput(f"Keep a note to {MAX_NOTE} characters or fewer.")
        with self.db.session() as session:
            if request_key and not claim_request(session, request_key, "note", incident_id):
                return False
            repo.record_event(
                session,
                incident_id,
                NOTE,
                source=Source.COMMAND,
                actor_id=actor,
                text=cleaned,
                occurred_at=self.clock(),
            )
        return True

    # --- curating -----------------------------------------------------------------------

    def entries(self, incident_id: int, limit: int = MAX_LISTED) -> list[TimelineEvent]:
        """The latest entries, oldest first, for `/incident timeline`."""
        with self.db.session() as session:
            latest = session.execute(
                select(TimelineEvent)
                .where(col(TimelineEvent.incident_id) == incident_id)
                .order_by(col(TimelineEvent.occurred_at).desc(), col(TimelineEvent.id).desc())
                .limit(limit)
            ).scalars()
            return list(reversed(list(latest)))

    def curate(self, incident: IncidentSnapshot, change: Curation) -> TimelineEvent | None:
        """Reword, strike or restore an entry; the recorded text is kept. None: a retry."""
        _require_curator(incident, change.actor)
        text = change.text.strip() if change.text is not None else None
        if change.action == EDIT and not text:
            raise InvalidInput("Type `/incident timeline edit <id> <new text>`.")
        if text is not None and len(text) > MAX_NOTE:
            raise InvalidInput(f"Keep an entry to {MAX_NOTE} characters or fewer.")
        with self.db.session() as session:
            event = session.get(TimelineEvent, change.event_id)
            if event is None or event.incident_id != incident.id:
                raise InvalidInput(
                    f"There is no entry {change.event_id} on the {incident.reference} timeline; "
                    "`/incident timeline` lists them with their ids."
                )
            if not claim_request(session, change.request_key, "curate", incident.id):
                return None
            now = self.clock()
            if change.action == EDIT:
                event.curated_text = text
            elif change.action == STRIKE:
                event.struck_at = now
            else:
                event.struck_at = None
            event.curated_by = change.actor
            event.curated_at = now
            session.add(event)
            session.flush()
            session.expunge(event)
            return event

    # --- helpers ------------------------------------------------------------------------

    def _incident(self, channel_id: str) -> Incident | None:
        with self.db.session() as session:
            return repo.incident_for_channel(session, channel_id)

    def _is_bot(self, user_id: str) -> bool:
        try:
            return user_id == self.slack.bot_user_id()
        except WorkspaceError:
            return False

    def _existing(self, incident_id: int, kind: str, ts: str) -> TimelineEvent | None:
        with self.db.session() as session:
            return _marked_event(session, incident_id, kind, ts)

    def _restore(self, event: TimelineEvent, event_key: str) -> bool:
        """Marked again after being unmarked: the event comes back, not a copy of it."""
        if event.removed_at is None:
            return False
        with self.db.session() as session:
            if not claim_request(session, event_key, "timeline", event.incident_id):
                return False
            stored = session.get(TimelineEvent, event.id)
            if stored is None or stored.removed_at is None:
                return False
            stored.removed_at = None
            session.add(stored)
        return True

    def _fetch(self, mark: Mark) -> dict[str, Any]:
        """The message as Slack has it now; when Slack cannot say, what the event carried.

        The event was acknowledged already, so Slack will not send it again: the mark is
        recorded either way (its time and who marked it are known) rather than lost.
        """
        try:
            message = self.slack.message(mark.channel_id, mark.ts)
        except WorkspaceError as error:
            log.warning("marked_message_fetch_failed", error=error.error)
            message = None
        return message or dict(mark.fallback or {})

    def _still_marked(self, channel_id: str, ts: str) -> bool:
        """Another person's :pushpin: keeps the message marked when one is taken back."""
        message = self.slack.message(channel_id, ts) or {}
        return any(
            reaction.get("name") == MARK_REACTION and reaction.get("count", 0) > 0
            for reaction in message.get("reactions", [])
        )

    def _permalink(self, channel_id: str, ts: str) -> str | None:
        try:
            return self.slack.permalink(channel_id, ts)
        except WorkspaceError as error:
            log.warning("permalink_failed", error=error.error)
            return None


def curators(incident: IncidentSnapshot) -> list[str]:
    """Who may curate the timeline: the scribe and the commander."""
    return [user for role in CURATOR_ROLES if (user := incident.roles.get(role))]


def _require_curator(incident: IncidentSnapshot, user_id: str) -> None:
    allowed = curators(incident)
    if user_id in allowed:
        return
    holders = " or ".join(
        f"the {role} (<@{incident.roles[role]}>)"
        for role in CURATOR_ROLES
        if role in incident.roles
    )
    raise NotAllowed(
        f"Only {holders or 'the scribe or the commander'} can edit the "
        f"{incident.reference} timeline. Add a note instead: `/incident note <text>`."
    )


def _marked_event(session: Session, incident_id: int, kind: str, ts: str) -> TimelineEvent | None:
    return session.execute(
        select(TimelineEvent).where(
            col(TimelineEvent.incident_id) == incident_id,
            col(TimelineEvent.kind) == kind,
            col(TimelineEvent.message_ts) == ts,
        )
    ).scalar_one_or_none()
