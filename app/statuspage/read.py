"""The status page's read model: what the store holds that may be shown in public.

An incident is on the status page once it has a public stakeholder update and is not
private; only its public updates are read. Names, roles, notes and internal updates are
never selected, so no template can show them by mistake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.store.database import Database
from app.store.models import AlertGroup, Incident, StakeholderUpdate

OPEN = ("investigating", "identified", "monitoring")


@dataclass(frozen=True)
class IncidentRow:
    id: int
    number: int
    title: str
    severity: str
    status: str
    declared_at: datetime
    resolved_at: datetime | None
    service: str | None = None  # the catalog service of its alerts, if it has any


@dataclass(frozen=True)
class UpdateRow:
    id: int
    incident_id: int
    posted_at: datetime
    status: str
    what_we_know: str
    what_we_are_doing: str
    next_update_minutes: int | None


@dataclass(frozen=True)
class Published:
    incidents: tuple[IncidentRow, ...]
    updates: tuple[UpdateRow, ...]  # newest first


# The service an incident is about: that of the first of its alert groups naming one.
_SERVICE = (
    select(col(AlertGroup.service))
    .where(col(AlertGroup.incident_id) == col(Incident.id), col(AlertGroup.service).is_not(None))
    .order_by(col(AlertGroup.id))
    .limit(1)
    .correlate(Incident)
    .scalar_subquery()
)

_INCIDENT_COLUMNS = (
    col(Incident.id),
    col(Incident.number),
    col(Incident.title),
    col(Incident.severity),
    col(Incident.status),
    col(Incident.declared_at),
    col(Incident.resolved_at),
    _SERVICE,
)


def _published_ids() -> Select[int]:
    return select(col(StakeholderUpdate.incident_id)).where(col(StakeholderUpdate.public))


def load_board(db: Database, now: datetime, history_days: int) -> Published:
    """Open public incidents and those resolved in the last `history_days` days."""
    cutoff = now - timedelta(days=history_days)
    query = select(*_INCIDENT_COLUMNS).where(
        col(Incident.is_private).is_(False),
        col(Incident.id).in_(_published_ids()),
        or_(col(Incident.status).in_(OPEN), col(Incident.resolved_at) >= cutoff),
    )
    with db.session() as session:
        incidents = tuple(IncidentRow(*row) for row in session.execute(query).all())
        updates = _updates(session, [incident.id for incident in incidents])
    return Published(incidents, updates)


def load_incident(db: Database, number: int) -> Published | None:
    """One public incident by number, with all its public updates; None if not public."""
    query = (
        select(*_INCIDENT_COLUMNS)
        .where(
            col(Incident.number) == number,
            col(Incident.is_private).is_(False),
            col(Incident.id).in_(_published_ids()),
        )
        .order_by(col(Incident.declared_at).desc())
        .limit(1)
    )
    with db.session() as session:
        row = session.execute(query).first()
        if row is None:
            return None
        incident = IncidentRow(*row)
        return Published((incident,), _updates(session, [incident.id]))


def _updates(session: Session, incident_ids: Sequence[int]) -> tuple[UpdateRow, ...]:
    if not incident_ids:
        return ()
    query = (
        select(
            col(StakeholderUpdate.id),
            col(StakeholderUpdate.incident_id),
            col(StakeholderUpdate.posted_at),
            col(StakeholderUpdate.status),
            col(StakeholderUpdate.what_we_know),
            col(StakeholderUpdate.what_we_are_doing),
            col(StakeholderUpdate.next_update_minutes),
        )
        .where(col(StakeholderUpdate.public), col(StakeholderUpdate.incident_id).in_(incident_ids))
        .order_by(col(StakeholderUpdate.posted_at).desc(), col(StakeholderUpdate.id).desc())
    )
    return tuple(
        UpdateRow(int(key or 0), incident, posted, status, know, doing, minutes)
        for key, incident, posted, status, know, doing, minutes in session.execute(query).all()
    )
