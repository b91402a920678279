"""The `/incident` slash command: ack at once, then route to a subcommand.

A subcommand that records a change (`records=True`) runs before the ack, its replies held
until after it. Whatever a subcommand raises is answered by `app.slack.inbound.errors`.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from app.services import Services
from app.slack.inbound import payloads
from app.slack.inbound.commands import CommandContext, dispatch, records_before_ack
from app.slack.inbound.errors import answered
from app.slack.inbound.replies import ephemeral
from app.slack.outbound import blocks


def register(app: App) -> None:
    app.command("/incident")(answered(incident_command))


def incident_command(ack: Ack, body: dict[str, Any], respond: Respond, services: Services) -> None:
    command = payloads.command(body)
    records = records_before_ack(command.name)
    if not records:
        ack()
    if not command.text:
        open_declare_modal(services, command)
        return
    # A recording command answers after its ack, so Slack hears back in milliseconds.
    held: list[str] = []
    try:
        dispatch(
            command.name,
            CommandContext(
                services=services,
                team_id=command.team_id,
                user_id=command.user_id,
                channel_id=command.channel_id,
                args=command.args,
                trigger_id=command.trigger_id,
                response_url=command.response_url,
                reply=held.append if records else lambda text: ephemeral(respond, text),
                incident=services.incidents.for_channel(command.channel_id),
            ),
        )
    finally:
        # Also when it failed: the error handler then replies after these.
        if records:
            ack()
            for message in held:
                ephemeral(respond, message)


def open_declare_modal(services: Services, command: payloads.Command) -> None:
    settings = services.settings
    view = blocks.declare_modal(
        settings.severities, settings.default_severity, command.response_url or ""
    )
    services.slack.open_view(command.trigger_id, view)
