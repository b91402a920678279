"""The payload parser: Slack's shapes into typed records; malformed ones into a clear error."""

from __future__ import annotations

from typing import Any

import pytest

from app.config import DEFAULT_SEVERITIES
from app.slack.inbound import payloads
from app.slack.inbound.payloads import MalformedPayload
from app.slack.outbound import blocks
from emulator import payloads as slack

TEAM, USER = "T0FIREBRK", "U00000002"


def _press(action: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return slack.block_actions(
        team_id=TEAM, user_id=USER, actions=[action], trigger_id="trigger-1", **extra
    )


def test_a_card_select_names_its_incident_in_its_block_id() -> None:
    press = payloads.action(
        _press(
            {
                "action_id": blocks.SEVERITY_ACTION,
                "block_id": "controls:12",
                "selected_option": {"value": "SEV1"},
                "action_ts": "1.5",
            },
            response_url="https://hooks.example/1",
        )
    )
    assert (press.user_id, press.team_id, press.trigger_id) == (USER, TEAM, "trigger-1")
    assert (press.action_id, press.selected, press.action_ts) == ("set_severity", "SEV1", "1.5")
    assert press.incident_id == 12


def test_a_button_names_its_incident_or_item_in_its_value() -> None:
    press = payloads.action(_press({"action_id": blocks.RESOLVE_ACTION, "value": "7"}))
    assert press.value_id == 7
    user_select = payloads.action(
        _press({"action_id": "role:commander", "block_id": "roles:3", "selected_user": "U9"})
    )
    assert (user_select.selected_user, user_select.incident_id) == ("U9", 3)


@pytest.mark.parametrize("block_id", ["controls:x", "controls:", "", "controls:-1", "roles:²"])
def test_a_block_id_without_an_incident_is_malformed(block_id: str) -> None:
    press = payloads.action(_press({"action_id": blocks.STATUS_ACTION, "block_id": block_id}))
    with pytest.raises(MalformedPayload, match="block_id"):
        _ = press.incident_id


@pytest.mark.parametrize(
    "body",
    [
        {"type": "block_actions", "actions": [{"action_id": "resolve"}]},
        {"type": "block_actions", "user": "U1", "actions": [{"action_id": "resolve"}]},
        {"type": "block_actions", "user": {"id": 5}, "team": {"id": TEAM}, "actions": []},
        {"type": "block_actions", "user": {"id": USER}, "actions": [{"action_id": "resolve"}]},
        {"type": "block_actions", "user": {"id": USER}, "team": {"id": TEAM}, "actions": "x"},
    ],
)
def test_an_action_without_its_sender_or_action_is_malformed(body: dict[str, Any]) -> None:
    with pytest.raises(MalformedPayload, match="the payload has no"):
        payloads.action(body)


def test_mistyped_optional_fields_read_as_empty() -> None:
    press = payloads.action(
        _press(
            {
                "action_id": blocks.STATUS_ACTION,
                "selected_option": ["not", "a", "dict"],
                "selected_user": 42,
                "value": {"x": 1},
            }
        )
    )
    assert (press.selected, press.selected_user, press.value) == ("", "", "")


def _submission(values: dict[str, Any], **view: Any) -> dict[str, Any]:
    return slack.view_submission(
        team_id=TEAM,
        user_id=USER,
        view={"callback_id": blocks.DECLARE_CALLBACK, **view},
        values=values,
        view_id="V1",
        view_hash="h1",
    )


def test_a_submission_reads_each_input_by_its_block_id() -> None:
    form = payloads.submission(
        _submission(
            {
                "title": {"value": {"type": "plain_text_input", "value": "Disk full"}},
                "severity": {"value": {"selected_option": {"value": "SEV2"}}},
                "options": {"value": {"selected_options": [{"value": "private"}, "junk"]}},
                "owner": {"value": {"selected_user": "U7"}},
                "due": {"value": {"selected_date": "2026-12-24"}},
                "impact_started": {"value": {"selected_date_time": 1700000000}},
            },
            private_metadata="incident:41",
        )
    )
    assert (form.user_id, form.team_id, form.callback_id) == (USER, TEAM, "declare_incident")
    assert form.request_key == "view:V1:h1"
    assert form.text("title") == "Disk full"
    assert form.selected("severity") == "SEV2"
    assert form.checked("options") == frozenset({"private"})
    assert (form.user("owner"), form.date("due")) == ("U7", "2026-12-24")
    assert form.date_time("impact_started") == 1700000000
    assert form.metadata_id == 41


def test_a_submission_with_a_state_of_the_wrong_shape_reads_as_empty() -> None:
    body = _submission({})
    body["view"]["state"] = ["values"]
    form = payloads.submission(body)
    assert (form.text("title"), form.selected("severity"), form.checked("options")) == (
        "",
        "",
        frozenset(),
    )
    assert form.date_time("impact_started") is None
    assert form.metadata_id is None


def test_a_boolean_is_not_a_time() -> None:
    form = payloads.submission(
        _submission({"impact_started": {"value": {"selected_date_time": True}}})
    )
    assert form.date_time("impact_started") is None


def test_a_submission_without_a_view_id_is_malformed() -> None:
    body = _submission({})
    del body["view"]["id"]
    # Without it every submission would claim the same request key.
    with pytest.raises(MalformedPayload, match=r"view\.id"):
        payloads.submission(body)


def test_the_input_blocks_of_a_submitted_view_are_where_errors_can_show() -> None:
    view = blocks.declare_modal(DEFAULT_SEVERITIES, "SEV3")
    body = _submission({}, blocks=view["blocks"])
    assert payloads.input_blocks(body) == (
        "title",
        "severity",
        "summary",
        "impact_started",
        "options",
    )
    assert payloads.input_blocks({"view": "nope"}) == ()


def test_a_command_splits_into_subcommand_and_arguments() -> None:
    fields = slack.slash_command(
        team_id=TEAM,
        user_id=USER,
        channel_id="C1",
        text="  role  commander <@U9>  ",
        trigger_id="t1",
        response_url="https://hooks.example/2",
    )
    command = payloads.command(fields)
    assert (command.name, command.args) == ("role", "commander <@U9>")
    assert (command.channel_id, command.response_url, command.trigger_id) == (
        "C1",
        "https://hooks.example/2",
        "t1",
    )
    assert payloads.command({**fields, "text": ""}).name == ""


@pytest.mark.parametrize("missing", ["user_id", "team_id", "trigger_id"])
def test_a_command_without_who_where_or_trigger_is_malformed(missing: str) -> None:
    fields: dict[str, Any] = slack.slash_command(
        team_id=TEAM, user_id=USER, channel_id="C1", text="list", trigger_id="t1", response_url=""
    )
    del fields[missing]
    with pytest.raises(MalformedPayload, match=missing):
        payloads.command(fields)


def test_a_message_shortcut_carries_the_message_and_where_it_is() -> None:
    message = {"type": "message", "user": "U5", "text": "rolled back", "ts": "100.1"}
    shortcut = payloads.shortcut(
        slack.message_action(
            team_id=TEAM,
            user_id=USER,
            callback_id=blocks.TIMELINE_SHORTCUT,
            trigger_id="t2",
            response_url="https://hooks.example/3",
            channel_id="C2",
            message=message,
        )
    )
    assert (shortcut.channel_id, shortcut.message_ts) == ("C2", "100.1")
    assert shortcut.message["text"] == "rolled back"
    assert shortcut.request_key == "shortcut:t2"
    assert shortcut.response_url == "https://hooks.example/3"


def test_a_global_shortcut_has_no_message_and_no_response_url() -> None:
    shortcut = payloads.shortcut(
        slack.global_shortcut(
            team_id=TEAM, user_id=USER, callback_id=blocks.DECLARE_SHORTCUT, trigger_id="t3"
        )
    )
    assert (shortcut.channel_id, shortcut.message_ts, shortcut.response_url) == ("", "", None)


def _event(fields: dict[str, Any]) -> payloads.Event:
    return payloads.event(slack.event_callback(fields, team_id=TEAM, event_id="Ev1"))


def test_an_event_names_its_delivery_and_fields() -> None:
    event = _event({"type": "member_joined_channel", "user": "U3", "channel": "C3"})
    assert (event.type, event.user_id, event.channel_id) == ("member_joined_channel", "U3", "C3")
    assert (event.team_id, event.request_key) == (TEAM, "event:Ev1")


def test_an_event_without_its_workspace_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="team_id"):
        payloads.event({"type": "event_callback", "event": {"type": "pin_added"}})


def test_a_pinned_message_is_found_in_the_item_or_the_event() -> None:
    pinned = payloads.pinned_message(
        _event(
            {
                "type": "pin_added",
                "channel_id": "C4",
                "item": {"type": "message", "message": {"ts": "5.5", "text": "root cause"}},
            }
        )
    )
    assert pinned == payloads.MessageRef("C4", "5.5", {"ts": "5.5", "text": "root cause"})
    file_pin = _event({"type": "pin_added", "item": {"type": "file", "channel": "C4"}})
    assert payloads.pinned_message(file_pin) is None
    no_ts = _event({"type": "pin_added", "item": {"type": "message", "channel": "C4"}})
    assert payloads.pinned_message(no_ts) is None


def test_only_the_marking_reaction_on_a_message_counts() -> None:
    item = {"type": "message", "channel": "C5", "ts": "6.6"}
    marked = _event({"type": "reaction_added", "reaction": "pushpin", "item": item})
    assert payloads.reacted_message(marked, "pushpin") == payloads.MessageRef("C5", "6.6")
    other = _event({"type": "reaction_added", "reaction": "tada", "item": item})
    assert payloads.reacted_message(other, "pushpin") is None


def test_an_edit_says_what_the_message_now_reads() -> None:
    edit = payloads.edited_message(
        _event(
            {
                "type": "message",
                "subtype": "message_changed",
                "channel": "C6",
                "message": {"ts": "7.7", "text": "new words", "edited": {"ts": "8.8"}},
            }
        )
    )
    assert edit == payloads.Edit("C6", "7.7", "new words", "8.8")
    assert payloads.edited_message(_event({"type": "message", "channel": "C6"})) is None


def test_an_action_on_a_message_is_told_from_one_in_the_app_home() -> None:
    action = {"action_id": blocks.RESOLVE_ACTION, "value": "1"}
    on_card = _press(action, channel_id="C1", message={"ts": "1.1"})
    in_home = _press(action, view={"id": "V1", "type": "home"})
    assert payloads.on_message(on_card) and not payloads.on_message(in_home)
    # Without a container (older payloads), the message or channel tells.
    assert payloads.on_message({"channel": {"id": "C1"}})
    assert not payloads.on_message({"type": "block_actions"})


def test_who_sent_a_request_whatever_its_kind() -> None:
    assert payloads.sender({"user": {"id": "U1"}}) == "U1"
    assert payloads.sender({"user_id": "U2"}) == "U2"
    assert payloads.sender({"user": "U3"}) == ""
    assert payloads.sender({}) == ""
