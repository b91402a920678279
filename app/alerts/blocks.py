"""Block Kit for alerts: pure functions of the data, user and sender text escaped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.alerts.catalog import CatalogService
from app.config import SeverityLevel
from app.incidents.snapshot import IncidentSnapshot, channel_ref
from app.slack.outbound import blocks
from app.slack.outbound.blocks import date_ref, escape, mrkdwn, plain

ACK_ACTION = "alert_ack"
DECLARE_ACTION = "alert_declare"
ATTACH_ACTION = "alert_attach"
SILENCE_ACTION = "alert_silence"
DECLARE_CALLBACK = "alert_declare_incident"
ATTACH_CALLBACK = "alert_attach_incident"
BLOCK_PREFIX = "alert_group:"
SILENCE_CHOICES = {"1h": "Silence 1 h", "4h": "Silence 4 h", "resolved": "Until resolved"}
MAX_LINES = 15
# Alert severities, as monitoring tools name them, to the position in FIREBREAK_SEVERITIES.
SEVERITY_RANK = {
    "critical": 0,
    "page": 0,
    "sev1": 0,
    "p1": 0,
    "high": 1,
    "error": 1,
    "major": 1,
    "sev2": 1,
    "p2": 1,
    "warning": 2,
    "warn": 2,
    "medium": 2,
    "minor": 2,
    "sev3": 2,
    "p3": 2,
    "info": 3,
    "low": 3,
    "sev4": 3,
    "p4": 3,
}


@dataclass(frozen=True)
class AlertLine:
    title: str
    status: str
    started_at: datetime
    url: str | None
    notifications: int


@dataclass(frozen=True)
class GroupView:
    """What the group's message shows."""

    id: int
    title: str
    channel: str
    service: str | None
    severity: str | None
    alerts: list[AlertLine]
    external_url: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    silenced_by: str | None = None
    silenced_until: datetime | None = None
    silenced_until_resolved: bool = False
    incident_reference: str | None = None
    incident_channel_id: str | None = None
    incident_private: bool = False
    catalog: CatalogService | None = field(default=None)

    @property
    def firing(self) -> int:
        return sum(1 for line in self.alerts if line.status == "firing")

    @property
    def resolved(self) -> int:
        return len(self.alerts) - self.firing


def map_severity(alert_severity: str | None, levels: Sequence[SeverityLevel], default: str) -> str:
    """The incident severity an alert's severity label suggests (else the default)."""
    rank = SEVERITY_RANK.get((alert_severity or "").strip().lower())
    if rank is None:
        return default
    return levels[min(rank, len(levels) - 1)].name


def headline(view: GroupView) -> str:
    state = f"FIRING:{view.firing}" if view.firing else "RESOLVED"
    return f"[{state}] {view.title}"


def group_text(view: GroupView) -> str:
    return escape(headline(view))


def group_message(view: GroupView) -> list[dict[str, Any]]:
    icon = ":rotating_light:" if view.firing else ":white_check_mark:"
    facts = []
    if view.service:
        facts.append(f"*Service:* {escape(view.service)}")
    if view.severity:
        facts.append(f"*Severity:* {escape(view.severity)}")
    if view.catalog and view.catalog.runbook:
        facts.append(f"<{view.catalog.runbook}|Runbook>")
    if view.catalog and view.catalog.owners:
        facts.append("*Owners:* " + " ".join(_mention(owner) for owner in view.catalog.owners))
    if view.catalog and view.catalog.escalation:
        facts.append(f"*Escalation:* {escape(view.catalog.escalation)}")
    result: list[dict[str, Any]] = [
        {"type": "section", "text": mrkdwn(f"{icon} *{escape(headline(view))[:2900]}*")},
    ]
    if facts:
        result.append({"type": "context", "elements": [mrkdwn(" · ".join(facts))]})
    result.append({"type": "section", "text": mrkdwn(_alert_lines(view.alerts))})
    state = _state_line(view)
    if state:
        result.append({"type": "context", "elements": [mrkdwn(state)]})
    if view.firing or view.incident_reference is None:
        result.append(_controls(view))
    return result


def _mention(owner: str) -> str:
    return f"<!subteam^{owner}>" if owner.startswith("S") else f"<@{owner}>"


def _alert_lines(alerts: Sequence[AlertLine]) -> str:
    lines = []
    for line in alerts[:MAX_LINES]:
        icon = ":red_circle:" if line.status == "firing" else ":large_green_circle:"
        title = escape(line.title)
        if line.url:
            title = f"<{line.url}|{title}>"
        lines.append(f"{icon} {title} since {date_ref(line.started_at, '{time}')}")
    if len(alerts) > MAX_LINES:
        lines.append(f"_…and {len(alerts) - MAX_LINES} more_")
    return "\n".join(lines)[:2900] or "_No alerts._"


def _state_line(view: GroupView) -> str:
    parts = []
    if view.acknowledged_by and view.acknowledged_at:
        parts.append(
            f"Acknowledged by <@{view.acknowledged_by}> {date_ref(view.acknowledged_at, '{time}')}"
        )
    if view.silenced_until_resolved:
        parts.append(f"Silenced by <@{view.silenced_by}> until resolved")
    elif view.silenced_until:
        parts.append(
            f"Silenced by <@{view.silenced_by}> until {date_ref(view.silenced_until, '{time}')}"
        )
    if view.incident_reference:
        # A private incident's name and channel stay out of a public alert message.
        if view.incident_private:
            parts.append("Linked to a private incident")
        else:
            where = channel_ref(view.incident_channel_id)
            parts.append(f"Incident *{view.incident_reference}* {where}")
    return " · ".join(parts)


def _controls(view: GroupView) -> dict[str, Any]:
    elements: list[dict[str, Any]] = []
    if view.acknowledged_by is None:
        elements.append(_button(ACK_ACTION, "Acknowledge", view.id, style="primary"))
    if view.incident_reference is None:
        elements.append(_button(DECLARE_ACTION, "Declare incident", view.id, style="danger"))
        elements.append(_button(ATTACH_ACTION, "Attach to incident", view.id))
    elements.append(
        {
            "type": "static_select",
            "action_id": SILENCE_ACTION,
            "placeholder": plain("Silence"),
            "options": [
                {"text": plain(label), "value": f"{value}:{view.id}"}
                for value, label in SILENCE_CHOICES.items()
            ],
        }
    )
    return {"type": "actions", "block_id": f"{BLOCK_PREFIX}{view.id}", "elements": elements}


def _button(action_id: str, text: str, group_id: int, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": plain(text),
        "value": str(group_id),
    }
    if style:
        button["style"] = style
    return button


def declare_modal(
    view: GroupView,
    levels: Sequence[SeverityLevel],
    default_severity: str,
    services: Sequence[str] = (),
) -> dict[str, Any]:
    """The declare modal, prefilled from the alert group; its submission links the group."""
    severity = map_severity(view.severity, levels, default_severity)
    modal = blocks.declare_modal(levels, severity, str(view.id), view.title)
    modal["callback_id"] = DECLARE_CALLBACK
    # The alerts' start is when the problem was detected; this form does not ask for more.
    modal["blocks"] = [b for b in modal["blocks"] if b.get("block_id") != "impact_started"]
    modal["blocks"][2]["element"]["initial_value"] = summary_text(view)
    if services:
        modal["blocks"].insert(2, service_select(services, view.service))
    return modal


def service_select(services: Sequence[str], current: str | None) -> dict[str, Any]:
    options = [{"text": plain(name), "value": name} for name in services[:100]]
    element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options}
    initial = next((o for o in options if o["value"] == current), None)
    if initial:
        element["initial_option"] = initial
    return {
        "type": "input",
        "block_id": "service",
        "optional": True,
        "label": plain("Service"),
        "element": element,
    }


def summary_text(view: GroupView) -> str:
    lines = [f"Alert: {line.title}" for line in view.alerts[:10]]
    return "\n".join(lines)[:2000]


def attach_modal(group_id: int, incidents: Sequence[IncidentSnapshot]) -> dict[str, Any]:
    options = [
        {"text": plain(f"{i.reference} {i.title}"), "value": str(i.id)} for i in incidents[:100]
    ]
    return {
        "type": "modal",
        "callback_id": ATTACH_CALLBACK,
        "private_metadata": str(group_id),
        "title": plain("Attach alerts", 24),
        "submit": plain("Attach"),
        "close": plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": "incident",
                "label": plain("Open incident"),
                "element": {"type": "static_select", "action_id": "value", "options": options},
            }
        ],
    }


def attached_notice(view: GroupView, actor: str | None) -> str:
    who = f"<@{actor}> attached" if actor else "Attached"
    return (
        f":link: {who} alerts *{escape(view.title)}*: "
        f"{view.firing} firing, {view.resolved} resolved"
    )


def counts_line(firing: int, resolved: int) -> str:
    return f"alerts: {firing} firing, {resolved} resolved"
