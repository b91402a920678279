"""The use cases' port to Slack (`app/incidents/ports.py`), over the gateway.

Reads go straight to the gateway; the two messages a use case posts itself (a reminder,
the note before archiving) are drawn here, so use cases never see Block Kit.
"""

from __future__ import annotations

from typing import Any

from app.config import Settings
from app.incidents.ports import Person, Reminder, ReminderKind
from app.incidents.snapshot import IncidentSnapshot
from app.slack.outbound import blocks, update_blocks
from app.slack.outbound.gateway import SlackGateway


class SlackWorkspace:
    def __init__(self, gateway: SlackGateway, settings: Settings) -> None:
        self.gateway = gateway
        self.settings = settings

    def bot_user_id(self) -> str:
        return self.gateway.bot_user_id()

    def user(self, user_id: str) -> Person:
        return self.gateway.user(user_id)

    def members(self, channel: str) -> list[str]:
        return self.gateway.members(channel)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return self.gateway.message(channel, ts)

    def permalink(self, channel: str, ts: str) -> str:
        return self.gateway.permalink(channel, ts)

    def remind(self, channel: str, reminder: Reminder) -> str:
        if reminder.kind is ReminderKind.UPDATE:
            text, message = update_blocks.update_reminder(
                reminder.incident_id,
                reminder.reference,
                reminder.recipient,
                reminder.last_update_at,
                self.settings.snooze_minutes,
            )
        else:
            text, message = update_blocks.postmortem_nudge(
                reminder.reference, reminder.recipient, self.settings.postmortem_nudge_days
            )
        return self.gateway.post(channel, text, message).ts

    def tell_archiving(self, incident: IncidentSnapshot) -> str:
        return self.gateway.post(incident.channel_id or "", blocks.archiving_notice(incident)).ts

    def archive(self, channel: str) -> None:
        self.gateway.archive(channel)

    def unarchive(self, channel: str) -> None:
        self.gateway.unarchive(channel)
