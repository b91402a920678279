"""Modal submissions."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import SQLAlchemyError

from app.incidents.errors import IncidentError
from app.incidents.service import Declaration
from app.logging import get_logger
from app.services import Services
from app.slack import blocks
from app.slack.gateway import SlackCallError

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


def _tell_declarer(services: Services, response_url: str, user_id: str, message: str) -> None:
    """Reply where the declarer typed the command, or in their DM with Firebreak."""
    if response_url.startswith("http"):
        try:
            response = WebhookClient(response_url).send(text=message, response_type="ephemeral")
            if response.status_code == 200:
                return
        except OSError:
            pass
    try:
        services.slack.post(user_id, message)
    except SlackCallError as error:
        # The modal already told them the incident is recorded; the rest resumes later.
        log.warning("declarer_not_told", error=error.error)
