"""On PostgreSQL the ack never waits for a connection that background work holds."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.config import Settings
from app.runtime import Runtime
from app.store.idempotency import _TABLE as PROCESSED
from emulator import SlackEmulator, payloads
from emulator.driver import FORM, http_request
from emulator.signing import signed_headers
from tests.conftest import SIGNING_SECRET, make_settings
from tests.support.driver import SlackDriver
from tests.support.story import People

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url


@pytest.fixture
def settings(emulator: SlackEmulator, database_url: str) -> Settings:
    # One connection in the shared pool, so the test can hold all of it.
    return make_settings(emulator, database_url, db_pool_size=1, db_max_overflow=0)


def test_acks_answer_while_background_work_holds_every_pooled_connection(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    trigger = emulator.new_trigger_id()
    fields = payloads.slash_command(
        team_id=emulator.team_id,
        user_id=people.alice,
        channel_id="C1",
        text="help",
        trigger_id=trigger,
        response_url=emulator.new_response_url(),
    )
    body = payloads.form_body(fields)
    held = runtime.db.engine.connect()
    try:
        held.exec_driver_sql("SELECT 1")
        headers = signed_headers(SIGNING_SECRET, body, FORM)
        answered = http_request(slack.url, body, headers, timeout=5)
        assert answered.status == 200
        # Admitted (its delivery recorded) while its listener still waits for a connection.
        keys = set(held.execute(select(PROCESSED.c.key)).scalars())
        assert f"delivery:command:{trigger}" in keys
        assert not emulator.responses
    finally:
        held.close()
    slack.wait()
    [reply] = emulator.responses
    assert "Firebreak commands" in reply.payload["text"]
