"""The meeting bridge link from FIREBREAK_BRIDGE_URL, on the card and in the announcement."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.runtime import Runtime
from emulator import SlackEmulator
from tests.conftest import make_settings
from tests.support.driver import SlackDriver
from tests.support.story import People, declare, incidents

BRIDGE = "https://meet.example.com/{channel}?ref={reference}"


@pytest.fixture
def settings(emulator: SlackEmulator, database_url: str) -> Settings:
    return make_settings(emulator, database_url, bridge_url=BRIDGE)


def _texts(blocks: list[dict[str, object]]) -> str:
    return str(blocks)


def test_bridge_link_is_on_the_card_and_in_the_announcement(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    declare(slack, emulator, people.alice, "Checkout fails", "SEV2")
    [incident] = incidents(runtime.db)
    link = "https://meet.example.com/inc-1-checkout-fails?ref=INC-1"
    card = emulator.messages(incident.channel_id or "")[0]
    assert f"<{link}|join the call>" in _texts(card["blocks"])
    [root] = emulator.messages(emulator.channel_by_name("incidents").id)
    assert f"<{link}|join the call>" in _texts(root["blocks"])

    # Resolved: the card keeps it, the announcement no longer invites people to a call.
    slack.command("resolve", user=people.alice, channel=incident.channel_id or "")
    [root] = emulator.messages(emulator.channel_by_name("incidents").id)
    assert link not in _texts(root["blocks"])
    card = emulator.messages(incident.channel_id or "")[0]
    assert link in _texts(card["blocks"])


def test_private_incident_bridge_stays_in_its_channel(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    declare(slack, emulator, people.alice, "Secret breach", "SEV1", private=True)
    [incident] = incidents(runtime.db)
    card = emulator.messages(incident.channel_id or "")[0]
    assert "meet.example.com/inc-1-secret-breach" in _texts(card["blocks"])
    assert emulator.messages(emulator.channel_by_name("incidents").id) == []


def test_a_newcomer_is_given_the_bridge(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    declare(slack, emulator, people.alice, "Checkout fails", "SEV2")
    [incident] = incidents(runtime.db)
    channel = incident.channel_id or ""
    emulator.join(channel, people.carol)
    slack.event({"type": "member_joined_channel", "user": people.carol, "channel": channel})
    [welcome] = [m for m in emulator.ephemeral_messages(channel) if m["recipient"] == people.carol]
    assert "https://meet.example.com/inc-1-checkout-fails?ref=INC-1" in _texts(welcome["blocks"])
