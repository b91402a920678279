"""The background scheduler: jobs persist in PostgreSQL and an overdue one fires once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.config import Settings
from app.runtime import Runtime, build_runtime
from app.scheduler.leader import LEADER_LOCK_KEY
from app.server import HttpServer
from app.store.database import Database
from emulator import SlackEmulator
from tests.conftest import SIGNING_SECRET, make_settings
from tests.support.clock import FakeClock
from tests.support.driver import SlackDriver
from tests.support.replicas import wait_for
from tests.support.updates import declare, reminders, setup_workspace

pytestmark = pytest.mark.postgres


@contextmanager
def serving(runtime: Runtime, emulator: SlackEmulator) -> Iterator[SlackDriver]:
    http = HttpServer(runtime.web, host="127.0.0.1", port=0, threads=2, max_body_bytes=1 << 20)
    http.start()
    try:
        yield SlackDriver(http.url, SIGNING_SECRET, emulator, runtime)
    finally:
        http.stop()


def _job_times(db: Database) -> dict[str, float]:
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, next_run_time FROM apscheduler_jobs")).all()
    return {str(job_id): float(when) for job_id, when in rows}


def test_a_reminder_due_while_down_fires_once_on_start(
    emulator: SlackEmulator, postgres_url: str
) -> None:
    settings: Settings = make_settings(emulator, postgres_url)
    alice = setup_workspace(emulator)
    db = Database(postgres_url)
    db.migrate()
    # Another replica leads: this one only writes jobs into the shared store.
    other_leader = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    other_leader.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LEADER_LOCK_KEY})

    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    first = build_runtime(settings, clock=FakeClock(two_hours_ago))
    first.start_scheduler()
    try:
        with serving(first, emulator) as slack:
            incident = declare(slack, first.db, alice)  # SEV3: due an hour ago
        assert not first.scheduler.is_leader
    finally:
        first.close()
    due = two_hours_ago + timedelta(minutes=60)
    assert _job_times(db) == {f"reminder:{incident.id}": pytest.approx(due.timestamp())}
    assert reminders(emulator, incident) == []

    second = build_runtime(settings)
    second.start_scheduler()
    try:
        other_leader.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK_KEY})
        other_leader.close()
        wait_for(lambda: second.scheduler.is_leader, 10, "the restarted replica to lead")
        wait_for(lambda: len(reminders(emulator, incident)) > 0, 10, "the overdue reminder")
        time.sleep(2.5)  # another sweep and job pass: nothing more
        assert len(reminders(emulator, incident)) == 1
        [next_run] = _job_times(db).values()
        assert next_run == pytest.approx(time.time() + 3600, abs=30)
    finally:
        second.close()
        db.dispose()
