"""The postmortem draft a team pastes into its wiki (GitHub-flavoured Markdown)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

from app.export.loader import ActionFacts, EventFacts, ExportData, IncidentFacts, RoleSpell
from app.export.people import People, duration, person, plain_text, utc

OPEN_SECTIONS = ("Root cause", "Contributing factors", "What went well", "What to improve")

_KIND_LABELS = {
    "declared": "Declared",
    "message_pinned": "Pinned message",
    "message_reacted": "Marked message (:pushpin:)",
    "note": "Note",
    "stakeholder_update": "Stakeholder update",
    "action_item_added": "Action item added",
    "action_item_done": "Action item done",
    "jira_requested": "Filing in Jira asked for",
}


def cell(text: str) -> str:
    """Text safe inside a table cell: one line, pipes escaped."""
    return " ".join(text.replace("|", "\\|").split()) if text else ""


def write_markdown(data: ExportData, out: TextIO, people: People) -> None:
    incident = data.incident
    out.write(f"# {incident.reference}: {incident.title}\n\n")
    out.write("_Postmortem draft. All times are UTC._\n\n")
    _summary(incident, data.roles, out, people)
    _roles(data.roles, out, people)
    out.write("## Impact and summary\n\n")
    summary = plain_text(incident.summary, people).strip()
    out.write(f"{summary}\n\n" if summary else "_Who was affected, how, and for how long._\n\n")
    _updates(data, out, people)
    _timeline(data.events, out, people)
    _actions(data.actions, out, people)
    for heading in OPEN_SECTIONS:
        out.write(f"## {heading}\n\n_To be written._\n\n")


def _summary(incident: IncidentFacts, roles: list[RoleSpell], out: TextIO, people: People) -> None:
    severity = incident.severity
    if incident.highest_severity != incident.severity:
        severity += f" (highest: {incident.highest_severity})"
    holders: dict[str, list[str]] = {}
    for spell in roles:
        until = spell.relieved_at.strftime("%H:%M") if spell.relieved_at else "end"
        held = f"{spell.assigned_at.strftime('%H:%M')}-{until}"
        holders.setdefault(spell.role, []).append(f"{person(spell.user_id, people)} ({held})")
    rows = [
        ("Reference", incident.reference),
        ("Title", incident.title),
        ("Severity", severity),
        ("Status", incident.status.capitalize()),
        ("Declared", f"{utc(incident.declared_at)} by {person(incident.declared_by, people)}"),
        ("Mitigated", utc(incident.mitigated_at) or "—"),
        ("Resolved", utc(incident.resolved_at) or "—"),
        ("Time to mitigate", duration(incident.declared_at, incident.mitigated_at) or "—"),
        ("Time to resolve", duration(incident.declared_at, incident.resolved_at) or "—"),
        *(
            [
                ("Acknowledged", utc(incident.acknowledged_at)),
                ("Time to acknowledge", duration(incident.declared_at, incident.acknowledged_at)),
            ]
            if incident.acknowledged_at
            else []
        ),
        *((role.replace("_", " ").capitalize(), ", ".join(h)) for role, h in holders.items()),
    ]
    if incident.channel_name:
        rows.append(("Channel", f"#{incident.channel_name}"))
    out.write("## Summary\n\n| | |\n| --- | --- |\n")
    for name, value in rows:
        out.write(f"| {name} | {cell(value)} |\n")
    out.write("\n")


def _roles(roles: list[RoleSpell], out: TextIO, people: People) -> None:
    out.write("## Roles\n\n")
    if not roles:
        out.write("_No roles were assigned._\n\n")
        return
    out.write("| Role | Held by | From | Until |\n| --- | --- | --- | --- |\n")
    for spell in roles:
        until = utc(spell.relieved_at) or "end"
        out.write(
            f"| {cell(spell.role)} | {cell(person(spell.user_id, people))} "
            f"| {utc(spell.assigned_at)} | {until} |\n"
        )
    out.write("\n")


def _updates(data: ExportData, out: TextIO, people: People) -> None:
    out.write("## Stakeholder updates\n\n")
    if not data.updates:
        out.write("_No stakeholder updates were posted._\n\n")
    for update in data.updates:
        out.write(
            f"### {utc(update.posted_at)} — {update.status.capitalize()}, {update.severity} "
            f"(by {person(update.posted_by, people)})\n\n"
        )
        if update.what_we_know:
            out.write(f"**What we know:** {plain_text(update.what_we_know, people)}\n\n")
        if update.what_we_are_doing:
            out.write(f"**What we are doing:** {plain_text(update.what_we_are_doing, people)}\n\n")


def _timeline(events: Iterator[EventFacts], out: TextIO, people: People) -> None:
    out.write("## Timeline\n\n| Time (UTC) | Who | What |\n| --- | --- | --- |\n")
    count = 0
    for event in events:
        count += 1
        out.write(
            f"| {event.occurred_at.strftime('%Y-%m-%d %H:%M:%S')} "
            f"| {cell(person(event.actor_id, people))} | {cell(describe(event, people))} |\n"
        )
    if count == 0:
        out.write("| | | _Nothing was recorded._ |\n")
    out.write("\n")


def describe(event: EventFacts, people: People) -> str:
    """One line saying what happened."""
    text = plain_text(event.text, people)
    label = _KIND_LABELS.get(event.kind)
    line = f"{label}: {text}" if label and text else (label or text or event.kind)
    if event.kind == "action_item_added":
        owner = event.data.get("owner")
        due = event.data.get("due_date")
        extras = ([f"owner {person(owner, people)}"] if owner else []) + (
            [f"due {due}"] if due else []
        )
        if extras:
            line += f" ({', '.join(extras)})"
    if event.original_text is not None and event.edited_at is not None:
        original = plain_text(event.original_text, people)
        line += f" (edited {utc(event.edited_at)}; originally: “{original}”)"
    if event.permalink:
        line += f" [link]({event.permalink})"
    if event.removed_at is not None:
        line = f"~~{line}~~ (unmarked {utc(event.removed_at)})"
    return line


def _actions(actions: list[ActionFacts], out: TextIO, people: People) -> None:
    out.write("## Action items\n\n")
    if not actions:
        out.write("_No action items yet._\n\n")
        return
    jira = any(item.jira_issue_key for item in actions)
    head = "| # | Action | Owner | Due | State |" + (" Jira |" if jira else "")
    out.write(head + "\n|" + " --- |" * (6 if jira else 5) + "\n")
    for number, item in enumerate(actions, start=1):
        state = f"done {utc(item.done_at)}" if item.state == "done" else item.state
        due = item.due_date.isoformat() if item.due_date else ""
        issue = f" {cell(item.jira_issue_key or '')} |" if jira else ""
        out.write(
            f"| {number} | {cell(plain_text(item.text, people))} "
            f"| {cell(person(item.owner_id, people))} | {due} | {cell(state)} |{issue}\n"
        )
    out.write("\n")
