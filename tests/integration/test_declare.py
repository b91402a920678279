"""Declaring an incident from Slack: the modal, the text command, the channel, the card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.insight.loader import load_incidents
from app.runtime import Runtime
from emulator import SlackEmulator
from emulator.driver import HttpResult
from tests.support.driver import SlackDriver
from tests.support.story import (
    People,
    declare,
    declare_modal,
    event_kinds,
    events,
    incidents,
    modal_values,
)


def test_slash_command_without_text_opens_the_declare_modal(
    slack: SlackDriver, emulator: SlackEmulator, people: People
) -> None:
    slack.command("", user=people.alice, channel="C1")
    modal = declare_modal(emulator)
    block_ids = [block.get("block_id") for block in modal["blocks"]]
    assert block_ids == ["title", "severity", "summary", "impact_started", "options"]
    assert modal["blocks"][3]["element"]["type"] == "datetimepicker"
    severity = modal["blocks"][1]["element"]
    assert [o["value"] for o in severity["options"]] == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert all(o["description"]["text"] for o in severity["options"])
    assert modal["blocks"][0]["element"]["max_length"] == 80


def test_modal_declaration_sets_up_channel_card_and_announcement(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    result = declare(
        slack,
        emulator,
        people.alice,
        "Checkout fails for EU users",
        "SEV2",
        summary="Payments time out",
    )
    assert result.status == 200
    # The modal answers at once with the reference; Slack work happens after the answer.
    assert result.json()["response_action"] == "update"
    assert "*INC-1* is recorded" in str(result.json()["view"])

    [incident] = incidents(runtime.db)
    assert incident.reference == "INC-1"
    assert incident.setup_complete
    channel = emulator.channel_by_name("inc-1-checkout-fails-for-eu-users")
    assert incident.channel_id == channel.id
    assert not channel.is_private
    assert people.alice in channel.members
    assert channel.topic.value == f"INC-1 · SEV2 · Investigating · Commander: <@{people.alice}>"

    [card] = emulator.messages(channel.id)
    assert card["blocks"][0]["text"]["text"] == "INC-1: Checkout fails for EU users"
    assert [pin["ts"] for pin in emulator.pins(channel.id)] == [card["ts"]]

    announce = emulator.channel_by_name("incidents")
    [root] = emulator.messages(announce.id)
    assert root["ts"] == incident.announcement_ts
    assert f"<#{channel.id}>" in root["blocks"][1]["text"]["text"]
    [bookmark] = emulator.bookmarks(channel.id)
    assert bookmark["title"] == "Stakeholder updates"

    [reply] = emulator.responses
    assert f"INC-1* is ready: <#{channel.id}>" in reply.payload["text"]
    assert event_kinds(runtime.db, incident.id or 0) == [
        "declared",
        "role_assigned",
        "channel_ready",
    ]


@pytest.mark.parametrize(
    ("title", "error"),
    [
        ("", "Give the incident a title"),
        ("   \u200b\t", "Give the incident a title"),
        ("x" * 81, "80 characters"),
    ],
)
def test_invalid_title_is_an_inline_modal_error(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: People,
    title: str,
    error: str,
) -> None:
    result = declare(slack, emulator, people.alice, title)
    assert result.status == 200
    body = result.json()
    assert body["response_action"] == "errors"
    assert error in body["errors"]["title"]
    assert incidents(runtime.db) == []
    assert emulator.calls_to("conversations.create") == []


def test_unknown_severity_is_an_inline_modal_error(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    result = declare(slack, emulator, people.alice, "Disk full", "SEV9")
    assert "SEV1, SEV2, SEV3, SEV4" in result.json()["errors"]["severity"]
    assert incidents(runtime.db) == []


def test_text_declaration_uses_defaults(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    slack.command("declare Search is slow", user=people.bob, channel="C1")
    [incident] = incidents(runtime.db)
    assert (incident.title, incident.severity, incident.declared_by) == (
        "Search is slow",
        "SEV3",
        people.bob,
    )
    assert emulator.channel_by_name("inc-1-search-is-slow").id == incident.channel_id
    replies = [r.payload["text"] for r in emulator.responses]
    assert any("INC-1* is ready" in text for text in replies)


def test_text_declaration_without_title_says_what_to_type(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    slack.command("declare", user=people.bob, channel="C1")
    [reply] = emulator.responses
    assert "Give the incident a title" in reply.payload["text"]
    assert incidents(runtime.db) == []


def test_taken_channel_name_gets_a_suffix(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    emulator.add_channel("inc-1-database-down", members=[people.dave])
    emulator.add_channel("inc-1-database-down-2", members=[people.dave])
    declare(slack, emulator, people.alice, "Database down")
    [incident] = incidents(runtime.db)
    assert incident.channel_name == "inc-1-database-down-3"
    assert emulator.channel_by_name("inc-1-database-down-3").id == incident.channel_id


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("🔥🔥🔥", "inc-1"),
        ("Платежи не проходят", "inc-1"),
        ("Café “Zürich” API — 500s!", "inc-1-cafe-zurich-api-500s"),
        ("a" * 80, "inc-1-" + "a" * 74),
    ],
)
def test_any_title_gives_a_valid_channel_name(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: People,
    title: str,
    expected: str,
) -> None:
    declare(slack, emulator, people.alice, title)
    [incident] = incidents(runtime.db)
    assert incident.channel_name == expected
    assert incident.title == title


def test_private_incident_gets_a_private_channel_and_no_announcement(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    declare(slack, emulator, people.alice, "Credential leak", "SEV1", private=True)
    [incident] = incidents(runtime.db)
    channel = emulator.channel(incident.channel_id or "")
    assert channel.is_private
    assert emulator.messages(emulator.channel_by_name("incidents").id) == []
    assert incident.announcement_ts is None
    assert incident.setup_complete


def test_numbers_increase_per_declaration(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    for title in ("One", "Two", "Three"):
        slack.command(f"declare {title}", user=people.alice, channel="C1")
    assert [i.reference for i in incidents(runtime.db)] == ["INC-1", "INC-2", "INC-3"]


def test_modal_submitted_twice_declares_once(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    slack.command("", user=people.alice, channel="C1")
    view = declare_modal(emulator)
    values = modal_values("Queue backlog")
    first = slack.submit(view, values, user=people.alice, view_hash="h-1", wait=False)
    second = slack.submit(view, values, user=people.alice, view_hash="h-1")
    assert (first.status, second.status) == (200, 200)
    assert len(incidents(runtime.db)) == 1
    assert len(emulator.calls_to("conversations.create")) == 1


def test_slack_failure_during_setup_is_reported_and_recorded(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    emulator.fail_next("pins.add", "channel_not_found", times=1)
    declare(slack, emulator, people.alice, "Cache stampede")
    [incident] = incidents(runtime.db)
    assert not incident.setup_complete
    # Only the failed step's own chain stops; the other steps finish.
    assert set(incident.setup_steps) == {
        "channel",
        "invite",
        "topic",
        "card",
        "announce",
        "bookmark",
    }
    [reply] = emulator.responses
    assert "INC-1* is recorded" in reply.payload["text"]
    assert "pin the card" in reply.payload["text"]
    assert "setup_delayed" in event_kinds(runtime.db, incident.id or 0)

    results = runtime.services.provisioner.resume_all()
    assert [r.complete for r in results] == [True]
    assert len(emulator.calls_to("conversations.create")) == 1
    channel_id = incident.channel_id or ""
    assert len(emulator.messages(channel_id)) == 1
    assert len(emulator.pins(channel_id)) == 1


def _declare_with_impact_start(
    slack: SlackDriver, emulator: SlackEmulator, user: str, started: datetime
) -> HttpResult:
    slack.command("", user=user, channel="C1")
    values = modal_values("Search is slow")
    values["impact_started"] = {
        "value": {"type": "datetimepicker", "selected_date_time": int(started.timestamp())}
    }
    return slack.submit(declare_modal(emulator), values, user=user)


def test_impact_start_is_recorded_and_measures_time_to_detect(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=42)

    result = _declare_with_impact_start(slack, emulator, people.alice, started)

    assert result.json()["response_action"] == "update"
    [incident] = incidents(runtime.db)
    [impact] = [e for e in events(runtime.db, incident.id or 0) if e.kind == "impact_started"]
    assert impact.occurred_at == started
    assert impact.actor_id == people.alice
    [record] = load_incidents(runtime.db, started - timedelta(days=1), started + timedelta(days=1))
    assert record.impact_started_at == started
    assert record.detected_at is None  # no alert: time to detect runs to the declaration


def test_impact_start_in_the_future_is_an_inline_modal_error(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    later = datetime.now(UTC) + timedelta(hours=2)

    result = _declare_with_impact_start(slack, emulator, people.alice, later)

    assert result.json()["response_action"] == "errors"
    assert "cannot start in the future" in result.json()["errors"]["impact_started"]
    assert incidents(runtime.db) == []
