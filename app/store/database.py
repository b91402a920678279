"""Engine, sessions and schema migration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.store.turns import Turns

# Inside the package: a link to the top-level migrations/ in a checkout, a copy in a wheel.
MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


def create_db_engine(url: str, **options: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **options
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 10)
    return create_engine(url, **options)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web threads read while the scheduler writes; foreign keys are off by
    # default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """The application database: one engine, short transactions."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self.engine = create_db_engine(url, **engine_options)
        # SQLite takes one writer at a time, and a writer that finds the file locked sleeps
        # in growing steps (busy_timeout): under concurrent declarations that sleeping, not
        # the work, was most of the time. Queuing on a lock in this process hands the file
        # straight to the next transaction.
        self._turns = Turns() if url.startswith("sqlite") else None

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def _turn(self, urgent: bool) -> AbstractContextManager[None]:
        return self._turns.turn(urgent=urgent) if self._turns else nullcontext()

    @contextmanager
    def session(self, *, urgent: bool = False) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises.

        `urgent`: a request waits for this before its ack; on SQLite it goes before
        queued background work.
        """
        with self._turn(urgent), Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def connection(self, *, urgent: bool = False) -> Iterator[Connection]:
        """One transaction without an ORM session, for hot paths that need no objects."""
        with self._turn(urgent), self.engine.begin() as connection:
            yield connection

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def migrate(self, revision: str = "head") -> None:
        upgrade(self.engine, revision)

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)
