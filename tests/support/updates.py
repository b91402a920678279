"""Steps shared by the stakeholder update and reminder tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.slack.outbound.update_blocks import UPDATE_CALLBACK
from app.store.database import Database
from app.store.models import Incident, ReminderState, TimelineEvent
from emulator import SlackEmulator
from tests.support.driver import SlackDriver

REMINDER_MARK = ":alarm_clock:"
NUDGE_MARK = ":memo:"
UPDATE_MARK = ":mega:"


def setup_workspace(emulator: SlackEmulator) -> str:
    """The announcement channel and the responder who declares; returns her user id."""
    alice = emulator.user_by_name("alice").id
    emulator.add_channel("incidents", members=[alice])
    return alice


def general(emulator: SlackEmulator) -> str:
    return emulator.channel_by_name("general").id


def declare(slack: SlackDriver, db: Database, user: str, title: str = "Checkout fails") -> Incident:
    slack.command(f"declare {title}", user=user, channel=general(slack.emulator))
    with db.session() as session:
        incident: Incident = session.execute(
            select(Incident).order_by(col(Incident.id).desc()).limit(1)
        ).scalar_one()
    assert incident.channel_id is not None, "the incident channel was not created"
    return incident


def command(slack: SlackDriver, incident: Incident, text: str, user: str) -> None:
    assert incident.channel_id is not None
    slack.command(text, user=user, channel=incident.channel_id)


def update_views(emulator: SlackEmulator) -> list[dict[str, Any]]:
    return [v for v in emulator.views.values() if v.get("callback_id") == UPDATE_CALLBACK]


def open_update_form(slack: SlackDriver, incident: Incident, user: str) -> dict[str, Any]:
    before = len(update_views(slack.emulator))
    slack.action(
        {
            "type": "button",
            "action_id": "post_update",
            "block_id": f"controls:{incident.id}",
            "value": str(incident.id),
        },
        user=user,
        channel=incident.channel_id,
    )
    views = update_views(slack.emulator)
    assert len(views) == before + 1, "the update form did not open"
    return views[-1]


def form_values(
    know: str, doing: str = "", minutes: str = "60", status: str = "investigating"
) -> dict[str, dict[str, Any]]:
    return {
        "status": {
            "value": {"type": "static_select", "selected_option": {"value": status}},
        },
        "know": {"value": {"type": "plain_text_input", "value": know}},
        "doing": {"value": {"type": "plain_text_input", "value": doing}},
        "next": {"value": {"type": "number_input", "value": minutes}},
    }


def post_update(
    slack: SlackDriver,
    incident: Incident,
    user: str,
    know: str,
    *,
    minutes: str = "60",
    status: str = "investigating",
    wait: bool = True,
) -> None:
    view = open_update_form(slack, incident, user)
    values = form_values(know, "Rolling back", minutes, status)
    result = slack.submit(view, values, user=user, wait=wait)
    assert result.status == 200 and not result.body, result.body


def press_snooze(slack: SlackDriver, incident: Incident, user: str) -> None:
    slack.action(
        {
            "type": "button",
            "action_id": "snooze_update",
            "block_id": f"reminder:{incident.id}",
            "value": str(incident.id),
        },
        user=user,
        channel=incident.channel_id,
    )


def messages_marked(emulator: SlackEmulator, channel: str, mark: str) -> list[dict[str, Any]]:
    return [m for m in emulator.messages(channel) if mark in _all_text(m)]


def reminders(emulator: SlackEmulator, incident: Incident) -> list[dict[str, Any]]:
    assert incident.channel_id is not None
    return messages_marked(emulator, incident.channel_id, REMINDER_MARK)


def _all_text(message: dict[str, Any]) -> str:
    parts = [str(message.get("text", ""))]
    for block in message.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(str(text.get("text", "")))
    return "\n".join(parts)


def events_of(db: Database, incident_id: int, kind: str) -> list[TimelineEvent]:
    with db.session() as session:
        return list(
            session.execute(
                select(TimelineEvent).where(
                    col(TimelineEvent.incident_id) == incident_id, col(TimelineEvent.kind) == kind
                )
            )
            .scalars()
            .all()
        )


def reminder_state(db: Database, incident_id: int) -> ReminderState | None:
    with db.session() as session:
        return session.get(ReminderState, incident_id)
