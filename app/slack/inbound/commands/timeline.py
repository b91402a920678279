"""Timeline subcommands: note, action, actions, export."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.export.delivery import parse_format, share_export
from app.incidents.actions import USAGE, parse_action
from app.incidents.errors import InvalidInput
from app.incidents.rules import Source
from app.incidents.timeline import EDIT, MAX_LISTED, RESTORE, STRIKE, Curation
from app.integrations.jira import browse_url
from app.services import Services
from app.slack.inbound.commands.router import CommandContext, subcommand
from app.slack.outbound import blocks
from app.slack.outbound.gateway import SlackCallError


def requester_today(services: Services, user_id: str) -> date:
    """Today where the requester is (their Slack time zone), so "tomorrow" is theirs."""
    try:
        zone = ZoneInfo(services.slack.user(user_id).tz or "UTC")
    except (SlackCallError, ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return services.clock().astimezone(zone).date()


@subcommand("note", "note <text>", "add a note to the timeline", in_incident=True)
def note(context: CommandContext) -> None:
    incident = context.require_incident()
    services = context.services
    services.incidents.require_member(incident, context.user_id)
    if services.timeline.note(
        incident.id, context.args, context.user_id, f"command:{context.trigger_id}"
    ):
        context.reply(f":memo: Noted on the {incident.reference} timeline.")


TIMELINE_USAGE = (
    "Type `/incident timeline` to list entries, `/incident timeline edit <id> <new text>`, "
    "`/incident timeline strike <id>` or `/incident timeline restore <id>`."
)


@subcommand(
    "timeline",
    "timeline [edit <id> <text> | strike <id> | restore <id>]",
    "list timeline entries; the scribe or commander rewords or strikes one",
    in_incident=True,
)
def timeline(context: CommandContext) -> None:
    incident = context.require_incident()
    services = context.services
    services.incidents.require_member(incident, context.user_id)
    if not context.args:
        entries = services.timeline.entries(incident.id)
        lines = [
            blocks.TimelineLine(
                e.id or 0,
                e.occurred_at,
                e.kind,
                e.actor_id,
                e.text,
                e.curated_text,
                e.curated_by,
                e.struck_at is not None,
            )
            for e in entries
        ]
        context.reply(blocks.timeline_listing(incident.reference, lines, MAX_LISTED))
        return
    action, _, rest = context.args.partition(" ")
    entry, _, text = rest.strip().partition(" ")
    action = action.lower()
    if action not in (EDIT, STRIKE, RESTORE) or not entry.isdigit():
        raise InvalidInput(TIMELINE_USAGE)
    change = Curation(
        int(entry),
        action,
        context.user_id,
        f"command:{context.trigger_id}",
        text if action == EDIT else None,
    )
    curated = services.timeline.curate(incident, change)
    if curated is None:
        return
    done = {EDIT: "reworded", STRIKE: "struck", RESTORE: "restored"}[action]
    context.reply(
        f"Entry {entry} {done} on the {incident.reference} timeline; the export keeps "
        "what was first recorded."
    )


@subcommand(
    "action",
    "action <text> [@owner] [due <date|tomorrow|friday|in 3 days>]",
    "add an action item",
    in_incident=True,
)
def add_action(context: CommandContext) -> None:
    incident = context.require_incident()
    if not context.args:
        raise InvalidInput(USAGE)
    services = context.services
    parsed = parse_action(context.args, requester_today(services, context.user_id))
    # Slack escapes `&`, `<` and `>` in command text; store what was typed.
    item = replace(parsed, text=blocks.unescape(parsed.text))
    services.incidents.require_member(incident, context.user_id)
    added = services.actions.add(
        incident.id, item, context.user_id, Source.COMMAND, f"command:{context.trigger_id}"
    )
    if added is None:
        return
    services.slack.post(
        incident.channel_id or "",
        f"<@{context.user_id}> added an action item: "
        + blocks.action_item_summary(added.text, added.owner_id, added.due_date),
    )


@subcommand("actions", "actions", "list the action items", in_incident=True)
def list_actions(context: CommandContext) -> None:
    incident = context.require_incident()
    services = context.services
    stored = services.actions.items(incident.id)
    items = [(item.id or 0, item.text, item.owner_id, item.due_date, item.state) for item in stored]
    settings = services.settings
    issues = {
        item.id or 0: (
            (item.jira_issue_key, browse_url(settings.jira_url or "", item.jira_issue_key))
            if item.jira_issue_key
            else None
        )
        for item in stored
        if item.jira_issue_key or item.jira_requested_at
    }
    services.slack.post_ephemeral(
        context.channel_id,
        context.user_id,
        f"{len(items)} action items on {incident.reference}",
        blocks.action_item_list(incident.reference, items, issues, jira=settings.jira_enabled),
    )


@subcommand("export", "export [markdown|json]", "post the postmortem file here", in_incident=True)
def export(context: CommandContext) -> None:
    incident = context.require_incident()
    fmt = parse_format(context.args)
    services = context.services
    share_export(
        services.db,
        services.slack,
        incident,
        fmt,
        channel=incident.channel_id or context.channel_id,
        requested_by=context.user_id,
        allowed=services.incidents.can_see(incident, context.user_id),
    )
