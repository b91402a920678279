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


# PostgreSQL connections per process, unless the caller says otherwise (see Settings).
POOL_SIZE = 10
MAX_OVERFLOW = 10
ADMISSION_POOL_SIZE = 4
# An admission that finds its pool busy gives up this soon and the request goes on
# without the ledger (the listeners still claim their changes), rather than miss Slack's 3 s.
ADMISSION_POOL_TIMEOUT = 1.0


def create_db_engine(url: str, **options: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **options
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", POOL_SIZE)
    options.setdefault("max_overflow", MAX_OVERFLOW)
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

    def __init__(
        self, url: str, *, admission_pool_size: int = ADMISSION_POOL_SIZE, **engine_options: Any
    ) -> None:
        self.url = url
        self.engine = create_db_engine(url, **engine_options)
        # Admitting a request (the replay and duplicate check before its ack) is one
        # autocommitted statement on connections of its own: it never waits for a
        # connection that a listener holds while it talks to Slack. No pre-ping (it
        # would double the round trips); a dropped connection is retried once instead.
        self._admission_engine = (
            create_engine(
                url,
                isolation_level="AUTOCOMMIT",
                pool_size=admission_pool_size,
                max_overflow=0,
                pool_timeout=ADMISSION_POOL_TIMEOUT,
            )
            if self.engine.dialect.name == "postgresql"
            else None
        )
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

    @contextmanager
    def admission(self) -> Iterator[Connection]:
        """A connection for one statement that must not wait behind background work.

        PostgreSQL: autocommitted, from the admission pool. SQLite: a transaction that
        takes the next turn, before queued background work.
        """
        if self._admission_engine is None:
            with self.connection(urgent=True) as connection:
                yield connection
            return
        with self._admission_engine.connect() as connection:
            yield connection

    def engines(self) -> list[Engine]:
        """Every engine this database uses (for instrumentation)."""
        return [self.engine] + ([self._admission_engine] if self._admission_engine else [])

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
        if self._admission_engine is not None:
            self._admission_engine.dispose()


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)
