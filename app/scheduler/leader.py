"""Which replica runs the scheduler: the one holding a PostgreSQL advisory lock.

The lock is session-level, held on a connection kept open for as long as this replica
leads. When the leader dies its connection closes and PostgreSQL frees the lock, so a
follower's next attempt (every few seconds) takes over. SQLite is single-process: the
only process always leads.
"""

from __future__ import annotations

import threading

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from app.logging import get_logger

log = get_logger(__name__)

# An arbitrary 64-bit key that names "the Firebreak scheduler" in pg_locks.
LEADER_LOCK_KEY = 0x46_42_52_4B_53_43_48_44  # "FBRKSCHD"


class LeaderElection:
    def __init__(self, engine: Engine, key: int = LEADER_LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    @property
    def needs_lock(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def try_acquire(self) -> bool:
        """Become leader if nobody is; True if this replica leads now."""
        if not self.needs_lock:
            return True
        with self._lock:
            if self._connection is not None:
                return self._still_held()
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                won = bool(
                    connection.execute(
                        text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                    ).scalar_one()
                )
            except SQLAlchemyError as error:
                log.warning("leader_election_failed", error=str(error))
                connection.close()
                return False
            if not won:
                connection.close()
                return False
            self._connection = connection
            return True

    def _still_held(self) -> bool:
        """A broken connection means PostgreSQL has already released the lock."""
        assert self._connection is not None
        try:
            self._connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            log.warning("leader_connection_lost")
            self._drop()
            return False
        return True

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except SQLAlchemyError:
                pass
            self._connection = None

    def release(self) -> None:
        with self._lock:
            if self._connection is None:
                return
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                self._connection.close()
            except SQLAlchemyError:
                self._drop()
            self._connection = None
