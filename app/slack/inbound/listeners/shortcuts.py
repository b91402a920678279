"""Shortcuts: "Declare incident" (global) and "Add to incident timeline" (on a message)."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, Respond

from app.incidents.errors import UNKNOWN_INCIDENT
from app.incidents.timeline import ADDED, Mark
from app.services import Services
from app.slack.inbound import payloads
from app.slack.inbound.errors import answered
from app.slack.inbound.replies import ephemeral, tell
from app.slack.outbound import blocks

# The picker modal carries the message; Slack allows 3,000 characters of metadata.
METADATA_TEXT_LIMIT = 1500


def register(app: App) -> None:
    app.shortcut(blocks.DECLARE_SHORTCUT)(answered(declare_shortcut))
    app.shortcut(blocks.TIMELINE_SHORTCUT)(answered(add_to_timeline))
    app.view(blocks.TIMELINE_PICK_CALLBACK)(answered(timeline_pick_submitted))


def declare_shortcut(ack: Ack, body: dict[str, Any], services: Services) -> None:
    shortcut = payloads.shortcut(body)
    ack()
    view = blocks.declare_modal(services.settings.severities, services.settings.default_severity)
    services.slack.open_view(shortcut.trigger_id, view)


def add_to_timeline(ack: Ack, body: dict[str, Any], respond: Respond, services: Services) -> None:
    shortcut = payloads.shortcut(body)
    ack()
    if not shortcut.channel_id or not shortcut.message_ts:
        ephemeral(respond, "Slack did not say which message that was.")
        return
    incident = services.incidents.for_channel(shortcut.channel_id)
    if incident is None:
        _open_picker(services, shortcut)
        return
    mark = Mark(
        ADDED,
        shortcut.channel_id,
        shortcut.message_ts,
        shortcut.user_id,
        shortcut.request_key,
        dict(shortcut.message),
    )
    tell(services, shortcut.user_id, shortcut.response_url, _add(services, incident.id, mark))


def timeline_pick_submitted(ack: Ack, body: dict[str, Any], services: Services) -> None:
    form = payloads.submission(body)
    incident_id = payloads.trailing_number(form.selected("incident"))
    if incident_id is None:
        ack(response_action="errors", errors={"incident": "Pick an incident."})
        return
    ack()
    meta = picker_metadata(form.private_metadata)
    message = {"text": meta.get("text", ""), "user": meta.get("author")}
    channel, ts = str(meta.get("channel") or ""), str(meta.get("ts") or "")
    mark = Mark(ADDED, channel, ts, form.user_id, form.request_key, message)
    url = meta.get("url")
    tell(
        services,
        form.user_id,
        url if isinstance(url, str) else None,
        _add(services, incident_id, mark),
    )


def _add(services: Services, incident_id: int, mark: Mark) -> str:
    """Put the message on the timeline if the person may; the words to tell them."""
    incident = services.incidents.snapshot(incident_id)
    if not services.incidents.can_see(incident, mark.marked_by):
        return UNKNOWN_INCIDENT
    if not mark.channel_id or not mark.ts:
        return "Slack did not say which message that was; try the shortcut again."
    if services.timeline.add_message(incident.id, mark):
        return f":pushpin: Added to the {incident.reference} timeline."
    return f"That message is on the {incident.reference} timeline already."


def _open_picker(services: Services, shortcut: payloads.Shortcut) -> None:
    choices = services.incidents.visible_open_incidents(shortcut.team_id, shortcut.user_id)
    if not choices:
        text = "There is no open incident you can add this message to."
        tell(services, shortcut.user_id, shortcut.response_url, text)
        return
    text = str(shortcut.message.get("text") or "")
    metadata = json.dumps(
        {
            "channel": shortcut.channel_id,
            "ts": shortcut.message_ts,
            "url": shortcut.response_url,
            "author": shortcut.message.get("user"),
            "text": text[:METADATA_TEXT_LIMIT],
        }
    )
    services.slack.open_view(
        shortcut.trigger_id, blocks.timeline_picker_modal(choices, metadata, text)
    )


def picker_metadata(raw: str) -> dict[str, Any]:
    """What the picker modal carries about the message (written by `_open_picker`)."""
    try:
        value = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
