"""What the outside services must be told about a change, written in its transaction.

The use cases in `app/incidents` call these; `app/integrations/dispatcher.py` carries the
calls out after the incident's Slack effects. Each call has a key, so recording the same
intent twice (a second press, a retried delivery) leaves one call.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel

from app.config import Settings
from app.store.models import ActionItem, Incident, OutboundCall, StakeholderUpdate
from app.store.types import utcnow

_TABLE = SQLModel.metadata.tables[OutboundCall.__tablename__]

TRIGGERED = "triggered"
RESOLVED = "resolved"


class Call(StrEnum):
    PAGE = "page"
    UNPAGE = "unpage"
    FILE = "file"
    PUBLISH = "publish"

    @property
    def service(self) -> str:
        return {
            Call.PAGE: "pagerduty",
            Call.UNPAGE: "pagerduty",
            Call.FILE: "jira",
            Call.PUBLISH: "statuspage",
        }[self]


def page(session: Session, settings: Settings, incident: Incident) -> bool:
    """Page the on-call for an incident not paged yet (or paged and resolved since)."""
    if not settings.pagerduty_enabled or incident.pagerduty_status == TRIGGERED:
        return False
    assert incident.id is not None
    round_ = _next_round(session, incident.id, Call.PAGE)
    incident.pagerduty_status = TRIGGERED
    session.add(incident)
    _record(session, incident.id, Call.PAGE, f"{round_}", {})
    return True


def unpage(session: Session, incident: Incident) -> None:
    """Resolve the PagerDuty alert of a paged incident that was just resolved."""
    if incident.pagerduty_status != TRIGGERED:
        return
    assert incident.id is not None
    round_ = _next_round(session, incident.id, Call.UNPAGE)
    incident.pagerduty_status = RESOLVED
    session.add(incident)
    _record(session, incident.id, Call.UNPAGE, f"{round_}", {})


def file_issue(session: Session, item: ActionItem) -> None:
    assert item.id is not None
    _record(session, item.incident_id, Call.FILE, str(item.id), {"item_id": item.id})


def public_update_published(
    session: Session, settings: Settings, incident: Incident, update: StakeholderUpdate
) -> bool:
    """The hook for a public stakeholder update: mirror it to Statuspage. Internal
    updates and private incidents never leave."""
    if not (settings.statuspage_enabled and update.public) or incident.is_private:
        return False
    assert incident.id is not None and update.id is not None
    _record(session, incident.id, Call.PUBLISH, str(update.id), {"update_id": update.id})
    return True


def _next_round(session: Session, incident_id: int, call: Call) -> int:
    """Paging again after a resolve is a new call, with a key of its own."""
    rows = session.execute(
        _TABLE.select().where(_TABLE.c.incident_id == incident_id, _TABLE.c.kind == call.value)
    ).all()
    return len(rows) + 1


def _record(
    session: Session, incident_id: int, call: Call, suffix: str, payload: dict[str, Any]
) -> None:
    now = utcnow()
    session.execute(
        _insert_once(session).values(
            incident_id=incident_id,
            key=f"{call.service}:{call.value}:{incident_id}:{suffix}",
            service=call.service,
            kind=call.value,
            payload=payload,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
    )


def _insert_once(session: Session) -> Insert:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(_TABLE).on_conflict_do_nothing(index_elements=["key"])
