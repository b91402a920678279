"""Pure rules: statuses, severities, channel names. No I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MAX_CHANNEL_NAME = 80
MAX_TITLE = 80


class Source(StrEnum):
    """Where a timeline event came from."""

    MODAL = "modal"
    BUTTON = "button"
    COMMAND = "command"
    SHORTCUT = "shortcut"
    PIN = "pin"
    REACTION = "reaction"
    ALERT = "alert"
    PAGERDUTY = "pagerduty"
    JIRA = "jira"
    REMINDER = "reminder"
    SCHEDULER = "scheduler"
    SYSTEM = "system"


class Status(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def is_open(self) -> bool:
        return self not in (Status.RESOLVED, Status.CLOSED)

    @property
    def is_mitigated(self) -> bool:
        return self in (Status.MONITORING, Status.RESOLVED, Status.CLOSED)


STATUS_ORDER = list(Status)

UPDATE_TEXT_LIMIT = 1500
MAX_NEXT_MINUTES = 24 * 60


@dataclass(frozen=True)
class UpdateContent:
    """A stakeholder update as it is shown."""

    status: Status
    what_we_know: str
    what_we_are_doing: str
    next_update_minutes: int
    next_due_at: datetime | None


def parse_status(text: str) -> Status | None:
    try:
        return Status(text.strip().lower())
    except ValueError:
        return None


def is_backwards(old: Status, new: Status) -> bool:
    return STATUS_ORDER.index(new) < STATUS_ORDER.index(old)


def severity_rank(severity: str, severity_names: list[str]) -> int:
    """0 is the most severe; unknown severities rank last."""
    upper = [name.upper() for name in severity_names]
    return upper.index(severity.upper()) if severity.upper() in upper else len(upper)


def higher_severity(a: str, b: str, severity_names: list[str]) -> str:
    return a if severity_rank(a, severity_names) <= severity_rank(b, severity_names) else b


def is_escalation(old: str, new: str, severity_names: list[str]) -> bool:
    return severity_rank(new, severity_names) < severity_rank(old, severity_names)


def slugify(title: str) -> str:
    """Lowercase ASCII letters, digits and hyphens; accents folded, everything else dropped."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def channel_name(number: int, title: str, attempt: int = 1) -> str:
    """`inc-<n>-<slug>`, at most 80 characters; attempts after the first get a suffix."""
    prefix = f"inc-{number}"
    suffix = "" if attempt == 1 else f"-{attempt}"
    room = MAX_CHANNEL_NAME - len(prefix) - len(suffix) - 1
    slug = slugify(title)[:room].rstrip("-")
    return f"{prefix}-{slug}{suffix}" if slug else f"{prefix}{suffix}"


def clean_title(title: str) -> str:
    """Titles are one line of visible text."""
    visible = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in title)
    return re.sub(r"\s+", " ", visible).strip()
