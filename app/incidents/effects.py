"""What Slack must be told about a change, written in the change's own transaction.

Use cases say *what* to show (redraw the card, say a line in the channel, tell the
stakeholders the incident is resolved); the notifier in the Slack layer renders it from
the database and carries it out after the commit, so a crash or a Slack outage between
the two never loses it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel

from app.store.models import SlackEffect
from app.store.types import utcnow

_TABLE = SQLModel.metadata.tables[SlackEffect.__tablename__]


class Claim:
    """Effects a change leased in its own transaction, for this process to carry out as
    soon as it commits (the Slack layer's notifier says what is inside)."""


# Called at the end of a change's transaction: lease the incident's due effects and read
# what they are drawn from, saving the notifier a transaction of its own after the commit.
ClaimEffects = Callable[[Session, int], Claim | None]


class EffectsReady(Protocol):
    """Told after the commit that an incident has pending Slack work (the notifier's kick),
    with what the change claimed for it, if anything."""

    def __call__(self, incident_id: int, claim: Claim | None = None, /) -> None: ...


def no_notifier(_incident_id: int, _claim: Claim | None = None, /) -> None:
    """For tools that change incidents without telling Slack right away (the maintenance
    loop carries out what they leave)."""


def no_claim(_session: Session, _incident_id: int) -> Claim | None:
    return None


class Kind(StrEnum):
    # Redraws: one row per incident and surface, drawn from the latest state.
    CARD = "card"
    TOPIC = "topic"
    ANNOUNCEMENT = "announcement"
    # Messages: each posted exactly once.
    LINE = "line"  # a line in the incident channel
    NOTICE = "notice"  # a reply in the announcement thread (resolved, reopened, escalated)
    UPDATE = "update"  # a stakeholder update, to the channel or the thread
    INVITE = "invite"
    ARCHIVING = "archiving"  # the channel is told when it will be archived


REDRAWS = (Kind.CARD, Kind.TOPIC, Kind.ANNOUNCEMENT)


class Notice(StrEnum):
    RESOLVED = "resolved"
    REOPENED = "reopened"
    ESCALATED = "escalated"


def redraw(session: Session, incident_id: int, surfaces: Iterable[Kind] = REDRAWS) -> None:
    """Mark surfaces to be drawn again; a pending redraw is reused, never duplicated."""
    now = utcnow()
    for surface in surfaces:
        session.execute(
            _upsert_redraw(session).values(
                incident_id=incident_id,
                key=f"{surface.value}:{incident_id}",
                kind=surface.value,
                payload={},
                version=1,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
        )


def _upsert_redraw(session: Session) -> Insert:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(_TABLE)
    return statement.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "version": _TABLE.c.version + 1,
            "attempts": 0,
            "next_attempt_at": statement.excluded.next_attempt_at,
            "done_at": None,
            "error": None,
        },
    )


def say_in_channel(session: Session, incident_id: int, text: str) -> None:
    _add(session, incident_id, Kind.LINE, {"text": text})


def tell_stakeholders(
    session: Session, incident_id: int, notice: Notice, actor: str, *, broadcast: bool = False
) -> None:
    _add(
        session,
        incident_id,
        Kind.NOTICE,
        {"notice": notice.value, "actor": actor, "broadcast": broadcast},
    )


def post_update(session: Session, incident_id: int, update_id: int, *, in_thread: bool) -> None:
    _add(session, incident_id, Kind.UPDATE, {"update_id": update_id, "thread": in_thread})


def invite(session: Session, incident_id: int, users: list[str]) -> None:
    _add(session, incident_id, Kind.INVITE, {"users": users})


def announce_archiving(session: Session, incident_id: int, archive_at: datetime) -> None:
    _add(session, incident_id, Kind.ARCHIVING, {"archive_at": archive_at.isoformat()})


def _add(session: Session, incident_id: int, kind: Kind, payload: dict[str, Any]) -> None:
    session.add(
        SlackEffect(
            incident_id=incident_id,
            key=f"{kind.value}:{uuid.uuid4().hex}",
            kind=kind.value,
            payload=payload,
        )
    )
