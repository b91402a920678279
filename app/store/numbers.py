"""Incident numbers: increasing per workspace, without gaps."""

from __future__ import annotations

import secrets

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from app.store.models import IncidentCounter


def provisional_number() -> int:
    """A stand-in number for an incident inserted before it is numbered.

    Negative, so never a real number, and random, so concurrent declarations do not wait
    on each other's uncommitted row in the (team, number) unique index.
    """
    return -1 - secrets.randbelow(2**31 - 1)


def allocate_incident_number(session: Session, team_id: str) -> int:
    """The next number for `team_id`.

    The counter row stays locked until the caller's transaction ends, so a rolled-back
    declaration gives its number back (no gaps). Call it as late as possible in the
    transaction: concurrent declarations queue on that row for as long as it is held.
    One atomic `UPDATE … RETURNING` on both databases; the row is created the first time.
    """
    number = _increment(session, team_id)
    if number is None:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(
            insert(IncidentCounter)
            .values(team_id=team_id, last_number=0)
            .on_conflict_do_nothing(index_elements=["team_id"])
        )
        number = _increment(session, team_id)
    assert number is not None
    return number


def _increment(session: Session, team_id: str) -> int | None:
    # Read from RETURNING, not rowcount: the row, when there is one, is the answer.
    number = session.execute(
        update(IncidentCounter)
        .where(col(IncidentCounter.team_id) == team_id)
        .values(last_number=IncidentCounter.last_number + 1)
        .returning(col(IncidentCounter.last_number))
    ).scalar_one_or_none()
    return None if number is None else int(number)


def reserve_incident_numbers(session: Session, team_id: str, up_to: int) -> None:
    """Make sure `team_id`'s next declared incident is numbered after `up_to` (imports)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(IncidentCounter)
        .values(team_id=team_id, last_number=0)
        .on_conflict_do_nothing(index_elements=["team_id"])
    )
    session.execute(
        update(IncidentCounter)
        .where(col(IncidentCounter.team_id) == team_id, col(IncidentCounter.last_number) < up_to)
        .values(last_number=up_to)
    )
