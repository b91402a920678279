"""Shortcuts: "Declare incident" (global) and "Add to incident timeline" (on a message)."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, Respond

from app.incidents.errors import UNKNOWN_INCIDENT, IncidentError
from app.incidents.timeline import ADDED, Mark
from app.logging import get_logger
from app.services import Services
from app.slack.outbound import blocks
from app.slack.outbound.gateway import SlackCallError

log = get_logger(__name__)

# The picker modal carries the message; Slack allows 3,000 characters of metadata.
METADATA_TEXT_LIMIT = 1500


def register(app: App, services: Services) -> None:
    @app.shortcut(blocks.DECLARE_SHORTCUT)
    def declare_shortcut(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user = body["user"]["id"]
        view = blocks.declare_modal(
            services.settings.severities, services.settings.default_severity
        )
        try:
            services.slack.open_view(body["trigger_id"], view)
        except SlackCallError as error:
            _tell(services, user, None, _form_failed(error))

    @app.shortcut(blocks.TIMELINE_SHORTCUT)
    def add_to_timeline(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        channel = str((body.get("channel") or {}).get("id") or "")
        message = dict(body.get("message") or {})
        ts = str(body.get("message_ts") or message.get("ts") or "")
        user = body["user"]["id"]
        url = body.get("response_url")
        if not channel or not ts:
            respond(response_type="ephemeral", text="Slack did not say which message that was.")
            return
        incident = services.incidents.for_channel(channel)
        if incident is not None:
            mark = Mark(ADDED, channel, ts, user, _key(body), message)
            _tell(services, user, url, _add(services, incident.id, mark))
            return
        _open_picker(services, body, channel, ts, message)

    @app.view(blocks.TIMELINE_PICK_CALLBACK)
    def timeline_pick_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        selected = (
            ((view.get("state") or {}).get("values") or {}).get("incident", {}).get("value", {})
        ).get("selected_option") or {}
        value = str(selected.get("value") or "")
        if not value.isdigit():
            ack(response_action="errors", errors={"incident": "Pick an incident."})
            return
        ack()
        user = body["user"]["id"]
        meta = _metadata(view.get("private_metadata"))
        message = {"text": meta.get("text", ""), "user": meta.get("author")}
        key = f"view:{view.get('id')}:{view.get('hash', '')}"
        mark = Mark(ADDED, meta.get("channel", ""), meta.get("ts", ""), user, key, message)
        _tell(services, user, meta.get("url"), _add(services, int(value), mark))


def _key(body: dict[str, Any]) -> str:
    return f"shortcut:{body.get('trigger_id') or body.get('action_ts')}"


def _add(services: Services, incident_id: int, mark: Mark) -> str:
    """Put the message on the timeline if the person may; the words to tell them."""
    try:
        incident = services.incidents.snapshot(incident_id)
    except IncidentError:
        return UNKNOWN_INCIDENT
    if not services.incidents.can_see(incident, mark.marked_by):
        return UNKNOWN_INCIDENT
    if not mark.channel_id or not mark.ts:
        return "Slack did not say which message that was; try the shortcut again."
    if services.timeline.add_message(incident.id, mark):
        return f":pushpin: Added to the {incident.reference} timeline."
    return f"That message is on the {incident.reference} timeline already."


def _open_picker(
    services: Services, body: dict[str, Any], channel: str, ts: str, message: dict[str, Any]
) -> None:
    user = body["user"]["id"]
    url = body.get("response_url")
    team = (body.get("team") or {}).get("id") or body.get("team_id") or ""
    choices = services.incidents.visible_open_incidents(str(team), user)
    if not choices:
        _tell(services, user, url, "There is no open incident you can add this message to.")
        return
    text = str(message.get("text") or "")
    metadata = json.dumps(
        {
            "channel": channel,
            "ts": ts,
            "url": url,
            "author": message.get("user"),
            "text": text[:METADATA_TEXT_LIMIT],
        }
    )
    try:
        services.slack.open_view(
            body["trigger_id"], blocks.timeline_picker_modal(choices, metadata, text)
        )
    except SlackCallError as error:
        _tell(services, user, url, _form_failed(error))


def _metadata(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw) if isinstance(raw, str) and raw else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _form_failed(error: SlackCallError) -> str:
    return f"Slack did not open the form ({error.error}); try the shortcut again in a moment."


def _tell(services: Services, user: str, response_url: Any, text: str) -> None:
    """Only the person who used the shortcut hears back: through its response_url, else DM."""
    is_url = isinstance(response_url, str) and response_url.startswith("http")
    if is_url and services.slack.respond(response_url, text):
        return
    try:
        services.slack.post(user, text)
    except SlackCallError as error:
        log.warning("shortcut_reply_failed", error=error.error)
