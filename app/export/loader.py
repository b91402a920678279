"""Reads what a postmortem needs. Timeline events are streamed, never held all at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlmodel import col

from app.store.database import Database
from app.store.models import (
    ActionItem,
    Incident,
    RoleAssignment,
    StakeholderUpdate,
    TimelineEvent,
)

STREAM_BATCH = 1000


@dataclass(frozen=True)
class IncidentFacts:
    reference: str
    number: int
    title: str
    summary: str
    severity: str
    highest_severity: str
    status: str
    is_private: bool
    declared_by: str
    declared_at: datetime
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    channel_id: str | None
    channel_name: str | None
    detected_at: datetime | None = None
    # First acknowledgement: of the alert (Slack button) or the page (PagerDuty webhook).
    acknowledged_at: datetime | None = None


@dataclass(frozen=True)
class RoleSpell:
    role: str
    user_id: str
    assigned_at: datetime
    relieved_at: datetime | None


@dataclass(frozen=True)
class UpdateFacts:
    posted_at: datetime
    posted_by: str
    status: str
    severity: str
    what_we_know: str
    what_we_are_doing: str
    next_update_minutes: int | None


@dataclass(frozen=True)
class ActionFacts:
    id: int | None
    text: str
    owner_id: str | None
    due_date: date | None
    state: str
    created_by: str
    created_at: datetime
    done_by: str | None
    done_at: datetime | None
    jira_issue_key: str | None = None


@dataclass(frozen=True)
class EventFacts:
    occurred_at: datetime
    kind: str
    source: str
    actor_id: str | None
    text: str
    original_text: str | None
    message_ts: str | None
    permalink: str | None
    edited_at: datetime | None
    removed_at: datetime | None
    data: dict[str, Any]
    # The scribe's or commander's rewording (`text` is what was recorded) or strike.
    curated_text: str | None = None
    curated_by: str | None = None
    curated_at: datetime | None = None
    struck_at: datetime | None = None


@dataclass(frozen=True)
class ExportData:
    """Everything an export shows; `events` is an iterator to be read once, in order."""

    incident: IncidentFacts
    roles: list[RoleSpell]
    updates: list[UpdateFacts]
    actions: list[ActionFacts]
    events: Iterator[EventFacts]


_EVENT_COLUMNS = (
    col(TimelineEvent.occurred_at),
    col(TimelineEvent.kind),
    col(TimelineEvent.source),
    col(TimelineEvent.actor_id),
    col(TimelineEvent.text),
    col(TimelineEvent.original_text),
    col(TimelineEvent.message_ts),
    col(TimelineEvent.permalink),
    col(TimelineEvent.edited_at),
    col(TimelineEvent.removed_at),
    col(TimelineEvent.data),
    col(TimelineEvent.curated_text),
    col(TimelineEvent.curated_by),
    col(TimelineEvent.curated_at),
    col(TimelineEvent.struck_at),
)


@contextmanager
def open_export(db: Database, incident_id: int) -> Iterator[ExportData]:
    """The incident's export data, valid inside the block (events stream from the database)."""
    with db.engine.connect() as connection:
        incident = connection.execute(
            select(Incident).where(col(Incident.id) == incident_id)
        ).one_or_none()
        if incident is None:
            raise LookupError(f"incident {incident_id} does not exist")
        yield ExportData(
            incident=_incident_facts(incident._mapping, _acknowledged_at(connection, incident_id)),
            roles=_roles(connection, incident_id),
            updates=_updates(connection, incident_id),
            actions=_actions(connection, incident_id),
            events=stream_events(connection, incident_id),
        )


def stream_events(connection: Connection, incident_id: int) -> Iterator[EventFacts]:
    """Events in time order, fetched in batches through a server-side cursor."""
    result = connection.execution_options(stream_results=True, yield_per=STREAM_BATCH).execute(
        select(*_EVENT_COLUMNS)
        .where(col(TimelineEvent.incident_id) == incident_id)
        .order_by(col(TimelineEvent.occurred_at), col(TimelineEvent.id))
    )
    for row in result:
        yield EventFacts(*row)


def _acknowledged_at(connection: Connection, incident_id: int) -> datetime | None:
    first: datetime | None = connection.execute(
        select(func.min(col(TimelineEvent.occurred_at))).where(
            col(TimelineEvent.incident_id) == incident_id,
            col(TimelineEvent.kind) == "acknowledged",
        )
    ).scalar_one_or_none()
    return first


def _earliest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


def _incident_facts(row: Any, acknowledged_at: datetime | None = None) -> IncidentFacts:
    return IncidentFacts(
        reference=f"INC-{row['number']}",
        number=row["number"],
        title=row["title"],
        summary=row["summary"],
        severity=row["severity"],
        highest_severity=row["highest_severity"],
        status=row["status"],
        is_private=row["is_private"],
        declared_by=row["declared_by"],
        declared_at=row["declared_at"],
        mitigated_at=row["mitigated_at"],
        resolved_at=row["resolved_at"],
        closed_at=row["closed_at"],
        channel_id=row["channel_id"],
        channel_name=row["channel_name"],
        detected_at=row["detected_at"],
        acknowledged_at=_earliest(row["acknowledged_at"], acknowledged_at),
    )


def _roles(connection: Connection, incident_id: int) -> list[RoleSpell]:
    rows = connection.execute(
        select(
            col(RoleAssignment.role),
            col(RoleAssignment.user_id),
            col(RoleAssignment.assigned_at),
            col(RoleAssignment.relieved_at),
        )
        .where(col(RoleAssignment.incident_id) == incident_id)
        .order_by(col(RoleAssignment.assigned_at), col(RoleAssignment.id))
    )
    return [RoleSpell(*row) for row in rows]


def _updates(connection: Connection, incident_id: int) -> list[UpdateFacts]:
    rows = connection.execute(
        select(
            col(StakeholderUpdate.posted_at),
            col(StakeholderUpdate.posted_by),
            col(StakeholderUpdate.status),
            col(StakeholderUpdate.severity),
            col(StakeholderUpdate.what_we_know),
            col(StakeholderUpdate.what_we_are_doing),
            col(StakeholderUpdate.next_update_minutes),
        )
        .where(col(StakeholderUpdate.incident_id) == incident_id)
        .order_by(col(StakeholderUpdate.posted_at), col(StakeholderUpdate.id))
    )
    return [UpdateFacts(*row) for row in rows]


def _actions(connection: Connection, incident_id: int) -> list[ActionFacts]:
    rows = connection.execute(
        select(
            col(ActionItem.id),
            col(ActionItem.text),
            col(ActionItem.owner_id),
            col(ActionItem.due_date),
            col(ActionItem.state),
            col(ActionItem.created_by),
            col(ActionItem.created_at),
            col(ActionItem.done_by),
            col(ActionItem.done_at),
            col(ActionItem.jira_issue_key),
        )
        .where(col(ActionItem.incident_id) == incident_id)
        .order_by(col(ActionItem.id))
    )
    return [ActionFacts(**dict(row._mapping)) for row in rows]
