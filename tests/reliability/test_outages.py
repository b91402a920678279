"""Slack rate limits and outages, and an unreachable database: nothing is dropped."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.runtime import Runtime
from app.slack.outbound import blocks
from emulator import SlackEmulator
from tests.conftest import make_settings
from tests.reliability.helpers import declaration, deliver, incidents, timeline
from tests.reliability.helpers import declare as submit_declaration
from tests.support.driver import SlackDriver


@pytest.fixture
def settings(emulator: SlackEmulator, database_url: str) -> Settings:
    return make_settings(emulator, database_url, resume_interval_seconds=0.3)


def _wait_until(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_rate_limited_call_is_retried_after_retry_after(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, announce_channel: str
) -> None:
    emulator.fail_next("conversations.create", "ratelimited", retry_after=1)
    submit_declaration(slack, emulator.user_by_name("alice").id, "Throttled")
    creates = emulator.calls_to("conversations.create")
    assert [call.status for call in creates] == [429, 200]
    assert creates[1].at - creates[0].at >= 0.9
    assert [i.setup_complete for i in incidents(runtime)] == [True]


def test_server_errors_are_retried_with_backoff(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, announce_channel: str
) -> None:
    emulator.fail_next("conversations.setTopic", "http_503", times=2)
    submit_declaration(slack, emulator.user_by_name("alice").id, "Flaky")
    assert [c.status for c in emulator.calls_to("conversations.setTopic")] == [503, 503, 200]
    assert [i.setup_complete for i in incidents(runtime)] == [True]


def test_slack_down_declarer_told_and_setup_finishes_when_back(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, announce_channel: str
) -> None:
    emulator.down = True
    payload = declaration(emulator.team_id, emulator.user_by_name("alice").id, "Slack is down too")
    answer = deliver(slack, payload)
    assert answer.status == 200
    shown = answer.json()
    assert shown["response_action"] == "update"
    assert "*INC-1* is recorded" in shown["view"]["blocks"][0]["text"]["text"]
    assert "when Slack is back" in shown["view"]["blocks"][0]["text"]["text"]
    [incident] = incidents(runtime)
    assert incident.id is not None and not incident.setup_complete
    assert "setup_delayed" in [event.kind for event in timeline(runtime, incident.id)]

    emulator.down = False
    runtime.start_maintenance()
    _wait_until(lambda: incidents(runtime)[0].setup_complete)
    [incident] = incidents(runtime)
    assert incident.channel_id is not None
    assert len(emulator.pins(incident.channel_id)) == 1
    assert len(emulator.messages(announce_channel)) == 1


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url


def _drop(database_url: str) -> None:
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
def test_database_gone_requests_acknowledged_and_user_told(
    slack: SlackDriver, emulator: SlackEmulator, database_url: str
) -> None:
    alice = emulator.user_by_name("alice").id
    _drop(database_url)

    assert slack.command("list", user=alice, channel="C0").status == 200
    assert slack.command("declare Disk full", user=alice, channel="C0").status == 200
    replies = [response.payload["text"] for response in emulator.responses]
    assert replies == [blocks.DATABASE_DOWN, blocks.DATABASE_DOWN]

    payload = declaration(emulator.team_id, alice, f"Modal {uuid.uuid4().hex[:4]}")
    answer = deliver(slack, payload)
    assert answer.status == 200
    assert answer.json() == {"response_action": "errors", "errors": {"title": blocks.DATABASE_DOWN}}
    assert emulator.calls_to("conversations.create") == []
