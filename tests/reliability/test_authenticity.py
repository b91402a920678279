"""Every request is verified: a replayed signature is refused like a forged one."""

from __future__ import annotations

import time

from app.runtime import Runtime
from emulator import SlackEmulator, payloads
from emulator.driver import FORM, http_request
from emulator.signing import signed_headers
from tests.conftest import SIGNING_SECRET
from tests.reliability.helpers import declaration, incidents
from tests.support.driver import SlackDriver


def _help_body(emulator: SlackEmulator, user: str) -> bytes:
    fields = payloads.slash_command(
        team_id=emulator.team_id,
        user_id=user,
        channel_id="C1",
        text="help",
        trigger_id=emulator.new_trigger_id(),
        response_url=emulator.new_response_url(),
    )
    return payloads.form_body(fields)


def test_replayed_request_is_refused(slack: SlackDriver, emulator: SlackEmulator) -> None:
    body = _help_body(emulator, emulator.user_by_name("alice").id)
    headers = signed_headers(SIGNING_SECRET, body, FORM)
    assert http_request(slack.url, body, headers).status == 200
    slack.wait()
    assert http_request(slack.url, body, headers).status == 401
    slack.wait()
    assert len(emulator.responses) == 1


def test_replayed_submission_changes_nothing(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, announce_channel: str
) -> None:
    payload = declaration(emulator.team_id, emulator.user_by_name("alice").id, "Replay me")
    body = payloads.interactive_body(payload)
    headers = signed_headers(SIGNING_SECRET, body, FORM)
    assert http_request(slack.url, body, headers).status == 200
    slack.wait()
    created = len(emulator.calls_to("conversations.create"))
    # An attacker resends the captured request a minute later, still inside the window.
    assert http_request(slack.url, body, headers).status == 401
    slack.wait()
    assert len(incidents(runtime)) == 1
    assert len(emulator.calls_to("conversations.create")) == created


def test_signature_from_the_future_or_past_is_refused(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    body = _help_body(emulator, emulator.user_by_name("alice").id)
    for skew in (-6 * 60, 6 * 60):
        headers = signed_headers(SIGNING_SECRET, body, FORM, int(time.time()) + skew)
        assert http_request(slack.url, body, headers).status == 401
    assert emulator.responses == []


def test_refusals_never_echo_secrets(slack: SlackDriver, emulator: SlackEmulator) -> None:
    body = _help_body(emulator, emulator.user_by_name("alice").id)
    forged = signed_headers("wrong", body, FORM)
    result = http_request(slack.url, body, forged)
    assert result.status == 401
    assert SIGNING_SECRET.encode() not in result.body
    assert emulator.bot_token.encode() not in result.body
