"""Queries the incident use cases share. Each takes the caller's session (transaction)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.incidents.errors import UNKNOWN_INCIDENT, NotFound
from app.incidents.rules import Source
from app.store.models import (
    Incident,
    ReminderState,
    RoleAssignment,
    StakeholderUpdate,
    TimelineEvent,
)
from app.store.types import utcnow


def get_incident(session: Session, incident_id: int, *, lock: bool = False) -> Incident:
    statement = select(Incident).where(col(Incident.id) == incident_id)
    if lock:
        statement = statement.with_for_update()
    incident: Incident | None = session.execute(statement).scalar_one_or_none()
    if incident is None:
        raise NotFound(UNKNOWN_INCIDENT)
    return incident


def incident_for_channel(session: Session, channel_id: str) -> Incident | None:
    return session.execute(
        select(Incident).where(col(Incident.channel_id) == channel_id)
    ).scalar_one_or_none()


def incident_by_number(session: Session, team_id: str, number: int) -> Incident | None:
    return session.execute(
        select(Incident).where(col(Incident.team_id) == team_id, col(Incident.number) == number)
    ).scalar_one_or_none()


def open_incidents(session: Session, team_id: str) -> Sequence[Incident]:
    return (
        session.execute(
            select(Incident)
            .where(
                col(Incident.team_id) == team_id,
                col(Incident.status).not_in(["resolved", "closed"]),
            )
            .order_by(col(Incident.number).desc())
        )
        .scalars()
        .all()
    )


def open_counts_by_severity(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(col(Incident.severity), func.count())
        .where(col(Incident.status).not_in(["resolved", "closed"]))
        .group_by(col(Incident.severity))
    ).all()
    return {severity: int(count) for severity, count in rows}


def recent_incidents(session: Session, team_id: str, limit: int = 10) -> Sequence[Incident]:
    return (
        session.execute(
            select(Incident)
            .where(col(Incident.team_id) == team_id)
            .order_by(col(Incident.number).desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )


def unfinished_declarations(session: Session) -> Sequence[int]:
    return (
        session.execute(select(col(Incident.id)).where(col(Incident.setup_complete).is_(False)))
        .scalars()
        .all()
    )


def current_roles(session: Session, incident_id: int) -> dict[str, str]:
    """role -> user id of its current holder."""
    rows = session.execute(
        select(col(RoleAssignment.role), col(RoleAssignment.user_id)).where(
            col(RoleAssignment.incident_id) == incident_id,
            col(RoleAssignment.relieved_at).is_(None),
        )
    ).all()
    return {role: user for role, user in rows}  # noqa: C416 - rows are Row objects


# Ids per IN (...) list: well under SQLite's limit on bound parameters.
_BATCH = 500


def _batches(ids: Sequence[int]) -> Iterator[list[int]]:
    unique = sorted(set(ids))
    for start in range(0, len(unique), _BATCH):
        yield unique[start : start + _BATCH]


def roles_by_incident(session: Session, incident_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """incident id -> {role: current holder} for many incidents in one query (per 500)."""
    roles: dict[int, dict[str, str]] = {incident_id: {} for incident_id in incident_ids}
    for batch in _batches(incident_ids):
        rows = session.execute(
            select(
                col(RoleAssignment.incident_id),
                col(RoleAssignment.role),
                col(RoleAssignment.user_id),
            ).where(
                col(RoleAssignment.incident_id).in_(batch),
                col(RoleAssignment.relieved_at).is_(None),
            )
        ).all()
        for incident_id, role, user in rows:
            roles[incident_id][role] = user
    return roles


def next_due_by_incident(session: Session, incident_ids: Sequence[int]) -> dict[int, datetime]:
    """incident id -> when its next reminder is due, for those that have one."""
    due: dict[int, datetime] = {}
    for batch in _batches(incident_ids):
        rows = session.execute(
            select(col(ReminderState.incident_id), col(ReminderState.next_due_at)).where(
                col(ReminderState.incident_id).in_(batch),
                col(ReminderState.next_due_at).is_not(None),
            )
        ).all()
        due.update({incident_id: at for incident_id, at in rows})  # noqa: C416 - Row objects
    return due


def roles_held_by(session: Session, team_id: str, user_id: str) -> Sequence[tuple[Incident, str]]:
    rows = session.execute(
        select(Incident, col(RoleAssignment.role))
        .join(RoleAssignment, col(RoleAssignment.incident_id) == col(Incident.id))
        .where(
            col(Incident.team_id) == team_id,
            col(RoleAssignment.user_id) == user_id,
            col(RoleAssignment.relieved_at).is_(None),
            col(Incident.status).not_in(["resolved", "closed"]),
        )
        .order_by(col(Incident.number).desc())
    ).all()
    return [(incident, role) for incident, role in rows]


def assign_role(
    session: Session, incident_id: int, role: str, user_id: str, by: str, at: datetime
) -> str | None:
    """Hand `role` to `user_id`; return the previous holder (None if there was none)."""
    current = session.execute(
        select(RoleAssignment).where(
            col(RoleAssignment.incident_id) == incident_id,
            col(RoleAssignment.role) == role,
            col(RoleAssignment.relieved_at).is_(None),
        )
    ).scalar_one_or_none()
    previous = None
    if current is not None:
        previous = current.user_id
        current.relieved_at = at
        session.add(current)
        session.flush()
    session.add(
        RoleAssignment(
            incident_id=incident_id, role=role, user_id=user_id, assigned_by=by, assigned_at=at
        )
    )
    return previous


def record_event(
    session: Session,
    incident_id: int,
    kind: str,
    *,
    source: Source,
    actor_id: str | None,
    text: str = "",
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
    message_ts: str | None = None,
    permalink: str | None = None,
) -> TimelineEvent:
    now = utcnow()
    event = TimelineEvent(
        incident_id=incident_id,
        kind=kind,
        source=source.value,
        actor_id=actor_id,
        text=text,
        data=data or {},
        occurred_at=occurred_at or now,
        recorded_at=now,
        message_ts=message_ts,
        permalink=permalink,
    )
    session.add(event)
    return event


def timeline(session: Session, incident_id: int) -> Sequence[TimelineEvent]:
    return (
        session.execute(
            select(TimelineEvent)
            .where(col(TimelineEvent.incident_id) == incident_id)
            .order_by(col(TimelineEvent.occurred_at), col(TimelineEvent.id))
        )
        .scalars()
        .all()
    )


def latest_update(session: Session, incident_id: int) -> StakeholderUpdate | None:
    return session.execute(
        select(StakeholderUpdate)
        .where(col(StakeholderUpdate.incident_id) == incident_id)
        .order_by(col(StakeholderUpdate.posted_at).desc(), col(StakeholderUpdate.id).desc())
        .limit(1)
    ).scalar_one_or_none()
