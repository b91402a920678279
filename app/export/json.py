"""The same postmortem as JSON: stable keys, ISO-8601 UTC times, a schema version.

The events array is written one event at a time, so memory does not grow with the
timeline. `docs/export.schema.json` describes the document.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from app.export.loader import ActionFacts, EventFacts, ExportData, RoleSpell, UpdateFacts
from app.export.people import People, iso, seconds_between

SCHEMA_VERSION = "1.0"


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def write_json(data: ExportData, out: TextIO, people: People) -> None:
    head = {
        "schema_version": SCHEMA_VERSION,
        "incident": _incident(data),
        "roles": [_role(spell, people) for spell in data.roles],
        "stakeholder_updates": [_update(update, people) for update in data.updates],
        "action_items": [_action(item, people) for item in data.actions],
    }
    out.write(_dump(head)[:-1])
    out.write(', "timeline": [')
    for index, event in enumerate(data.events):
        out.write(("\n  " if index == 0 else ",\n  ") + _dump(_event(event, people)))
    out.write("\n]}\n")


def _user(user_id: str | None, people: People) -> dict[str, str] | None:
    return {"id": user_id, "name": people(user_id)} if user_id else None


def _incident(data: ExportData) -> dict[str, Any]:
    return {**_facts(data), **_detection(data)}


def _detection(data: ExportData) -> dict[str, Any]:
    """Only incidents born of alerts know when the problem was detected and acknowledged."""
    facts = data.incident
    if facts.detected_at is None:
        return {}
    return {
        "detected_at": iso(facts.detected_at),
        "acknowledged_at": iso(facts.acknowledged_at),
        "time_to_acknowledge_seconds": seconds_between(facts.detected_at, facts.acknowledged_at),
        "time_to_declare_seconds": seconds_between(facts.detected_at, facts.declared_at),
    }


def _facts(data: ExportData) -> dict[str, Any]:
    facts = data.incident
    return {
        "reference": facts.reference,
        "number": facts.number,
        "title": facts.title,
        "summary": facts.summary,
        "severity": facts.severity,
        "highest_severity": facts.highest_severity,
        "status": facts.status,
        "private": facts.is_private,
        "declared_by": facts.declared_by,
        "declared_at": iso(facts.declared_at),
        "mitigated_at": iso(facts.mitigated_at),
        "resolved_at": iso(facts.resolved_at),
        "closed_at": iso(facts.closed_at),
        "time_to_mitigate_seconds": seconds_between(facts.declared_at, facts.mitigated_at),
        "time_to_resolve_seconds": seconds_between(facts.declared_at, facts.resolved_at),
        "acknowledged_at": iso(facts.acknowledged_at),
        "time_to_acknowledge_seconds": seconds_between(facts.declared_at, facts.acknowledged_at),
        "channel": {"id": facts.channel_id, "name": facts.channel_name},
    }


def _role(spell: RoleSpell, people: People) -> dict[str, Any]:
    return {
        "role": spell.role,
        "user": _user(spell.user_id, people),
        "from": iso(spell.assigned_at),
        "until": iso(spell.relieved_at),
    }


def _update(update: UpdateFacts, people: People) -> dict[str, Any]:
    return {
        "posted_at": iso(update.posted_at),
        "posted_by": _user(update.posted_by, people),
        "status": update.status,
        "severity": update.severity,
        "what_we_know": update.what_we_know,
        "what_we_are_doing": update.what_we_are_doing,
        "next_update_minutes": update.next_update_minutes,
    }


def _action(item: ActionFacts, people: People) -> dict[str, Any]:
    return {
        "id": item.id,
        "text": item.text,
        "owner": _user(item.owner_id, people),
        "due_date": item.due_date.isoformat() if item.due_date else None,
        "state": item.state,
        "created_by": _user(item.created_by, people),
        "created_at": iso(item.created_at),
        "done_by": _user(item.done_by, people),
        "done_at": iso(item.done_at),
        "jira_issue": item.jira_issue_key,
    }


def _event(event: EventFacts, people: People) -> dict[str, Any]:
    return {
        "occurred_at": iso(event.occurred_at),
        "kind": event.kind,
        "source": event.source,
        "actor": _user(event.actor_id, people),
        "text": event.text,
        "original_text": event.original_text,
        "edited_at": iso(event.edited_at),
        "removed_at": iso(event.removed_at),
        "message_ts": event.message_ts,
        "permalink": event.permalink,
        "data": event.data or {},
        "curated_text": event.curated_text,
        "curated_by": _user(event.curated_by, people),
        "curated_at": iso(event.curated_at),
        "struck_at": iso(event.struck_at),
    }
