"""Exports as people ask for them: to a stream (CLI), or as a file in Slack."""

from __future__ import annotations

import io
from typing import TextIO

from app.export import EXTENSIONS, FORMATS
from app.export.loader import open_export
from app.export.people import People
from app.incidents.errors import UNKNOWN_INCIDENT, InvalidInput, NotAllowed
from app.incidents.snapshot import IncidentSnapshot
from app.slack.outbound.gateway import SlackCallError, SlackGateway
from app.store.database import Database


def parse_format(text: str) -> str:
    name = (text.strip().lower() or "markdown").removeprefix("--format").strip(" =")
    aliases = {"md": "markdown", "markdown": "markdown", "json": "json"}
    if name not in aliases:
        raise InvalidInput("Export as `markdown` or `json`, e.g. `/incident export json`.")
    return aliases[name]


def slack_people(slack: SlackGateway) -> People:
    """Display names from Slack, asked once per person; the id when Slack cannot say."""
    names: dict[str, str] = {}

    def name_of(user_id: str) -> str:
        if user_id not in names:
            try:
                user = slack.user(user_id)
                names[user_id] = user.real_name or user.name or user_id
            except SlackCallError:
                names[user_id] = user_id
        return names[user_id]

    return name_of


def write_export(db: Database, incident_id: int, fmt: str, out: TextIO, people: People) -> None:
    with open_export(db, incident_id) as data:
        FORMATS[fmt](data, out, people)


def filename(incident: IncidentSnapshot, fmt: str) -> str:
    return f"postmortem-{incident.reference}.{EXTENSIONS[fmt]}"


def share_export(
    db: Database,
    slack: SlackGateway,
    incident: IncidentSnapshot,
    fmt: str,
    *,
    channel: str,
    requested_by: str,
    allowed: bool,
) -> None:
    """Upload the export to `channel`; a private incident only for its channel's members."""
    if not allowed:
        raise NotAllowed(UNKNOWN_INCIDENT)
    buffer = io.StringIO()
    write_export(db, incident.id, fmt, buffer, slack_people(slack))
    slack.upload_file(
        channel,
        filename(incident, fmt),
        buffer.getvalue().encode(),
        f"{incident.reference} postmortem ({fmt})",
        comment=f"<@{requested_by}> exported {incident.reference}.",
    )
