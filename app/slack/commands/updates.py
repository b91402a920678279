"""`/incident update [text]`: open the stakeholder update form."""

from __future__ import annotations

from app.slack.commands.router import CommandContext, subcommand


@subcommand("update", "update [what we know]", "post a stakeholder update", in_incident=True)
def post_update(context: CommandContext) -> None:
    incident = context.require_incident()
    context.services.updates.open_modal(
        context.trigger_id, incident.id, context.user_id, context.args
    )
