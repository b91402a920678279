"""Modal submissions: declaring an incident and adding an action item."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_bolt import Ack, App

from app.incidents.actions import NewActionItem, parse_due
from app.incidents.errors import InvalidInput
from app.incidents.rules import Source
from app.incidents.service import Declaration
from app.services import Services
from app.slack.inbound import payloads
from app.slack.inbound.errors import answered, field_errors
from app.slack.inbound.replies import tell
from app.slack.outbound import blocks


def register(app: App) -> None:
    app.view(blocks.DECLARE_CALLBACK)(answered(declare_submitted))
    app.view(blocks.ACTION_ITEM_CALLBACK)(answered(action_item_submitted))


def declare_submitted(ack: Ack, body: dict[str, Any], services: Services) -> None:
    form = payloads.submission(body)
    incidents = services.incidents
    title, severity = form.text("title"), form.selected("severity")
    impact_started = form.date_time("impact_started")
    errors = field_errors(
        {
            "title": lambda: incidents.validate_title(title),
            "severity": lambda: incidents.validate_severity(severity),
            "impact_started": lambda: incidents.validate_impact_start(impact_started),
        }
    )
    if errors:
        ack(response_action="errors", errors=errors)
        return
    options = form.checked("options")
    # Recorded before the answer, so the modal can name the incident even when Slack is
    # unreachable for everything that follows.
    declared = incidents.declare(
        Declaration(
            team_id=form.team_id,
            user_id=form.user_id,
            title=title,
            severity=severity,
            summary=form.text("summary"),
            private="private" in options,
            declarer_is_commander="commander" in options,
            source=Source.MODAL,
            request_key=form.request_key,
            impact_started_at=incidents.validate_impact_start(impact_started),
        )
    )
    if declared is None:
        ack()
        return
    ack(response_action="update", view=blocks.declaring_modal(declared))
    result = services.provisioner.run(declared.id)
    message = blocks.declared_message(result.incident, result.pending_text(), result.error)
    # Where the declarer typed `/incident`, else in their DM with Firebreak.
    tell(services, form.user_id, form.private_metadata or None, message)


def action_item_submitted(ack: Ack, body: dict[str, Any], services: Services) -> None:
    form = payloads.submission(body)
    text, due = form.text("text").strip(), form.date("due")
    errors = field_errors({"text": lambda: _needs_text(text), "due": lambda: _due_date(due)})
    if errors:
        ack(response_action="errors", errors=errors)
        return
    item = NewActionItem(text=text, owner_id=form.user("owner") or None, due_date=_due_date(due))
    ack()
    incident = services.incidents.snapshot(form.metadata_id or 0)
    services.incidents.require_member(incident, form.user_id)
    added = services.actions.add(incident.id, item, form.user_id, Source.MODAL, form.request_key)
    if added is not None and incident.channel_id:
        services.slack.post(
            incident.channel_id, f"<@{form.user_id}> added an action item: {blocks.escape(text)}"
        )


def _needs_text(text: str) -> None:
    if not text:
        raise InvalidInput("Say what needs doing.")


def _due_date(text: str) -> date | None:
    return parse_due(text) if text else None
