"""A replica killed while PagerDuty takes the page: the next one pages again with the
same dedup_key, so the on-call gets one alert."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from app.store.database import Database
from app.store.models import TimelineEvent
from emulator import SlackEmulator
from tests.reliability.helpers import declaration, declare_values
from tests.reliability.serve import ServeProcess, wait_for
from tests.support.vendors import pagerduty
from tests.support.vendors.pagerduty import PagerDutyEmulator


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    database.migrate()
    yield database
    database.dispose()


def _kinds(db: Database) -> list[str]:
    with db.session() as session:
        return [e.kind for e in session.execute(select(TimelineEvent)).scalars()]


def test_a_page_survives_a_replica_killed_mid_call_and_pages_once(
    emulator: SlackEmulator,
    announce_channel: str,
    db: Database,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    with PagerDutyEmulator() as pd:
        env = {
            "FIREBREAK_PAGERDUTY_ROUTING_KEY": pagerduty.ROUTING_KEY,
            "FIREBREAK_PAGERDUTY_EVENTS_URL": pd.events_url,
            "FIREBREAK_EFFECTS_LEASE_SECONDS": "1",
            "FIREBREAK_EFFECTS_INTERVAL_SECONDS": "0.2",
        }
        held = pd.hold()
        first = ServeProcess(emulator, sqlite_url, tmp_path, env)
        try:
            payload = declaration(emulator.team_id, emulator.user_by_name("alice").id, "Down")
            payload["view"]["state"]["values"] = declare_values("Down", "SEV1")
            assert first.submit(payload).status == 200
            assert held.arrived.wait(30), "PagerDuty was never called"
        finally:
            first.kill()
        held.release()  # PagerDuty takes the event the dead replica sent

        second = ServeProcess(emulator, sqlite_url, tmp_path, env)
        try:
            wait_for(lambda: "pagerduty_triggered" in _kinds(db))
        finally:
            second.terminate()

        triggers = pd.requests_to("POST", "/v2/enqueue")
        assert len(triggers) == 2
        assert len({r.body["dedup_key"] for r in triggers}) == 1
        assert len(pd.alerts) == 1
        assert _kinds(db).count("pagerduty_triggered") == 1
