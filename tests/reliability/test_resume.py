"""Retrying unfinished declarations never races the declaration in progress."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlmodel import select

from app.config import Settings
from app.runtime import Runtime, build_runtime
from app.server import HttpServer
from app.store.idempotency import RequestLedger
from app.store.models import ProcessedRequest
from app.store.types import utcnow
from emulator import SlackEmulator
from tests.conftest import SIGNING_SECRET, make_settings
from tests.reliability.helpers import declaration, deliver, incidents, processed, timeline
from tests.reliability.helpers import declare as submit_declaration
from tests.support.driver import SlackDriver


@pytest.fixture
def settings(emulator: SlackEmulator, database_url: str) -> Settings:
    return make_settings(emulator, database_url, resume_interval_seconds=0.1)


def test_periodic_retry_waits_for_the_declaration_in_progress(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, announce_channel: str
) -> None:
    held = emulator.hold("conversations.create")
    payload = declaration(emulator.team_id, emulator.user_by_name("alice").id, "Slow create")
    assert deliver(slack, payload, wait=False).status == 200
    assert held.arrived.wait(10)
    runtime.start_maintenance()
    time.sleep(1)  # ten retry rounds while the create is in flight
    held.release()
    slack.wait()
    deadline = time.monotonic() + 15
    while not incidents(runtime)[0].setup_complete and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(emulator.calls_to("conversations.create")) == 1
    assert [c.name for c in emulator.channels.values() if c.name.startswith("inc-1")] == [
        "inc-1-slow-create"
    ]


def test_a_slow_set_up_keeps_its_lease_past_its_length(
    emulator: SlackEmulator, database_url: str, announce_channel: str
) -> None:
    """The steps after the channel are recorded when they all finish; a step Slack keeps
    waiting for longer than a lease must not let the periodic retry start over."""
    settings = make_settings(
        emulator, database_url, resume_interval_seconds=0.1, setup_lease_seconds=1.5
    )
    runtime = build_runtime(settings)
    server = HttpServer(runtime.web, host="127.0.0.1", port=0, threads=4, max_body_bytes=1 << 20)
    server.start()
    try:
        slack = SlackDriver(server.url, SIGNING_SECRET, emulator, runtime)
        held = emulator.hold("pins.add")
        payload = declaration(emulator.team_id, emulator.user_by_name("alice").id, "Slow pin")
        assert deliver(slack, payload, wait=False).status == 200
        assert held.arrived.wait(10)
        runtime.start_maintenance()
        time.sleep(5)  # more than three leases, fifty retry rounds
        held.release()
        slack.wait()
        incident = incidents(runtime)[0]
        assert incident.setup_complete
        kinds = [event.kind for event in timeline(runtime, incident.id or 0)]
    finally:
        server.stop()
        runtime.close()
    assert "setup_resumed" not in kinds
    assert len(emulator.calls_to("pins.add")) == 1
    assert len(emulator.calls_to("conversations.history")) == 0


def test_old_signatures_and_deliveries_are_forgotten(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, announce_channel: str
) -> None:
    submit_declaration(slack, emulator.user_by_name("alice").id, "Old news")
    with runtime.db.session() as session:
        for row in session.execute(select(ProcessedRequest)).scalars():
            row.received_at = utcnow() - timedelta(days=8)
        session.add(ProcessedRequest(key="sig:recent", kind="signature", received_at=utcnow()))
    assert RequestLedger(runtime.db).prune() >= 2
    assert [row.key for row in processed(runtime)] == ["sig:recent"]
