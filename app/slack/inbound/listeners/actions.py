"""Buttons and selects: the incident card and the App Home."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from sqlalchemy.exc import SQLAlchemyError

from app.export.delivery import parse_format, share_export
from app.incidents.errors import IncidentError
from app.incidents.rules import Status, parse_status
from app.incidents.service import Change
from app.logging import get_logger
from app.services import Services
from app.slack.inbound.closing_note import offer_closing_note
from app.slack.outbound import blocks
from app.slack.outbound.gateway import SlackCallError

log = get_logger(__name__)


def _incident_id(action: dict[str, Any]) -> int:
    return int(str(action.get("block_id", "")).rsplit(":", 1)[-1])


def _record_then_ack(ack: Ack, respond: Respond, change: Callable[[], Change]) -> Change | None:
    """Record a card change, then acknowledge: an acked press is never lost.

    The change commits with its Slack effects before the ack; the notifier tells Slack
    afterwards. When it cannot be done, only the presser is told why.
    """
    try:
        result = change()
    except IncidentError as error:
        ack()
        respond(response_type="ephemeral", replace_original=False, text=str(error))
        return None
    except SQLAlchemyError:
        ack()
        log.warning("action_database_unavailable")
        respond(response_type="ephemeral", replace_original=False, text=blocks.DATABASE_DOWN)
        return None
    except SlackCallError as error:
        ack()
        respond(
            response_type="ephemeral",
            replace_original=False,
            text=f"Slack did not accept that just now ({error.error}); try again in a moment.",
        )
        return None
    ack()
    if not result.changed:
        log.info("card_action_no_change", summary=result.summary)
    if result.note:
        respond(response_type="ephemeral", replace_original=False, text=result.note)
    return result


def register(app: App, services: Services) -> None:
    incidents = services.incidents

    @app.action(re.compile(f"^{blocks.ROLE_ACTION_PREFIX}"))
    def role_selected(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        role = action["action_id"].removeprefix(blocks.ROLE_ACTION_PREFIX)
        user = action.get("selected_user")
        if not user:
            ack()
            return
        _record_then_ack(
            ack,
            respond,
            lambda: incidents.assign_role(
                _incident_id(action), role, user, body["user"]["id"], "button"
            ),
        )

    @app.action(blocks.SEVERITY_ACTION)
    def severity_selected(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        severity = action["selected_option"]["value"]
        _record_then_ack(
            ack,
            respond,
            lambda: incidents.change_severity(
                _incident_id(action), severity, body["user"]["id"], "button"
            ),
        )

    @app.action(blocks.STATUS_ACTION)
    def status_selected(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        status = parse_status(action["selected_option"]["value"])
        if status is None:
            ack()
            return
        change = _record_then_ack(
            ack,
            respond,
            lambda: incidents.change_status(
                _incident_id(action), status, body["user"]["id"], "button"
            ),
        )
        offer_closing_note(services, change, body["user"]["id"])

    @app.action(blocks.RESOLVE_ACTION)
    def resolve_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        incident_id = int(action["value"])
        change = _record_then_ack(
            ack,
            respond,
            lambda: incidents.change_status(
                incident_id, Status.RESOLVED, body["user"]["id"], "button"
            ),
        )
        offer_closing_note(services, change, body["user"]["id"])

    @app.action(blocks.DECLARE_BUTTON)
    def declare_pressed(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        view = blocks.declare_modal(
            services.settings.severities, services.settings.default_severity
        )
        try:
            services.slack.open_view(body["trigger_id"], view)
        except SlackCallError as error:
            log.warning("declare_modal_failed", error=error.error)

    @app.action(blocks.ADD_ACTION_ITEM_ACTION)
    def add_action_item_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        try:
            incident = incidents.snapshot(int(action["value"]))
            services.slack.open_view(body["trigger_id"], blocks.action_item_modal(incident))
        except (IncidentError, SlackCallError) as error:
            respond(response_type="ephemeral", replace_original=False, text=_reason(error))

    @app.action(blocks.ACTION_ITEM_DONE_ACTION)
    def action_item_done(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        user = body["user"]["id"]
        try:
            item = services.actions.get(int(action["value"]))
            incident = incidents.snapshot(item.incident_id)
            if user != item.owner_id:  # an owner outside the channel still closes their item
                incidents.require_member(incident, user)
            item, changed = services.actions.mark_done(item.id or 0, user, "button")
        except (IncidentError, SlackCallError) as error:
            respond(response_type="ephemeral", replace_original=False, text=_reason(error))
            return
        if changed and incident.channel_id:
            services.slack.post(
                incident.channel_id,
                f"<@{user}> marked an action item done: {blocks.escape(item.text)}",
            )

    @app.action(blocks.PAGE_ACTION)
    def page_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        incident_id = int(action["value"])
        user = body["user"]["id"]
        outcome: list[Change] = []

        def page() -> Change:
            outcome.append(incidents.page_on_call(incident_id, user, "button"))
            return outcome[0]

        _record_then_ack(ack, respond, page)
        if outcome and not outcome[0].changed:
            respond(response_type="ephemeral", replace_original=False, text=outcome[0].summary)

    @app.action(blocks.FILE_IN_JIRA_ACTION)
    def file_in_jira_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        user = body["user"]["id"]
        try:
            item = services.actions.get(int(action["value"]))
            incident = incidents.snapshot(item.incident_id)
            if user != item.owner_id:
                incidents.require_member(incident, user)
            item, changed = services.actions.file_in_jira(item.id or 0, user)
        except (IncidentError, SQLAlchemyError) as error:
            ack()
            text = blocks.DATABASE_DOWN if isinstance(error, SQLAlchemyError) else str(error)
            respond(response_type="ephemeral", replace_original=False, text=text)
            return
        # Recorded (once, however often it is pressed); filed after the ack.
        ack()
        if changed:
            services.after_commit(item.incident_id)
        if changed:
            text = "Filing it in Jira; the issue appears in the channel when it is made."
        elif item.jira_issue_key:
            text = f"Already filed in Jira as {item.jira_issue_key}."
        else:
            text = "Already being filed in Jira."
        respond(response_type="ephemeral", replace_original=False, text=text)

    @app.action(blocks.EXPORT_ACTION)
    def export_pressed(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        user = body["user"]["id"]
        incident_id, _, fmt = str(action["value"]).partition(":")
        try:
            incident = incidents.snapshot(int(incident_id))
            share_export(
                services.db,
                services.slack,
                incident,
                parse_format(fmt),
                channel=services.slack.open_dm(user),
                requested_by=user,
                allowed=incidents.can_see(incident, user),
            )
        except (IncidentError, SlackCallError) as error:
            services.slack.post(user, _reason(error))


def _reason(error: IncidentError | SlackCallError) -> str:
    if isinstance(error, SlackCallError):
        return f"Slack did not accept that just now ({error.error}); try again in a moment."
    return str(error)
