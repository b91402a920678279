"""Shortcuts through signed `shortcut` and `message_action` payloads against the emulator."""

from __future__ import annotations

from typing import Any

from app.incidents.errors import UNKNOWN_INCIDENT
from app.runtime import Runtime
from app.store.models import Incident
from emulator import SlackEmulator, payloads
from emulator.driver import FORM, http_request
from tests.support.driver import SlackDriver
from tests.support.story import People, declare, declare_modal, events, incidents, modal_values


def _message(emulator: SlackEmulator, channel: str, user: str, text: str) -> dict[str, Any]:
    ts = emulator.add_message(channel, user, text)
    return {"type": "message", "user": user, "text": text, "ts": ts}


def _replies(emulator: SlackEmulator) -> list[str]:
    return [str(r.payload.get("text", "")) for r in emulator.responses]


def _added(runtime: Runtime, incident: Incident) -> list[str]:
    return [e.text for e in events(runtime.db, incident.id or 0) if e.kind == "message_added"]


def _picker(emulator: SlackEmulator) -> dict[str, Any]:
    views = [v for v in emulator.views.values() if v.get("callback_id") == "add_to_timeline_pick"]
    assert views, "no picker was opened"
    return views[-1]


def _pick(view: dict[str, Any], incident_id: int) -> dict[str, dict[str, Any]]:
    option = {"value": str(incident_id)}
    return {"incident": {"value": {"type": "static_select", "selected_option": option}}}


def test_declare_shortcut_opens_the_declare_modal_from_anywhere(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    result = slack.shortcut("declare_incident", user=people.alice)
    assert result.status == 200
    modal = declare_modal(emulator)
    assert [b.get("block_id") for b in modal["blocks"]] == [
        "title",
        "severity",
        "summary",
        "impact_started",
        "options",
    ]
    slack.submit(modal, modal_values("Search is slow", "SEV2"), user=people.alice)
    [incident] = incidents(runtime.db)
    assert incident.title == "Search is slow" and incident.setup_complete
    # No response_url with a global shortcut: the declarer hears back in their DM.
    dm = emulator.messages(emulator.dm_with(people.alice))
    assert any("INC-1* is ready" in m["text"] for m in dm)


def test_add_to_timeline_in_the_incident_channel_is_confirmed_only_to_the_user(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    declare(slack, emulator, people.alice, "Checkout fails")
    [incident] = incidents(runtime.db)
    channel = incident.channel_id or ""
    emulator.join(channel, people.bob)
    message = _message(emulator, channel, people.bob, "Rolled back deploy 42")
    trigger = emulator.new_trigger_id(people.alice)

    slack.message_action(
        "add_to_timeline", user=people.alice, channel=channel, message=message, trigger_id=trigger
    )

    assert _added(runtime, incident) == ["Rolled back deploy 42"]
    [event] = [e for e in events(runtime.db, incident.id or 0) if e.kind == "message_added"]
    assert event.actor_id == people.bob and event.source == "shortcut"
    assert event.data["marked_by"] == people.alice
    assert _replies(emulator)[-1] == ":pushpin: Added to the INC-1 timeline."
    assert not [m for m in emulator.messages(channel) if "Added to" in m.get("text", "")]

    # Slack delivering the same shortcut again changes nothing and says nothing.
    count = len(emulator.responses)
    slack.message_action(
        "add_to_timeline", user=people.alice, channel=channel, message=message, trigger_id=trigger
    )
    assert len(emulator.responses) == count
    # Choosing it again on the same message: once on the timeline, and told so.
    slack.message_action("add_to_timeline", user=people.bob, channel=channel, message=message)
    assert _added(runtime, incident) == ["Rolled back deploy 42"]
    assert _replies(emulator)[-1] == "That message is on the INC-1 timeline already."


def test_add_to_timeline_elsewhere_picks_among_incidents_the_user_may_see(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    declare(slack, emulator, people.alice, "Checkout fails")
    declare(slack, emulator, people.alice, "Leaked admin token", private=True)
    public, private = incidents(runtime.db)
    random = emulator.channel_by_name("random").id
    message = _message(emulator, random, people.carol, "Customers in EU see 502s")

    slack.message_action("add_to_timeline", user=people.bob, channel=random, message=message)
    options = _picker(emulator)["blocks"][1]["element"]["options"]
    assert [o["value"] for o in options] == [str(public.id)]  # not the private one
    assert "Leaked" not in str(_picker(emulator))

    slack.message_action("add_to_timeline", user=people.alice, channel=random, message=message)
    picker = _picker(emulator)
    options = picker["blocks"][1]["element"]["options"]
    assert {o["value"] for o in options} == {str(public.id), str(private.id)}
    assert "Customers in EU see 502s" in picker["blocks"][0]["text"]["text"]

    slack.submit(picker, _pick(picker, private.id or 0), user=people.alice)
    assert _added(runtime, private) == ["Customers in EU see 502s"]
    assert _replies(emulator)[-1] == ":pushpin: Added to the INC-2 timeline."


def test_a_non_member_cannot_add_to_a_private_incident_with_a_forged_pick(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    declare(slack, emulator, people.alice, "Checkout fails")
    declare(slack, emulator, people.alice, "Leaked admin token", private=True)
    _, private = incidents(runtime.db)
    random = emulator.channel_by_name("random").id
    message = _message(emulator, random, people.carol, "Customers in EU see 502s")
    slack.message_action("add_to_timeline", user=people.bob, channel=random, message=message)
    picker = _picker(emulator)

    slack.submit(picker, _pick(picker, private.id or 0), user=people.bob)

    assert _added(runtime, private) == []
    assert _replies(emulator)[-1] == UNKNOWN_INCIDENT
    assert not any("Leaked" in text for text in _replies(emulator))


def test_no_open_incident_means_no_picker(
    slack: SlackDriver, emulator: SlackEmulator, people: People
) -> None:
    random = emulator.channel_by_name("random").id
    message = _message(emulator, random, people.carol, "Is something down?")
    slack.message_action("add_to_timeline", user=people.bob, channel=random, message=message)
    assert _replies(emulator) == ["There is no open incident you can add this message to."]
    assert not [v for v in emulator.views.values() if v.get("callback_id")]


def test_a_forged_shortcut_without_a_signature_is_refused(
    slack: SlackDriver, emulator: SlackEmulator, people: People
) -> None:
    payload = payloads.global_shortcut(
        team_id=emulator.team_id,
        user_id=people.alice,
        callback_id="declare_incident",
        trigger_id=emulator.new_trigger_id(people.alice),
    )
    result = http_request(slack.url, payloads.interactive_body(payload), {"Content-Type": FORM})
    assert result.status == 401
    assert emulator.views == {}
