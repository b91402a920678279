"""Log lines written while handling a Slack request carry its id and the incident."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from app.config import LogFormat
from app.emulator import SlackEmulator
from app.logging import configure_logging
from tests.support.driver import SlackDriver
from tests.support.story import add_announce_channel, seed_people


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    configure_logging(LogFormat.JSON, "INFO", stream=stream)
    yield stream
    root.handlers, _ = saved
    root.setLevel(saved[1])


def test_request_log_lines_carry_request_id_and_incident(
    log_stream: io.StringIO, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    people = seed_people(emulator)
    add_announce_channel(emulator, people)
    slack.command("declare Login errors", user=people.alice, channel="C1")
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    [declared] = [line for line in lines if line["event"] == "incident_declared"]
    assert declared["incident"] == "INC-1"
    assert declared["slack_request"] == slack.last_trigger_id
    assert declared["team"] == emulator.team_id
    assert emulator.bot_token not in log_stream.getvalue()
