"""Alert rows: recording notices with deduplication, and linking groups to incidents.

Every function runs in the caller's transaction. Concurrent posts of the same alert are
safe on both stores: rows are created with INSERT ... ON CONFLICT DO NOTHING, and each
transaction locks its groups, then its alerts, in sorted order (no deadlocks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from app.alerts.catalog import Catalog
from app.alerts.parsing import Notice
from app.config import AutoDeclareRule
from app.incidents import repository as incidents_repo
from app.incidents.rules import Source
from app.incidents.snapshot import IncidentSnapshot
from app.store.models import Alert, AlertGroup, Incident


@dataclass
class Recorded:
    """What one intake changed: groups whose message must change, incidents to declare."""

    stored: int = 0
    new_alerts: int = 0
    groups_to_render: dict[int, str] = field(default_factory=dict)
    auto_declare: list[int] = field(default_factory=list)
    incidents_changed: set[int] = field(default_factory=set)


def _insert(session: Session, table: Any) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def record_notices(
    session: Session,
    notices: Sequence[Notice],
    channel_for: dict[str | None, str],
    rules: Sequence[AutoDeclareRule],
    now: datetime,
) -> Recorded:
    result = Recorded()
    groups: dict[tuple[str, str], AlertGroup] = {}
    for notice in sorted(notices, key=lambda n: (n.source, n.group_key)):
        key = (notice.source, notice.group_key)
        if key not in groups:
            groups[key] = _lock_group(session, notice, channel_for.get(notice.service), now)
    changed: dict[int, list[tuple[Alert, bool]]] = {}
    # The last word on one fingerprint in one payload wins.
    latest = {(n.source, n.fingerprint): n for n in notices}
    ordered = [notice for _key, notice in sorted(latest.items())]
    for source in sorted({n.source for n in ordered}):
        batch = [n for n in ordered if n.source == source]
        group_ids = {n.fingerprint: groups[(n.source, n.group_key)].id or 0 for n in batch}
        for alert, is_change, is_new in _upsert_alerts(session, source, batch, group_ids, now):
            result.stored += 1
            result.new_alerts += int(is_new)
            if is_change:
                changed.setdefault(alert.group_id, []).append((alert, is_new))
    for group in groups.values():
        assert group.id is not None
        alerts = changed.get(group.id, [])
        if alerts:
            _group_changed(session, group, [a for a, _ in alerts], now, result)
        _maybe_auto_declare(group, [n for n in latest.values() if _in(n, group)], rules, result)
    return result


def _in(notice: Notice, group: AlertGroup) -> bool:
    return notice.source == group.source and notice.group_key == group.group_key


def _lock_group(session: Session, notice: Notice, channel: str | None, now: datetime) -> AlertGroup:
    session.execute(
        _insert(session, AlertGroup.__table__)  # type: ignore[attr-defined]
        .values(
            source=notice.source,
            group_key=notice.group_key,
            title=notice.group_title,
            service=notice.service,
            severity=notice.severity,
            channel=channel or "alerts",
            external_url=notice.external_url,
            created_at=now,
            updated_at=now,
            version=1,
            rendered_version=0,
            post_count=0,
            edit_count=0,
            silenced_until_resolved=False,
        )
        .on_conflict_do_nothing(index_elements=["source", "group_key"])
    )
    group: AlertGroup = session.execute(
        select(AlertGroup)
        .where(col(AlertGroup.source) == notice.source)
        .where(col(AlertGroup.group_key) == notice.group_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    return group


_ALERTS = Alert.__table__  # type: ignore[attr-defined]


def _upsert_alerts(
    session: Session,
    source: str,
    notices: list[Notice],
    group_ids: dict[str, int],
    now: datetime,
) -> list[tuple[Alert, bool, bool]]:
    """Store one source's notices (sorted by fingerprint): new rows inserted, repeats counted.

    Returns each alert as it now stands, whether its message line changes, whether it is new.
    Core statements, a few per request whatever its size: a storm is mostly repeats.
    """
    existing = _lock_alerts(session, source, [n.fingerprint for n in notices])
    missing = [n for n in notices if n.fingerprint not in existing]
    inserted: set[str] = set()
    if missing:
        inserted = set(
            session.execute(
                _insert(session, _ALERTS)
                .values([_new_row(n, group_ids[n.fingerprint], now) for n in missing])
                .on_conflict_do_nothing(index_elements=["source", "fingerprint"])
                .returning(_ALERTS.c.fingerprint)
            ).scalars()
        )
        # Another request stored these between our look and our insert: repeats after all.
        raced = [n.fingerprint for n in missing if n.fingerprint not in inserted]
        if raced:
            existing.update(_lock_alerts(session, source, raced))
    outcome: list[tuple[Alert, bool, bool]] = []
    repeats: list[int] = []
    for notice in notices:
        if notice.fingerprint in inserted:
            row = _new_row(notice, group_ids[notice.fingerprint], now)
            outcome.append((Alert(**row), True, True))
            continue
        row_id, status, started_at, group_id = existing[notice.fingerprint]
        alert = _as_alert(notice, group_id, now, started_at)
        if status == notice.status:
            repeats.append(row_id)
            outcome.append((alert, False, False))
            continue
        alert.started_at = notice.started_at if notice.firing else started_at
        session.execute(
            update(_ALERTS)
            .where(_ALERTS.c.id == row_id)
            .values(
                status=notice.status,
                ended_at=notice.ended_at,
                started_at=alert.started_at,
                last_seen_at=now,
                notifications=_ALERTS.c.notifications + 1,
            )
        )
        outcome.append((alert, True, False))
    if repeats:
        session.execute(
            update(_ALERTS)
            .where(_ALERTS.c.id.in_(repeats))
            .values(last_seen_at=now, notifications=_ALERTS.c.notifications + 1)
        )
    return outcome


def _lock_alerts(
    session: Session, source: str, fingerprints: list[str]
) -> dict[str, tuple[int, str, datetime, int]]:
    rows = session.execute(
        select(
            _ALERTS.c.fingerprint,
            _ALERTS.c.id,
            _ALERTS.c.status,
            _ALERTS.c.started_at,
            _ALERTS.c.group_id,
        )
        .where(_ALERTS.c.source == source)
        .where(_ALERTS.c.fingerprint.in_(fingerprints))
        .order_by(_ALERTS.c.fingerprint)
        .with_for_update()
    )
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


def _new_row(notice: Notice, group_id: int, now: datetime) -> dict[str, Any]:
    return {
        "source": notice.source,
        "fingerprint": notice.fingerprint,
        "group_id": group_id,
        "title": notice.title,
        "status": notice.status,
        "severity": notice.severity,
        "service": notice.service,
        "description": notice.description,
        "url": notice.url,
        "labels": notice.labels,
        "started_at": notice.started_at,
        "ended_at": notice.ended_at,
        "first_seen_at": now,
        "last_seen_at": now,
        "notifications": 1,
    }


def _as_alert(notice: Notice, group_id: int, now: datetime, started_at: datetime) -> Alert:
    """The alert as a timeline event needs it (not attached to the session)."""
    return Alert(**{**_new_row(notice, group_id, now), "started_at": started_at})


def _group_changed(
    session: Session, group: AlertGroup, alerts: list[Alert], now: datetime, result: Recorded
) -> None:
    assert group.id is not None
    group.updated_at = now
    if group.incident_id is not None:
        result.incidents_changed.add(group.incident_id)
        for alert in alerts:
            record_alert_event(session, group.incident_id, alert)
        note_detection(session, group.incident_id, [a.started_at for a in alerts])
    if group.silenced_until_resolved and all_resolved(session, group.id):
        group.silenced_until_resolved = False
    if not is_silenced(group, now):
        group.version += 1
        result.groups_to_render[group.id] = group.channel
    session.add(group)


def _maybe_auto_declare(
    group: AlertGroup, notices: list[Notice], rules: Sequence[AutoDeclareRule], result: Recorded
) -> None:
    if group.incident_id is not None or group.auto_declare_severity is not None:
        return
    for notice in notices:
        if not notice.firing:
            continue
        labels = {**notice.labels}
        if notice.severity:
            labels.setdefault("severity", notice.severity)
        for rule in rules:
            if rule.matches(labels):
                group.auto_declare_severity = rule.severity
                assert group.id is not None
                result.auto_declare.append(group.id)
                return


def is_silenced(group: AlertGroup, now: datetime) -> bool:
    if group.silenced_until_resolved:
        return True
    return group.silenced_until is not None and group.silenced_until > now


def all_resolved(session: Session, group_id: int) -> bool:
    firing = session.execute(
        select(col(Alert.id))
        .where(col(Alert.group_id) == group_id)
        .where(col(Alert.status) == "firing")
        .limit(1)
    ).first()
    return firing is None


def group_alerts(session: Session, group_id: int) -> list[Alert]:
    return list(
        session.execute(
            select(Alert)
            .where(col(Alert.group_id) == group_id)
            .order_by(col(Alert.status), col(Alert.started_at), col(Alert.id))
        ).scalars()
    )


def lock_group(session: Session, group_id: int) -> AlertGroup:
    group: AlertGroup | None = session.execute(
        select(AlertGroup)
        .where(col(AlertGroup.id) == group_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if group is None:
        raise LookupError(f"alert group {group_id} does not exist")
    return group


def record_alert_event(session: Session, incident_id: int, alert: Alert) -> None:
    firing = alert.status == "firing"
    incidents_repo.record_event(
        session,
        incident_id,
        "alert_firing" if firing else "alert_resolved",
        source=Source.ALERT,
        actor_id=None,
        text=alert.title,
        occurred_at=alert.started_at if firing else (alert.ended_at or alert.last_seen_at),
        data={"fingerprint": alert.fingerprint, "alert_source": alert.source},
    )


def note_detection(session: Session, incident_id: int, started: Sequence[datetime]) -> None:
    if not started:
        return
    earliest = min(started)
    session.execute(
        update(Incident)
        .where(col(Incident.id) == incident_id)
        .where((col(Incident.detected_at).is_(None)) | (col(Incident.detected_at) > earliest))
        .values(detected_at=earliest)
    )


def note_acknowledgement(session: Session, incident_id: int, at: datetime) -> None:
    session.execute(
        update(Incident)
        .where(col(Incident.id) == incident_id)
        .where(col(Incident.acknowledged_at).is_(None))
        .values(acknowledged_at=at)
    )


def link_group(session: Session, group: AlertGroup, incident_id: int, user_id: str | None) -> bool:
    """Put the group's alerts on the incident's timeline; False if already linked there."""
    assert group.id is not None
    if group.incident_id == incident_id:
        return False
    group.incident_id = incident_id
    group.linked_by = user_id
    group.version += 1
    session.add(group)
    alerts = group_alerts(session, group.id)
    for alert in sorted(alerts, key=lambda a: a.started_at):
        incidents_repo.record_event(
            session,
            incident_id,
            "alert_firing",
            source=Source.ALERT,
            actor_id=None,
            text=alert.title,
            occurred_at=alert.started_at,
            data={"fingerprint": alert.fingerprint, "alert_source": alert.source},
        )
        if alert.status == "resolved":
            record_alert_event(session, incident_id, alert)
    note_detection(session, incident_id, [a.started_at for a in alerts])
    if group.acknowledged_at is not None:
        note_acknowledgement(session, incident_id, group.acknowledged_at)
    return True


def alert_counts(session: Session, incident_id: int) -> tuple[int, int]:
    """(firing, resolved) alerts linked to an incident."""
    rows = session.execute(
        select(col(Alert.status))
        .join(AlertGroup, col(AlertGroup.id) == col(Alert.group_id))
        .where(col(AlertGroup.incident_id) == incident_id)
    ).all()
    firing = sum(1 for (status,) in rows if status == "firing")
    return firing, len(rows) - firing


def service_of(session: Session, incident_id: int) -> str | None:
    """The service of an incident: that of the first of its alert groups naming one."""
    service: str | None = session.execute(
        select(col(AlertGroup.service))
        .where(col(AlertGroup.incident_id) == incident_id)
        .where(col(AlertGroup.service).is_not(None))
        .order_by(col(AlertGroup.id))
        .limit(1)
    ).scalar_one_or_none()
    return service


def with_alerts(
    session: Session, snapshot: IncidentSnapshot, catalog: Catalog | None
) -> IncidentSnapshot:
    """The snapshot with its linked alerts' counts, service and runbook (for the card)."""
    firing, resolved = alert_counts(session, snapshot.id)
    if not (firing or resolved):
        return snapshot
    service = service_of(session, snapshot.id)
    entry = catalog.get(service) if catalog else None
    return replace(
        snapshot,
        alerts=(firing, resolved),
        service=service,
        runbook=entry.runbook if entry else None,
    )
