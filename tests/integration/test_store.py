from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, inspect, select, text
from sqlmodel import SQLModel, col

from app.store.database import Database
from app.store.models import Incident, TimelineEvent
from app.store.numbers import allocate_incident_number


def _drift(db: Database) -> list[object]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def _new_incident(number: int, team: str = "T1") -> Incident:
    return Incident(
        team_id=team,
        number=number,
        title="Checkout is down",
        severity="SEV2",
        highest_severity="SEV2",
        declared_by="U1",
    )


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[Database]:
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    db = Database(url)
    yield db
    db.dispose()


def test_migrations_create_exactly_the_models_schema(any_db: Database) -> None:
    any_db.migrate()
    assert _drift(any_db) == []
    tables = set(inspect(any_db.engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables


def test_drift_check_notices_a_field_without_migration(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    db.migrate()
    column = Column("added_without_migration", Integer, nullable=True)
    table = SQLModel.metadata.tables["incident"]
    table.append_column(column)
    try:
        diffs = _drift(db)
    finally:
        table._columns.remove(column)
    assert any("added_without_migration" in str(diff) for diff in diffs)


def test_migrate_keeps_rows_and_is_repeatable(any_db: Database) -> None:
    any_db.migrate()
    with any_db.session() as session:
        session.add(_new_incident(1))
    any_db.migrate()
    with any_db.session() as session:
        titles = session.execute(select(col(Incident.title))).scalars().all()
        assert titles == ["Checkout is down"]


def test_migrate_upgrades_an_existing_database_without_losing_rows(any_db: Database) -> None:
    any_db.migrate("0001")
    with any_db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO incident (team_id, number, title, summary, severity,"
                " highest_severity, status, is_private, declared_by, declared_at, updated_at,"
                " setup_steps, setup_complete) VALUES ('T1', 1, 'Old incident', '', 'SEV2',"
                " 'SEV2', 'investigating', false, 'U1', '2026-01-01 00:00:00',"
                " '2026-01-01 00:00:00', '[]', true)"
            )
        )
    any_db.migrate()
    assert _drift(any_db) == []
    with any_db.session() as session:
        [incident] = session.execute(select(Incident)).scalars().all()
    assert (incident.title, incident.setup_attempted) == ("Old incident", [])


def test_times_come_back_as_utc(any_db: Database) -> None:
    any_db.migrate()
    declared = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    with any_db.session() as session:
        incident = _new_incident(1)
        incident.declared_at = declared
        session.add(incident)
    with any_db.session() as session:
        stored = session.execute(select(Incident)).scalars().one()
        assert stored.declared_at == declared
        assert stored.declared_at.tzinfo == UTC


def test_naive_datetimes_are_refused(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    db.migrate()
    incident = _new_incident(1)
    incident.declared_at = datetime(2026, 3, 1, 9, 30)

    def save() -> None:
        with db.session() as session:
            session.add(incident)

    with pytest.raises(Exception, match="naive datetime"):
        save()


def test_timeline_events_sort_by_time_then_insertion(any_db: Database) -> None:
    any_db.migrate()
    base = datetime(2026, 3, 1, tzinfo=UTC)
    with any_db.session() as session:
        incident = _new_incident(1)
        session.add(incident)
        session.flush()
        assert incident.id is not None
        for minutes, kind in [(5, "b"), (1, "a"), (5, "c")]:
            session.add(
                TimelineEvent(
                    incident_id=incident.id,
                    kind=kind,
                    source="command",
                    occurred_at=base + timedelta(minutes=minutes),
                )
            )
    with any_db.session() as session:
        kinds = (
            session.execute(
                select(col(TimelineEvent.kind)).order_by(
                    col(TimelineEvent.occurred_at), col(TimelineEvent.id)
                )
            )
            .scalars()
            .all()
        )
    assert kinds == ["a", "b", "c"]


def test_numbers_increase_per_workspace(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    db.migrate()
    with db.session() as session:
        assert [allocate_incident_number(session, "T1") for _ in range(3)] == [1, 2, 3]
        assert allocate_incident_number(session, "T2") == 1


def test_rolled_back_declaration_gives_its_number_back(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    db.migrate()

    def abandoned_declaration() -> None:
        with db.session() as session:
            allocate_incident_number(session, "T1")
            raise RuntimeError("channel creation failed")

    with pytest.raises(RuntimeError):
        abandoned_declaration()
    with db.session() as session:
        assert allocate_incident_number(session, "T1") == 1


@pytest.mark.postgres
def test_concurrent_declarations_get_gapless_numbers_on_postgres(postgres_url: str) -> None:
    db = Database(postgres_url, pool_size=20)
    db.migrate()
    numbers: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def declare_many() -> None:
        start.wait()
        for attempt in range(8):
            try:
                with db.session() as session:
                    number = allocate_incident_number(session, "T1")
                    session.add(_new_incident(number))
                    if attempt == 3:
                        raise RuntimeError("abandoned declaration")
            except RuntimeError:
                continue
            with lock:
                numbers.append(number)

    threads = [threading.Thread(target=declare_many) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.dispose()
    assert sorted(numbers) == list(range(1, 16 * 7 + 1))
