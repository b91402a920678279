"""Log lines written while handling a Slack request carry its id and the incident."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from app.config import LogFormat
from app.logging import configure_logging
from emulator import SlackEmulator
from emulator.driver import FORM, http_request
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


def test_a_refused_request_does_not_carry_the_previous_requests_context(
    log_stream: io.StringIO, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    people = seed_people(emulator)
    add_announce_channel(emulator, people)
    slack.command("declare Login errors", user=people.alice, channel="C1")
    before = len(log_stream.getvalue().splitlines())

    for _ in range(8):  # enough to come back to the server thread that served the command
        refused = http_request(
            slack.url,
            b"command=%2Fincident&text=list",
            {"Content-Type": FORM, "X-Slack-Signature": "v0=0", "X-Slack-Request-Timestamp": "1"},
        )
        assert refused.status == 401

    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()[before:]]
    assert lines, "refused requests are logged"
    assert not [line for line in lines if "slack_request" in line or "incident" in line]
