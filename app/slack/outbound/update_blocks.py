"""Block Kit for stakeholder updates and reminders: pure functions, data in, dicts out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.incidents.rules import (
    MAX_NEXT_MINUTES,
    STATUS_ORDER,
    UPDATE_TEXT_LIMIT,
    UpdateContent,
)
from app.incidents.snapshot import IncidentSnapshot
from app.slack.outbound.blocks import (
    POST_UPDATE_ACTION,
    Block,
    _option,
    date_ref,
    escape,
    mrkdwn,
    plain,
    user_ref,
)

UPDATE_CALLBACK = "stakeholder_update"
SNOOZE_ACTION = "snooze_update"
CLOSING_NOTE_ACTION = "closing_public_note"
PUBLISH_BLOCK = "publish"
PUBLISH_VALUE = "public"


def update_modal(
    incident: IncidentSnapshot,
    next_minutes: int,
    what_we_know: str = "",
    *,
    public: bool = False,
    publishable: bool = True,
) -> dict[str, Any]:
    """The update form; `public` ticks "Also publish on the status page". The choice is
    offered when a status page is on (`publishable`), never for a private incident."""
    status_options = [_option(s.value, s.label) for s in STATUS_ORDER]
    know: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": True,
        "max_length": UPDATE_TEXT_LIMIT,
    }
    if what_we_know:
        know["initial_value"] = what_we_know[:UPDATE_TEXT_LIMIT]
    return {
        "type": "modal",
        "callback_id": UPDATE_CALLBACK,
        "private_metadata": str(incident.id),
        "title": plain("Stakeholder update", 24),
        "submit": plain("Post update"),
        "close": plain("Cancel"),
        "blocks": [
            {
                "type": "section",
                "text": mrkdwn(f"*{incident.reference}*: {escape(incident.title)}"),
            },
            {
                "type": "input",
                "block_id": "status",
                "label": plain("Status"),
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": status_options,
                    "initial_option": _option(incident.status.value, incident.status.label),
                },
            },
            {
                "type": "input",
                "block_id": "know",
                "label": plain("What we know"),
                "element": know,
            },
            {
                "type": "input",
                "block_id": "doing",
                "label": plain("What we are doing"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": UPDATE_TEXT_LIMIT,
                },
            },
            {
                "type": "input",
                "block_id": "next",
                "label": plain("Next update in (minutes, 0 = none)"),
                "element": {
                    "type": "number_input",
                    "action_id": "value",
                    "is_decimal_allowed": False,
                    "min_value": "0",
                    "max_value": str(MAX_NEXT_MINUTES),
                    "initial_value": str(next_minutes),
                },
            },
            *([publish_input(public)] if publishable and not incident.is_private else []),
        ],
    }


def publish_input(checked: bool) -> Block:
    option = _option(
        PUBLISH_VALUE,
        "Also publish on the status page",
        "Readers outside Slack see this update; names are never shown.",
    )
    element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": [option]}
    if checked:
        element["initial_options"] = [option]
    return {
        "type": "input",
        "block_id": PUBLISH_BLOCK,
        "optional": True,
        "label": plain("Status page"),
        "element": element,
    }


def closing_note_offer(incident: IncidentSnapshot) -> tuple[str, list[Block]]:
    """Shown to whoever resolved a public incident: the status page's last word."""
    text = f"{incident.reference} is resolved. Tell status page readers how it ended?"
    return text, [
        {"type": "section", "text": mrkdwn(text)},
        {
            "type": "actions",
            "block_id": f"closing:{incident.id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": CLOSING_NOTE_ACTION,
                    "text": plain("Write a closing public note"),
                    "value": str(incident.id),
                }
            ],
        },
    ]


def update_text(incident: IncidentSnapshot, content: UpdateContent) -> str:
    return (
        f"{incident.reference} update ({content.status.label}): "
        f"{escape(content.what_we_know)[:200]}"
    )


def update_message(
    incident: IncidentSnapshot,
    content: UpdateContent,
    author: str,
    status_link: str | None = None,
) -> list[Block]:
    """`status_link`: the update was also published; where the public reads it."""
    next_line = (
        f"Next update by {date_ref(content.next_due_at, '{time}')}"
        if content.next_due_at
        else "No further updates scheduled"
    )
    return [
        {
            "type": "section",
            "text": mrkdwn(
                f":mega: *{incident.reference} update* · {incident.severity} · "
                f"*{content.status.label}*"
            ),
        },
        {
            "type": "section",
            "text": mrkdwn(f"*What we know*\n{escape(content.what_we_know)}"),
        },
        {
            "type": "section",
            "text": mrkdwn(f"*What we are doing*\n{escape(content.what_we_are_doing)}"),
        },
        {
            "type": "context",
            "elements": [mrkdwn(f"Posted by {user_ref(author)} · {next_line}")],
        },
        *(
            [{"type": "context", "elements": [mrkdwn(f"Also on the status page: {status_link}")]}]
            if status_link
            else []
        ),
    ]


def update_reminder(
    incident_id: int,
    reference: str,
    recipient: str | None,
    last_update_at: datetime | None,
    snooze_minutes: int,
) -> tuple[str, list[Block]]:
    last = f"the last one was {date_ref(last_update_at)}" if last_update_at else "none yet"
    text = (
        f":alarm_clock: {user_ref(recipient)} a stakeholder update for {reference} is due ({last})."
    )
    return text, [
        {"type": "section", "text": mrkdwn(text)},
        {
            "type": "actions",
            "block_id": f"reminder:{incident_id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": POST_UPDATE_ACTION,
                    "text": plain("Post update"),
                    "style": "primary",
                    "value": str(incident_id),
                },
                {
                    "type": "button",
                    "action_id": SNOOZE_ACTION,
                    "text": plain(f"Snooze {snooze_minutes} min"),
                    "value": str(incident_id),
                },
            ],
        },
    ]


def postmortem_nudge(
    reference: str, recipient: str | None, nudge_days: int
) -> tuple[str, list[Block]]:
    text = (
        f":memo: {user_ref(recipient)} {reference} was resolved {nudge_days} day"
        f"{'s' if nudge_days != 1 else ''} ago: time to schedule the postmortem review."
    )
    return text, [{"type": "section", "text": mrkdwn(text)}]
