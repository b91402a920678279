"""What the Slack notifier and the integrations dispatcher share: both carry out work
recorded in an outbox table (`slack_effect`, `outbound_call`) after the change commits.

- `IncidentRunner`: one runner per incident in a process; a kick while it works makes it
  look once more, so work keeps its order and nothing waits for the maintenance loop.
- `LeaseKeeper`: renews the leases of the work this process is doing (outbox rows here,
  declarations being set up in the provisioner).
- `due_incidents`: the incidents with due rows (retries, or work a dead replica left).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.logging import get_logger
from app.store.database import Database
from app.store.types import utcnow

log = get_logger(__name__)

MAX_BACKOFF_SECONDS = 300.0

Submit = Callable[[Callable[[], None]], object]
Handed = TypeVar("Handed")


def run_now(task: Callable[[], None]) -> None:
    task()


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s ... capped at five minutes, with a little jitter so replicas spread."""
    seconds = min(MAX_BACKOFF_SECONDS, 2.0 ** max(attempts - 1, 0))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def due_incidents(db: Database, table: Table) -> list[int]:
    """Incidents with rows due now and not leased by a live replica."""
    now = utcnow()
    with db.session() as session:
        rows = session.execute(
            select(table.c.incident_id)
            .where(table.c.done_at.is_(None), table.c.next_attempt_at <= now)
            .where((table.c.lease_until.is_(None)) | (table.c.lease_until < now))
            .distinct()
        ).all()
    return [int(row[0]) for row in rows]


def pending_count(db: Database, table: Table) -> int:
    """Rows recorded and not yet carried out (a gauge in /metrics)."""
    with db.session() as session:
        query = select(func.count()).select_from(table).where(table.c.done_at.is_(None))
        return int(session.execute(query).scalar_one())


def claim_due(
    session: Session, table: Table, incident_id: int, lease: timedelta, *columns: str
) -> list[tuple[Any, ...]]:
    """Lease the incident's due rows not leased by a live replica, counting the attempt;
    returns ("id", *columns) of each, oldest first. In the caller's transaction, so what
    the rows need can be read in the same one."""
    now = utcnow()
    rows = session.execute(
        update(table)
        .where(
            table.c.incident_id == incident_id,
            table.c.done_at.is_(None),
            table.c.next_attempt_at <= now,
            (table.c.lease_until.is_(None)) | (table.c.lease_until < now),
        )
        .values(lease_until=now + lease, attempts=table.c.attempts + 1)
        .returning(table.c.id, *(table.c[name] for name in columns))
    ).all()
    return sorted((tuple(row) for row in rows), key=lambda row: int(row[0]))


class IncidentRunner(Generic[Handed]):
    """Runs `work(incident_id, handed)`, one at a time per incident in this process.

    `handed` is work a change already claimed in its own transaction; a run busy with the
    same incident takes it over, so claimed work never waits for its lease to lapse.
    """

    def __init__(self, work: Callable[[int, Handed | None], None]) -> None:
        self._work = work
        self._lock = threading.Lock()
        self._running: set[int] = set()
        self._again: set[int] = set()
        self._handed: dict[int, list[Handed]] = {}

    def run(self, incident_id: int, handed: Handed | None = None) -> None:
        with self._lock:
            if handed is not None:
                self._handed.setdefault(incident_id, []).append(handed)
            if incident_id in self._running:
                self._again.add(incident_id)
                return
            self._running.add(incident_id)
        try:
            while True:
                self._work(incident_id, self._take_handed(incident_id))
                with self._lock:
                    if incident_id not in self._again and not self._handed.get(incident_id):
                        self._running.discard(incident_id)
                        self._handed.pop(incident_id, None)
                        return
                    self._again.discard(incident_id)
        except BaseException:
            # What was handed over stays leased; the maintenance sweep takes it over.
            with self._lock:
                self._running.discard(incident_id)
                self._again.discard(incident_id)
                self._handed.pop(incident_id, None)
            raise

    def _take_handed(self, incident_id: int) -> Handed | None:
        with self._lock:
            waiting = self._handed.get(incident_id)
            return waiting.pop(0) if waiting else None


# Renews the leases of the held keys, in the caller's transaction.
Renew = Callable[[Session, list[Any]], None]


def renew_rows(table: Table, lease: timedelta) -> Renew:
    """For an outbox table: push `lease_until` of the held rows (ids) one lease ahead."""

    def renew(session: Session, held: list[Any]) -> None:
        session.execute(
            update(table)
            .where(table.c.id.in_(held), table.c.done_at.is_(None))
            .values(lease_until=utcnow() + lease)
        )

    return renew


class LeaseKeeper:
    """Renews the leases this process holds, every third of a lease: a slow service
    never lets another replica take the work over while it is being done, and a replica
    that dies stops renewing, so another takes over after one lease."""

    def __init__(self, db: Database, lease: timedelta, renew: Renew, name: str) -> None:
        self._db = db
        self._lease = lease
        self._renew_held = renew
        self._name = name
        self._held: dict[Any, int] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def holding(self, keys: Iterable[Any]) -> Iterator[None]:
        held = list(keys)
        with self._lock:
            for key in held:
                self._held[key] = self._held.get(key, 0) + 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._renew_forever, name=f"{self._name}-leases", daemon=True
                )
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                for key in held:
                    self._held[key] -= 1
                    if not self._held[key]:
                        del self._held[key]

    def _renew_forever(self) -> None:
        while True:
            time.sleep(self._lease.total_seconds() / 3)
            with self._lock:
                held = list(self._held)
            if held:
                self._renew(held)

    def _renew(self, held: list[Any]) -> None:
        try:
            with self._db.session() as session:
                self._renew_held(session, held)
        except SQLAlchemyError as error:
            log.warning("leases_not_renewed", leases=self._name, error=type(error).__name__)
