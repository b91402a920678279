"""A read-only picture of an incident, the input of every renderer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.incidents.rules import Status
from app.store.models import Incident


def channel_ref(channel_id: str | None) -> str:
    """An incident channel in a Slack message or on the timeline."""
    return f"<#{channel_id}>" if channel_id else "_channel pending_"


@dataclass(frozen=True)
class IncidentSnapshot:
    id: int
    number: int
    title: str
    summary: str
    severity: str
    status: Status
    is_private: bool
    declared_by: str
    declared_at: datetime
    roles: dict[str, str] = field(default_factory=dict)
    channel_id: str | None = None
    channel_name: str | None = None
    announcement_channel_id: str | None = None
    announcement_ts: str | None = None
    last_update_at: datetime | None = None
    next_update_due_at: datetime | None = None
    resolved_at: datetime | None = None
    # (firing, resolved) alerts linked to the incident; None when it has none.
    alerts: tuple[int, int] | None = None
    # From the linked alerts and the services catalog.
    service: str | None = None
    runbook: str | None = None

    @property
    def reference(self) -> str:
        return f"INC-{self.number}"

    @property
    def commander(self) -> str | None:
        return self.roles.get("commander")

    @classmethod
    def of(
        cls,
        incident: Incident,
        roles: dict[str, str],
        next_update_due_at: datetime | None = None,
    ) -> IncidentSnapshot:
        assert incident.id is not None
        return cls(
            id=incident.id,
            number=incident.number,
            title=incident.title,
            summary=incident.summary,
            severity=incident.severity,
            status=Status(incident.status),
            is_private=incident.is_private,
            declared_by=incident.declared_by,
            declared_at=incident.declared_at,
            roles=dict(roles),
            channel_id=incident.channel_id,
            channel_name=incident.channel_name,
            announcement_channel_id=incident.announcement_channel_id,
            announcement_ts=incident.announcement_ts,
            last_update_at=incident.last_update_at,
            next_update_due_at=next_update_due_at,
            resolved_at=incident.resolved_at,
        )
