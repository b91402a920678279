"""Stakeholder updates: the "Post update" and "Snooze" buttons and the update modal."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from sqlalchemy.exc import SQLAlchemyError

from app.incidents.errors import IncidentError
from app.incidents.updates import UpdateRequest, validate_update
from app.logging import get_logger
from app.services import Services
from app.slack.outbound import blocks, update_blocks
from app.slack.outbound.gateway import SlackCallError

log = get_logger(__name__)


def _tell(respond: Respond, text: str) -> None:
    if text:
        respond(response_type="ephemeral", replace_original=False, text=text)


def _state(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    value: dict[str, Any] = values.get(block_id, {}).get("value", {})
    return value


def update_request(body: dict[str, Any], view: dict[str, Any]) -> UpdateRequest:
    values = view["state"]["values"]
    status = (_state(values, "status").get("selected_option") or {}).get("value", "")
    return UpdateRequest(
        incident_id=int(view.get("private_metadata") or 0),
        user_id=body["user"]["id"],
        status=status,
        what_we_know=_state(values, "know").get("value") or "",
        what_we_are_doing=_state(values, "doing").get("value") or "",
        next_update_minutes=str(_state(values, "next").get("value") or ""),
        request_key=f"view:{view['id']}:{view.get('hash', '')}",
        public=_published(values),
    )


def _published(values: dict[str, Any]) -> bool:
    chosen = _state(values, update_blocks.PUBLISH_BLOCK).get("selected_options") or []
    return any(
        isinstance(option, dict) and option.get("value") == update_blocks.PUBLISH_VALUE
        for option in chosen
    )


def register(app: App, services: Services) -> None:
    @app.action(blocks.POST_UPDATE_ACTION)
    def post_update_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        try:
            incident, minutes = services.updates.modal_defaults(
                int(action["value"]), body["user"]["id"]
            )
            services.slack.open_view(
                body["trigger_id"],
                update_blocks.update_modal(
                    incident, minutes, publishable=services.settings.publishes_updates
                ),
            )
        except IncidentError as error:
            _tell(respond, str(error))
        except SlackCallError as error:
            log.warning("update_modal_failed", error=error.error)
            _tell(respond, f"Slack did not open the form ({error.error}); try again.")

    @app.action(update_blocks.CLOSING_NOTE_ACTION)
    def closing_note_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        user = body["user"]["id"]
        try:
            incident = services.incidents.snapshot(int(action["value"]))
            services.incidents.require_member(incident, user)
            # Resolved: no further update is due, and the note is meant for the public.
            view = update_blocks.update_modal(incident, 0, public=not incident.is_private)
            services.slack.open_view(body["trigger_id"], view)
        except IncidentError as error:
            _tell(respond, str(error))
        except SlackCallError as error:
            log.warning("closing_note_modal_failed", error=error.error)
            _tell(respond, f"Slack did not open the form ({error.error}); try again.")

    @app.action(update_blocks.SNOOZE_ACTION)
    def snooze_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        key = f"snooze:{action.get('action_ts', '')}:{body['user']['id']}"
        try:
            answer = services.updates.snooze(int(action["value"]), body["user"]["id"], key)
        except IncidentError as error:
            answer = str(error)
        # Acknowledged once recorded: a crash after the ack loses nothing.
        ack()
        _tell(respond, answer)

    @app.view(update_blocks.UPDATE_CALLBACK)
    def update_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        request = update_request(body, view)
        errors = validate_update(request)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        try:
            services.updates.post(request)
        except IncidentError as error:
            ack(response_action="errors", errors={"know": f"Not posted: {error}"})
            return
        except SQLAlchemyError:
            log.warning("update_database_unavailable")
            ack(response_action="errors", errors={"know": blocks.DATABASE_DOWN})
            return
        # Acknowledged once recorded; the notifier posts it to the channel and the thread.
        ack()
