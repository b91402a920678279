"""Buttons and selects: the incident card and the App Home.

A press that changes an incident is recorded first and acknowledged after the commit, so
an acknowledged press is never lost; the notifier tells Slack afterwards. What a listener
raises is answered by `app.slack.inbound.errors`, which also acks a press that failed
before its ack.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond

from app.export.delivery import parse_format, share_export
from app.incidents.rules import Source, Status, parse_status
from app.incidents.service import Change
from app.logging import get_logger
from app.services import Services
from app.slack.inbound import payloads
from app.slack.inbound.closing_note import offer_closing_note
from app.slack.inbound.errors import answered
from app.slack.inbound.replies import ephemeral
from app.slack.outbound import blocks

log = get_logger(__name__)


def register(app: App) -> None:
    app.action(re.compile(f"^{blocks.ROLE_ACTION_PREFIX}"))(answered(role_selected))
    app.action(blocks.SEVERITY_ACTION)(answered(severity_selected))
    app.action(blocks.STATUS_ACTION)(answered(status_selected))
    app.action(blocks.RESOLVE_ACTION)(answered(resolve_pressed))
    app.action(blocks.PAGE_ACTION)(answered(page_pressed))
    app.action(blocks.DECLARE_BUTTON)(answered(declare_pressed))
    app.action(blocks.ADD_ACTION_ITEM_ACTION)(answered(add_action_item_pressed))
    app.action(blocks.ACTION_ITEM_DONE_ACTION)(answered(action_item_done))
    app.action(blocks.FILE_IN_JIRA_ACTION)(answered(file_in_jira_pressed))
    app.action(blocks.EXPORT_ACTION)(answered(export_pressed))


def acknowledge_change(ack: Ack, respond: Respond, change: Change) -> None:
    """Ack a recorded card change; only the presser hears anything besides the change."""
    ack()
    if not change.changed:
        log.info("card_action_no_change", summary=change.summary)
    if change.note:
        ephemeral(respond, change.note)


def role_selected(ack: Ack, body: dict[str, Any], respond: Respond, services: Services) -> None:
    press = payloads.action(body)
    role = press.action_id.removeprefix(blocks.ROLE_ACTION_PREFIX)
    if not press.selected_user:
        ack()
        return
    change = services.incidents.assign_role(
        press.incident_id, role, press.selected_user, press.user_id, Source.BUTTON
    )
    acknowledge_change(ack, respond, change)


def severity_selected(ack: Ack, body: dict[str, Any], respond: Respond, services: Services) -> None:
    press = payloads.action(body)
    change = services.incidents.change_severity(
        press.incident_id, press.selected, press.user_id, Source.BUTTON
    )
    acknowledge_change(ack, respond, change)


def status_selected(ack: Ack, body: dict[str, Any], respond: Respond, services: Services) -> None:
    press = payloads.action(body)
    status = parse_status(press.selected)
    if status is None:
        ack()
        return
    change = services.incidents.change_status(
        press.incident_id, status, press.user_id, Source.BUTTON
    )
    acknowledge_change(ack, respond, change)
    offer_closing_note(services, change, press.user_id)


def resolve_pressed(ack: Ack, body: dict[str, Any], respond: Respond, services: Services) -> None:
    press = payloads.action(body)
    change = services.incidents.change_status(
        press.value_id, Status.RESOLVED, press.user_id, Source.BUTTON
    )
    acknowledge_change(ack, respond, change)
    offer_closing_note(services, change, press.user_id)


def page_pressed(ack: Ack, body: dict[str, Any], respond: Respond, services: Services) -> None:
    press = payloads.action(body)
    change = services.incidents.page_on_call(press.value_id, press.user_id, Source.BUTTON)
    acknowledge_change(ack, respond, change)
    if not change.changed:
        ephemeral(respond, change.summary)


def declare_pressed(ack: Ack, body: dict[str, Any], services: Services) -> None:
    press = payloads.action(body)
    ack()
    settings = services.settings
    view = blocks.declare_modal(settings.severities, settings.default_severity)
    services.slack.open_view(press.trigger_id, view)


def add_action_item_pressed(ack: Ack, body: dict[str, Any], services: Services) -> None:
    press = payloads.action(body)
    incident_id = press.value_id
    ack()
    incident = services.incidents.snapshot(incident_id)
    services.slack.open_view(press.trigger_id, blocks.action_item_modal(incident))


def action_item_done(ack: Ack, body: dict[str, Any], services: Services) -> None:
    press = payloads.action(body)
    item_id, user = press.value_id, press.user_id
    ack()
    item = services.actions.get(item_id)
    incident = services.incidents.snapshot(item.incident_id)
    if user != item.owner_id:  # an owner outside the channel still closes their item
        services.incidents.require_member(incident, user)
    item, changed = services.actions.mark_done(item.id or 0, user, Source.BUTTON)
    if changed and incident.channel_id:
        services.slack.post(
            incident.channel_id,
            f"<@{user}> marked an action item done: {blocks.escape(item.text)}",
        )


def file_in_jira_pressed(
    ack: Ack, body: dict[str, Any], respond: Respond, services: Services
) -> None:
    press = payloads.action(body)
    user = press.user_id
    item = services.actions.get(press.value_id)
    incident = services.incidents.snapshot(item.incident_id)
    if user != item.owner_id:
        services.incidents.require_member(incident, user)
    item, changed = services.actions.file_in_jira(item.id or 0, user)
    # Recorded (once, however often it is pressed); filed after the ack.
    ack()
    if changed:
        services.after_commit(item.incident_id)
        text = "Filing it in Jira; the issue appears in the channel when it is made."
    elif item.jira_issue_key:
        text = f"Already filed in Jira as {item.jira_issue_key}."
    else:
        text = "Already being filed in Jira."
    ephemeral(respond, text)


def export_pressed(ack: Ack, body: dict[str, Any], services: Services) -> None:
    press = payloads.action(body)
    number, _, fmt = press.value.partition(":")
    incident_id = payloads.number_in(number, "value")
    ack()
    incident = services.incidents.snapshot(incident_id)
    share_export(
        services.db,
        services.slack,
        incident,
        parse_format(fmt),
        channel=services.slack.open_dm(press.user_id),
        requested_by=press.user_id,
        allowed=services.incidents.can_see(incident, press.user_id),
    )
