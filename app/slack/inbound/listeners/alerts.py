"""The alert message's buttons and the two modals they open. Thin: ack, then a service."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from app.alerts import blocks as alert_blocks
from app.incidents.rules import Source
from app.incidents.service import Declaration
from app.services import Services
from app.slack.inbound import payloads
from app.slack.inbound.errors import answered, field_errors
from app.slack.inbound.replies import ephemeral, tell
from app.slack.outbound import blocks


def register(app: App) -> None:
    app.action(alert_blocks.ACK_ACTION)(answered(acknowledge))
    app.action(alert_blocks.SILENCE_ACTION)(answered(silence))
    app.action(alert_blocks.DECLARE_ACTION)(answered(open_declare))
    app.action(alert_blocks.ATTACH_ACTION)(answered(open_attach))
    app.view(alert_blocks.DECLARE_CALLBACK)(answered(declare_submitted))
    app.view(alert_blocks.ATTACH_CALLBACK)(answered(attach_submitted))


def acknowledge(ack: Ack, body: dict[str, Any], services: Services) -> None:
    press = payloads.action(body)
    group_id = press.value_id
    ack()
    services.alerts.acknowledge(group_id, press.user_id)


def silence(ack: Ack, body: dict[str, Any], services: Services) -> None:
    press = payloads.action(body)
    choice, _, group = press.selected.partition(":")
    group_id = payloads.number_in(group, "selected_option")
    ack()
    services.alerts.silence(group_id, press.user_id, choice)


def open_declare(ack: Ack, body: dict[str, Any], services: Services) -> None:
    press = payloads.action(body)
    group_id = press.value_id
    ack()
    view, _, _ = services.alerts.view(group_id)
    settings = services.settings
    modal = alert_blocks.declare_modal(
        view,
        settings.severities,
        settings.default_severity,
        settings.catalog.names if settings.catalog else [],
    )
    services.slack.open_view(press.trigger_id, modal)


def open_attach(ack: Ack, body: dict[str, Any], respond: Respond, services: Services) -> None:
    press = payloads.action(body)
    group_id = press.value_id
    ack()
    incidents = services.incidents.visible_open_incidents(press.team_id, press.user_id)
    if not incidents:
        ephemeral(respond, "There is no open incident to attach these alerts to.")
        return
    services.slack.open_view(press.trigger_id, alert_blocks.attach_modal(group_id, incidents))


def declare_submitted(ack: Ack, body: dict[str, Any], services: Services) -> None:
    form = payloads.submission(body)
    title, severity = form.text("title"), form.selected("severity")
    errors = field_errors(
        {
            "title": lambda: services.incidents.validate_title(title),
            "severity": lambda: services.incidents.validate_severity(severity),
        }
    )
    group_id = form.metadata_id
    if errors or group_id is None:
        ack(response_action="errors", errors=errors or {"title": "Unknown alert."})
        return
    options = form.checked("options")
    declaration = Declaration(
        team_id=form.team_id,
        user_id=form.user_id,
        title=title,
        severity=severity,
        summary=form.text("summary"),
        private="private" in options,
        declarer_is_commander="commander" in options,
        source=Source.ALERT,
        request_key=form.request_key,
    )
    declared = services.alerts.declare(group_id, declaration)
    if declared is None:
        ack()
        return
    ack(response_action="update", view=blocks.declaring_modal(declared))
    result = services.alerts.set_up(group_id, declared, form.selected("service") or None)
    message = blocks.declared_message(result.incident, result.pending_text(), result.error)
    tell(services, form.user_id, None, message)


def attach_submitted(ack: Ack, body: dict[str, Any], services: Services) -> None:
    form = payloads.submission(body)
    chosen, group_id = payloads.trailing_number(form.selected("incident")), form.metadata_id
    if chosen is None or group_id is None:
        ack(response_action="errors", errors={"incident": "Pick an open incident."})
        return
    incident = services.incidents.snapshot(chosen)
    services.incidents.require_member(incident, form.user_id)
    ack()
    services.alerts.attach(group_id, incident.id, form.user_id)
