"""Block Kit built by pure functions: data in, dicts out, within Slack's limits.

User-written text is escaped before it is re-posted, so `<!channel>` or `<@U123>` typed
into a title pings nobody.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from app.config import SeverityLevel
from app.incidents.rules import MAX_TITLE, STATUS_ORDER
from app.incidents.snapshot import IncidentSnapshot, channel_ref

if TYPE_CHECKING:
    from app.insight.figures import OverdueAction

T = TypeVar("T")

Block = dict[str, Any]

DECLARE_CALLBACK = "declare_incident"
DECLARE_BUTTON = "declare_open"
ROLE_ACTION_PREFIX = "role:"
SEVERITY_ACTION = "set_severity"
STATUS_ACTION = "set_status"
RESOLVE_ACTION = "resolve"
POST_UPDATE_ACTION = "post_update"
ADD_ACTION_ITEM_ACTION = "action_item_open"
ACTION_ITEM_DONE_ACTION = "action_item_done"
ACTION_ITEM_CALLBACK = "action_item_add"
EXPORT_ACTION = "export_incident"
DECLARE_SHORTCUT = "declare_incident"
TIMELINE_SHORTCUT = "add_to_timeline"
TIMELINE_PICK_CALLBACK = "add_to_timeline_pick"
SHORTCUTS = {DECLARE_SHORTCUT: "global", TIMELINE_SHORTCUT: "message"}  # as in manifest.yml
MAX_SELECT_OPTIONS = 100  # Slack's limit for a static select
PAGE_ACTION = "page_on_call"
FILE_IN_JIRA_ACTION = "action_item_jira"

SECTION_TEXT_LIMIT = 3000
# Slack renders {ago} as live relative time ("2 hours ago"), so the card shows elapsed time
# and the age of the last update without being edited every minute.
DECLARED_STYLE = "{date_short_pretty} {time} ({ago})"
FALLBACK_TEXT_LIMIT = 3000


# Slack allows 50 blocks in a message: a header, this many rows and a line saying how many
# more there are.
MAX_LIST_ROWS = 45


def escape(text: str) -> str:
    """Slack's three control characters; see "Escaping text" in Slack's formatting docs."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping of typed text (slash commands, messages): once, at the door.

    Stored text is what the person typed; `escape` is applied once, when it is shown.
    """
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": _truncate(text, limit), "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _truncate(text, SECTION_TEXT_LIMIT)}


def user_ref(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "_unassigned_"


def date_ref(moment: datetime, style: str = "{date_short_pretty} {time}") -> str:
    """A date every reader sees in their own time zone, with a UTC fallback."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{style}|{fallback}>"


def role_label(role: str) -> str:
    return role.replace("_", " ").capitalize()


def _option(value: str, text: str, description: str | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": plain(text), "value": value}
    if description:
        option["description"] = plain(description)
    return option


# --- declare modal ---------------------------------------------------------------------


def declare_modal(
    severities: Sequence[SeverityLevel],
    default_severity: str,
    private_metadata: str = "",
    title: str = "",
) -> dict[str, Any]:
    severity_options = [_option(s.name, s.name, s.description) for s in severities]
    default = next(o for o in severity_options if o["value"] == default_severity)
    title_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "max_length": MAX_TITLE,
        "placeholder": plain("Checkout fails for EU customers"),
    }
    if title:
        title_input["initial_value"] = title[:MAX_TITLE]
    return {
        "type": "modal",
        "callback_id": DECLARE_CALLBACK,
        "private_metadata": private_metadata,
        "title": plain("Declare an incident", 24),
        "submit": plain("Declare"),
        "close": plain("Cancel"),
        "blocks": [
            {"type": "input", "block_id": "title", "label": plain("Title"), "element": title_input},
            {
                "type": "input",
                "block_id": "severity",
                "label": plain("Severity"),
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": severity_options,
                    "initial_option": default,
                },
            },
            {
                "type": "input",
                "block_id": "summary",
                "optional": True,
                "label": plain("Summary: what is affected?"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": 2000,
                },
            },
            {
                "type": "input",
                "block_id": "impact_started",
                "optional": True,
                "label": plain("Impact started at"),
                "hint": plain("When people were first affected, if earlier than now."),
                "element": {"type": "datetimepicker", "action_id": "value"},
            },
            {
                "type": "input",
                "block_id": "options",
                "optional": True,
                "label": plain("Options"),
                "element": {
                    "type": "checkboxes",
                    "action_id": "value",
                    "options": [
                        _option("commander", "I am the commander"),
                        _option("private", "Private incident", "Only invited people see it"),
                    ],
                    "initial_options": [_option("commander", "I am the commander")],
                },
            },
        ],
    }


def timeline_picker_modal(
    incidents: Sequence[IncidentSnapshot], private_metadata: str, excerpt: str
) -> dict[str, Any]:
    """Pick which open incident a message from elsewhere belongs on."""
    options = [
        _option(str(incident.id), f"{incident.reference} {incident.title}")
        for incident in incidents[:MAX_SELECT_OPTIONS]
    ]
    return {
        "type": "modal",
        "callback_id": TIMELINE_PICK_CALLBACK,
        "private_metadata": private_metadata,
        "title": plain("Add to timeline", 24),
        "submit": plain("Add"),
        "close": plain("Cancel"),
        "blocks": [
            {"type": "section", "text": mrkdwn(_quote(excerpt))},
            {
                "type": "input",
                "block_id": "incident",
                "label": plain("Incident"),
                "element": {"type": "static_select", "action_id": "value", "options": options},
            },
        ],
    }


def _quote(text: str) -> str:
    lines = escape(_truncate(text.strip(), 500)).splitlines() or ["(no text)"]
    return "\n".join(f">{line}" for line in lines)


# --- incident card ---------------------------------------------------------------------


def card_text(incident: IncidentSnapshot) -> str:
    title = escape(incident.title)  # the fallback text is mrkdwn: a title must ping no one
    return f"{incident.reference} {title} — {incident.severity}, {incident.status.label}"


FIELDS_PER_SECTION = 10  # Slack's limit for a section's fields
ROLE_SELECTS_PER_ROW = 5  # a readable row; Slack would take 25


def _rows(items: list[T], size: int) -> list[list[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _role_selects(incident: IncidentSnapshot, roles: Sequence[str]) -> list[dict[str, Any]]:
    selects = []
    for role in roles:
        element: dict[str, Any] = {
            "type": "users_select",
            "action_id": f"{ROLE_ACTION_PREFIX}{role}",
            "placeholder": plain(f"{role_label(role)}…"),
        }
        if holder := incident.roles.get(role):
            element["initial_user"] = holder
        selects.append(element)
    return selects


def _controls(
    incident: IncidentSnapshot, severities: Sequence[SeverityLevel], *, paging: bool = False
) -> Block:
    severity_options = [_option(s.name, s.name) for s in severities]
    status_options = [_option(s.value, s.label) for s in STATUS_ORDER]
    severity_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": SEVERITY_ACTION,
        "placeholder": plain("Severity"),
        "options": severity_options,
    }
    for option in severity_options:
        if option["value"] == incident.severity:
            severity_select["initial_option"] = option
    return {
        "type": "actions",
        "block_id": f"controls:{incident.id}",
        "elements": [
            severity_select,
            {
                "type": "static_select",
                "action_id": STATUS_ACTION,
                "placeholder": plain("Status"),
                "options": status_options,
                "initial_option": _option(incident.status.value, incident.status.label),
            },
            {
                "type": "button",
                "action_id": POST_UPDATE_ACTION,
                "text": plain("Post update"),
                "value": str(incident.id),
            },
            {
                "type": "button",
                "action_id": ADD_ACTION_ITEM_ACTION,
                "text": plain("Add action item"),
                "value": str(incident.id),
            },
            *([_page_button(incident)] if paging and incident.status.is_open else []),
            {
                "type": "button",
                "action_id": RESOLVE_ACTION,
                "text": plain("Resolve"),
                "style": "primary",
                "value": str(incident.id),
                "confirm": {
                    "title": plain("Resolve this incident?"),
                    "text": plain("Reminders stop and stakeholders are told it is resolved.", 300),
                    "confirm": plain("Resolve"),
                    "deny": plain("Not yet"),
                },
            },
        ],
    }


def _page_button(incident: IncidentSnapshot) -> Block:
    return {
        "type": "button",
        "action_id": PAGE_ACTION,
        "text": plain("Page on-call"),
        "value": str(incident.id),
        "confirm": {
            "title": plain("Page the on-call?"),
            "text": plain("PagerDuty pages whoever is on call for this incident.", 300),
            "confirm": plain("Page"),
            "deny": plain("Not now"),
        },
    }


def _update_line(incident: IncidentSnapshot) -> str:
    last = date_ref(incident.last_update_at, "{ago}") if incident.last_update_at else "none yet"
    line = f"*Last stakeholder update:* {last}"
    if incident.next_update_due_at and incident.status.is_open:
        line += f" · next due {date_ref(incident.next_update_due_at, '{time}')}"
    return line


def bridge_link(template: str | None, incident: IncidentSnapshot) -> str | None:
    """The incident's meeting link from the FIREBREAK_BRIDGE_URL template (checked at start)."""
    if not template:
        return None
    return template.format(
        channel=incident.channel_name or f"inc-{incident.number}",
        number=incident.number,
        reference=incident.reference,
    )


def _bridge_line(bridge: str | None) -> str:
    # Slack links are <url|label>; the template was checked to be http(s).
    return f"*Bridge:* <{bridge}|join the call>" if bridge else ""


def _alerts_line(incident: IncidentSnapshot) -> str:
    firing, resolved = incident.alerts or (0, 0)
    parts = [f":rotating_light: alerts: {firing} firing, {resolved} resolved"]
    if incident.service:
        parts.append(f"service: {escape(incident.service)}")
    if incident.runbook:
        parts.append(f"<{incident.runbook}|Runbook>")
    return " · ".join(parts)


def incident_card(
    incident: IncidentSnapshot,
    roles: Sequence[str],
    severities: Sequence[SeverityLevel],
    bridge: str | None = None,
    *,
    paging: bool = False,
) -> list[Block]:
    """`paging`: PagerDuty is set up, so the card offers to page the on-call."""
    role_fields = [
        mrkdwn(f"*{role_label(role)}*\n{user_ref(incident.roles.get(role))}") for role in roles
    ]
    fields = [
        mrkdwn(f"*Severity*\n{incident.severity}"),
        mrkdwn(f"*Status*\n{incident.status.label}"),
        *role_fields,
    ]
    elapsed_end = f" · resolved {date_ref(incident.resolved_at)}" if incident.resolved_at else ""
    blocks: list[Block] = [
        {
            "type": "header",
            "text": plain(f"{incident.reference}: {incident.title}", 150),
        },
        *({"type": "section", "fields": row} for row in _rows(fields, FIELDS_PER_SECTION)),
        {
            "type": "context",
            "elements": [
                mrkdwn(
                    f"Declared {date_ref(incident.declared_at, DECLARED_STYLE)} by "
                    f"{user_ref(incident.declared_by)}"
                    f"{elapsed_end}" + (" · :lock: private" if incident.is_private else "")
                ),
                mrkdwn(_update_line(incident)),
                *([mrkdwn(_alerts_line(incident))] if incident.alerts else []),
            ],
        },
    ]
    if incident.summary:
        blocks.append({"type": "section", "text": mrkdwn(escape(incident.summary))})
    if bridge:
        blocks.append({"type": "section", "text": mrkdwn(_bridge_line(bridge))})
    for row, selects in enumerate(_rows(_role_selects(incident, roles), ROLE_SELECTS_PER_ROW)):
        prefix = "roles" if row == 0 else f"roles-{row + 1}"
        blocks.append(
            {"type": "actions", "block_id": f"{prefix}:{incident.id}", "elements": selects}
        )
    blocks.append(_controls(incident, severities, paging=paging))
    return blocks


def channel_topic(incident: IncidentSnapshot) -> str:
    commander = incident.commander
    return (
        f"{incident.reference} · {incident.severity} · {incident.status.label} · "
        f"Commander: {user_ref(commander) if commander else 'unassigned'}"
    )


# --- announcement ----------------------------------------------------------------------


def announcement(
    incident: IncidentSnapshot, latest_update: str | None = None, bridge: str | None = None
) -> list[Block]:
    lines = [
        f"*Severity:* {incident.severity}   *Status:* {incident.status.label}   "
        f"*Commander:* {user_ref(incident.commander)}",
        f"*Channel:* {channel_ref(incident.channel_id)}",
    ]
    if bridge and incident.status.is_open:
        lines.append(_bridge_line(bridge))
    if latest_update:
        lines.append(f"*Latest:* {escape(latest_update)}")
    return [
        {"type": "header", "text": plain(f"{incident.reference}: {incident.title}", 150)},
        {"type": "section", "text": mrkdwn("\n".join(lines))},
        {
            "type": "context",
            "elements": [mrkdwn("Updates for stakeholders are posted in this thread.")],
        },
    ]


def duration_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} days {hours % 24} h"


def resolved_notice(incident: IncidentSnapshot, actor: str) -> str:
    assert incident.resolved_at is not None
    took = duration_text((incident.resolved_at - incident.declared_at).total_seconds())
    return (
        f":white_check_mark: {incident.reference} is resolved ({took} after it was declared). "
        f"Resolved by <@{actor}>."
    )


def postmortem_whereabouts(incident: IncidentSnapshot) -> str:
    return (
        "The postmortem stays available: press *Export postmortem* next to "
        f"{incident.reference} on Firebreak's Home tab (Markdown or JSON), or run "
        f"`firebreak export {incident.reference}`."
    )


def archive_scheduled(incident: IncidentSnapshot, archive_at: datetime) -> str:
    return (
        f":lock: {incident.reference} is closed: the review is done. This channel will be "
        f"archived {date_ref(archive_at)}; reopening before then keeps it. "
        + postmortem_whereabouts(incident)
    )


def archiving_notice(incident: IncidentSnapshot) -> str:
    return (
        f":file_cabinet: Archiving this channel: {incident.reference} is closed. "
        + postmortem_whereabouts(incident)
        + f" To reopen, type `/incident reopen {incident.reference}` anywhere."
    )


def welcome(
    incident: IncidentSnapshot,
    roles: Sequence[str],
    latest_update: str | None,
    bridge: str | None = None,
) -> tuple[str, list[Block]]:
    """The ephemeral summary a newcomer to an incident channel gets."""
    holders = " · ".join(f"{role_label(r)}: {user_ref(incident.roles.get(r))}" for r in roles)
    text = (
        f"Welcome to {incident.reference}: {escape(incident.title)} "
        f"({incident.severity}, {incident.status.label})"
    )
    lines = [
        f"*{text}*",
        holders,
        f"Latest update: {escape(latest_update)}" if latest_update else "No update posted yet.",
        *([_bridge_line(bridge)] if bridge else []),
        "`/incident who` lists who is here; the pinned card has the controls.",
    ]
    return text, [{"type": "section", "text": mrkdwn("\n".join(lines))}]


def who_text(incident: IncidentSnapshot, roles: Sequence[str], members: Sequence[str]) -> str:
    holders = [f"{role_label(role)}: {user_ref(incident.roles.get(role))}" for role in roles]
    people = " ".join(user_ref(member) for member in members) or "nobody yet"
    return "\n".join(
        [
            f"*{incident.reference} roles*",
            *holders,
            f"*In {channel_ref(incident.channel_id)}* ({len(members)}): {people}",
        ]
    )


def reopened_notice(incident: IncidentSnapshot, actor: str) -> str:
    return (
        f":rotating_light: {incident.reference} is open again: {incident.status.label}, "
        f"reopened by <@{actor}>. Follow {channel_ref(incident.channel_id)}"
    )


def escalated_notice(incident: IncidentSnapshot, actor: str) -> str:
    return (
        f":rotating_light: {incident.reference} escalated to {incident.severity} by "
        f"<@{actor}>: {escape(incident.title)}. Join {channel_ref(incident.channel_id)}"
    )


def announcement_text(incident: IncidentSnapshot) -> str:
    status = f"{incident.severity} {incident.status.label}"
    return f"{incident.reference} {status}: {escape(incident.title)}"


# --- lists and home --------------------------------------------------------------------


def incident_line(incident: IncidentSnapshot, now: datetime) -> str:
    age_minutes = int((now - incident.declared_at).total_seconds() // 60)
    age = f"{age_minutes // 60}h {age_minutes % 60}m" if age_minutes >= 60 else f"{age_minutes}m"
    lock = " :lock:" if incident.is_private else ""
    return (
        f"*{incident.reference}* {escape(incident.title)}{lock} · {incident.severity} · "
        f"{incident.status.label} · commander {user_ref(incident.commander)} · {age} · "
        f"{channel_ref(incident.channel_id)}"
    )


def incident_list(incidents: Sequence[IncidentSnapshot], now: datetime) -> list[Block]:
    if not incidents:
        return [{"type": "section", "text": mrkdwn("No open incidents. :sunny:")}]
    header = {"type": "section", "text": mrkdwn(f"*Open incidents ({len(incidents)})*")}
    rows = [
        {"type": "section", "text": mrkdwn(incident_line(i, now))}
        for i in incidents[:MAX_LIST_ROWS]
    ]
    return [header, *rows, *_more(len(incidents))]


def home_view(
    incidents: Sequence[IncidentSnapshot],
    my_roles: Sequence[tuple[IncidentSnapshot, str]],
    now: datetime,
    recent: Sequence[IncidentSnapshot] = (),
    refused: Mapping[int, Sequence[tuple[str, str]]] | None = None,
    numbers: Sequence[str] = (),
    overdue: Sequence[OverdueAction] = (),
) -> dict[str, Any]:
    blocks: list[Block] = [
        {"type": "header", "text": plain("Firebreak")},
        {
            "type": "actions",
            "block_id": "home",
            "elements": [
                {
                    "type": "button",
                    "action_id": DECLARE_BUTTON,
                    "text": plain("Declare incident"),
                    "style": "danger",
                }
            ],
        },
        {"type": "divider"},
        *incident_list(incidents, now)[:60],
        *_refused_notes(incidents, refused or {}),
        {"type": "divider"},
        {"type": "section", "text": mrkdwn("*Your roles*")},
    ]
    if my_roles:
        lines = [f"{role_label(role)} of *{i.reference}* {escape(i.title)}" for i, role in my_roles]
        blocks.append({"type": "section", "text": mrkdwn("\n".join(lines[:30]))})
    else:
        blocks.append({"type": "context", "elements": [mrkdwn("You hold no incident roles.")]})
    blocks += _home_insight(numbers, overdue)
    if recent:
        blocks += [{"type": "divider"}, {"type": "section", "text": mrkdwn("*Recent incidents*")}]
        blocks += [_export_row(incident) for incident in recent[:10]]
    return {"type": "home", "blocks": blocks[:100]}


def _home_insight(numbers: Sequence[str], overdue: Sequence[OverdueAction]) -> list[Block]:
    found: list[Block] = [{"type": "divider"}]
    if numbers:
        found.append({"type": "section", "text": mrkdwn("*Last 30 days*\n" + "\n".join(numbers))})
        note = "Incidents you may see. `/incident stats` for more and charts."
        found.append({"type": "context", "elements": [mrkdwn(note)]})
    found.append({"type": "section", "text": mrkdwn("*Your overdue action items*")})
    if not overdue:
        found.append({"type": "context", "elements": [mrkdwn("None overdue.")]})
        return found
    lines = [
        f"• *{item.reference}* {escape(item.text)[:200]} (due {item.due_date.isoformat()}, "
        f"{item.days_overdue} {'day' if item.days_overdue == 1 else 'days'} overdue)"
        for item in overdue[:20]
    ]
    found.append({"type": "section", "text": mrkdwn("\n".join(lines)[:3000])})
    return found


EFFECT_NAMES = {
    "card": "the card redraw",
    "topic": "the channel topic",
    "announcement": "the announcement redraw",
    "line": "a line in the channel",
    "notice": "a notice to stakeholders",
    "update": "a stakeholder update",
    "invite": "an invitation",
    "archiving": "the note that the channel will be archived",
}


def _refused_notes(
    incidents: Sequence[IncidentSnapshot], refused: Mapping[int, Sequence[tuple[str, str]]]
) -> list[Block]:
    """What Slack refused for good about the listed incidents, so someone can fix it."""
    lines = [
        f":warning: *{incident.reference}*: Slack refused {EFFECT_NAMES.get(kind, kind)} "
        f"(`{escape(error)}`); it is on the timeline."
        for incident in incidents
        for kind, error in refused.get(incident.id, ())
    ]
    if not lines:
        return []
    return [{"type": "context", "elements": [mrkdwn("\n".join(lines[:10]))]}]


def _export_row(incident: IncidentSnapshot) -> Block:
    return {
        "type": "section",
        "text": mrkdwn(
            f"*{incident.reference}* {escape(incident.title)} · {incident.status.label}"
        ),
        "accessory": {
            "type": "button",
            "action_id": EXPORT_ACTION,
            "text": plain("Export postmortem"),
            "value": f"{incident.id}:markdown",
        },
    }


# --- timeline -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineLine:
    id: int
    occurred_at: datetime
    kind: str
    actor_id: str | None
    text: str
    curated_text: str | None = None
    curated_by: str | None = None
    struck: bool = False


def timeline_listing(reference: str, entries: Sequence[TimelineLine], limit: int) -> str:
    """`/incident timeline`: the latest entries with the ids the edit commands take."""
    if not entries:
        return f"Nothing is on the {reference} timeline yet."
    lines = [f"*{reference} timeline* (latest {limit}; the number is the entry id)"]
    for entry in entries:
        words = entry.curated_text if entry.curated_text is not None else entry.text
        line = f"`{entry.id}` {entry.occurred_at.strftime('%H:%M')} UTC"
        line += f" {user_ref(entry.actor_id)}" if entry.actor_id else ""
        line += f" _{entry.kind.replace('_', ' ')}_: {escape(_truncate(words, 200))}"
        if entry.curated_text is not None:
            line += f" _(edited by {user_ref(entry.curated_by)})_"
        lines.append(f"~{line}~ _(struck)_" if entry.struck else line)
    lines.append(
        "Scribe or commander: `/incident timeline edit <id> <new text>`, "
        "`/incident timeline strike <id>`, `/incident timeline restore <id>`."
    )
    return "\n".join(lines)


# --- action items ------------------------------------------------------------------------


def action_item_summary(text: str, owner_id: str | None, due: date | None) -> str:
    owner = user_ref(owner_id) if owner_id else "_no owner_"
    when = f" · due {due.isoformat()}" if due else ""
    return f"{escape(text)} — {owner}{when}"


def action_item_line(
    text: str,
    owner_id: str | None,
    due: date | None,
    state: str,
    number: int,
    issue: tuple[str, str] | None = None,
) -> str:
    """`issue`: the Jira issue's key and link."""
    mark = ":white_check_mark:" if state == "done" else ":white_square:"
    filed = f" · <{issue[1]}|{escape(issue[0])}>" if issue else ""
    return f"{mark} {number}. {action_item_summary(text, owner_id, due)}{filed}"


ItemRow = tuple[int, str, str | None, date | None, str]


def action_item_list(
    reference: str,
    items: Sequence[ItemRow],
    issues: Mapping[int, tuple[str, str] | None] | None = None,
    *,
    jira: bool = False,
) -> list[Block]:
    """items: (id, text, owner, due date, state) in the order they were added; issues:
    item id -> (Jira key, link) or None when filing is asked for and not done yet;
    `jira`: Jira is set up, so an item not filed yet offers "File in Jira"."""
    issues = issues or {}
    if not items:
        return [
            {
                "type": "section",
                "text": mrkdwn(
                    f"No action items on {reference} yet. Add one with "
                    "`/incident action <text> [@owner] [due <when>]`."
                ),
            }
        ]
    rows: list[Block] = [{"type": "section", "text": mrkdwn(f"*Action items for {reference}*")}]
    shown = 0
    # Slack allows 50 blocks: the heading, the rows (an item with a Jira button takes two)
    # and the note saying how many more there are.
    for number, (item_id, text, owner, due, state) in enumerate(items[:MAX_LIST_ROWS], start=1):
        row: Block = {
            "type": "section",
            "text": mrkdwn(action_item_line(text, owner, due, state, number, issues.get(item_id))),
        }
        if state != "done":
            row["accessory"] = {
                "type": "button",
                "action_id": ACTION_ITEM_DONE_ACTION,
                "text": plain("Mark done"),
                "value": str(item_id),
            }
        extra = jira and item_id not in issues and state != "done"
        if len(rows) + 1 + int(extra) > 49:
            break
        rows.append(row)
        shown += 1

        if extra:
            rows.append(
                {
                    "type": "actions",
                    "block_id": f"jira:{item_id}",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": FILE_IN_JIRA_ACTION,
                            "text": plain("File in Jira"),
                            "value": str(item_id),
                        }
                    ],
                }
            )
    return [*rows, *_more(len(items), "`/incident export` lists every action item", shown)]


def _more(total: int, where: str = "", shown: int = MAX_LIST_ROWS) -> list[Block]:
    """Say what a capped list leaves out, and where to see it all."""
    if total <= shown:
        return []
    text = f"Showing {shown} of {total}: {total - shown} more not shown here"
    text += f"; {where}." if where else "."
    return [{"type": "context", "elements": [mrkdwn(text)]}]


def action_item_modal(incident: IncidentSnapshot) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ACTION_ITEM_CALLBACK,
        "private_metadata": str(incident.id),
        "title": plain("Add action item", 24),
        "submit": plain("Add"),
        "close": plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": "text",
                "label": plain("What needs doing"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": 1000,
                },
            },
            {
                "type": "input",
                "block_id": "owner",
                "optional": True,
                "label": plain("Owner"),
                "element": {"type": "users_select", "action_id": "value"},
            },
            {
                "type": "input",
                "block_id": "due",
                "optional": True,
                "label": plain("Due date"),
                "element": {"type": "datepicker", "action_id": "value"},
            },
        ],
    }


DATABASE_DOWN = (
    "Firebreak cannot reach its database right now, so nothing was saved. "
    "Try again in a minute; if it keeps failing, tell whoever runs Firebreak."
)


def declaring_modal(incident: IncidentSnapshot) -> dict[str, Any]:
    """What the declare modal turns into once the incident is recorded."""
    return {
        "type": "modal",
        "title": plain(incident.reference),
        "close": plain("Close"),
        "blocks": [
            {
                "type": "section",
                "text": mrkdwn(
                    f":white_check_mark: *{incident.reference}* is recorded: "
                    f"{escape(incident.title)}\n"
                    "Firebreak is now creating its channel, posting the incident card and "
                    "announcing it. If Slack is slow or down, that finishes on its own when "
                    "Slack is back; nothing is lost."
                ),
            }
        ],
    }


def declared_message(
    incident: IncidentSnapshot, pending: str = "", error: str | None = None
) -> str:
    if not pending:
        return (
            f":white_check_mark: *{incident.reference}* is ready: "
            f"{channel_ref(incident.channel_id)}"
        )
    where = f" in {channel_ref(incident.channel_id)}" if incident.channel_id else ""
    return (
        f":warning: *{incident.reference}* is recorded{where}, but Slack did not let me "
        f"{pending} yet ({error or 'unknown error'}). Firebreak retries on its own; "
        "nothing is lost."
    )
