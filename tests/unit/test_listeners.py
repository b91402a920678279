"""Listener functions called directly: Bolt's own Ack and Respond, real services over SQLite,
and the Slack emulator (which records every reply sent to a response_url).

A listener raises rather than answers a failure (tests/unit/test_error_translator.py covers
the answer); these check what it records, when it acks and what it replies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from slack_bolt import Ack, Respond

from app.config import DEFAULT_SEVERITIES
from app.incidents.errors import InvalidInput, NotAllowed
from app.incidents.snapshot import IncidentSnapshot
from app.services import Services
from app.slack.inbound.listeners import actions, alerts, commands, events, shortcuts, updates
from app.slack.inbound.listeners import views as view_listeners
from app.slack.outbound import blocks, update_blocks
from emulator import SlackEmulator, payloads
from tests.support.story import People, event_kinds, incidents, modal_values
from tests.unit.conftest import new_ack


class AckSeeing(Ack):
    """An ack that notes what `look` finds at the moment it is called."""

    def __init__(self, look: Callable[[], object]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.look = look
        self.seen: list[object] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.seen.append(self.look())
        return super().__call__(*args, **kwargs)


def _respond(emulator: SlackEmulator) -> Respond:
    return Respond(response_url=emulator.new_response_url())


def _replies(emulator: SlackEmulator) -> list[str]:
    return [str(response.payload.get("text")) for response in emulator.responses]


def _press(
    emulator: SlackEmulator, user: str, action: dict[str, Any], *, channel: str | None = None
) -> dict[str, Any]:
    return payloads.block_actions(
        team_id=emulator.team_id,
        user_id=user,
        actions=[action],
        trigger_id=emulator.new_trigger_id(),
        channel_id=channel,
    )


def _severity(services: Services, incident: IncidentSnapshot) -> str:
    return services.incidents.snapshot(incident.id).severity


def _answer(ack: Ack) -> Any:
    assert ack.response is not None
    return json.loads(ack.response.body) if ack.response.body else None


# --- buttons and selects ------------------------------------------------------------------


def test_a_severity_select_is_recorded_before_its_ack(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    body = _press(
        emulator,
        people.alice,
        {
            "action_id": blocks.SEVERITY_ACTION,
            "block_id": f"controls:{incident.id}",
            "selected_option": {"value": "SEV1"},
        },
    )
    ack = AckSeeing(lambda: _severity(services, incident))
    actions.severity_selected(ack, body, _respond(emulator), services)
    assert ack.seen == ["SEV1"]
    assert "severity_changed" in event_kinds(services.db, incident.id)
    assert _replies(emulator) == []


def test_a_press_refused_before_its_ack_raises_unacknowledged(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    # Bob is not in the incident channel; the error translator acks and tells him.
    body = _press(
        emulator,
        people.bob,
        {
            "action_id": blocks.SEVERITY_ACTION,
            "block_id": f"controls:{incident.id}",
            "selected_option": {"value": "SEV1"},
        },
    )
    ack = new_ack()
    with pytest.raises(NotAllowed, match="Only members of"):
        actions.severity_selected(ack, body, _respond(emulator), services)
    assert ack.response is None
    assert _severity(services, incident) == "SEV3"


def test_clearing_a_role_select_only_acks(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    body = _press(
        emulator, people.alice, {"action_id": "role:scribe", "block_id": f"roles:{incident.id}"}
    )
    ack = new_ack()
    actions.role_selected(ack, body, _respond(emulator), services)
    assert ack.response is not None
    assert "scribe" not in services.incidents.snapshot(incident.id).roles


def test_a_status_select_with_an_unknown_status_only_acks(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    body = _press(
        emulator,
        people.alice,
        {
            "action_id": blocks.STATUS_ACTION,
            "block_id": f"controls:{incident.id}",
            "selected_option": {"value": "exploded"},
        },
    )
    ack = new_ack()
    actions.status_selected(ack, body, _respond(emulator), services)
    assert ack.response is not None
    assert event_kinds(services.db, incident.id).count("status_changed") == 0


def test_the_resolve_button_resolves_before_its_ack(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    body = _press(
        emulator, people.alice, {"action_id": blocks.RESOLVE_ACTION, "value": str(incident.id)}
    )
    ack = AckSeeing(lambda: services.incidents.snapshot(incident.id).status.value)
    actions.resolve_pressed(ack, body, _respond(emulator), services)
    assert ack.seen == ["resolved"]


def test_the_page_button_without_pagerduty_raises_what_to_tell_the_presser(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    body = _press(
        emulator, people.alice, {"action_id": blocks.PAGE_ACTION, "value": str(incident.id)}
    )
    ack = new_ack()
    with pytest.raises(InvalidInput, match="PagerDuty is not set up"):
        actions.page_pressed(ack, body, _respond(emulator), services)
    assert ack.response is None


def test_the_add_action_item_button_acks_then_opens_the_form(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    body = _press(
        emulator,
        people.alice,
        {"action_id": blocks.ADD_ACTION_ITEM_ACTION, "value": str(incident.id)},
    )
    ack = AckSeeing(lambda: len(emulator.views))
    actions.add_action_item_pressed(ack, body, services)
    assert ack.seen == [0]
    [form] = emulator.views.values()
    assert form["callback_id"] == blocks.ACTION_ITEM_CALLBACK
    assert form["private_metadata"] == str(incident.id)


# --- the slash command --------------------------------------------------------------------


def _command(emulator: SlackEmulator, user: str, text: str, channel: str) -> dict[str, Any]:
    return payloads.slash_command(
        team_id=emulator.team_id,
        user_id=user,
        channel_id=channel,
        text=text,
        trigger_id=emulator.new_trigger_id(),
        response_url=emulator.new_response_url(),
    )


def test_a_reading_command_acks_first_then_replies(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    body = _command(emulator, people.bob, "list", "C_ANYWHERE")
    ack = AckSeeing(lambda: len(emulator.responses))
    commands.incident_command(ack, body, _respond(emulator), services)
    assert ack.seen == [0]
    [reply] = _replies(emulator)
    assert "*Open incidents*" in reply and "Checkout fails" in reply


def test_a_recording_command_acks_after_the_change_and_replies_after_the_ack(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    body = _command(emulator, people.alice, "severity sev3", incident.channel_id or "")
    ack = AckSeeing(lambda: (len(emulator.responses), _severity(services, incident)))
    commands.incident_command(ack, body, _respond(emulator), services)
    # Nothing changed (SEV3 already): the reply says so, after the ack.
    assert ack.seen == [(0, "SEV3")]
    assert _replies(emulator) == ["Already SEV3."]


def test_a_recording_command_that_fails_still_acks_once_then_raises(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    body = _command(emulator, people.alice, "severity sev7", incident.channel_id or "")
    ack = new_ack()
    with pytest.raises(InvalidInput, match="Severity must be one of"):
        commands.incident_command(ack, body, _respond(emulator), services)
    assert ack.response is not None and ack.response.status == 200
    assert _replies(emulator) == []


def test_an_unknown_subcommand_says_what_to_type(
    services: Services, emulator: SlackEmulator, people: People
) -> None:
    body = _command(emulator, people.bob, "dance", "C1")
    commands.incident_command(new_ack(), body, _respond(emulator), services)
    assert _replies(emulator) == [
        "I don't know `/incident dance`. Type `/incident help` to see every command."
    ]


def test_the_bare_command_opens_the_declare_form_which_remembers_where_to_answer(
    services: Services, emulator: SlackEmulator, people: People
) -> None:
    body = _command(emulator, people.bob, "", "C1")
    commands.incident_command(new_ack(), body, _respond(emulator), services)
    [form] = emulator.views.values()
    assert form["callback_id"] == blocks.DECLARE_CALLBACK
    assert form["private_metadata"] == body["response_url"]


# --- modal submissions --------------------------------------------------------------------


def _submit(
    emulator: SlackEmulator, user: str, view: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    return payloads.view_submission(
        team_id=emulator.team_id, user_id=user, view=view, values=values
    )


def test_a_declaration_with_mistakes_names_each_field(
    services: Services, emulator: SlackEmulator, people: People
) -> None:
    view = blocks.declare_modal(DEFAULT_SEVERITIES, "SEV3")
    body = _submit(emulator, people.alice, view, modal_values("", "SEV9"))
    ack = new_ack()
    view_listeners.declare_submitted(ack, body, services)
    answer = _answer(ack)
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"title", "severity"}
    assert incidents(services.db) == []


def test_a_declaration_is_recorded_before_the_form_names_it(
    services: Services, emulator: SlackEmulator, people: People
) -> None:
    url = emulator.new_response_url()
    view = blocks.declare_modal(DEFAULT_SEVERITIES, "SEV3", private_metadata=url)
    body = _submit(emulator, people.alice, view, modal_values("Search is slow", "SEV2"))
    ack = AckSeeing(lambda: len(incidents(services.db)))
    view_listeners.declare_submitted(ack, body, services)
    assert ack.seen == [1]
    answer = _answer(ack)
    assert answer["response_action"] == "update"
    assert "INC-1" in json.dumps(answer["view"])
    # Told where they typed /incident, through the response_url the form carried.
    assert any("INC-1" in reply for reply in _replies(emulator))


def test_an_action_item_needs_words_and_a_real_date(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    values = {
        "text": {"value": {"type": "plain_text_input", "value": "  "}},
        "due": {"value": {"type": "datepicker", "selected_date": "2026-02-30"}},
    }
    body = _submit(emulator, people.alice, blocks.action_item_modal(incident), values)
    ack = new_ack()
    view_listeners.action_item_submitted(ack, body, services)
    assert set(_answer(ack)["errors"]) == {"text", "due"}
    assert services.actions.items(incident.id) == []


def test_an_update_with_mistakes_is_refused_inline(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    view = update_blocks.update_modal(incident, 30)
    body = _submit(emulator, people.alice, view, {})
    ack = new_ack()
    updates.update_submitted(ack, body, services)
    assert set(_answer(ack)["errors"]) == {"status", "know", "next"}


def test_attaching_alerts_needs_an_incident_picked(
    services: Services, emulator: SlackEmulator, people: People
) -> None:
    view = {"type": "modal", "callback_id": "alert_attach_incident", "private_metadata": "4"}
    body = _submit(emulator, people.alice, view, {})
    ack = new_ack()
    alerts.attach_submitted(ack, body, services)
    assert _answer(ack) == {
        "response_action": "errors",
        "errors": {"incident": "Pick an open incident."},
    }


# --- shortcuts and events -----------------------------------------------------------------


def _message_action(
    emulator: SlackEmulator, user: str, channel: str, message: dict[str, Any]
) -> dict[str, Any]:
    return payloads.message_action(
        team_id=emulator.team_id,
        user_id=user,
        callback_id=blocks.TIMELINE_SHORTCUT,
        trigger_id=emulator.new_trigger_id(),
        response_url=emulator.new_response_url(),
        channel_id=channel,
        message=message,
    )


def test_the_timeline_shortcut_in_an_incident_channel_adds_the_message(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    channel = incident.channel_id or ""
    ts = emulator.add_message(channel, people.alice, "Rolled back deploy 42")
    message = {"type": "message", "user": people.alice, "text": "Rolled back deploy 42", "ts": ts}
    body = _message_action(emulator, people.alice, channel, message)
    shortcuts.add_to_timeline(new_ack(), body, _respond(emulator), services)
    assert "message_added" in event_kinds(services.db, incident.id)
    assert _replies(emulator) == [":pushpin: Added to the INC-1 timeline."]


def test_the_timeline_shortcut_without_a_message_says_so(
    services: Services, emulator: SlackEmulator, people: People
) -> None:
    body = _message_action(emulator, people.alice, "C1", {"type": "message"})
    ack = new_ack()
    shortcuts.add_to_timeline(ack, body, _respond(emulator), services)
    assert ack.response is not None
    assert _replies(emulator) == ["Slack did not say which message that was."]


def _event(emulator: SlackEmulator, fields: dict[str, Any]) -> dict[str, Any]:
    return payloads.event_callback(fields, team_id=emulator.team_id)


def test_a_pushpin_reaction_in_an_incident_channel_marks_the_message(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    channel = incident.channel_id or ""
    ts = emulator.add_message(channel, people.alice, "DNS is the cause")
    item = {"type": "message", "channel": channel, "ts": ts}
    other = {"type": "reaction_added", "user": people.alice, "reaction": "tada", "item": item}
    events.reaction_added(_event(emulator, other), services)
    assert "message_reacted" not in event_kinds(services.db, incident.id)
    marked = {**other, "reaction": "pushpin"}
    events.reaction_added(_event(emulator, marked), services)
    assert "message_reacted" in event_kinds(services.db, incident.id)


def test_the_home_tab_is_published_for_whoever_opened_it(
    services: Services, emulator: SlackEmulator, people: People, incident: IncidentSnapshot
) -> None:
    events.home_opened(
        _event(emulator, {"type": "app_home_opened", "user": people.bob, "tab": "home"}),
        services,
    )
    home = emulator.home_view(people.bob)
    assert home is not None and "Checkout fails" in json.dumps(home)
    events.home_opened(
        _event(emulator, {"type": "app_home_opened", "user": people.carol, "tab": "messages"}),
        services,
    )
    assert emulator.home_view(people.carol) is None
