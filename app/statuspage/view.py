"""Pure functions from the read model to what a status page reader sees. No I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from app.incidents.rules import Status, severity_rank
from app.statuspage.read import IncidentRow, Published, UpdateRow

ALL_SYSTEMS = "All systems"
SCHEMA_VERSION = 1


class Impact(IntEnum):
    OPERATIONAL = 0
    DEGRADED = 1
    PARTIAL_OUTAGE = 2
    MAJOR_OUTAGE = 3

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()

    @property
    def slug(self) -> str:
        return self.name.lower().replace("_", "-")

    @property
    def headline(self) -> str:
        return {
            Impact.OPERATIONAL: "All systems operational",
            Impact.DEGRADED: "Degraded performance",
            Impact.PARTIAL_OUTAGE: "Partial outage",
            Impact.MAJOR_OUTAGE: "Major outage",
        }[self]


def impact_of(severity: str, status: str, severity_names: Sequence[str]) -> Impact:
    """The most severe level is a major outage, the next a partial one, the rest degraded;
    once mitigated (monitoring) an incident degrades at most; resolved ones weigh nothing."""
    parsed = Status(status)
    if not parsed.is_open:
        return Impact.OPERATIONAL
    rank = severity_rank(severity, list(severity_names))
    impact = (Impact.MAJOR_OUTAGE, Impact.PARTIAL_OUTAGE)[rank] if rank < 2 else Impact.DEGRADED
    return Impact.DEGRADED if parsed.is_mitigated else impact


# Slack's markup a responder may have typed: mentions name people, channels are internal.
_SLACK_TOKEN = re.compile(r"<([@#!][^<>]*|[a-z][a-z0-9+.-]*:[^<>|]*(?:\|[^<>]*)?)>")


def public_text(text: str) -> str:
    """Text for the public: Slack mentions and channel links become neutral words."""

    def neutral(match: re.Match[str]) -> str:
        token = match.group(1)
        if token.startswith("@"):
            return "a responder"
        if token.startswith("#"):
            return "an internal channel"
        if token.startswith("!"):
            return ""
        target, _, label = token.partition("|")
        return label or target

    return _SLACK_TOKEN.sub(neutral, text).strip()


@dataclass(frozen=True)
class UpdateView:
    id: int
    posted_at: datetime
    status: str
    what_we_know: str
    what_we_are_doing: str
    next_update_at: datetime | None


@dataclass(frozen=True)
class IncidentView:
    reference: str
    title: str
    impact: Impact
    status: str
    is_open: bool
    declared_at: datetime
    resolved_at: datetime | None
    updates: tuple[UpdateView, ...]  # newest first

    @property
    def latest(self) -> UpdateView | None:
        return self.updates[0] if self.updates else None

    @property
    def updated_at(self) -> datetime:
        return self.latest.posted_at if self.latest else self.declared_at


@dataclass(frozen=True)
class ServiceView:
    name: str
    impact: Impact


@dataclass(frozen=True)
class Board:
    title: str
    overall: Impact
    services: tuple[ServiceView, ...]
    open: tuple[IncidentView, ...]
    resolved: tuple[IncidentView, ...]
    history_days: int

    @property
    def updated_at(self) -> datetime | None:
        times = [incident.updated_at for incident in (*self.open, *self.resolved)]
        return max(times) if times else None

    @property
    def updates(self) -> list[tuple[IncidentView, UpdateView]]:
        """Every public update on the page, newest first: the feed's entries."""
        pairs = [(i, u) for i in (*self.open, *self.resolved) for u in i.updates]
        return sorted(pairs, key=lambda pair: (pair[1].posted_at, pair[1].id), reverse=True)


def update_view(update: UpdateRow) -> UpdateView:
    minutes = update.next_update_minutes
    open_update = Status(update.status).is_open
    return UpdateView(
        id=update.id,
        posted_at=update.posted_at,
        status=Status(update.status).label,
        what_we_know=public_text(update.what_we_know),
        what_we_are_doing=public_text(update.what_we_are_doing),
        next_update_at=(
            update.posted_at + timedelta(minutes=minutes) if minutes and open_update else None
        ),
    )


def incident_view(
    incident: IncidentRow, updates: Sequence[UpdateRow], severity_names: Sequence[str]
) -> IncidentView:
    status = Status(incident.status)
    mine = tuple(update_view(u) for u in updates if u.incident_id == incident.id)
    latest_open = bool(mine) and status.is_open
    return IncidentView(
        reference=f"INC-{incident.number}",
        title=public_text(incident.title),
        impact=impact_of(incident.severity, incident.status, severity_names),
        status=status.label,
        is_open=status.is_open,
        declared_at=incident.declared_at,
        resolved_at=incident.resolved_at,
        # A "next update by" promise only holds for the latest update of an open incident.
        updates=mine if latest_open else tuple(_no_promise(u) for u in mine),
    )


def _no_promise(update: UpdateView) -> UpdateView:
    return UpdateView(
        update.id,
        update.posted_at,
        update.status,
        update.what_we_know,
        update.what_we_are_doing,
        None,
    )


def build_board(
    title: str,
    published: Published,
    severity_names: Sequence[str],
    history_days: int,
    catalog: Sequence[str] = (),
) -> Board:
    views = [incident_view(i, published.updates, severity_names) for i in published.incidents]
    current = sorted(
        (v for v in views if v.is_open), key=lambda v: (-v.impact, v.declared_at), reverse=False
    )
    resolved = sorted(
        (v for v in views if not v.is_open),
        key=lambda v: v.resolved_at or v.declared_at,
        reverse=True,
    )
    overall = max((v.impact for v in current), default=Impact.OPERATIONAL)
    services = _services(published.incidents, views, catalog)
    return Board(title, overall, services, tuple(current), tuple(resolved), history_days)


def _services(
    incidents: Sequence[IncidentRow], views: Sequence[IncidentView], catalog: Sequence[str]
) -> tuple[ServiceView, ...]:
    """One row per catalog service; an incident naming no service counts against every row,
    so a reader is never told "operational" about what may be broken."""
    if not catalog:
        worst = max((v.impact for v in views), default=Impact.OPERATIONAL)
        return (ServiceView(ALL_SYSTEMS, worst),)
    rows = []
    for name in catalog:
        hits = [
            v.impact for i, v in zip(incidents, views, strict=True) if i.service in (None, name)
        ]
        rows.append(ServiceView(name, max(hits, default=Impact.OPERATIONAL)))
    return tuple(rows)


# --- JSON (docs/status.schema.json) ------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def update_json(update: UpdateView) -> dict[str, Any]:
    return {
        "posted_at": _time(update.posted_at),
        "status": update.status.lower(),
        "what_we_know": update.what_we_know,
        "what_we_are_doing": update.what_we_are_doing,
        "next_update_by": _time(update.next_update_at),
    }


def incident_json(incident: IncidentView, *, all_updates: bool) -> dict[str, Any]:
    updates = incident.updates if all_updates else incident.updates[:1]
    return {
        "reference": incident.reference,
        "title": incident.title,
        "impact": incident.impact.slug,
        "status": incident.status.lower(),
        "declared_at": _time(incident.declared_at),
        "resolved_at": _time(incident.resolved_at),
        "updates": [update_json(u) for u in updates],
    }


def board_json(board: Board) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "title": board.title,
        "status": board.overall.slug,
        "description": board.overall.headline,
        "updated_at": _time(board.updated_at),
        "services": [{"name": s.name, "status": s.impact.slug} for s in board.services],
        "open_incidents": [incident_json(i, all_updates=False) for i in board.open],
        "resolved_incidents": [incident_json(i, all_updates=False) for i in board.resolved],
        "history_days": board.history_days,
    }
