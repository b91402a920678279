"""Modal submissions."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from sqlalchemy.exc import SQLAlchemyError

from app.incidents.actions import NewActionItem, parse_due
from app.incidents.errors import IncidentError, InvalidInput
from app.incidents.service import Declaration
from app.logging import get_logger
from app.services import Services
from app.slack.outbound import blocks
from app.slack.outbound.gateway import SlackCallError

log = get_logger(__name__)


def _value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    block = values.get(block_id)
    value = block.get("value") if isinstance(block, dict) else None
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _options(values: dict[str, Any]) -> set[str]:
    selected = _value(values, "options").get("selected_options")
    items = selected if isinstance(selected, list) else []
    return {_text(item.get("value")) for item in items if isinstance(item, dict)}


def register(app: App, services: Services) -> None:
    @app.view(blocks.DECLARE_CALLBACK)
    def declare_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        state = view.get("state")
        values = state.get("values") if isinstance(state, dict) else None
        values = values if isinstance(values, dict) else {}
        title = _text(_value(values, "title").get("value"))
        selected = _value(values, "severity").get("selected_option")
        severity = _text(selected.get("value")) if isinstance(selected, dict) else ""
        errors = {}
        try:
            services.incidents.validate_title(title)
        except IncidentError as error:
            errors["title"] = str(error)
        try:
            services.incidents.validate_severity(severity)
        except IncidentError as error:
            errors["severity"] = str(error)
        impact_started = _value(values, "impact_started").get("selected_date_time")
        try:
            impact_started_at = services.incidents.validate_impact_start(
                impact_started if isinstance(impact_started, int) else None
            )
        except IncidentError as error:
            errors["impact_started"] = str(error)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        options = _options(values)
        user_id = body["user"]["id"]
        try:
            # Recorded before the answer, so the modal can name the incident even when
            # Slack is unreachable for everything that follows.
            declared = services.incidents.declare(
                Declaration(
                    team_id=body["team"]["id"],
                    user_id=user_id,
                    title=title,
                    severity=severity,
                    summary=_text(_value(values, "summary").get("value")),
                    private="private" in options,
                    declarer_is_commander="commander" in options,
                    source="modal",
                    request_key=f"view:{view.get('id')}:{view.get('hash', '')}",
                    impact_started_at=impact_started_at,
                )
            )
        except SQLAlchemyError:
            log.warning("declare_database_unavailable")
            ack(response_action="errors", errors={"title": blocks.DATABASE_DOWN})
            return
        if declared is None:
            ack()
            return
        ack(response_action="update", view=blocks.declaring_modal(declared))
        result = services.provisioner.run(declared.id)
        message = blocks.declared_message(result.incident, result.pending_text(), result.error)
        _tell_declarer(services, _text(view.get("private_metadata")), user_id, message)

    register_action_items(app, services)


def register_action_items(app: App, services: Services) -> None:
    @app.view(blocks.ACTION_ITEM_CALLBACK)
    def action_item_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        text = (_value(values, "text").get("value") or "").strip()
        due_text = _value(values, "due").get("selected_date") or ""
        try:
            item = NewActionItem(
                text=text,
                owner_id=_value(values, "owner").get("selected_user") or None,
                due_date=parse_due(due_text) if due_text else None,
            )
            if not text:
                raise InvalidInput("Say what needs doing.")
        except IncidentError as error:
            ack(response_action="errors", errors={"text": str(error)})
            return
        ack()
        user = body["user"]["id"]
        incident = services.incidents.snapshot(int(view.get("private_metadata") or 0))
        try:
            services.incidents.require_member(incident, user)
        except IncidentError as error:
            services.slack.post(user, str(error))
            return
        key = f"view:{view['id']}:{view.get('hash', '')}"
        added = services.actions.add(incident.id, item, user, "modal", key)
        if added is not None and incident.channel_id:
            services.slack.post(
                incident.channel_id, f"<@{user}> added an action item: {blocks.escape(text)}"
            )


def _tell_declarer(services: Services, response_url: str, user_id: str, message: str) -> None:
    """Reply where the declarer typed the command, or in their DM with Firebreak."""
    if response_url.startswith("http") and services.slack.respond(response_url, message):
        return
    try:
        services.slack.post(user_id, message)
    except SlackCallError as error:
        # The modal already told them the incident is recorded; the rest resumes later.
        log.warning("declarer_not_told", error=error.error)
