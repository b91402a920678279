"""Slack's redeliveries change state at most once and are answered 200 at once."""

from __future__ import annotations

from typing import Any

from app.runtime import Runtime
from app.slack.outbound import blocks
from emulator import SlackEmulator, payloads
from emulator.driver import FORM
from tests.reliability.helpers import (
    declare,
    deliver,
    deliver_event,
    incidents,
    post_signed,
    processed,
)
from tests.support.driver import SlackDriver


def _declared(slack: SlackDriver, runtime: Runtime, user: str) -> tuple[int, str]:
    declare(slack, user, "Checkout is down")
    [incident] = incidents(runtime)
    assert incident.id is not None and incident.channel_id is not None
    return incident.id, incident.channel_id


def test_event_retry_is_handled_once(
    slack: SlackDriver, emulator: SlackEmulator, people: dict[str, str]
) -> None:
    envelope = payloads.event_callback(
        {"type": "app_home_opened", "user": people["alice"], "tab": "home"},
        team_id=emulator.team_id,
    )
    assert deliver_event(slack, envelope).status == 200
    for retry in (1, 2):
        assert deliver_event(slack, envelope, retry=retry).status == 200
    assert len(emulator.calls_to("views.publish")) == 1


def test_double_submitted_modal_declares_once(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: dict[str, str],
    announce_channel: str,
) -> None:
    payload = declare(slack, people["alice"], "Payments failing")
    assert deliver(slack, payload, retry=1).status == 200
    assert len(incidents(runtime)) == 1
    assert len(emulator.calls_to("conversations.create")) == 1
    assert len(emulator.messages(announce_channel)) == 1


def test_corrected_submission_is_not_mistaken_for_a_duplicate(
    slack: SlackDriver, runtime: Runtime, people: dict[str, str], announce_channel: str
) -> None:
    payload = declare(slack, people["alice"], "")  # refused: the title is required
    assert incidents(runtime) == []
    payload["view"]["state"]["values"]["title"]["value"]["value"] = "Now with a title"
    assert deliver(slack, payload).status == 200
    assert [i.title for i in incidents(runtime)] == ["Now with a title"]


def test_redelivered_action_does_not_undo_a_later_change(
    slack: SlackDriver, runtime: Runtime, people: dict[str, str], announce_channel: str
) -> None:
    incident_id, channel = _declared(slack, runtime, people["alice"])
    action: dict[str, Any] = {
        "type": "static_select",
        "action_id": blocks.STATUS_ACTION,
        "block_id": f"controls:{incident_id}",
        "selected_option": {"value": "monitoring"},
    }
    payload = payloads.block_actions(
        team_id=slack.team_id,
        user_id=people["alice"],
        actions=[action],
        trigger_id="t-1",
        channel_id=channel,
    )
    assert deliver(slack, payload).status == 200
    slack.command("status identified", user=people["alice"], channel=channel)
    assert deliver(slack, payload, retry=1).status == 200
    assert [i.status for i in incidents(runtime)] == ["identified"]


def test_redelivered_command_runs_once(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: dict[str, str],
    announce_channel: str,
) -> None:
    _, channel = _declared(slack, runtime, people["alice"])
    fields = payloads.slash_command(
        team_id=slack.team_id,
        user_id=people["alice"],
        channel_id=channel,
        text="severity sev1",
        trigger_id=emulator.new_trigger_id(),
        response_url=emulator.new_response_url(),
    )
    body = payloads.form_body(fields)
    assert post_signed(slack, body, FORM).status == 200
    slack.command("severity sev3", user=people["alice"], channel=channel)
    assert post_signed(slack, body, FORM, retry=1).status == 200
    assert [i.severity for i in incidents(runtime)] == ["SEV3"]


def test_deliveries_are_recorded_by_what_slack_sends(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: dict[str, str]
) -> None:
    envelope = payloads.event_callback(
        {"type": "app_home_opened", "user": people["alice"], "tab": "home"},
        team_id=emulator.team_id,
        event_id="Ev0RELIABLE",
    )
    deliver_event(slack, envelope)
    kinds = {(row.key, row.kind) for row in processed(runtime) if row.kind != "signature"}
    assert kinds == {("delivery:event:Ev0RELIABLE", "event")}
    assert sum(row.kind == "signature" for row in processed(runtime)) == 1
