"""Stakeholder updates: the "Post update" and "Snooze" buttons and the update modal."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from app.incidents.updates import UpdateRequest, validate_update
from app.services import Services
from app.slack.inbound import payloads
from app.slack.inbound.errors import answered
from app.slack.inbound.replies import ephemeral
from app.slack.outbound import blocks, update_blocks


def register(app: App) -> None:
    app.action(blocks.POST_UPDATE_ACTION)(answered(post_update_pressed))
    app.action(update_blocks.CLOSING_NOTE_ACTION)(answered(closing_note_pressed))
    app.action(update_blocks.SNOOZE_ACTION)(answered(snooze_pressed))
    app.view(update_blocks.UPDATE_CALLBACK)(answered(update_submitted))


def update_request(form: payloads.Submission) -> UpdateRequest:
    return UpdateRequest(
        incident_id=form.metadata_id or 0,
        user_id=form.user_id,
        status=form.selected("status"),
        what_we_know=form.text("know"),
        what_we_are_doing=form.text("doing"),
        next_update_minutes=form.text("next"),
        request_key=form.request_key,
        public=update_blocks.PUBLISH_VALUE in form.checked(update_blocks.PUBLISH_BLOCK),
    )


def post_update_pressed(ack: Ack, body: dict[str, Any], services: Services) -> None:
    press = payloads.action(body)
    incident_id = press.value_id
    ack()
    incident, minutes = services.updates.modal_defaults(incident_id, press.user_id)
    view = update_blocks.update_modal(
        incident, minutes, publishable=services.settings.publishes_updates
    )
    services.slack.open_view(press.trigger_id, view)


def closing_note_pressed(ack: Ack, body: dict[str, Any], services: Services) -> None:
    press = payloads.action(body)
    incident_id = press.value_id
    ack()
    incident = services.incidents.snapshot(incident_id)
    services.incidents.require_member(incident, press.user_id)
    # Resolved: no further update is due, and the note is meant for the public.
    view = update_blocks.update_modal(incident, 0, public=not incident.is_private)
    services.slack.open_view(press.trigger_id, view)


def snooze_pressed(ack: Ack, body: dict[str, Any], respond: Respond, services: Services) -> None:
    press = payloads.action(body)
    key = f"snooze:{press.action_ts}:{press.user_id}"
    answer = services.updates.snooze(press.value_id, press.user_id, key)
    # Acknowledged once recorded: a crash after the ack loses nothing.
    ack()
    if answer:
        ephemeral(respond, answer)


def update_submitted(ack: Ack, body: dict[str, Any], services: Services) -> None:
    request = update_request(payloads.submission(body))
    errors = validate_update(request)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    services.updates.post(request)
    # Acknowledged once recorded; the notifier posts it to the channel and the thread.
    ack()
