"""The postmortem draft a team pastes into its wiki (GitHub-flavoured Markdown)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

from app.export.loader import ActionFacts, EventFacts, ExportData, IncidentFacts, RoleSpell
from app.export.people import People, duration, person, plain_text, utc

OPEN_SECTIONS = ("Root cause", "Contributing factors", "What went well", "What to improve")

_KIND_LABELS = {
    "declared": "Declared",
    "impact_started": "Impact started",
    "message_pinned": "Pinned message",
    "message_reacted": "Marked message (:pushpin:)",
    "message_added": "Added message",
    "note": "Note",
    "stakeholder_update": "Stakeholder update",
    "action_item_added": "Action item added",
    "action_item_done": "Action item done",
    "alert_firing": "Alert firing",
    "alert_resolved": "Alert resolved",
    "jira_requested": "Filing in Jira asked for",
}


# Markdown that free text could start: emphasis, code, links and images, strikethrough,
# tables; `<`, `>` and `&` become entities, so no HTML and no autolink either.
_INLINE = re.compile(r"([\\`*_\[\]~|])")
# Block syntax a line could start: headings, lists, setext underlines.
_LINE_START = re.compile(r"^([#+=-])", re.MULTILINE)
_LINE_NUMBER = re.compile(r"^(\d+)([.)])", re.MULTILINE)
_BARE_PIPE = re.compile(r"(?<!\\)\|")


def md(text: str) -> str:
    """Free text (a title, a summary, a message) that renders as itself, never as markup.

    A wiki renders the export: `<img onerror=…>`, `[x](javascript:…)` or a line starting
    `## Root cause` in a title or an update must arrive as the characters typed.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _INLINE.sub(r"\\\1", text)
    # Leading spaces would make an indented code block.
    text = "\n".join(line.strip() for line in text.splitlines())
    text = _LINE_START.sub(r"\\\1", text)
    return _LINE_NUMBER.sub(r"\1\\\2", text)


def cell(text: str) -> str:
    """Markdown safe inside a table cell: one line, every pipe escaped (once)."""
    return " ".join(_BARE_PIPE.sub(r"\\|", text).split()) if text else ""


def _person(user_id: str | None, people: People) -> str:
    return md(person(user_id, people))


def write_markdown(data: ExportData, out: TextIO, people: People) -> None:
    incident = data.incident
    out.write(f"# {incident.reference}: {cell(md(incident.title))}\n\n")
    out.write("_Postmortem draft. All times are UTC._\n\n")
    _summary(incident, data.roles, out, people)
    _roles(data.roles, out, people)
    out.write("## Impact and summary\n\n")
    summary = _typed(incident.summary, people).strip()
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
        holders.setdefault(spell.role, []).append(f"{_person(spell.user_id, people)} ({held})")
    rows = [
        ("Reference", incident.reference),
        ("Title", md(incident.title)),
        ("Severity", severity),
        ("Status", incident.status.capitalize()),
        *_detection_rows(incident),
        ("Declared", f"{utc(incident.declared_at)} by {_person(incident.declared_by, people)}"),
        ("Mitigated", utc(incident.mitigated_at) or "—"),
        ("Resolved", utc(incident.resolved_at) or "—"),
        *_detection_durations(incident),
        ("Time to mitigate", duration(incident.declared_at, incident.mitigated_at) or "—"),
        ("Time to resolve", duration(incident.declared_at, incident.resolved_at) or "—"),
        *((md(role.replace("_", " ").capitalize()), ", ".join(h)) for role, h in holders.items()),
    ]
    if incident.channel_name:
        rows.append(("Channel", f"#{md(incident.channel_name)}"))
    out.write("## Summary\n\n| | |\n| --- | --- |\n")
    for name, value in rows:
        out.write(f"| {name} | {cell(value)} |\n")
    out.write("\n")


def _detection_rows(incident: IncidentFacts) -> list[tuple[str, str]]:
    """An incident born of alerts also shows when it was detected and acknowledged."""
    if incident.detected_at is None:
        return []
    return [
        ("Detected", utc(incident.detected_at)),
        ("Acknowledged", utc(incident.acknowledged_at) or "—"),
    ]


def _detection_durations(incident: IncidentFacts) -> list[tuple[str, str]]:
    detected = incident.detected_at
    if detected is None:
        return []
    return [
        ("Time to acknowledge", duration(detected, incident.acknowledged_at) or "—"),
        ("Time to declare", duration(detected, incident.declared_at) or "—"),
    ]


def _roles(roles: list[RoleSpell], out: TextIO, people: People) -> None:
    out.write("## Roles\n\n")
    if not roles:
        out.write("_No roles were assigned._\n\n")
        return
    out.write("| Role | Held by | From | Until |\n| --- | --- | --- | --- |\n")
    for spell in roles:
        until = utc(spell.relieved_at) or "end"
        out.write(
            f"| {cell(md(spell.role))} | {cell(_person(spell.user_id, people))} "
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
            f"(by {_person(update.posted_by, people)})\n\n"
        )
        if update.what_we_know:
            out.write(f"**What we know:** {_typed(update.what_we_know, people)}\n\n")
        if update.what_we_are_doing:
            out.write(f"**What we are doing:** {_typed(update.what_we_are_doing, people)}\n\n")


def _timeline(events: Iterator[EventFacts], out: TextIO, people: People) -> None:
    out.write("## Timeline\n\n| Time (UTC) | Who | What |\n| --- | --- | --- |\n")
    count = 0
    for event in events:
        count += 1
        out.write(
            f"| {event.occurred_at.strftime('%Y-%m-%d %H:%M:%S')} "
            f"| {cell(_person(event.actor_id, people))} | {cell(describe(event, people))} |\n"
        )
    if count == 0:
        out.write("| | | _Nothing was recorded._ |\n")
    out.write("\n")


def _typed(text: str, people: People) -> str:
    """Text stored as typed (modal inputs, action items), as Markdown."""
    return md(plain_text(text, people, slack_escaped=False))


def describe(event: EventFacts, people: People) -> str:
    """One line of Markdown saying what happened; a curated entry shows its new words and
    the first."""
    # Action items are stored as typed; messages, notes and curated words as Slack sent them.
    escaped = event.kind not in ("action_item_added", "action_item_done")
    curated = event.curated_text is not None
    if event.curated_text is not None:
        text = md(plain_text(event.curated_text, people))
    else:
        text = md(plain_text(event.text, people, slack_escaped=escaped))
    label = _KIND_LABELS.get(event.kind)
    line = f"{label}: {text}" if label and text else (label or text or event.kind)
    if event.kind == "action_item_added":
        owner = event.data.get("owner")
        due = event.data.get("due_date")
        extras = ([f"owner {_person(owner, people)}"] if owner else []) + (
            [f"due {md(str(due))}"] if due else []
        )
        if extras:
            line += f" ({', '.join(extras)})"
    if event.original_text is not None and event.edited_at is not None:
        original = md(plain_text(event.original_text, people, slack_escaped=escaped))
        line += f" (edited {utc(event.edited_at)}; originally: “{original}”)"
    if curated:
        original = md(plain_text(event.text, people, slack_escaped=escaped))
        line += f" (edited by {_person(event.curated_by, people)}; originally: “{original}”)"
    if event.permalink and event.permalink.startswith("https://"):
        line += f" [link]({event.permalink})"
    if event.removed_at is not None:
        line = f"~~{line}~~ (unmarked {utc(event.removed_at)})"
    if event.struck_at is not None:
        line = f"~~{line}~~ (struck by {person(event.curated_by, people)} {utc(event.struck_at)})"
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
            f"| {number} | {cell(_typed(item.text, people))} "
            f"| {cell(_person(item.owner_id, people))} | {due} | {cell(md(state))} |{issue}\n"
        )
    out.write("\n")
