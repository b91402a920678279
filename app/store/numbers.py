"""Incident numbers: increasing per workspace, without gaps."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from app.store.models import IncidentCounter


def allocate_incident_number(session: Session, team_id: str) -> int:
    """The next number for `team_id`.

    The counter row stays locked until the caller's transaction ends, so concurrent
    declarations queue here, and a rolled-back declaration gives its number back.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(IncidentCounter)
        .values(team_id=team_id, last_number=0)
        .on_conflict_do_nothing(index_elements=["team_id"])
    )
    number = session.execute(
        update(IncidentCounter)
        .where(col(IncidentCounter.team_id) == team_id)
        .values(last_number=IncidentCounter.last_number + 1)
        .returning(col(IncidentCounter.last_number))
    ).scalar_one()
    return int(number)


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
