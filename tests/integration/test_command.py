"""Commanding an incident: roles, severity, status, from buttons and from text."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import col

from app.runtime import Runtime
from app.store.models import Incident, RoleAssignment
from emulator import SlackEmulator
from tests.support.driver import SlackDriver
from tests.support.story import (
    People,
    declare,
    event_kinds,
    events,
    incidents,
)


@pytest.fixture
def incident(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> Incident:
    declare(slack, emulator, people.alice, "Checkout is down", "SEV3")
    [declared] = incidents(runtime.db)
    emulator.reset_calls()
    return declared


def _card(emulator: SlackEmulator, incident: Incident) -> dict[str, Any]:
    return emulator.messages(incident.channel_id or "")[0]


def _role_action(incident: Incident, role: str, user: str) -> dict[str, Any]:
    return {
        "type": "users_select",
        "action_id": f"role:{role}",
        "block_id": f"roles:{incident.id}",
        "selected_user": user,
    }


def _select(incident: Incident, action_id: str, value: str) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": action_id,
        "block_id": f"controls:{incident.id}",
        "selected_option": {"value": value, "text": {"type": "plain_text", "text": value}},
    }


def _press(
    slack: SlackDriver,
    emulator: SlackEmulator,
    incident: Incident,
    action: dict[str, Any],
    user: str,
) -> None:
    result = slack.action(
        action, user=user, channel=incident.channel_id, message=_card(emulator, incident)
    )
    assert result.status == 200


def _holders(runtime: Runtime, incident: Incident) -> list[tuple[str, str, bool]]:
    with runtime.db.session() as session:
        rows = session.execute(
            select(RoleAssignment)
            .where(col(RoleAssignment.incident_id) == incident.id)
            .order_by(col(RoleAssignment.id))
        ).scalars()
        return [(r.role, r.user_id, r.relieved_at is None) for r in rows]


def _reload(runtime: Runtime, incident: Incident) -> Incident:
    return next(i for i in incidents(runtime.db) if i.id == incident.id)


def _channel_lines(emulator: SlackEmulator, incident: Incident) -> list[str]:
    return [m.get("text", "") for m in emulator.messages(incident.channel_id or "")[1:]]


def test_card_shows_controls_for_every_role(emulator: SlackEmulator, incident: Incident) -> None:
    card = _card(emulator, incident)
    [roles] = [b for b in card["blocks"] if b.get("block_id") == f"roles:{incident.id}"]
    assert [e["action_id"] for e in roles["elements"]] == [
        "role:commander",
        "role:comms",
        "role:scribe",
    ]
    [controls] = [b for b in card["blocks"] if b.get("block_id") == f"controls:{incident.id}"]
    ids = [e["action_id"] for e in controls["elements"]]
    assert ids == ["set_severity", "set_status", "post_update", "action_item_open", "resolve"]
    assert "confirm" in controls["elements"][ids.index("resolve")]


def test_assigning_and_handing_over_a_role(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: People,
    incident: Incident,
) -> None:
    _press(slack, emulator, incident, _role_action(incident, "comms", people.bob), people.alice)
    _press(slack, emulator, incident, _role_action(incident, "comms", people.carol), people.alice)
    assert _holders(runtime, incident) == [
        ("commander", people.alice, True),
        ("comms", people.bob, False),
        ("comms", people.carol, True),
    ]
    channel = emulator.channel(incident.channel_id or "")
    assert {people.bob, people.carol} <= set(channel.members)
    assert _channel_lines(emulator, incident) == [
        f"<@{people.alice}> made <@{people.bob}> comms",
        f"<@{people.alice}> handed comms from <@{people.bob}> to <@{people.carol}>",
    ]
    card_fields = _card(emulator, incident)["blocks"][1]["fields"]
    assert {"type": "mrkdwn", "text": f"*Comms*\n<@{people.carol}>"} in card_fields
    kinds = event_kinds(runtime.db, incident.id or 0)
    assert kinds.count("role_assigned") == 3  # the commander at declaration, then two


def test_handing_over_the_commander_updates_the_topic(
    slack: SlackDriver,
    emulator: SlackEmulator,
    people: People,
    incident: Incident,
) -> None:
    _press(slack, emulator, incident, _role_action(incident, "commander", people.bob), people.alice)
    topic = emulator.channel(incident.channel_id or "").topic.value
    assert topic.endswith(f"Commander: <@{people.bob}>")
    root = emulator.messages(incident.announcement_channel_id or "")[0]
    assert f"*Commander:* <@{people.bob}>" in root["blocks"][1]["text"]["text"]


@pytest.mark.parametrize("who", ["erin", "pagerbot"])
def test_bots_and_deactivated_users_cannot_hold_roles(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: People,
    incident: Incident,
    who: str,
) -> None:
    target = getattr(people, who)
    _press(slack, emulator, incident, _role_action(incident, "scribe", target), people.alice)
    assert _holders(runtime, incident) == [("commander", people.alice, True)]
    [refusal] = emulator.responses
    assert "cannot be scribe" in refusal.payload["text"]
    assert refusal.payload["response_type"] == "ephemeral"


def test_non_member_cannot_change_anything(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: People,
    incident: Incident,
) -> None:
    _press(slack, emulator, incident, _select(incident, "set_severity", "SEV1"), people.dave)
    _press(slack, emulator, incident, _role_action(incident, "commander", people.dave), people.dave)
    assert _reload(runtime, incident).severity == "SEV3"
    assert _holders(runtime, incident) == [("commander", people.alice, True)]
    assert all("Only members of" in r.payload["text"] for r in emulator.responses)
    assert len(emulator.responses) == 2
    assert emulator.calls_to("chat.update") == []


def test_raising_to_sev1_broadcasts_an_escalation(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: People,
    incident: Incident,
) -> None:
    _press(slack, emulator, incident, _select(incident, "set_severity", "SEV1"), people.alice)
    stored = _reload(runtime, incident)
    assert (stored.severity, stored.highest_severity) == ("SEV1", "SEV1")
    announce = incident.announcement_channel_id or ""
    [notice] = emulator.replies(announce, incident.announcement_ts or "")
    assert notice["subtype"] == "thread_broadcast"
    assert "escalated to SEV1" in notice["text"]
    assert _channel_lines(emulator, incident) == [
        f"<@{people.alice}> raised severity from SEV3 to SEV1"
    ]

    _press(slack, emulator, incident, _select(incident, "set_severity", "SEV3"), people.alice)
    stored = _reload(runtime, incident)
    assert (stored.severity, stored.highest_severity) == ("SEV3", "SEV1")
    assert len(emulator.replies(announce, incident.announcement_ts or "")) == 1


def test_status_moves_forward_and_back(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: People,
    incident: Incident,
) -> None:
    for status in ("identified", "monitoring", "identified", "resolved"):
        _press(slack, emulator, incident, _select(incident, "set_status", status), people.alice)
    stored = _reload(runtime, incident)
    assert stored.status == "resolved"
    assert stored.mitigated_at is not None
    assert stored.resolved_at is not None
    [notice] = emulator.replies(
        incident.announcement_channel_id or "", incident.announcement_ts or ""
    )
    assert "INC-1 is resolved (0 min after it was declared)" in notice["text"]
    changes = [e.data for e in events(runtime.db, incident.id or 0) if e.kind == "status_changed"]
    assert [(c["from"], c["to"], c["backwards"]) for c in changes] == [
        ("investigating", "identified", False),
        ("identified", "monitoring", False),
        ("monitoring", "identified", True),
        ("identified", "resolved", False),
    ]


def test_reopening_a_resolved_incident_is_told_in_the_thread_and_the_channel(
    slack: SlackDriver,
    emulator: SlackEmulator,
    people: People,
    incident: Incident,
) -> None:
    announce, root = incident.announcement_channel_id or "", incident.announcement_ts or ""
    _press(slack, emulator, incident, _select(incident, "set_status", "resolved"), people.alice)
    _press(slack, emulator, incident, _select(incident, "set_status", "monitoring"), people.alice)

    resolved, reopened = emulator.replies(announce, root)
    assert "is resolved" in resolved["text"]
    assert "INC-1 is open again: Monitoring" in reopened["text"]
    assert reopened.get("subtype") == "thread_broadcast"
    assert any("INC-1 is open again" in m.get("text", "") for m in emulator.messages(announce))


def test_every_change_has_exactly_one_timeline_event_even_when_pressed_twice(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: People,
    incident: Incident,
) -> None:
    before = len(events(runtime.db, incident.id or 0))
    for _ in range(2):
        _press(slack, emulator, incident, _select(incident, "set_severity", "SEV2"), people.alice)
        _press(
            slack, emulator, incident, _role_action(incident, "scribe", people.bob), people.alice
        )
        resolve = {
            "type": "button",
            "action_id": "resolve",
            "block_id": f"controls:{incident.id}",
            "value": str(incident.id),
        }
        _press(slack, emulator, incident, resolve, people.alice)
    kinds = event_kinds(runtime.db, incident.id or 0)[before:]
    assert sorted(kinds) == ["role_assigned", "severity_changed", "status_changed"]
    assert len(_channel_lines(emulator, incident)) == 3


def test_text_commands_inside_the_incident_channel(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: People,
    incident: Incident,
) -> None:
    channel = incident.channel_id or ""
    slack.command(f"role comms <@{people.bob}|bob>", user=people.alice, channel=channel)
    slack.command("severity sev2", user=people.alice, channel=channel)
    slack.command("status monitoring", user=people.alice, channel=channel)
    slack.command("resolve", user=people.alice, channel=channel)
    stored = _reload(runtime, incident)
    assert (stored.severity, stored.status) == ("SEV2", "resolved")
    assert ("comms", people.bob, True) in _holders(runtime, incident)
    sources = {e.source for e in events(runtime.db, incident.id or 0)[3:]}
    assert sources == {"command"}


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("role", "Type `/incident role <commander|comms|scribe> @someone`"),
        ("role pilot <@U1>", "Type `/incident role <commander|comms|scribe> @someone`"),
        ("severity", "Type `/incident severity <sev1|sev2|sev3|sev4>`"),
        ("severity sev7", "Severity must be one of SEV1, SEV2, SEV3, SEV4"),
        ("status done", "Type `/incident status <investigating|identified|"),
        ("dance", "I don't know `/incident dance`. Type `/incident help`"),
    ],
)
def test_mistyped_commands_say_what_to_type(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: People,
    incident: Incident,
    text: str,
    reply: str,
) -> None:
    slack.command(text, user=people.alice, channel=incident.channel_id or "")
    [response] = emulator.responses
    assert reply in response.payload["text"]
    assert response.payload["response_type"] == "ephemeral"
    assert len(events(runtime.db, incident.id or 0)) == 3


def test_who_lists_role_holders_and_channel_members(
    slack: SlackDriver,
    emulator: SlackEmulator,
    people: People,
    incident: Incident,
) -> None:
    _press(slack, emulator, incident, _role_action(incident, "comms", people.bob), people.alice)
    slack.command("who", user=people.alice, channel=incident.channel_id or "")

    text = emulator.responses[-1].payload["text"]
    assert f"Commander: <@{people.alice}>" in text
    assert f"Comms: <@{people.bob}>" in text
    assert "Scribe: _unassigned_" in text
    members = text.rsplit("\n", 1)[-1]
    assert f"<@{people.alice}>" in members and f"<@{people.bob}>" in members
    assert f"<@{emulator.bot_user_id}>" not in members


def test_incident_commands_outside_an_incident_channel_explain_where_to_run_them(
    slack: SlackDriver,
    emulator: SlackEmulator,
    people: People,
    incident: Incident,
) -> None:
    slack.command("severity sev1", user=people.alice, channel="C_GENERAL")
    [response] = emulator.responses
    assert "Run this inside an incident channel" in response.payload["text"]


def test_help_lists_every_command(
    slack: SlackDriver, emulator: SlackEmulator, people: People
) -> None:
    slack.command("help", user=people.alice, channel="C1")
    text = emulator.responses[0].payload["text"]
    for usage in (
        "declare <title>",
        "list",
        "role <role> @someone",
        "severity <level>",
        "status <status>",
        "resolve",
    ):
        assert f"`/incident {usage}`" in text


def test_private_incidents_are_invisible_to_non_members(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: People,
) -> None:
    declare(slack, emulator, people.alice, "Public outage")
    declare(slack, emulator, people.alice, "Secret breach", private=True)
    emulator.reset_calls()
    slack.command("list", user=people.dave, channel="C1")
    slack.command("list", user=people.alice, channel="C1")
    outsider, member = (r.payload["text"] for r in emulator.responses)
    assert "Public outage" in outsider
    assert "Secret breach" not in outsider
    assert "Secret breach" in member

    for user in (people.dave, people.alice):
        slack.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"})
    outsider_home = str(emulator.home_view(people.dave))
    member_home = str(emulator.home_view(people.alice))
    assert "Public outage" in outsider_home
    assert "Secret breach" not in outsider_home
    assert "Secret breach" in member_home
    assert "Commander of *INC-2*" in member_home


def test_home_tab_offers_declaring(
    slack: SlackDriver, emulator: SlackEmulator, people: People
) -> None:
    slack.event({"type": "app_home_opened", "user": people.bob, "channel": "D1", "tab": "home"})
    home = emulator.home_view(people.bob)
    assert home is not None
    buttons = [e for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == ["declare_open"]
    slack.action(buttons[0], user=people.bob)
    assert any(v.get("callback_id") == "declare_incident" for v in emulator.views.values())


def test_a_newcomer_gets_a_private_summary_of_the_incident(
    slack: SlackDriver,
    emulator: SlackEmulator,
    people: People,
    incident: Incident,
) -> None:
    channel = incident.channel_id or ""
    _press(slack, emulator, incident, _role_action(incident, "comms", people.bob), people.alice)
    emulator.join(channel, people.dave)

    slack.event({"type": "member_joined_channel", "user": people.dave, "channel": channel})
    slack.event({"type": "member_joined_channel", "user": people.dave, "channel": "C_GENERAL"})

    [welcome] = emulator.ephemeral_messages(channel)
    assert welcome["recipient"] == people.dave
    assert "Welcome to INC-1: Checkout is down (SEV3, Investigating)" in welcome["text"]
    body = welcome["blocks"][0]["text"]["text"]
    assert f"Comms: <@{people.bob}>" in body and "No update posted yet." in body


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_relative_due_dates_are_read_in_the_requesters_time_zone(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: People,
    incident: Incident,
    zone: str,
) -> None:
    # UTC+14 and UTC-11: whatever the hour, their "tomorrow" differs from UTC's somewhere.
    requester = emulator.add_user("zoe", tz=zone)
    emulator.join(incident.channel_id or "", requester)

    slack.command(
        "action rotate the keys due tomorrow", user=requester, channel=incident.channel_id or ""
    )

    expected = datetime.now(ZoneInfo(zone)).date() + timedelta(days=1)
    [item] = runtime.services.actions.items(incident.id or 0)
    assert (item.text, item.due_date) == ("rotate the keys", expected)
    assert f"due {expected.isoformat()}" in _channel_lines(emulator, incident)[-1]
