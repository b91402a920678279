"""Processed-request records: each Slack delivery changes state at most once."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from sqlalchemy import Connection, Engine, Insert, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel, col

from app.store.database import Database
from app.store.models import ProcessedRequest
from app.store.types import utcnow

# The table, not the ORM entity: Core statements skip the ORM's bulk-statement machinery
# (object synchronisation, per-statement compile work).
_TABLE = SQLModel.metadata.tables[ProcessedRequest.__tablename__]


def _claim_statement(bind: Engine | Connection) -> Insert:
    """Insert the key unless it exists, returning it only when this call inserted it.

    A claim is read from RETURNING, never from rowcount: for an INSERT, psycopg's result
    reports rowcount -1 once SQLAlchemy has closed the cursor, which read as "claimed"
    every time and let every redelivery through on PostgreSQL.
    """
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    return insert(_TABLE).on_conflict_do_nothing(index_elements=["key"]).returning(_TABLE.c.key)


def _claim_values(key: str, kind: str, incident_id: int | None = None) -> dict[str, object]:
    return {"key": key[:255], "kind": kind, "received_at": utcnow(), "incident_id": incident_id}


def claim_request(session: Session, key: str, kind: str, incident_id: int | None = None) -> bool:
    """Record `key`; False if it was recorded before (a retry or a double submit).

    Runs in the caller's transaction, so a failed change releases its claim.
    """
    result = session.execute(
        _claim_statement(session.connection()), _claim_values(key, kind, incident_id)
    )
    return result.first() is not None


def renew_claim(session: Session, key: str) -> None:
    """Stamp `key` as received now (a lease being held), in the caller's transaction."""
    session.execute(update(_TABLE).where(_TABLE.c.key == key).values(received_at=utcnow()))


def forget_old_requests(session: Session, older_than: timedelta = timedelta(days=7)) -> int:
    """Slack retries within minutes; a week of history is plenty."""
    result = session.execute(
        delete(ProcessedRequest).where(col(ProcessedRequest.received_at) < utcnow() - older_than)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


SIGNATURE_KIND = "signature"
# Slack refuses (and Bolt rejects) a signature older than five minutes; keep a little more.
SIGNATURE_WINDOW = timedelta(minutes=6)


class Admission(StrEnum):
    NEW = "new"
    REPLAYED = "replayed"
    DUPLICATE = "duplicate"


class RequestLedger:
    """Remembers signatures (replay protection) and deliveries (exactly-once handling).

    Both live in `processed_request`, so every replica sharing the database agrees.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        # Built once: every request is admitted before its ack, so this skips the ORM
        # session and SQLAlchemy's per-statement construction and cache-key work.
        self._claim = _claim_statement(db.engine)

    def admit(self, signature: str | None, delivery: tuple[str, str] | None) -> Admission:
        """Claim the signature and the delivery (key, kind) in one statement.

        One multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING key`: the keys that come
        back are the ones this request claimed. A replay whose delivery was released
        after a failure would claim it too; that claim is given back, so Slack's own
        retry is still handled.
        """
        rows = [(signature, SIGNATURE_KIND)] if signature else []
        rows += [delivery] if delivery else []
        if not rows:
            return Admission.NEW
        values = [_claim_values(key, kind) for key, kind in rows]
        claimed = self._insert(values)
        if signature and signature[:255] not in claimed:
            if delivery and delivery[0][:255] in claimed:
                self.release(delivery[0])
            return Admission.REPLAYED
        if delivery and delivery[0][:255] not in claimed:
            return Admission.DUPLICATE
        return Admission.NEW

    def _insert(self, values: list[dict[str, object]]) -> set[str]:
        try:
            return self._claimed(values)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        # The server dropped a pooled connection (a restart): SQLAlchemy has discarded it.
        return self._claimed(values)

    def _claimed(self, values: list[dict[str, object]]) -> set[str]:
        with self.db.admission() as connection:
            result = connection.execute(self._claim.values(values))
            return {str(key) for key in result.scalars()}

    def release(self, key: str) -> None:
        """Forget a delivery whose handling failed, so Slack's retry is handled."""
        with self.db.session() as session:
            session.execute(delete(ProcessedRequest).where(col(ProcessedRequest.key) == key))

    def prune(self) -> int:
        """Drop signatures past the replay window and deliveries past Slack's retries."""
        with self.db.session() as session:
            stale = session.execute(
                delete(ProcessedRequest).where(
                    col(ProcessedRequest.kind) == SIGNATURE_KIND,
                    col(ProcessedRequest.received_at) < utcnow() - SIGNATURE_WINDOW,
                )
            )
            return int(stale.rowcount) + forget_old_requests(session)  # type: ignore[attr-defined]
