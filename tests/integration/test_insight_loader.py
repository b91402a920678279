"""The insight loader on SQLite and PostgreSQL: what the drivers really return."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from app.incidents import repository as repo
from app.incidents.rules import Source
from app.insight.loader import load_incidents
from app.store.database import Database
from app.store.models import Incident
from tests.support.history import generate_history

START = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[Database]:
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()


def _incident(db: Database, number: int, declared: datetime) -> int:
    with db.session() as session:
        incident = Incident(
            team_id="T1",
            number=number,
            title="t",
            severity="SEV2",
            highest_severity="SEV1",
            declared_by="UA",
            declared_at=declared,
        )
        session.add(incident)
        session.flush()
        assert incident.id is not None
        return incident.id


def test_moments_come_from_the_earliest_events_and_the_service_from_the_declaration(
    db: Database,
) -> None:
    iid = _incident(db, 1, START)
    with db.session() as session:
        for kind, minutes, data in (
            ("declared", 0, {"service": "search"}),
            ("detected", -9, {}),
            ("detected", -4, {}),  # a later alert: the earliest one counts
            ("acknowledged", -7, {}),
            ("acknowledged", -2, {}),
        ):
            repo.record_event(
                session,
                iid,
                kind,
                source=Source.ALERT,
                actor_id=None,
                occurred_at=START + timedelta(minutes=minutes),
                data=data,
            )

    [record] = load_incidents(db, START - timedelta(days=1), START + timedelta(days=1))

    assert record.service == "search"
    assert record.detected_at == START - timedelta(minutes=9)
    assert record.acknowledged_at == START - timedelta(minutes=7)
    assert record.detected_at.tzinfo is not None
    assert record.impact_started_at is None
    assert record.severity == "SEV1"


def test_window_team_service_and_details(db: Database) -> None:
    generate_history(db, 40, start=START, days=20, seed=3)
    until = START + timedelta(days=20)
    middle = START + timedelta(days=10)

    everything = load_incidents(db, START, until)
    recent = load_incidents(db, START, until, details_since=middle)
    search = load_incidents(db, START, until, service="search")

    assert len(everything) == 40
    assert [r.facts.number for r in everything] == sorted(r.facts.number for r in everything)
    assert all(r.declared_at.tzinfo is not None for r in everything)
    assert load_incidents(db, START, until, team="T0OTHER") == []
    assert search and {r.service for r in search} == {"search"}
    assert all(r.roles for r in everything)
    for record in recent:
        assert bool(record.roles) == (record.declared_at >= middle)
    with_alerts = [r for r in everything if r.detected_at is not None]
    assert with_alerts and all(r.acknowledged_at is not None for r in with_alerts)
