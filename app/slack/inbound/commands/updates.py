"""`/incident update [text]`: open the stakeholder update form."""

from __future__ import annotations

from app.slack.inbound.commands.router import CommandContext, subcommand
from app.slack.outbound import update_blocks


@subcommand("update", "update [what we know]", "post a stakeholder update", in_incident=True)
def post_update(context: CommandContext) -> None:
    incident = context.require_incident()
    incident, minutes = context.services.updates.modal_defaults(incident.id, context.user_id)
    context.services.slack.open_view(
        context.trigger_id,
        update_blocks.update_modal(
            incident,
            minutes,
            context.args,
            publishable=context.services.settings.publishes_updates,
        ),
    )
