"""The alert message's buttons and the two modals they open. Thin: ack, then a service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from sqlalchemy.exc import SQLAlchemyError

from app.alerts import blocks as alert_blocks
from app.incidents.errors import IncidentError
from app.incidents.service import Declaration
from app.logging import get_logger
from app.services import Services
from app.slack.outbound import blocks
from app.slack.outbound.gateway import SlackCallError

log = get_logger(__name__)


def _group_id(text: Any) -> int | None:
    try:
        return int(str(text).rsplit(":", 1)[-1])
    except ValueError:
        return None


def _ephemeral(respond: Respond, text: str) -> None:
    respond(response_type="ephemeral", replace_original=False, text=text)


def _guarded(respond: Respond, work: Callable[[], object]) -> None:
    """Run a button's work; tell the presser (only them) when it cannot be done."""
    try:
        work()
    except IncidentError as error:
        _ephemeral(respond, str(error))
    except SQLAlchemyError:
        log.warning("alert_action_database_unavailable")
        _ephemeral(respond, blocks.DATABASE_DOWN)
    except SlackCallError as error:
        _ephemeral(respond, f"Slack did not accept that just now ({error.error}); try again.")


def _selected(values: dict[str, Any], block_id: str) -> str:
    block = values.get(block_id)
    element = block.get("value") if isinstance(block, dict) else None
    option = element.get("selected_option") if isinstance(element, dict) else None
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) else ""


def _typed(values: dict[str, Any], block_id: str) -> str:
    block = values.get(block_id)
    element = block.get("value") if isinstance(block, dict) else None
    value = element.get("value") if isinstance(element, dict) else None
    return value if isinstance(value, str) else ""


def _checked(values: dict[str, Any]) -> set[str]:
    block = values.get("options")
    element = block.get("value") if isinstance(block, dict) else None
    chosen = element.get("selected_options") if isinstance(element, dict) else None
    return {str(o.get("value")) for o in chosen or [] if isinstance(o, dict)}


def _values(view: dict[str, Any]) -> dict[str, Any]:
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    return values if isinstance(values, dict) else {}


def register(app: App, services: Services) -> None:
    alerts = services.alerts

    @app.action(alert_blocks.ACK_ACTION)
    def acknowledge(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        group_id = _group_id(action.get("value"))
        if group_id is not None:
            _guarded(respond, lambda: alerts.acknowledge(group_id, body["user"]["id"]))

    @app.action(alert_blocks.SILENCE_ACTION)
    def silence(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        value = str((action.get("selected_option") or {}).get("value", ""))
        choice, _, group = value.partition(":")
        group_id = _group_id(group)
        if group_id is not None:
            _guarded(respond, lambda: alerts.silence(group_id, body["user"]["id"], choice))

    @app.action(alert_blocks.DECLARE_ACTION)
    def open_declare(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        group_id = _group_id(action.get("value"))
        if group_id is None:
            return

        def open_modal() -> None:
            view, _, _ = alerts.view(group_id)
            catalog = services.settings.catalog
            modal = alert_blocks.declare_modal(
                view,
                services.settings.severities,
                services.settings.default_severity,
                catalog.names if catalog else [],
            )
            services.slack.open_view(body["trigger_id"], modal)

        _guarded(respond, open_modal)

    @app.action(alert_blocks.ATTACH_ACTION)
    def open_attach(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        group_id = _group_id(action.get("value"))
        if group_id is None:
            return

        def open_modal() -> None:
            team, user = body["team"]["id"], body["user"]["id"]
            incidents = services.incidents.visible_open_incidents(team, user)
            if not incidents:
                _ephemeral(respond, "There is no open incident to attach these alerts to.")
                return
            services.slack.open_view(
                body["trigger_id"], alert_blocks.attach_modal(group_id, incidents)
            )

        _guarded(respond, open_modal)

    register_modals(app, services)


def register_modals(app: App, services: Services) -> None:
    alerts = services.alerts

    @app.view(alert_blocks.DECLARE_CALLBACK)
    def declare_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = _values(view)
        title, severity = _typed(values, "title"), _selected(values, "severity")
        errors = {}
        for block, check, value in (
            ("title", services.incidents.validate_title, title),
            ("severity", services.incidents.validate_severity, severity),
        ):
            try:
                check(value)
            except IncidentError as error:
                errors[block] = str(error)
        group_id = _group_id(view.get("private_metadata"))
        if errors or group_id is None:
            ack(response_action="errors", errors=errors or {"title": "Unknown alert."})
            return
        options = _checked(values)
        user_id = body["user"]["id"]
        declaration = Declaration(
            team_id=body["team"]["id"],
            user_id=user_id,
            title=title,
            severity=severity,
            summary=_typed(values, "summary"),
            private="private" in options,
            declarer_is_commander="commander" in options,
            source="alert",
            request_key=f"view:{view.get('id')}:{view.get('hash', '')}",
        )
        try:
            declared = alerts.declare(group_id, declaration)
        except SQLAlchemyError:
            ack(response_action="errors", errors={"title": blocks.DATABASE_DOWN})
            return
        if declared is None:
            ack()
            return
        ack(response_action="update", view=blocks.declaring_modal(declared))
        result = alerts.set_up(group_id, declared, _selected(values, "service") or None)
        message = blocks.declared_message(result.incident, result.pending_text(), result.error)
        try:
            services.slack.post(user_id, message)
        except SlackCallError as error:
            log.warning("declarer_not_told", error=error.error)

    @app.view(alert_blocks.ATTACH_CALLBACK)
    def attach_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        chosen = _selected(_values(view), "incident")
        group_id = _group_id(view.get("private_metadata"))
        if not chosen.isdigit() or group_id is None:
            ack(response_action="errors", errors={"incident": "Pick an open incident."})
            return
        user_id = body["user"]["id"]
        try:
            incident = services.incidents.snapshot(int(chosen))
            services.incidents.require_member(incident, user_id)
        except IncidentError as error:
            ack(response_action="errors", errors={"incident": str(error)})
            return
        ack()
        alerts.attach(group_id, incident.id, user_id)
