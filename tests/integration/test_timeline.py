"""Marked messages, notes and action items land on the timeline, once each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.incidents import repository as repo
from app.incidents.actions import NewActionItem
from app.incidents.rules import Source
from app.store.models import ActionItem, Incident, TimelineEvent
from emulator import SlackEmulator
from tests.support.driver import SlackDriver


def declare(slack: SlackDriver, emulator: SlackEmulator, user: str, title: str) -> Incident:
    general = emulator.channel_by_name("general").id
    slack.command(f"declare {title}", user=user, channel=general)
    with slack.runtime.db.session() as session:
        incidents = session.execute(select(Incident).order_by(col(Incident.id).desc())).scalars()
        incident: Incident = next(iter(incidents))
    assert incident.channel_id is not None
    return incident


def events(slack: SlackDriver, incident: Incident, kind: str | None = None) -> list[TimelineEvent]:
    assert incident.id is not None
    with slack.runtime.db.session() as session:
        found: Sequence[TimelineEvent] = repo.timeline(session, incident.id)
    return [event for event in found if kind is None or event.kind == kind]


def pin_event(channel: str, ts: str, user: str, kind: str = "pin_added") -> dict[str, Any]:
    return {
        "type": kind,
        "user": user,
        "channel_id": channel,
        "item": {
            "type": "message",
            "channel": channel,
            "created": 1,
            "created_by": user,
            "message": {"type": "message", "ts": ts, "user": user, "text": "stale copy"},
        },
        "event_ts": "1.000001",
    }


def reaction_event(
    channel: str, ts: str, user: str, kind: str = "reaction_added"
) -> dict[str, Any]:
    return {
        "type": kind,
        "user": user,
        "reaction": "pushpin",
        "item_user": user,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": "1.000002",
    }


def test_a_pinned_message_lands_on_the_timeline_at_its_own_time(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice, bob = emulator.user_by_name("alice").id, emulator.user_by_name("bob").id
    incident = declare(slack, emulator, alice, "Checkout fails")
    channel = incident.channel_id or ""
    ts = emulator.add_message(channel, bob, "Error rate is 40% on eu-west since 10:02")

    slack.event(pin_event(channel, ts, alice))

    [pinned] = events(slack, incident, "message_pinned")
    assert pinned.text == "Error rate is 40% on eu-west since 10:02"
    assert pinned.actor_id == bob
    assert pinned.data["marked_by"] == alice
    assert pinned.occurred_at == datetime.fromtimestamp(float(ts), UTC)
    assert pinned.permalink and f"/archives/{channel}/p{ts.replace('.', '')}" in pinned.permalink
    assert pinned.removed_at is None


def test_a_pinned_thread_reply_is_fetched_from_its_thread(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice, bob = emulator.user_by_name("alice").id, emulator.user_by_name("bob").id
    incident = declare(slack, emulator, alice, "Queue backlog")
    channel = incident.channel_id or ""
    root = emulator.add_message(channel, bob, "Looking at the queue")
    reply = emulator.add_message(channel, bob, "Consumer group is stuck", thread_ts=root)

    slack.event(pin_event(channel, reply, alice))

    [pinned] = events(slack, incident, "message_pinned")
    assert pinned.text == "Consumer group is stuck"
    assert pinned.message_ts == reply


def test_a_duplicate_pin_gives_one_event(slack: SlackDriver, emulator: SlackEmulator) -> None:
    alice, bob = emulator.user_by_name("alice").id, emulator.user_by_name("bob").id
    incident = declare(slack, emulator, alice, "Login slow")
    channel = incident.channel_id or ""
    ts = emulator.add_message(channel, bob, "p99 at 8s")

    slack.event(pin_event(channel, ts, alice), event_id="EvPIN1")
    slack.event(pin_event(channel, ts, alice), event_id="EvPIN1")  # Slack's retry
    slack.event(pin_event(channel, ts, bob), event_id="EvPIN2")  # a second pin event

    assert len(events(slack, incident, "message_pinned")) == 1


def test_pin_events_arriving_together_give_one_event(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice, bob = emulator.user_by_name("alice").id, emulator.user_by_name("bob").id
    incident = declare(slack, emulator, alice, "Billing lag")
    channel = incident.channel_id or ""
    ts = emulator.add_message(channel, bob, "Invoices 20 minutes behind")

    for number in range(4):
        slack.event(pin_event(channel, ts, alice), event_id=f"EvTOGETHER{number}", wait=False)
    slack.wait()

    assert len(events(slack, incident, "message_pinned")) == 1


def test_unpinning_marks_the_event_removed_and_repinning_restores_it(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice = emulator.user_by_name("alice").id
    incident = declare(slack, emulator, alice, "DNS flaps")
    channel = incident.channel_id or ""
    ts = emulator.add_message(channel, alice, "Resolver timeouts in us-east")
    slack.event(pin_event(channel, ts, alice))

    slack.event(pin_event(channel, ts, alice, "pin_removed"))

    [removed] = events(slack, incident, "message_pinned")
    assert removed.removed_at is not None
    assert removed.text == "Resolver timeouts in us-east"

    slack.event(pin_event(channel, ts, alice))
    [restored] = events(slack, incident, "message_pinned")
    assert restored.id == removed.id
    assert restored.removed_at is None


def test_a_pushpin_reaction_marks_and_its_removal_unmarks(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice, carol = emulator.user_by_name("alice").id, emulator.user_by_name("carol").id
    incident = declare(slack, emulator, alice, "Payments double charge")
    channel = incident.channel_id or ""
    ts = emulator.add_message(channel, carol, "Rolled back deploy 4512")
    other = emulator.add_message(channel, carol, "lunch?")

    emulator.react(channel, ts, "pushpin", user_id=alice)
    slack.event(reaction_event(channel, ts, alice))
    emulator.react(channel, other, "tada", user_id=alice)
    slack.event({**reaction_event(channel, other, alice), "reaction": "tada"})

    [marked] = events(slack, incident, "message_reacted")
    assert (marked.text, marked.actor_id, marked.source) == (
        "Rolled back deploy 4512",
        carol,
        "reaction",
    )

    emulator.unreact(channel, ts, "pushpin", user_id=alice)
    slack.event(reaction_event(channel, ts, alice, "reaction_removed"))
    [unmarked] = events(slack, incident, "message_reacted")
    assert unmarked.removed_at is not None


def test_a_message_stays_marked_while_someone_still_has_a_pushpin_on_it(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice, carol = emulator.user_by_name("alice").id, emulator.user_by_name("carol").id
    incident = declare(slack, emulator, alice, "Flaky deploys")
    channel = incident.channel_id or ""
    ts = emulator.add_message(channel, carol, "Deploys fail on runner 7 only")
    for user in (alice, carol):
        emulator.react(channel, ts, "pushpin", user_id=user)
        slack.event(reaction_event(channel, ts, user))

    emulator.unreact(channel, ts, "pushpin", user_id=carol)
    slack.event(reaction_event(channel, ts, carol, "reaction_removed"))

    [marked] = events(slack, incident, "message_reacted")
    assert marked.removed_at is None


def test_editing_a_marked_message_keeps_the_original(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice = emulator.user_by_name("alice").id
    incident = declare(slack, emulator, alice, "Search down")
    channel = incident.channel_id or ""
    ts = emulator.add_message(channel, alice, "Index is corrupt")
    slack.event(pin_event(channel, ts, alice))
    emulator.edit_message(channel, ts, "Index shard 3 is corrupt", user_id=alice)
    edited = emulator.messages(channel)
    message = next(m for m in edited if m["ts"] == ts)

    slack.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "channel": channel,
            "message": message,
            "previous_message": {**message, "text": "Index is corrupt"},
            "event_ts": message["edited"]["ts"],
            "ts": message["edited"]["ts"],
        }
    )

    [pinned] = events(slack, incident, "message_pinned")
    assert pinned.text == "Index shard 3 is corrupt"
    assert pinned.original_text == "Index is corrupt"
    assert pinned.edited_at == datetime.fromtimestamp(float(message["edited"]["ts"]), UTC)


def test_marks_outside_incident_channels_and_the_bots_own_card_pin_are_ignored(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice = emulator.user_by_name("alice").id
    incident = declare(slack, emulator, alice, "Cache stampede")
    channel = incident.channel_id or ""
    general = emulator.channel_by_name("general").id
    chatter = emulator.add_message(general, alice, "anyone else seeing 500s?")

    slack.event(pin_event(general, chatter, alice))
    slack.event(pin_event(channel, incident.card_ts or "", emulator.bot_user_id))

    assert incident.card_ts
    assert events(slack, incident, "message_pinned") == []


def test_a_note_lands_on_the_timeline(slack: SlackDriver, emulator: SlackEmulator) -> None:
    alice = emulator.user_by_name("alice").id
    incident = declare(slack, emulator, alice, "Disk full")
    channel = incident.channel_id or ""

    slack.command("note Freed 200 GB by rotating logs", user=alice, channel=channel)

    [note] = events(slack, incident, "note")
    assert (note.text, note.actor_id, note.source) == (
        "Freed 200 GB by rotating logs",
        alice,
        "command",
    )


def test_an_action_item_from_add_to_done(slack: SlackDriver, emulator: SlackEmulator) -> None:
    alice, bob = emulator.user_by_name("alice").id, emulator.user_by_name("bob").id
    incident = declare(slack, emulator, alice, "Cert expired")
    channel = incident.channel_id or ""

    slack.command(
        f"action Alert 14 days before expiry <@{bob}> due 2026-12-15", user=alice, channel=channel
    )
    with slack.runtime.db.session() as session:
        [item] = session.execute(select(ActionItem)).scalars().all()
    assert (item.text, item.owner_id, item.due_date, item.state) == (
        "Alert 14 days before expiry",
        bob,
        date(2026, 12, 15),
        "open",
    )

    slack.command("actions", user=alice, channel=channel)
    listed = emulator.ephemeral_messages(channel)[-1]
    button = next(b["accessory"] for b in listed["blocks"] if b.get("accessory", {}).get("value"))
    assert button["value"] == str(item.id)

    for _ in range(2):  # a double click, by the owner (who need not be in the channel)
        slack.action(
            {"action_id": button["action_id"], "value": button["value"], "type": "button"},
            user=bob,
            channel=channel,
            message={"ts": listed["ts"]},
        )

    with slack.runtime.db.session() as session:
        done = session.get(ActionItem, item.id)
    assert done is not None
    assert (done.state, done.done_by) == ("done", bob)
    kinds = [event.kind for event in events(slack, incident)]
    assert kinds.count("action_item_added") == 1
    assert kinds.count("action_item_done") == 1


def test_marking_an_action_item_done_never_pings_or_masks_a_link(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice = emulator.user_by_name("alice").id
    incident = declare(slack, emulator, alice, "Cert expired")
    channel = incident.channel_id or ""
    # Slack escapes slash-command text, so this is what arrives for "tell @channel ...".
    slack.command(
        "action tell &lt;!channel&gt; and read &lt;https://evil.example|docs&gt;",
        user=alice,
        channel=channel,
    )
    with slack.runtime.db.session() as session:
        [item] = session.execute(select(ActionItem)).scalars().all()
    item.text = "tell <!channel> and read <https://evil.example|docs>"  # as a modal stores it
    with slack.runtime.db.session() as session:
        session.add(item)

    slack.action(
        {"action_id": "action_item_done", "value": str(item.id), "type": "button"},
        user=alice,
        channel=channel,
    )

    posts = [m["text"] for m in emulator.messages(channel) if "action item" in m.get("text", "")]
    assert posts and all("<!channel>" not in text and "<https" not in text for text in posts)
    assert "marked an action item done: tell &lt;!channel&gt;" in posts[-1]


def test_an_action_item_from_the_card_modal(slack: SlackDriver, emulator: SlackEmulator) -> None:
    alice, dave = emulator.user_by_name("alice").id, emulator.user_by_name("dave").id
    incident = declare(slack, emulator, alice, "Webhook retries")
    channel = incident.channel_id or ""
    card = next(m for m in emulator.messages(channel) if m["ts"] == incident.card_ts)
    button = next(
        element
        for block in card["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == "action_item_open"
    )

    slack.action(
        {"action_id": button["action_id"], "value": button["value"], "type": "button"},
        user=alice,
        channel=channel,
        message=card,
    )
    [view] = [v for v in emulator.views.values() if v.get("callback_id") == "action_item_add"]
    slack.submit(
        view,
        {
            "text": {"value": {"type": "plain_text_input", "value": "Cap retries at 5"}},
            "owner": {"value": {"type": "users_select", "selected_user": dave}},
            "due": {"value": {"type": "datepicker", "selected_date": "2026-12-20"}},
        },
        user=alice,
    )

    with slack.runtime.db.session() as session:
        [item] = session.execute(select(ActionItem)).scalars().all()
    assert (item.text, item.owner_id, item.due_date) == (
        "Cap retries at 5",
        dave,
        date(2026, 12, 20),
    )


def test_a_mark_is_kept_when_slack_cannot_give_the_message_text(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice, bob = emulator.user_by_name("alice").id, emulator.user_by_name("bob").id
    incident = declare(slack, emulator, alice, "Slack flaky too")
    channel = incident.channel_id or ""
    ts = emulator.add_message(channel, bob, "Retry storm from the mobile app")
    emulator.fail_next("conversations.history", "internal_error")

    slack.event(reaction_event(channel, ts, alice))

    [marked] = events(slack, incident, "message_reacted")
    assert (marked.message_ts, marked.data["marked_by"]) == (ts, alice)
    assert marked.occurred_at == datetime.fromtimestamp(float(ts), UTC)


def test_command_action_text_is_stored_as_typed_and_escaped_once(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice = emulator.user_by_name("alice").id
    incident = declare(slack, emulator, alice, "Cert expired")
    channel = incident.channel_id or ""
    # What Slack sends for: check <b> & "x > y"
    slack.command('action check &lt;b&gt; &amp; "x &gt; y"', user=alice, channel=channel)
    with slack.runtime.db.session() as session:
        [item] = session.execute(select(ActionItem)).scalars().all()
    assert item.text == 'check <b> & "x > y"'

    slack.command("actions", user=alice, channel=channel)
    slack.action(
        {"action_id": "action_item_done", "value": str(item.id), "type": "button"},
        user=alice,
        channel=channel,
    )
    shown = [m["text"] for m in emulator.messages(channel) if "action item" in m["text"]]
    shown += [
        block["text"]["text"]
        for block in emulator.ephemeral_messages(channel)[-1]["blocks"]
        if "check" in block.get("text", {}).get("text", "")
    ]
    assert len(shown) == 3  # added, done, listed
    for text in shown:
        assert 'check &lt;b&gt; &amp; "x &gt; y"' in text
        assert "&amp;lt;" not in text and "&amp;amp;" not in text


def test_a_long_action_list_says_how_many_are_not_shown(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice = emulator.user_by_name("alice").id
    incident = declare(slack, emulator, alice, "Many follow-ups")
    assert incident.id is not None
    for n in range(60):
        slack.runtime.services.actions.add(
            incident.id, NewActionItem(f"follow-up {n}"), alice, Source.COMMAND, f"seed:{n}"
        )

    slack.command("actions", user=alice, channel=incident.channel_id or "")
    listed = emulator.ephemeral_messages(incident.channel_id or "")[-1]["blocks"]
    assert len(listed) <= 50
    note = listed[-1]
    assert note["type"] == "context"
    assert "Showing 45 of 60: 15 more" in note["elements"][0]["text"]
    assert "/incident export" in note["elements"][0]["text"]


def test_plain_messages_are_acknowledged_and_dropped_unread(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    """message.channels delivers every message; only edits of marked ones matter."""
    alice = emulator.user_by_name("alice").id
    incident = declare(slack, emulator, alice, "Chatty channel")
    before = len(events(slack, incident))
    emulator.reset_calls()
    message = {"type": "message", "channel": incident.channel_id, "user": alice}
    for n in range(5):
        result = slack.event({**message, "text": f"chatter {n}", "ts": f"1700000000.00000{n}"})
        assert result.status == 200
    edit = {
        "type": "message",
        "subtype": "message_changed",
        "channel": incident.channel_id,
        "message": {"ts": "1700000000.000001", "text": "edited", "edited": {"ts": "1.0"}},
    }
    assert slack.event(edit).status == 200  # an edit of a message nobody marked
    assert emulator.calls == []
    assert len(events(slack, incident)) == before
