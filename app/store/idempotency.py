"""Processed-request records: each Slack delivery changes state at most once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from app.store.models import ProcessedRequest
from app.store.types import utcnow


def claim_request(session: Session, key: str, kind: str, incident_id: int | None = None) -> bool:
    """Record `key`; False if it was recorded before (a retry or a double submit).

    Runs in the caller's transaction, so a failed change releases its claim.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = session.execute(
        insert(ProcessedRequest)
        .values(key=key[:255], kind=kind, received_at=utcnow(), incident_id=incident_id)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def forget_old_requests(session: Session, older_than: timedelta = timedelta(days=7)) -> int:
    """Slack retries within minutes; a week of history is plenty."""
    result = session.execute(
        delete(ProcessedRequest).where(col(ProcessedRequest.received_at) < utcnow() - older_than)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
