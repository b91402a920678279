"""What the use cases need from the Slack workspace; the Slack layer provides it.

Use cases show their changes by recording effects (`effects.py`), never by calling Slack.
What is left is what must be answered at once: facts a decision depends on (who is in a
channel, whether someone can hold a role, a message being pinned), and the few Slack
actions whose outcome the use case records (a reminder posted, a channel archived or
unarchived). `app/slack/outbound/workspace.py` implements this port over the gateway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from app.incidents.snapshot import IncidentSnapshot


class WorkspaceError(Exception):
    """Slack refused or could not be reached; `error` is Slack's error code."""

    def __init__(self, method: str, error: str, detail: str = "") -> None:
        super().__init__(f"{method}: {error}" + (f" ({detail})" if detail else ""))
        self.method = method
        self.error = error

    @property
    def unavailable(self) -> bool:
        return self.error == "unavailable"


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    real_name: str
    is_bot: bool
    deleted: bool
    tz: str | None = None

    @property
    def can_hold_role(self) -> bool:
        return not self.is_bot and not self.deleted


class ReminderKind(StrEnum):
    UPDATE = "update"  # a stakeholder update is due
    POSTMORTEM = "postmortem"  # resolved: schedule the review


@dataclass(frozen=True)
class Reminder:
    kind: ReminderKind
    incident_id: int
    reference: str
    recipient: str | None
    last_update_at: datetime | None


class Workspace(Protocol):
    def bot_user_id(self) -> str: ...

    def user(self, user_id: str) -> Person: ...

    def members(self, channel: str) -> list[str]: ...

    def message(self, channel: str, ts: str) -> dict[str, Any] | None: ...

    def permalink(self, channel: str, ts: str) -> str: ...

    def remind(self, channel: str, reminder: Reminder) -> str:
        """Post the reminder in the incident channel; its ts."""
        ...

    def tell_archiving(self, incident: IncidentSnapshot) -> str:
        """The channel's last message before it is archived; its ts."""
        ...

    def archive(self, channel: str) -> None: ...

    def unarchive(self, channel: str) -> None: ...
