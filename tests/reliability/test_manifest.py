"""manifest.yml declares what the code needs and nothing more."""

from __future__ import annotations

import copy

import pytest

from app.manifest_check import code_problems, gateway_methods, load_manifest
from emulator import SlackEmulator, payloads
from tests.reliability.helpers import deliver_event
from tests.support.driver import SlackDriver


def test_manifest_has_the_required_settings() -> None:
    manifest = load_manifest()
    assert manifest["display_information"]["name"] == "Firebreak"
    assert manifest["features"]["bot_user"]["display_name"]
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/incident"
    assert command["should_escape"] is True
    assert command["usage_hint"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True


def test_scopes_match_the_code_exactly() -> None:
    assert "chat.postMessage" in gateway_methods()
    assert code_problems(load_manifest()) == []


def test_the_check_notices_a_missing_or_unused_scope() -> None:
    manifest = load_manifest()
    missing = copy.deepcopy(manifest)
    missing["oauth_config"]["scopes"]["bot"].remove("chat:write")
    assert any("chat.postMessage" in p for p in code_problems(missing))
    extra = copy.deepcopy(manifest)
    extra["oauth_config"]["scopes"]["bot"].append("users:read.email")
    assert code_problems(extra) == ["scope users:read.email is declared but nothing uses it"]
    del extra["display_information"]
    assert "missing display_information.name" in code_problems(extra)


def _event(name: str, user: str, channel: str) -> dict[str, object]:
    if name.startswith("message."):
        kind = "channel" if name == "message.channels" else "group"
        return {
            "type": "message",
            "channel": channel,
            "channel_type": kind,
            "user": user,
            "text": "hello",
            "ts": "1700000000.000100",
        }
    item = {"type": "message", "channel": channel, "ts": "1700000000.000100"}
    return {
        "type": name,
        "user": user,
        "channel_id": channel,
        "item": item,
        "tab": "home",
        "reaction": "eyes",
        "event_ts": "1700000001.000200",
    }


@pytest.mark.parametrize(
    "event", sorted(load_manifest()["settings"]["event_subscriptions"]["bot_events"])
)
def test_every_subscribed_event_has_a_listener(
    event: str, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    user = emulator.user_by_name("alice").id
    envelope = payloads.event_callback(_event(event, user, "C0GENERAL"), team_id=emulator.team_id)
    status = deliver_event(slack, envelope).status
    assert status == 200
