"""Loads the incidents of a time window with what the figures need, in a few bulk queries.

The rows become the export's fact types (`app.export.loader`), so a postmortem and the
insight report read the same words the same way. Times that Firebreak may not record
(impact start, detection, acknowledgement, service) are read from timeline events of kinds
`impact_started`, `detected` and `acknowledged` (the earliest of each), from the `service`
key of the `declared` event, or from incident columns of those names when the schema has
them. Nothing missing is filled in: a time never recorded stays None.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, select
from sqlmodel import col

from app.export.loader import (
    STREAM_BATCH,
    ActionFacts,
    IncidentFacts,
    RoleSpell,
    UpdateFacts,
)
from app.store.database import Database
from app.store.models import (
    ActionItem,
    Incident,
    RoleAssignment,
    StakeholderUpdate,
    TimelineEvent,
)

MOMENT_KINDS = ("impact_started", "detected", "acknowledged")
EVENT_KINDS = (*MOMENT_KINDS, "declared", "reminder_sent")


@dataclass
class IncidentRecord:
    """One incident as the figures see it; every optional time is None when not recorded."""

    facts: IncidentFacts
    service: str | None = None
    impact_started_at: datetime | None = None
    detected_at: datetime | None = None
    acknowledged_at: datetime | None = None
    roles: list[RoleSpell] = field(default_factory=list)
    updates: list[UpdateFacts] = field(default_factory=list)
    actions: list[ActionFacts] = field(default_factory=list)
    reminders: list[datetime] = field(default_factory=list)

    @property
    def declared_at(self) -> datetime:
        return self.facts.declared_at

    @property
    def severity(self) -> str:
        """The worst severity the incident reached: what it is counted under."""
        return self.facts.highest_severity

    @property
    def is_open(self) -> bool:
        return self.facts.status not in ("resolved", "closed")


def load_incidents(
    db: Database,
    since: datetime,
    until: datetime,
    *,
    team: str | None = None,
    service: str | None = None,
    details_since: datetime | None = None,
) -> list[IncidentRecord]:
    """Incidents declared in [since, until), oldest first, private ones included.

    Roles, updates, action items and reminders are read only for incidents declared from
    `details_since` on (all when None): earlier ones serve only for durations and repeats.
    """
    with db.engine.connect() as connection:
        records = _incidents(connection, _window(since, until, team))
        _attach_events(connection, _window(since, until, team), records)
        _attach(connection, _window(details_since or since, until, team), records)
    found = sorted(records.values(), key=lambda r: (r.declared_at, r.facts.number))
    if service is not None:
        found = [r for r in found if r.service == service]
    return found


def _window(since: datetime, until: datetime, team: str | None) -> Select[Any]:
    window = select(col(Incident.id)).where(
        col(Incident.declared_at) >= since, col(Incident.declared_at) < until
    )
    return window if team is None else window.where(col(Incident.team_id) == team)


_FACT_COLUMNS = (
    "id",
    "number",
    "title",
    "summary",
    "severity",
    "highest_severity",
    "status",
    "is_private",
    "declared_by",
    "declared_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
    "channel_id",
    "channel_name",
)
# Read when the schema has them (alerts may record these on the incident itself).
_OPTIONAL_COLUMNS = ("service", "impact_started_at", "detected_at", "acknowledged_at")


def _incidents(connection: Connection, window: Select[Any]) -> dict[int, IncidentRecord]:
    table = Incident.__table__  # type: ignore[attr-defined]
    names = [*_FACT_COLUMNS, *(c for c in _OPTIONAL_COLUMNS if c in table.c)]
    rows = connection.execute(
        select(*(table.c[name] for name in names)).where(col(Incident.id).in_(window))
    )
    records: dict[int, IncidentRecord] = {}
    for row in rows:
        values = row._mapping
        records[values["id"]] = IncidentRecord(
            facts=_facts(values),
            service=values.get("service"),
            impact_started_at=values.get("impact_started_at"),
            detected_at=values.get("detected_at"),
            acknowledged_at=values.get("acknowledged_at"),
        )
    return records


def _facts(values: Any) -> IncidentFacts:
    return IncidentFacts(
        reference=f"INC-{values['number']}",
        number=values["number"],
        title=values["title"],
        summary=values["summary"],
        severity=values["severity"],
        highest_severity=values["highest_severity"],
        status=values["status"],
        is_private=values["is_private"],
        declared_by=values["declared_by"],
        declared_at=values["declared_at"],
        mitigated_at=values["mitigated_at"],
        resolved_at=values["resolved_at"],
        closed_at=values["closed_at"],
        channel_id=values["channel_id"],
        channel_name=values["channel_name"],
    )


def _attach(
    connection: Connection, window: Select[Any], records: dict[int, IncidentRecord]
) -> None:
    for iid, spell in _rows(
        connection,
        window,
        RoleAssignment.incident_id,
        (
            RoleAssignment.role,
            RoleAssignment.user_id,
            RoleAssignment.assigned_at,
            RoleAssignment.relieved_at,
        ),
        order=(RoleAssignment.assigned_at, RoleAssignment.id),
    ):
        records[iid].roles.append(RoleSpell(*spell))
    for iid, update in _rows(
        connection,
        window,
        StakeholderUpdate.incident_id,
        (
            StakeholderUpdate.posted_at,
            StakeholderUpdate.posted_by,
            StakeholderUpdate.status,
            StakeholderUpdate.severity,
            StakeholderUpdate.what_we_know,
            StakeholderUpdate.what_we_are_doing,
            StakeholderUpdate.next_update_minutes,
        ),
        order=(StakeholderUpdate.posted_at, StakeholderUpdate.id),
    ):
        records[iid].updates.append(UpdateFacts(*update))
    for iid, action in _rows(
        connection,
        window,
        ActionItem.incident_id,
        (
            ActionItem.id,
            ActionItem.text,
            ActionItem.owner_id,
            ActionItem.due_date,
            ActionItem.state,
            ActionItem.created_by,
            ActionItem.created_at,
            ActionItem.done_by,
            ActionItem.done_at,
        ),
        order=(ActionItem.id,),
    ):
        records[iid].actions.append(ActionFacts(*action))


def _rows(
    connection: Connection,
    window: Select[Any],
    incident_id: Any,
    columns: Iterable[Any],
    order: Iterable[Any],
) -> Iterable[tuple[int, tuple[Any, ...]]]:
    query = (
        select(col(incident_id), *(col(c) for c in columns))
        .where(col(incident_id).in_(window))
        .order_by(*(col(o) for o in order))
    )
    result = connection.execution_options(stream_results=True, yield_per=STREAM_BATCH).execute(
        query
    )
    for row in result:
        yield row[0], tuple(row[1:])


def _attach_events(
    connection: Connection, window: Select[Any], records: dict[int, IncidentRecord]
) -> None:
    """Only the kinds the figures read: a long timeline of notes costs nothing here."""
    query = (
        select(
            col(TimelineEvent.incident_id),
            col(TimelineEvent.kind),
            col(TimelineEvent.occurred_at),
            col(TimelineEvent.data),
        )
        .where(
            col(TimelineEvent.incident_id).in_(window),
            col(TimelineEvent.kind).in_(EVENT_KINDS),
            col(TimelineEvent.removed_at).is_(None),
        )
        .order_by(col(TimelineEvent.occurred_at), col(TimelineEvent.id))
    )
    seen: dict[int, set[str]] = defaultdict(set)
    result = connection.execution_options(stream_results=True, yield_per=STREAM_BATCH).execute(
        query
    )
    for iid, kind, occurred_at, data in result:
        record = records[iid]
        if kind == "reminder_sent":
            record.reminders.append(occurred_at)
        elif kind == "declared":
            named = (data or {}).get("service")
            if record.service is None and isinstance(named, str) and named:
                record.service = named
        elif kind not in seen[iid]:
            seen[iid].add(kind)
            if getattr(record, f"{kind}_at") is None:
                setattr(record, f"{kind}_at", occurred_at)
