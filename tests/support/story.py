"""Steps of the incident story, shared by tests: declare through the real modal, find things."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.store.database import Database
from app.store.models import Incident, TimelineEvent
from emulator import SlackEmulator
from emulator.driver import HttpResult
from tests.support.driver import SlackDriver


@dataclass
class People:
    alice: str
    bob: str
    carol: str
    dave: str
    erin: str  # deactivated
    pagerbot: str  # another app's bot


def seed_people(emulator: SlackEmulator) -> People:
    ids = {
        name: emulator.user_by_name(name).id
        for name in ("alice", "bob", "carol", "dave", "erin", "pagerbot")
    }
    return People(**ids)


def add_announce_channel(emulator: SlackEmulator, people: People) -> str:
    return emulator.add_channel("incidents", members=[people.alice, people.bob, people.carol])


def declare_modal(emulator: SlackEmulator) -> dict[str, Any]:
    """The declare modal Firebreak opened most recently."""
    modals = [v for v in emulator.views.values() if v.get("callback_id") == "declare_incident"]
    assert modals, "no declare modal was opened"
    return modals[-1]


def modal_values(
    title: str,
    severity: str = "SEV3",
    summary: str = "",
    *,
    private: bool = False,
    commander: bool = True,
) -> dict[str, dict[str, Any]]:
    options = [{"value": "commander"}] if commander else []
    if private:
        options.append({"value": "private"})
    return {
        "title": {"value": {"type": "plain_text_input", "value": title}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": severity}}},
        "summary": {"value": {"type": "plain_text_input", "value": summary}},
        "options": {"value": {"type": "checkboxes", "selected_options": options}},
    }


def declare(
    slack: SlackDriver,
    emulator: SlackEmulator,
    user: str,
    title: str,
    severity: str = "SEV3",
    *,
    private: bool = False,
    channel: str = "C_ANYWHERE",
    summary: str = "",
) -> HttpResult:
    opened = slack.command("", user=user, channel=channel)
    assert opened.status == 200
    return slack.submit(
        declare_modal(emulator),
        modal_values(title, severity, summary, private=private),
        user=user,
    )


def incidents(db: Database) -> list[Incident]:
    with db.session() as session:
        return list(session.execute(select(Incident).order_by(col(Incident.number))).scalars())


def events(db: Database, incident_id: int) -> list[TimelineEvent]:
    with db.session() as session:
        return list(
            session.execute(
                select(TimelineEvent)
                .where(col(TimelineEvent.incident_id) == incident_id)
                .order_by(col(TimelineEvent.occurred_at), col(TimelineEvent.id))
            ).scalars()
        )


def event_kinds(db: Database, incident_id: int) -> list[str]:
    return [event.kind for event in events(db, incident_id)]
