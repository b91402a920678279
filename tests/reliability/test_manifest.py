"""manifest.yml declares what the code needs and nothing more."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from app.demo import STEPS, running_firebreak
from app.manifest_check import (
    SOCKET_MODE_METHOD,
    WEB_API,
    code_methods,
    code_problems,
    load_manifest,
)
from emulator import METHODS, SlackEmulator, payloads
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
    assert {"chat.postMessage", "files.getUploadURLExternal", "auth.test"} <= code_methods()
    assert code_problems(load_manifest()) == []


def test_the_check_notices_a_missing_or_unused_scope() -> None:
    manifest = load_manifest()
    missing = copy.deepcopy(manifest)
    missing["oauth_config"]["scopes"]["bot"].remove("chat:write")
    assert "chat.postMessage needs chat:write" in code_problems(missing)
    extra = copy.deepcopy(manifest)
    extra["oauth_config"]["scopes"]["bot"].append("users:read.email")
    assert code_problems(extra) == ["scope users:read.email is declared but nothing uses it"]
    del extra["display_information"]
    assert "missing display_information.name" in code_problems(extra)


def test_a_call_to_a_method_the_list_lacks_fails_the_check(tmp_path: Path) -> None:
    (tmp_path / "reacts.py").write_text(
        "def react(client, channel, ts):\n"
        '    client.reactions_add(channel=channel, name="eyes", timestamp=ts)\n'
        '    client.api_call("reactions.remove", params={"channel": channel})\n'
    )
    assert code_methods(tmp_path) == {"reactions.add", "reactions.remove"}
    problems = code_problems(load_manifest(), code_methods() | code_methods(tmp_path))
    assert problems == [
        "reactions.add: the code calls it but WEB_API does not list it (add it with its scopes)",
        "reactions.remove: the code calls it but WEB_API does not list it (add it with its scopes)",
    ]
    unpinned = code_problems(load_manifest(), code_methods() - {"pins.add"})
    assert unpinned == [
        "pins.add: WEB_API lists it but nothing calls it",
        "scope pins:write is declared but nothing uses it",
    ]


def test_each_listed_scope_is_one_slack_accepts_for_its_method() -> None:
    """The emulator's table follows each method's reference page; a method that needs a
    scope there needs one here, and only one of those it accepts."""
    for method, needed in WEB_API.items():
        accepted = METHODS[method].scopes
        assert set(needed) <= set(accepted), method
        assert bool(needed) == bool(accepted), method


def test_every_method_the_story_calls_is_listed(tmp_path: Path) -> None:
    """The whole demo story over Socket Mode: each Web API method Slack saw is listed, and
    the walk over the code found it too."""
    with running_firebreak(tmp_path, socket_mode=True) as demo:
        for step in STEPS:
            step(demo)
        seen = {call.method for call in demo.emulator.calls}
    assert SOCKET_MODE_METHOD in seen and "conversations.create" in seen
    assert seen - {SOCKET_MODE_METHOD} <= code_methods()
    assert seen - {SOCKET_MODE_METHOD} <= set(WEB_API)


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
