"""Timeline curation: the scribe or commander rewords or strikes an entry from the channel;
the export shows the new words, who changed them, and what was first recorded."""

from __future__ import annotations

import io
import json

from app.export.delivery import write_export
from app.incidents.errors import UNKNOWN_INCIDENT
from app.runtime import Runtime
from app.store.models import Incident, TimelineEvent
from emulator import SlackEmulator
from tests.support.driver import SlackDriver
from tests.support.story import People, declare, events, incidents


def _replies(emulator: SlackEmulator) -> list[str]:
    return [str(r.payload.get("text", "")) for r in emulator.responses]


def _export(runtime: Runtime, incident: Incident, fmt: str) -> str:
    out = io.StringIO()
    names = {"": ""}
    write_export(runtime.db, incident.id or 0, fmt, out, lambda user: names.get(user, user))
    return out.getvalue()


def _note(runtime: Runtime, incident: Incident) -> TimelineEvent:
    [note] = [e for e in events(runtime.db, incident.id or 0) if e.kind == "note"]
    return note


def _incident_with_note(
    slack: SlackDriver, emulator: SlackEmulator, people: People, *, private: bool = False
) -> Incident:
    declare(slack, emulator, people.alice, "Checkout fails", private=private)
    [incident] = incidents(slack.runtime.db)
    channel = incident.channel_id or ""
    emulator.join(channel, people.carol)
    slack.command(f"role scribe <@{people.bob}>", user=people.alice, channel=channel)
    slack.command("note DB failver at 09:12", user=people.alice, channel=channel)
    return incident


def test_the_scribe_rewords_an_entry_and_the_export_keeps_the_original(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    incident = _incident_with_note(slack, emulator, people)
    channel = incident.channel_id or ""
    note = _note(runtime, incident)

    slack.command("timeline", user=people.bob, channel=channel)
    listing = _replies(emulator)[-1]
    assert f"`{note.id}`" in listing and "DB failver at 09:12" in listing

    slack.command(f"timeline edit {note.id} DB failover at 09:12", user=people.bob, channel=channel)

    assert "reworded" in _replies(emulator)[-1]
    stored = _note(runtime, incident)
    assert stored.text == "DB failver at 09:12"  # what was recorded stays
    assert stored.curated_text == "DB failover at 09:12" and stored.curated_by == people.bob
    markdown = _export(runtime, incident, "markdown")
    assert (
        f"Note: DB failover at 09:12 (edited by @{people.bob}; originally: “DB failver at 09:12”)"
        in markdown
    )
    [entry] = [
        e for e in json.loads(_export(runtime, incident, "json"))["timeline"] if e["kind"] == "note"
    ]
    assert entry["text"] == "DB failver at 09:12"
    assert entry["curated_text"] == "DB failover at 09:12"
    assert entry["curated_by"]["id"] == people.bob

    slack.command("timeline", user=people.carol, channel=channel)
    assert f"edited by <@{people.bob}>" in _replies(emulator)[-1]


def test_the_commander_strikes_and_restores_an_entry(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    incident = _incident_with_note(slack, emulator, people)
    channel = incident.channel_id or ""
    note = _note(runtime, incident)

    slack.command(f"timeline strike {note.id}", user=people.alice, channel=channel)

    assert _note(runtime, incident).struck_at is not None
    markdown = _export(runtime, incident, "markdown")
    assert f"~~Note: DB failver at 09:12~~ (struck by @{people.alice}" in markdown
    slack.command(f"timeline restore {note.id}", user=people.alice, channel=channel)
    assert _note(runtime, incident).struck_at is None
    assert "~~Note" not in _export(runtime, incident, "markdown")


def test_others_get_a_clear_refusal_and_nothing_changes(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    incident = _incident_with_note(slack, emulator, people)
    channel = incident.channel_id or ""
    note = _note(runtime, incident)

    slack.command(f"timeline edit {note.id} nothing happened", user=people.carol, channel=channel)

    refusal = _replies(emulator)[-1]
    assert refusal.startswith(
        f"Only the scribe (<@{people.bob}>) or the commander (<@{people.alice}>) can edit"
    )
    stored = _note(runtime, incident)
    assert stored.curated_text is None and stored.curated_by is None

    slack.command("timeline edit 999999 x", user=people.bob, channel=channel)
    assert "There is no entry 999999 on the INC-1 timeline" in _replies(emulator)[-1]
    slack.command("timeline erase 1", user=people.bob, channel=channel)
    assert _replies(emulator)[-1].startswith("Type `/incident timeline` to list entries")
    slack.command(f"timeline edit {note.id}", user=people.bob, channel=channel)
    assert "new text" in _replies(emulator)[-1]


def test_an_entry_of_another_incident_cannot_be_curated_from_here(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    private = _incident_with_note(slack, emulator, people, private=True)
    secret = _note(runtime, private)
    declare(slack, emulator, people.dave, "Search is slow")
    other = incidents(runtime.db)[-1]

    slack.command(
        f"timeline edit {secret.id} leaked", user=people.dave, channel=other.channel_id or ""
    )

    assert f"There is no entry {secret.id} on the INC-2 timeline" in _replies(emulator)[-1]
    assert _note(runtime, private).curated_text is None


def test_nothing_about_a_private_incident_reaches_a_non_member(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    incident = _incident_with_note(slack, emulator, people, private=True)
    channel = incident.channel_id or ""
    note = _note(runtime, incident)

    slack.command("timeline", user=people.dave, channel=channel)
    slack.command(f"timeline strike {note.id}", user=people.dave, channel=channel)

    assert _replies(emulator)[-2:] == [UNKNOWN_INCIDENT, UNKNOWN_INCIDENT]
    assert _note(runtime, incident).struck_at is None
