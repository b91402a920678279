"""Alembic environment: runs against the engine Firebreak hands over, or DATABASE_URL."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Engine
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import app.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from app.store.database import create_db_engine
from app.store.types import UTCDateTime

target_metadata = SQLModel.metadata


def _engine() -> Engine:
    engine = context.config.attributes.get("engine")
    if engine is not None:
        return engine  # type: ignore[no-any-return]
    from app.config import load_settings

    return create_db_engine(load_settings().database_url)


def render_item(kind: str, obj: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Write plain SQLAlchemy types into revisions, so they never import SQLModel."""
    if kind == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})"
    if kind == "type" and isinstance(obj, UTCDateTime):
        autogen.imports.add("from app.store.types import UTCDateTime")
        return "UTCDateTime()"
    return False


def run_migrations() -> None:
    with _engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
