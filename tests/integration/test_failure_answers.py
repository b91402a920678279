"""Failures through the real Bolt app: each request is answered at once, and exactly once.

Bolt's listener runner clears a request's ack when its listener raises after acking; a
failure that reached it would leave Slack waiting for Bolt's 3 s ack timeout. The error
translator answers failures on the listener's thread instead.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from app.incidents.rules import Status
from app.runtime import Runtime
from app.slack.outbound import blocks, update_blocks
from app.store.models import Incident
from emulator import SlackEmulator, payloads
from emulator.driver import FORM, HttpResult
from tests.support.driver import SlackDriver
from tests.support.story import People, declare, incidents

PROMPT = 1.5  # well inside Slack's 3 s, and well short of Bolt's ack timeout


@pytest.fixture
def incident(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> Incident:
    declare(slack, emulator, people.alice, "Checkout is down", "SEV3")
    [declared] = incidents(runtime.db)
    emulator.reset_calls()
    return declared


def _timed(send: Any) -> tuple[HttpResult, float]:
    started = time.monotonic()
    result = send()
    return result, time.monotonic() - started


def _replies(emulator: SlackEmulator) -> list[str]:
    return [str(response.payload.get("text")) for response in emulator.responses]


@pytest.mark.parametrize("text", ["severity sev7", "status done", "role pilot"])
def test_a_recording_command_refused_is_answered_at_once(
    slack: SlackDriver, emulator: SlackEmulator, people: People, incident: Incident, text: str
) -> None:
    channel = incident.channel_id or ""
    result, took = _timed(lambda: slack.command(text, user=people.alice, channel=channel))
    assert result.status == 200 and result.body == b""
    assert took < PROMPT
    [reply] = _replies(emulator)
    assert reply.startswith(("Severity must be", "Type `/incident"))


def test_a_button_refused_after_its_ack_is_answered_once_at_once(
    slack: SlackDriver, emulator: SlackEmulator, people: People, incident: Incident
) -> None:
    # Bob is not in the channel: the closing-note button acks, then refuses him.
    action = {"action_id": update_blocks.CLOSING_NOTE_ACTION, "value": str(incident.id)}
    result, took = _timed(
        lambda: slack.action(action, user=people.bob, channel=incident.channel_id)
    )
    assert result.status == 200 and result.body == b"" and took < PROMPT
    [reply] = _replies(emulator)
    assert reply.startswith("Only members of")
    assert emulator.calls_to("views.open") == []


def test_a_slack_failure_after_the_ack_is_told_ephemerally(
    slack: SlackDriver, emulator: SlackEmulator, people: People, incident: Incident
) -> None:
    emulator.fail_next("views.open", "expired_trigger_id")
    action = {"action_id": blocks.ADD_ACTION_ITEM_ACTION, "value": str(incident.id)}
    result, took = _timed(
        lambda: slack.action(action, user=people.alice, channel=incident.channel_id)
    )
    assert result.status == 200 and took < PROMPT
    assert _replies(emulator) == [
        "Slack did not open the form (expired_trigger_id); try again in a moment."
    ]


def test_a_refused_card_press_is_acked_and_told_once(
    slack: SlackDriver, emulator: SlackEmulator, people: People, incident: Incident
) -> None:
    action = {
        "type": "static_select",
        "action_id": blocks.SEVERITY_ACTION,
        "block_id": f"controls:{incident.id}",
        "selected_option": {"value": "SEV1"},
    }
    result, took = _timed(
        lambda: slack.action(action, user=people.bob, channel=incident.channel_id)
    )
    assert result.status == 200 and result.body == b"" and took < PROMPT
    [reply] = _replies(emulator)
    assert "Only members of" in reply


def test_a_signed_payload_without_its_sender_gets_a_400_and_no_bug_is_counted(
    slack: SlackDriver, runtime: Runtime, emulator: SlackEmulator, incident: Incident
) -> None:
    payload = payloads.block_actions(
        team_id=emulator.team_id,
        user_id="U1",
        actions=[{"action_id": blocks.RESOLVE_ACTION, "value": str(incident.id)}],
        trigger_id=emulator.new_trigger_id(),
    )
    del payload["user"]
    result = slack.post(payloads.interactive_body(payload), FORM)
    assert result.status == 400
    assert runtime.services.metrics.listener_errors._value.get() == 0
    [stored] = incidents(runtime.db)
    assert stored.status == Status.INVESTIGATING
