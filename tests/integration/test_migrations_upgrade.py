"""Upgrading keeps every row: a database at each earlier revision, full, upgraded to head.

Rows are made from the schema as it was at that revision (reflected, not from today's
models), so a later revision that rewrites a table is checked against what existed then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel, select

from app.store.database import Database, alembic_config
from app.store.models import (
    ActionItem,
    Incident,
    IncidentCounter,
    ProcessedRequest,
    ReminderState,
    RoleAssignment,
    StakeholderUpdate,
    TimelineEvent,
)

ROWS_PER_TABLE = 3
MODELS: tuple[type[SQLModel], ...] = (
    ActionItem,
    Incident,
    IncidentCounter,
    ProcessedRequest,
    ReminderState,
    RoleAssignment,
    StakeholderUpdate,
    TimelineEvent,
)
START = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _revisions_before_head() -> list[str]:
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    ordered = [rev.revision for rev in scripts.walk_revisions("base", "heads")]
    return [revision for revision in reversed(ordered) if revision != head]


REVISIONS = _revisions_before_head()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    if request.param == "sqlite":
        return sqlite_url
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def _value(column: sa.Column[Any], table: str, i: int) -> Any:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return i % 2 == 0
    if isinstance(kind, sa.Integer):
        return i + 1
    if isinstance(kind, sa.Float | sa.Numeric):
        return 1000.5 + i
    if isinstance(kind, sa.DateTime):
        return START + dt.timedelta(minutes=i)
    if isinstance(kind, sa.Date):
        return START.date() + dt.timedelta(days=i)
    if isinstance(kind, sa.LargeBinary):
        return f"{table}-{i}".encode()
    if isinstance(kind, sa.JSON):
        return [f"{column.name}-{i}"]
    if isinstance(kind, sa.String | sa.Text):
        length = getattr(kind, "length", None) or 100
        return f"{column.name}-{table}-{i}"[-length:]
    raise AssertionError(f"no sample value for {table}.{column.name} ({kind!r})")


def _fill(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    """ROWS_PER_TABLE rows in every table, foreign keys pointing at rows that exist."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    rows: dict[str, list[dict[str, Any]]] = {}
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            made = []
            for i in range(ROWS_PER_TABLE):
                row = {column.name: _value(column, table.name, i) for column in table.columns}
                for column in table.columns:
                    for key in column.foreign_keys:
                        target = key.column
                        row[column.name] = rows[target.table.name][i][target.name]
                made.append(row)
            connection.execute(table.insert(), made)
            rows[table.name] = made
    return rows


def _dump(engine: sa.Engine, tables: list[str]) -> dict[str, list[dict[str, Any]]]:
    metadata = sa.MetaData()
    metadata.reflect(engine, only=tables)
    dumped = {}
    with engine.connect() as connection:
        for name in tables:
            table = metadata.tables[name]
            order = list(table.primary_key.columns) or list(table.columns)
            result = connection.execute(sa.select(table).order_by(*order))
            dumped[name] = [dict(row._mapping) for row in result]
    return dumped


def _columns(engine: sa.Engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {
        name: {column["name"] for column in inspector.get_columns(name)}
        for name in inspector.get_table_names()
        if name != "alembic_version"
    }


@pytest.mark.parametrize("revision", REVISIONS)
def test_upgrading_to_head_keeps_every_row(db: Database, revision: str) -> None:
    db.migrate(revision)
    filled = _fill(db.engine)
    tables = sorted(filled)
    before = _dump(db.engine, tables)
    assert all(len(before[name]) == ROWS_PER_TABLE for name in tables), "rows were not made"
    columns_then = _columns(db.engine)

    db.migrate("head")

    after = _dump(db.engine, tables)
    for name in tables:
        kept = [{column: row[column] for column in columns_then[name]} for row in after[name]]
        assert kept == before[name], f"{name}: rows changed or were lost"
    # Today's models read the old rows, new columns filled by their defaults.
    with db.session() as session:
        for model in MODELS:
            name = str(model.__tablename__)
            if name in filled:
                loaded = session.execute(select(model)).scalars().all()
                assert len(loaded) == ROWS_PER_TABLE, name


def test_there_is_an_earlier_revision_to_upgrade_from() -> None:
    assert REVISIONS, "only one revision: nothing to upgrade from"
    scripts = ScriptDirectory.from_config(alembic_config())
    assert len(REVISIONS) == len(list(scripts.walk_revisions())) - 1
