"""A generated incident history with skewed durations, for the insight benchmark and charts.

Written through the models and the repository's helpers, as the services write them:
role assignments as rows of their own, timeline events through `record_event`. Deterministic for a
given seed.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlmodel import Session

from app.incidents import repository as repo
from app.incidents.rules import Source
from app.store.database import Database
from app.store.models import (
    ActionItem,
    Incident,
    RoleAssignment,
    StakeholderUpdate,
    TimelineEvent,
)

TEAM = "T0HISTORY"
SERVICES = ["checkout", "payments-api", "search", "auth", "cdn", "notifications", "ledger"]
PEOPLE = [f"U{name}" for name in ("ANA", "BEN", "CHO", "DEV", "EVA", "FIN", "GUS", "HAL")]
SEVERITIES = ["SEV1", "SEV2", "SEV3", "SEV4"]
CADENCE = {"SEV1": 15, "SEV2": 30, "SEV3": 60, "SEV4": 0}
BATCH = 500


def _minutes(rng: random.Random, median: float, spread: float) -> timedelta:
    """Log-normal: most incidents short, a few very long, like real ones."""
    return timedelta(minutes=median * math.exp(rng.gauss(0, spread)))


def generate_history(
    db: Database,
    count: int,
    *,
    start: datetime,
    days: int,
    seed: int = 1,
    filler_events: int = 0,
    now: datetime | None = None,
) -> None:
    """`count` incidents declared across `days` from `start`; `filler_events` notes each."""
    rng = random.Random(seed)
    now = now or start + timedelta(days=days)
    moments = sorted(start + timedelta(seconds=rng.uniform(0, days * 86400)) for _ in range(count))
    for first in range(0, count, BATCH):
        with db.session() as session:
            for number in range(first + 1, min(count, first + BATCH) + 1):
                _incident(session, rng, number, moments[number - 1], now, filler_events)


def _incident(
    session: Session,
    rng: random.Random,
    number: int,
    declared: datetime,
    now: datetime,
    filler_events: int,
) -> None:
    severity = rng.choices(SEVERITIES, weights=[1, 3, 6, 4])[0]
    mitigated = declared + _minutes(rng, 40, 1.1)
    resolved = mitigated + _minutes(rng, 60, 1.3)
    still_open = resolved > now or rng.random() < 0.005
    service = rng.choice(SERVICES) if rng.random() < 0.9 else None
    incident = Incident(
        team_id=TEAM,
        number=number,
        title=f"Incident {number}",
        severity=severity,
        highest_severity=severity,
        status="investigating" if still_open else "resolved",
        declared_by=rng.choice(PEOPLE),
        declared_at=declared,
        mitigated_at=None if still_open else mitigated,
        resolved_at=None if still_open else resolved,
        updated_at=declared,
        setup_complete=True,
    )
    session.add(incident)
    session.flush()
    iid = incident.id
    assert iid is not None
    data = {"severity": severity, "private": False}
    if service:
        data["service"] = service
    _event(session, iid, "declared", "modal", declared, data)
    if rng.random() < 0.6:
        detected = declared - _minutes(rng, 6, 0.8)
        _event(session, iid, "detected", "alert", detected)
        acknowledged = detected + _minutes(rng, 3, 1.0)
        _event(session, iid, "acknowledged", "alert", acknowledged)
        if rng.random() < 0.5:
            started = detected - _minutes(rng, 5, 1.2)
            _event(session, iid, "impact_started", "modal", started)
    end = now if still_open else resolved
    commander, comms = rng.sample(PEOPLE, 2)
    for role, holder, at in (
        ("commander", commander, declared),
        ("comms", comms, declared + timedelta(minutes=2)),
    ):
        session.add(
            RoleAssignment(
                incident_id=iid, role=role, user_id=holder, assigned_by=commander, assigned_at=at
            )
        )
    # A forgotten open incident stops getting updates after a day, as people move on.
    _updates(session, rng, iid, severity, declared, min(end, declared + timedelta(days=1)))
    for index in range(rng.choice([0, 0, 1, 2, 3])):
        due = (end + timedelta(days=rng.randint(3, 30))).date()
        done = rng.random() < 0.6
        done_at = end + timedelta(days=rng.randint(1, 40))
        session.add(
            ActionItem(
                incident_id=iid,
                text=f"Follow-up {index + 1} of INC-{number}",
                owner_id=rng.choice(PEOPLE),
                due_date=due if rng.random() < 0.85 else None,
                state="done" if done and done_at < now else "open",
                created_by=commander,
                created_at=end,
                done_by=commander if done and done_at < now else None,
                done_at=done_at if done and done_at < now else None,
            )
        )
    if filler_events:
        session.execute(
            insert(TimelineEvent),
            [
                {
                    "incident_id": iid,
                    "occurred_at": declared + timedelta(seconds=i),
                    "recorded_at": declared + timedelta(seconds=i),
                    "kind": "note",
                    "source": "command",
                    "actor_id": comms,
                    "text": f"note {i}",
                    "data": {},
                }
                for i in range(filler_events)
            ],
        )


def _updates(
    session: Session, rng: random.Random, iid: int, severity: str, declared: datetime, end: datetime
) -> None:
    cadence = CADENCE[severity]
    if not cadence:
        return
    moment = declared
    while True:
        gap = timedelta(minutes=cadence * rng.uniform(0.5, 1.4))
        if moment + gap > end:
            return
        if gap > timedelta(minutes=cadence):
            reminder = moment + timedelta(minutes=cadence)
            _event(session, iid, "reminder_sent", "reminder", reminder)
        moment += gap
        session.add(
            StakeholderUpdate(
                incident_id=iid,
                status="investigating",
                severity=severity,
                posted_by="UBOT",
                posted_at=moment,
            )
        )


def _event(
    session: Session,
    iid: int,
    kind: str,
    source: str,
    at: datetime,
    data: dict[str, object] | None = None,
) -> None:
    repo.record_event(
        session, iid, kind, source=Source(source), actor_id=None, occurred_at=at, data=data
    )
