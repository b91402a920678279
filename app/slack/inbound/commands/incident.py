"""Declaring and commanding from text: declare, list, role, severity, status, resolve, help."""

from __future__ import annotations

import re

from app.incidents.errors import UNKNOWN_INCIDENT, InvalidInput, NotAllowed
from app.incidents.rules import Source, Status, parse_status
from app.incidents.service import Declaration
from app.slack.inbound.closing_note import closing_note_hint
from app.slack.inbound.commands.router import CommandContext, help_lines, subcommand
from app.slack.outbound import blocks
from app.store.types import utcnow

USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@subcommand("help", "help", "show every command")
def show_help(context: CommandContext) -> None:
    context.reply("\n".join(help_lines()))


@subcommand("declare", "declare <title>", "declare at once with the default severity")
def declare(context: CommandContext) -> None:
    services = context.services
    declaration = Declaration(
        team_id=context.team_id,
        user_id=context.user_id,
        title=context.args,
        severity=services.settings.default_severity,
        source=Source.COMMAND,
        request_key=f"command:{context.trigger_id}",
    )
    declared = services.incidents.declare(declaration)
    if declared is None:
        return
    context.reply(f"Declaring *{declared.reference}*… I'll post the channel link here.")
    result = services.provisioner.run(declared.id)
    context.reply(blocks.declared_message(result.incident, result.pending_text(), result.error))


@subcommand("list", "list", "open incidents you can see")
def list_incidents(context: CommandContext) -> None:
    incidents = context.services.incidents.visible_open_incidents(context.team_id, context.user_id)
    lines = [blocks.incident_line(incident, utcnow()) for incident in incidents]
    context.reply("\n".join(["*Open incidents*", *lines]) if lines else "No open incidents.")


@subcommand("role", "role <role> @someone", "hand a role over", in_incident=True, records=True)
def assign_role(context: CommandContext) -> None:
    incident = context.require_incident()
    roles = context.services.settings.roles
    parts = context.args.split(maxsplit=1)
    mention = USER_MENTION.search(parts[1]) if len(parts) == 2 else None
    if not parts or parts[0].lower() not in roles or mention is None:
        raise InvalidInput(f"Type `/incident role <{'|'.join(roles)}> @someone`.")
    change = context.services.incidents.assign_role(
        incident.id, parts[0].lower(), mention.group(1), context.user_id, Source.COMMAND
    )
    if not change.changed:
        context.reply(change.summary)


@subcommand("severity", "severity <level>", "change the severity", in_incident=True, records=True)
def change_severity(context: CommandContext) -> None:
    incident = context.require_incident()
    if not context.args:
        names = "|".join(s.lower() for s in context.services.settings.severity_names)
        raise InvalidInput(f"Type `/incident severity <{names}>`.")
    change = context.services.incidents.change_severity(
        incident.id, context.args.split()[0], context.user_id, Source.COMMAND
    )
    if not change.changed:
        context.reply(change.summary)


@subcommand("status", "status <status>", "move the status", in_incident=True, records=True)
def change_status(context: CommandContext) -> None:
    incident = context.require_incident()
    status = parse_status(context.args.split()[0]) if context.args else None
    if status is None:
        raise InvalidInput(f"Type `/incident status <{'|'.join(s.value for s in Status)}>`.")
    change = context.services.incidents.change_status(
        incident.id, status, context.user_id, Source.COMMAND
    )
    if not change.changed:
        context.reply(change.summary)
    if change.note:
        context.reply(change.note)
    hint = closing_note_hint(context.services, change)
    if hint:
        context.reply(hint)


@subcommand(
    "reopen",
    "reopen [INC-n] [status]",
    "reopen a resolved or closed incident (from anywhere; unarchives its channel)",
)
def reopen(context: CommandContext) -> None:
    services = context.services
    words = context.args.split()
    incident = context.incident
    if words and words[0].upper().startswith("INC-"):
        incident = services.incidents.by_reference(context.team_id, words.pop(0))
        if incident is None:
            raise NotAllowed(UNKNOWN_INCIDENT)
    if incident is None:
        raise InvalidInput(
            "Type `/incident reopen INC-<number>`, or run it in the incident's channel."
        )
    status = parse_status(words[0]) if words else Status.INVESTIGATING
    if status is None or not status.is_open:
        raise InvalidInput("Reopen to `investigating`, `identified` or `monitoring`.")
    services.incidents.require_member(incident, context.user_id)
    if incident.status.is_open:
        context.reply(f"{incident.reference} is open already ({incident.status.label}).")
        return
    change = services.incidents.change_status(incident.id, status, context.user_id, Source.COMMAND)
    context.reply(change.note or f"{incident.reference} is reopened: {status.label}.")


@subcommand("who", "who", "who holds each role and who is in the channel", in_incident=True)
def who(context: CommandContext) -> None:
    incident = context.require_incident()
    slack = context.services.slack
    members = [m for m in slack.members(incident.channel_id or "") if m != slack.bot_user_id()]
    context.reply(blocks.who_text(incident, context.services.settings.roles, members))


@subcommand("resolve", "resolve", "resolve the incident", in_incident=True, records=True)
def resolve(context: CommandContext) -> None:
    incident = context.require_incident()
    change = context.services.incidents.change_status(
        incident.id, Status.RESOLVED, context.user_id, Source.COMMAND
    )
    if not change.changed:
        context.reply(change.summary)
    hint = closing_note_hint(context.services, change)
    if hint:
        context.reply(hint)
