"""Setting up a declared incident in Slack: which calls, in what order, and recovery."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from app.runtime import Runtime
from app.slack.outbound import blocks
from app.store.models import Incident
from emulator import SlackEmulator
from tests.support.driver import SlackDriver


@pytest.fixture
def announce_channel(emulator: SlackEmulator) -> str:
    return emulator.add_channel("incidents", members=[emulator.user_by_name("bob").id])


def _declare(slack: SlackDriver, title: str, user: str, *, wait: bool = True) -> None:
    view = {
        "type": "modal",
        "callback_id": blocks.DECLARE_CALLBACK,
        "private_metadata": slack.emulator.new_response_url(user_id=user),
    }
    values: dict[str, dict[str, Any]] = {
        "title": {"value": {"type": "plain_text_input", "value": title}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV2"}}},
        "options": {"value": {"type": "checkboxes", "selected_options": [{"value": "commander"}]}},
    }
    slack.submit(view, values, user=user, wait=wait)


def _incident(runtime: Runtime, title: str) -> Incident:
    with runtime.db.session() as session:
        found: Incident = session.execute(
            select(Incident).where(col(Incident.title) == title)
        ).scalar_one()
        return found


def test_a_declaration_makes_eight_calls_once_the_announcement_channel_is_known(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, announce_channel: str
) -> None:
    alice = emulator.user_by_name("alice").id
    _declare(slack, "Checkout fails", alice)
    emulator.reset_calls()

    _declare(slack, "Search is slow", alice)

    incident = _incident(runtime, "Search is slow")
    assert incident.setup_complete
    assert incident.channel_id is not None
    assert Counter(call.method for call in emulator.calls) == {
        "conversations.create": 1,
        "conversations.invite": 1,
        "conversations.setTopic": 1,
        "chat.postMessage": 2,
        "pins.add": 1,
        "chat.getPermalink": 1,
        "bookmarks.add": 1,
    }
    assert [pin["ts"] for pin in emulator.pins(incident.channel_id)] == [incident.card_ts]
    assert emulator.messages(announce_channel)[-1]["ts"] == incident.announcement_ts
    assert len(emulator.bookmarks(incident.channel_id)) == 1


def test_steps_after_the_channel_run_side_by_side(
    slack: SlackDriver, emulator: SlackEmulator, announce_channel: str
) -> None:
    alice = emulator.user_by_name("alice").id
    _declare(slack, "Warm up", alice)
    emulator.reset_calls()
    emulator.latency = 0.2

    _declare(slack, "Payments time out", alice)

    calls = {call.method: call.at for call in emulator.calls if call.method != "chat.postMessage"}
    posts = [call.at for call in emulator.calls_to("chat.postMessage")]
    # The invite, the topic, the card and the announcement all start within one call's time.
    starts = [calls["conversations.invite"], calls["conversations.setTopic"], *posts]
    assert max(starts) - min(starts) < emulator.latency
    assert min(starts) >= calls["conversations.create"] + emulator.latency


def test_concurrent_declarations_look_up_the_announcement_channel_once(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, announce_channel: str
) -> None:
    emulator.latency = 0.05
    people = [emulator.user_by_name(name).id for name in ("alice", "bob", "carol", "dave")]
    for number, user in enumerate(people):
        _declare(slack, f"Outage {number}", user, wait=False)
    slack.wait()

    assert len(emulator.calls_to("conversations.list")) == 1
    assert len(emulator.calls_to("conversations.join")) == 1
    assert len(emulator.messages(announce_channel)) == len(people)


def test_a_failed_step_stops_only_its_own_chain_and_resumes_later(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, announce_channel: str
) -> None:
    alice = emulator.user_by_name("alice").id
    emulator.fail_next("pins.add", "internal_error")

    _declare(slack, "Login loops", alice)

    incident = _incident(runtime, "Login loops")
    assert incident.channel_id is not None
    assert not incident.setup_complete
    assert incident.setup_error == "pin: internal_error"
    assert set(incident.setup_steps) == {
        "channel",
        "invite",
        "topic",
        "card",
        "announce",
        "bookmark",
    }

    runtime.services.provisioner.resume_all()

    incident = _incident(runtime, "Login loops")
    assert incident.setup_complete
    assert incident.channel_id is not None
    assert [pin["ts"] for pin in emulator.pins(incident.channel_id)] == [incident.card_ts]
    assert len(emulator.calls_to("conversations.create")) == 1
    assert len(emulator.messages(announce_channel)) == 1
