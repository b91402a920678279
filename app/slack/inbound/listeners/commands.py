"""The `/incident` slash command: ack at once, then route to a subcommand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from sqlalchemy.exc import SQLAlchemyError

from app.logging import get_logger
from app.services import Services
from app.slack.inbound.commands import CommandContext, dispatch, records_before_ack
from app.slack.outbound import blocks
from app.slack.outbound.gateway import SlackCallError

log = get_logger(__name__)


def register(app: App, services: Services) -> None:
    @app.command("/incident")
    def incident_command(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        text = (command.get("text") or "").strip()
        name, _, args = text.partition(" ")
        records = records_before_ack(name)
        if not records:
            ack()
        if not text:
            open_declare_modal(services, command["trigger_id"], command, respond)
            return
        channel_id = command.get("channel_id", "")
        # A recording command answers after its ack, so Slack hears back in milliseconds.
        held: list[str] = []
        reply = held.append if records else _ephemeral(respond)
        try:
            context = CommandContext(
                services=services,
                team_id=command["team_id"],
                user_id=command["user_id"],
                channel_id=channel_id,
                args=args.strip(),
                trigger_id=command.get("trigger_id", ""),
                response_url=command.get("response_url"),
                reply=reply,
                incident=services.incidents.for_channel(channel_id),
            )
            dispatch(name, context)
        except SQLAlchemyError:
            log.warning("command_database_unavailable", subcommand=name)
            reply(blocks.DATABASE_DOWN)
        finally:
            if records:
                ack()
                for message in held:
                    _ephemeral(respond)(message)


def _ephemeral(respond: Respond) -> Callable[[str], None]:
    def reply(message: str) -> None:
        respond(response_type="ephemeral", text=message)

    return reply


def open_declare_modal(
    services: Services, trigger_id: str, command: dict[str, Any], respond: Respond
) -> None:
    metadata = command.get("response_url", "")
    view = blocks.declare_modal(
        services.settings.severities, services.settings.default_severity, metadata
    )
    try:
        services.slack.open_view(trigger_id, view)
    except SlackCallError as error:
        respond(
            response_type="ephemeral",
            text=f"Slack did not open the form ({error.error}). Type `/incident declare <title>`"
            " to declare without it.",
        )
