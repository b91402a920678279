"""Action items: follow-up work with an owner and a due date, on the timeline too."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import col

from app.incidents import effects
from app.incidents import repository as repo
from app.incidents.errors import InvalidInput, NotFound
from app.incidents.rules import Source
from app.integrations import outbox
from app.store.database import Database
from app.store.idempotency import claim_request
from app.store.models import ActionItem
from app.store.types import utcnow

ADDED = "action_item_added"
DONE = "action_item_done"
MAX_TEXT = 1000


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_OWNER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DUE = re.compile(
    r"\bdue\s+(today|tomorrow|(?:next\s+)?(?:"
    + "|".join(_WEEKDAYS)
    + r")|in\s+\d{1,3}\s+(?:days?|weeks?)|\d{4}-\d{2}-\d{2}|\S+)",
    re.IGNORECASE,
)
USAGE = (
    "Type `/incident action <what needs doing> [@owner] [due <when>]`, where <when> is "
    "YYYY-MM-DD, today, tomorrow, a weekday such as friday, or in 3 days."
)


@dataclass(frozen=True)
class NewActionItem:
    text: str
    owner_id: str | None = None
    due_date: date | None = None


def parse_action(args: str, today: date) -> NewActionItem:
    """`fix the retry loop @bob due friday` -> text, owner, due date.

    `today` is the requester's own date (their Slack time zone), so "tomorrow" means
    what they mean by it.
    """
    rest = args
    owner = _OWNER.search(rest)
    if owner:
        rest = rest[: owner.start()] + rest[owner.end() :]
    due = _DUE.search(rest)
    due_date = None
    if due:
        due_date = parse_when(due.group(1), today)
        rest = rest[: due.start()] + rest[due.end() :]
    text = " ".join(rest.split())
    if not text:
        raise InvalidInput(USAGE)
    return NewActionItem(text, owner.group(1) if owner else None, due_date)


def parse_when(value: str, today: date) -> date:
    """A due date as people type it: 2026-12-31, today, tomorrow, friday, in 3 days."""
    words = value.lower().split()
    if words == ["today"]:
        return today
    if words == ["tomorrow"]:
        return today + timedelta(days=1)
    if words[-1] in _WEEKDAYS:
        ahead = (_WEEKDAYS.index(words[-1]) - today.weekday() - 1) % 7 + 1
        return today + timedelta(days=ahead + (7 if words[0] == "next" else 0))
    if words[0] == "in" and len(words) == 3:
        count = int(words[1])
        return today + timedelta(days=count * (7 if words[2].startswith("week") else 1))
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise InvalidInput(f"“{value}” is not a due date. {USAGE}")
    return parse_due(value)


def parse_due(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise InvalidInput(f"“{value}” is not a date; write it as YYYY-MM-DD.") from error


FILED = "jira_requested"


class ActionItemService:
    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime] = utcnow,
        *,
        jira_enabled: bool = False,
        auto_file: bool = False,
    ) -> None:
        self.db = db
        self.clock = clock
        self.jira_enabled = jira_enabled
        self.auto_file = jira_enabled and auto_file

    def add(
        self,
        incident_id: int,
        item: NewActionItem,
        actor: str,
        source: Source,
        request_key: str | None = None,
    ) -> ActionItem | None:
        """Record an action item; None if this request was handled before."""
        if len(item.text) > MAX_TEXT:
            raise InvalidInput(f"Keep an action item to {MAX_TEXT} characters or fewer.")
        now = self.clock()
        with self.db.session() as session:
            if request_key and not claim_request(session, request_key, "action", incident_id):
                return None
            stored = ActionItem(
                incident_id=incident_id,
                text=item.text,
                owner_id=item.owner_id,
                due_date=item.due_date,
                created_by=actor,
                created_at=now,
            )
            session.add(stored)
            session.flush()
            repo.record_event(
                session,
                incident_id,
                ADDED,
                source=source,
                actor_id=actor,
                text=item.text,
                occurred_at=now,
                data={
                    "action_item_id": stored.id,
                    "owner": item.owner_id,
                    "due_date": item.due_date.isoformat() if item.due_date else None,
                },
            )
            if self.auto_file:
                stored.jira_requested_at = now
                session.add(stored)
                outbox.file_issue(session, stored)
        return stored

    def file_in_jira(self, item_id: int, actor: str) -> tuple[ActionItem, bool]:
        """Ask for a Jira issue; (item, False) when one is filed or asked for already, so
        a second press files nothing."""
        if not self.jira_enabled:
            raise InvalidInput("Jira is not set up for this workspace.")
        now = self.clock()
        with self.db.session() as session:
            item = session.execute(
                select(ActionItem).where(col(ActionItem.id) == item_id).with_for_update()
            ).scalar_one_or_none()
            if item is None:
                raise NotFound("That action item no longer exists.")
            if item.jira_issue_key or item.jira_requested_at:
                return item, False
            item.jira_requested_at = now
            session.add(item)
            outbox.file_issue(session, item)
            repo.record_event(
                session,
                item.incident_id,
                FILED,
                source=Source.BUTTON,
                actor_id=actor,
                text=item.text,
                occurred_at=now,
                data={"action_item_id": item.id},
            )
        return item, True

    def items(self, incident_id: int) -> Sequence[ActionItem]:
        with self.db.session() as session:
            return (
                session.execute(
                    select(ActionItem)
                    .where(col(ActionItem.incident_id) == incident_id)
                    .order_by(col(ActionItem.id))
                )
                .scalars()
                .all()
            )

    def get(self, item_id: int) -> ActionItem:
        with self.db.session() as session:
            item = session.get(ActionItem, item_id)
        if item is None:
            raise NotFound("That action item no longer exists.")
        return item

    def mark_done(
        self, item_id: int, actor: str | None, source: Source, *, say: str | None = None
    ) -> tuple[ActionItem, bool]:
        """Mark done; (item, False) when it was done already (a second click or a retry).
        `say`: why, said in the incident channel (when no one pressed a button)."""
        now = self.clock()
        with self.db.session() as session:
            item = session.execute(
                select(ActionItem).where(col(ActionItem.id) == item_id).with_for_update()
            ).scalar_one_or_none()
            if item is None:
                raise NotFound("That action item no longer exists.")
            if item.state == "done":
                return item, False
            item.state = "done"
            item.done_by = actor
            item.done_at = now
            session.add(item)
            repo.record_event(
                session,
                item.incident_id,
                DONE,
                source=source,
                actor_id=actor,
                text=item.text,
                occurred_at=now,
                data={"action_item_id": item.id},
            )
            if say:
                effects.say_in_channel(
                    session, item.incident_id, f":white_check_mark: {say}: {escape(item.text)}"
                )
        return item, True
