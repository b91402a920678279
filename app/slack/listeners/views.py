"""Modal submissions."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from app.incidents.actions import NewActionItem, parse_due
from app.incidents.errors import IncidentError, InvalidInput
from app.incidents.service import Declaration
from app.services import Services
from app.slack import blocks


def _value(values: dict[str, Any], block_id: str) -> Any:
    return values.get(block_id, {}).get("value", {})


def register(app: App, services: Services) -> None:
    @app.view(blocks.DECLARE_CALLBACK)
    def declare_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        title = _value(values, "title").get("value") or ""
        severity = (_value(values, "severity").get("selected_option") or {}).get("value", "")
        options = {o["value"] for o in _value(values, "options").get("selected_options") or []}
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
        ack()
        user_id = body["user"]["id"]
        declared = services.incidents.declare(
            Declaration(
                team_id=body["team"]["id"],
                user_id=user_id,
                title=title,
                severity=severity,
                summary=_value(values, "summary").get("value") or "",
                private="private" in options,
                declarer_is_commander="commander" in options,
                source="modal",
                request_key=f"view:{view['id']}:{view.get('hash', '')}",
            )
        )
        if declared is None:
            return
        result = services.provisioner.run(declared.id)
        message = blocks.declared_message(result.incident, result.pending_text(), result.error)
        _tell_declarer(services, view.get("private_metadata") or "", user_id, message)

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
    services.slack.post(user_id, message)
