"""Incident use cases: declare, hand over roles, change severity and status.

Every change is written with its timeline event in one transaction; Slack is told
afterwards (card, topic, announcement, a line in the channel), so a Slack outage never
loses the change itself.
"""

from __future__ import annotations

import contextvars
import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlmodel import Session

from app.alerts.catalog import Catalog
from app.alerts.store import with_alerts
from app.config import Settings
from app.incidents import closing, effects, reminders
from app.incidents import repository as repo
from app.incidents.errors import UNKNOWN_INCIDENT, InvalidInput, NotAllowed
from app.incidents.ports import Workspace, WorkspaceError
from app.incidents.rules import (
    MAX_TITLE,
    Source,
    Status,
    clean_title,
    higher_severity,
    is_backwards,
    is_escalation,
)
from app.incidents.snapshot import IncidentSnapshot, channel_ref
from app.integrations import outbox
from app.logging import bind_request, get_logger
from app.store.database import Database
from app.store.idempotency import claim_request
from app.store.models import Incident, StakeholderUpdate
from app.store.numbers import allocate_incident_number, provisional_number
from app.store.types import utcnow

log = get_logger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")


@dataclass(frozen=True)
class Declaration:
    team_id: str
    user_id: str
    title: str
    severity: str
    summary: str = ""
    private: bool = False
    declarer_is_commander: bool = True
    source: Source = Source.MODAL
    request_key: str | None = None
    # When people were first affected, if the declarer knows (the start of time to detect).
    impact_started_at: datetime | None = None


@dataclass(frozen=True)
class Change:
    """The outcome of a change request: what moved, or why nothing did."""

    incident: IncidentSnapshot
    changed: bool
    summary: str
    # Something the person who asked should know besides the change (e.g. Slack refused
    # to unarchive the channel).
    note: str = ""


class IncidentService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        slack: Workspace,
        clock: Clock = utcnow,
        effects_ready: effects.EffectsReady = effects.no_notifier,
        claim_effects: effects.ClaimEffects = effects.no_claim,
        schedule: reminders.ReminderSchedule | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.slack = slack
        self.clock = clock
        self.effects_ready = effects_ready
        self.claim_effects = claim_effects
        self.schedule: reminders.ReminderSchedule = schedule or reminders.NoSchedule()
        self._members = RecentMembers(settings.membership_cache_seconds)

    # --- reading ------------------------------------------------------------------------

    def snapshot(self, incident_id: int) -> IncidentSnapshot:
        with self.db.session() as session:
            return self._snapshot(session, repo.get_incident(session, incident_id))

    def _snapshot(self, session: Session, incident: Incident) -> IncidentSnapshot:
        return snapshot_of(session, incident, self.settings.catalog)

    def _snapshots(self, session: Session, incidents: Sequence[Incident]) -> list[IncidentSnapshot]:
        """Snapshots of many incidents in a fixed number of queries (no query per incident)."""
        ids = [incident.id for incident in incidents if incident.id is not None]
        roles = repo.roles_by_incident(session, ids)
        due = repo.next_due_by_incident(session, ids)
        return [
            IncidentSnapshot.of(
                incident,
                roles.get(incident.id or 0, {}),
                due.get(incident.id or 0) if incident.is_open else None,
            )
            for incident in incidents
        ]

    def _cadence(self, severity: str) -> int:
        return reminders.cadence_minutes(self.settings, severity)

    def by_reference(self, team_id: str, reference: str) -> IncidentSnapshot | None:
        """`INC-12`, `inc-12` or `12` in this workspace."""
        digits = reference.strip().upper().removeprefix("INC-").removeprefix("#")
        if not digits.isdigit():
            return None
        with self.db.session() as session:
            incident = repo.incident_by_number(session, team_id, int(digits))
            return self._snapshot(session, incident) if incident else None

    def for_channel(self, channel_id: str) -> IncidentSnapshot | None:
        with self.db.session() as session:
            incident = repo.incident_for_channel(session, channel_id)
            return self._snapshot(session, incident) if incident else None

    def can_see(self, incident: IncidentSnapshot, user_id: str) -> bool:
        if not incident.is_private:
            return True
        return incident.channel_id is not None and self._is_member(incident.channel_id, user_id)

    def visible_open_incidents(self, team_id: str, user_id: str) -> list[IncidentSnapshot]:
        with self.db.session() as session:
            snapshots = self._snapshots(session, repo.open_incidents(session, team_id))
        return [incident for incident in snapshots if self.can_see(incident, user_id)]

    def visible_recent_incidents(self, team_id: str, user_id: str) -> list[IncidentSnapshot]:
        with self.db.session() as session:
            recent = self._snapshots(session, repo.recent_incidents(session, team_id))
        return [incident for incident in recent if self.can_see(incident, user_id)]

    def open_counts(self) -> dict[str, int]:
        """Open incidents by severity, every workspace together (for metrics)."""
        with self.db.session() as session:
            return repo.open_counts_by_severity(session)

    def roles_of(self, team_id: str, user_id: str) -> list[tuple[IncidentSnapshot, str]]:
        with self.db.session() as session:
            held = repo.roles_held_by(session, team_id, user_id)
            snapshots = self._snapshots(session, [incident for incident, _role in held])
            return [
                (snapshot, role)
                for snapshot, (_incident, role) in zip(snapshots, held, strict=True)
            ]

    # --- declaring ----------------------------------------------------------------------

    def validate_title(self, title: str) -> str:
        cleaned = clean_title(title)
        if not cleaned:
            raise InvalidInput("Give the incident a title, e.g. “Checkout fails for EU users”.")
        if len(cleaned) > MAX_TITLE:
            raise InvalidInput(f"Keep the title to {MAX_TITLE} characters or fewer.")
        return cleaned

    def validate_severity(self, severity: str) -> str:
        for name in self.settings.severity_names:
            if name.upper() == severity.strip().upper():
                return name
        options = ", ".join(self.settings.severity_names)
        raise InvalidInput(f"Severity must be one of {options}.")

    def validate_impact_start(self, timestamp: int | None) -> datetime | None:
        """The modal's "Impact started at" (Unix seconds), which cannot be in the future."""
        if timestamp is None:
            return None
        moment = datetime.fromtimestamp(timestamp, UTC)
        if moment > self.clock():
            raise InvalidInput("Impact cannot start in the future: pick a time before now.")
        return moment

    def declare(self, request: Declaration) -> IncidentSnapshot | None:
        """Record a new incident; None if this request was handled before (a retry)."""
        title = self.validate_title(request.title)
        severity = self.validate_severity(request.severity)
        now = self.clock()
        # A modal's submission is answered only once the incident is recorded.
        with self.db.session(urgent=True) as session:
            if request.request_key and not claim_request(session, request.request_key, "declare"):
                return None
            incident = Incident(
                team_id=request.team_id,
                number=provisional_number(),
                title=title,
                summary=request.summary.strip(),
                severity=severity,
                highest_severity=severity,
                is_private=request.private,
                declared_by=request.user_id,
                declared_at=now,
                updated_at=now,
            )
            session.add(incident)
            session.flush()
            assert incident.id is not None
            repo.record_event(
                session,
                incident.id,
                "declared",
                source=request.source,
                actor_id=request.user_id,
                text=title,
                occurred_at=now,
                data={"severity": severity, "private": request.private},
            )
            if request.impact_started_at is not None:
                repo.record_event(
                    session,
                    incident.id,
                    "impact_started",
                    source=request.source,
                    actor_id=request.user_id,
                    occurred_at=request.impact_started_at,
                )
            if request.declarer_is_commander:
                repo.assign_role(
                    session, incident.id, "commander", request.user_id, request.user_id, now
                )
                repo.record_event(
                    session,
                    incident.id,
                    "role_assigned",
                    source=request.source,
                    actor_id=request.user_id,
                    text=f"<@{request.user_id}> is commander",
                    occurred_at=now,
                    data={"role": "commander", "user": request.user_id},
                )
            if self.settings.pages_on_declare(severity):
                outbox.page(session, self.settings, incident)
            due = reminders.after_minutes(now, self._cadence(severity))
            reminders.set_due(session, incident.id, due)
            snapshot = self._snapshot(session, incident)
            # Numbered last: the counter row stays locked until the commit, so it is held
            # for two statements rather than the whole declaration.
            incident.number = allocate_incident_number(session, request.team_id)
            session.add(incident)
            snapshot = dataclasses.replace(snapshot, number=incident.number)
        self.schedule.schedule(snapshot.id, due)
        bind_request(incident=snapshot.reference)
        log.info("incident_declared", severity=severity, private=request.private)
        return snapshot

    # --- changing -----------------------------------------------------------------------

    def require_member(self, incident: IncidentSnapshot, user_id: str) -> None:
        # The declarer and role holders are whom the invite step adds: while that step is
        # still being retried they count as members already.
        if user_id == incident.declared_by or user_id in incident.roles.values():
            return
        if incident.channel_id is None or not self._is_member(incident.channel_id, user_id):
            if incident.is_private:
                raise NotAllowed(UNKNOWN_INCIDENT)
            channel = f"<#{incident.channel_id}>" if incident.channel_id else "its channel"
            raise NotAllowed(
                f"Only members of {channel} can change "
                f"{incident.reference}. Ask the commander to invite you."
            )

    def as_member(self, incident_id: int, actor: str, change: Callable[[], T]) -> T:
        """Run `change`, which checks membership inside its own transaction
        (`require_member_in`). When only Slack can tell, Slack is asked outside any
        transaction and the change runs once more with the answer."""
        try:
            return change()
        except _AskSlack:
            self.require_member(self.snapshot(incident_id), actor)
        token = _checked.set((incident_id, actor))
        try:
            return change()
        finally:
            _checked.reset(token)

    def require_member_in(self, session: Session, stored: Incident, actor: str) -> None:
        """Membership, decided in the change's transaction without asking Slack: the
        declarer, a role holder, or someone on the channel's recent member list."""
        assert stored.id is not None
        if _checked.get() == (stored.id, actor) or actor == stored.declared_by:
            return
        if actor in repo.current_roles(session, stored.id).values():
            return
        if stored.channel_id and self._members.holds(stored.channel_id, actor):
            return
        raise _AskSlack

    def _is_member(self, channel_id: str, user_id: str) -> bool:
        # A recent member list answers "yes" without a Web API call before the ack; "no"
        # is always asked afresh, so someone who just joined is never refused.
        if self._members.holds(channel_id, user_id):
            return True
        members = self.slack.members(channel_id)
        self._members.remember(channel_id, members)
        return user_id in members

    def forget_members(self, channel_id: str) -> None:
        """Someone left (or joined) the channel: ask Slack next time."""
        self._members.forget(channel_id)

    def assign_role(
        self, incident_id: int, role: str, user_id: str, actor: str, source: Source
    ) -> Change:
        if role not in self.settings.roles:
            raise InvalidInput(f"Roles are {', '.join(self.settings.roles)}.")
        candidate = self.slack.user(user_id)
        if not candidate.can_hold_role:
            kind = "a bot" if candidate.is_bot else "deactivated"
            raise InvalidInput(f"<@{user_id}> is {kind} and cannot be {role}.")
        return self.as_member(
            incident_id, actor, lambda: self._assign_role(incident_id, role, user_id, actor, source)
        )

    def _assign_role(
        self, incident_id: int, role: str, user_id: str, actor: str, source: Source
    ) -> Change:
        now = self.clock()
        with self.db.session() as session:
            stored = repo.get_incident(session, incident_id, lock=True)
            self.require_member_in(session, stored, actor)
            previous = repo.current_roles(session, incident_id).get(role)
            if previous == user_id:
                snapshot = self._snapshot(session, stored)
                return Change(snapshot, False, f"<@{user_id}> is already {role}.")
            repo.assign_role(session, incident_id, role, user_id, actor, now)
            summary = (
                f"<@{actor}> handed {role} from <@{previous}> to <@{user_id}>"
                if previous
                else f"<@{actor}> made <@{user_id}> {role}"
            )
            repo.record_event(
                session,
                incident_id,
                "role_assigned",
                source=source,
                actor_id=actor,
                text=summary,
                occurred_at=now,
                data={"role": role, "user": user_id, "previous": previous},
            )
            stored.updated_at = now
            session.add(stored)
            if user_id != actor:
                effects.invite(session, incident_id, [user_id])
            snapshot = self._announce_change(session, stored, summary)
            claim = self.claim_effects(session, incident_id)
        return self._changed(snapshot, summary, claim=claim)

    def change_severity(
        self, incident_id: int, severity: str, actor: str, source: Source
    ) -> Change:
        severity = self.validate_severity(severity)
        return self.as_member(
            incident_id, actor, lambda: self._change_severity(incident_id, severity, actor, source)
        )

    def _change_severity(
        self, incident_id: int, severity: str, actor: str, source: Source
    ) -> Change:
        now = self.clock()
        names = self.settings.severity_names
        with self.db.session() as session:
            stored = repo.get_incident(session, incident_id, lock=True)
            self.require_member_in(session, stored, actor)
            old = stored.severity
            if old == severity:
                return Change(self._snapshot(session, stored), False, f"Already {severity}.")
            stored.severity = severity
            stored.highest_severity = higher_severity(stored.highest_severity, severity, names)
            stored.updated_at = now
            session.add(stored)
            verb = "raised" if is_escalation(old, severity, names) else "lowered"
            summary = f"<@{actor}> {verb} severity from {old} to {severity}"
            repo.record_event(
                session,
                incident_id,
                "severity_changed",
                source=source,
                actor_id=actor,
                text=summary,
                occurred_at=now,
                data={"from": old, "to": severity},
            )
            due = reminders.next_due(session, incident_id)
            if stored.is_open:
                due = reminders.due_after_severity_change(
                    stored.last_update_at or stored.declared_at, self._cadence(severity), now
                )
                reminders.set_due(session, incident_id, due)
            if is_escalation(old, severity, names) and self.settings.is_major(severity):
                effects.tell_stakeholders(
                    session, incident_id, effects.Notice.ESCALATED, actor, broadcast=True
                )
            snapshot = self._announce_change(session, stored, summary)
            claim = self.claim_effects(session, incident_id)
        self.schedule.schedule(incident_id, due)
        return self._changed(snapshot, summary, claim=claim)

    def change_status(self, incident_id: int, status: Status, actor: str, source: Source) -> Change:
        return self.as_member(
            incident_id, actor, lambda: self._change_status(incident_id, status, actor, source)
        )

    def _change_status(
        self, incident_id: int, status: Status, actor: str, source: Source
    ) -> Change:
        with self.db.session() as session:
            stored = repo.get_incident(session, incident_id, lock=True)
            self.require_member_in(session, stored, actor)
            summary = self.move_status(session, stored, status, actor, source)
            if summary is None:
                return Change(self._snapshot(session, stored), False, f"Already {status.label}.")
            due = reminders.next_due(session, incident_id)
            snapshot = self._announce_change(session, stored, summary)
            was_archived = stored.archived_at is not None and status is not Status.CLOSED
            claim = self.claim_effects(session, incident_id)
        self.schedule.schedule(incident_id, due)
        note = self._unarchive(snapshot, self.clock()) if was_archived else ""
        return self._changed(snapshot, summary, note, claim)

    def page_on_call(self, incident_id: int, actor: str, source: Source) -> Change:
        """Page the on-call through PagerDuty; nothing when it is paged already."""
        if not self.settings.pagerduty_enabled:
            raise InvalidInput("PagerDuty is not set up for this workspace.")
        return self.as_member(
            incident_id, actor, lambda: self._page_on_call(incident_id, actor, source)
        )

    def _page_on_call(self, incident_id: int, actor: str, source: Source) -> Change:
        with self.db.session() as session:
            stored = repo.get_incident(session, incident_id, lock=True)
            self.require_member_in(session, stored, actor)
            if not outbox.page(session, self.settings, stored):
                return Change(self._snapshot(session, stored), False, "The on-call is paged.")
            summary = f"<@{actor}> paged the on-call"
            repo.record_event(
                session, incident_id, "page_requested", source=source, actor_id=actor, text=summary
            )
            effects.say_in_channel(session, incident_id, summary)
            snapshot = self._snapshot(session, stored)
            claim = self.claim_effects(session, incident_id)
        return self._changed(snapshot, summary, claim=claim)

    def move_status(
        self, session: Session, stored: Incident, status: Status, actor: str, source: Source
    ) -> str | None:
        """Move a locked incident's status in the caller's transaction: the timeline event,
        the reminder and the stakeholder notice. None when it already has that status."""
        assert stored.id is not None
        old = Status(stored.status)
        if old == status:
            return None
        now = self.clock()
        _apply_status(stored, status, now)
        stored.archive_due_at = (
            closing.archive_at(now, self.settings.archive_after_hours)
            if status is Status.CLOSED and stored.channel_id
            else None
        )
        session.add(stored)
        if stored.archive_due_at is not None:
            effects.announce_archiving(session, stored.id, stored.archive_due_at)
        due = reminders.due_after_status_change(
            status,
            now=now,
            cadence=self._cadence(stored.severity),
            nudge_days=self.settings.postmortem_nudge_days,
            was_open=old.is_open,
            current_due=reminders.next_due(session, stored.id),
        )
        reminders.set_due(session, stored.id, due)
        direction = " (back)" if is_backwards(old, status) else ""
        summary = f"<@{actor}> moved status from {old.label} to {status.label}{direction}"
        repo.record_event(
            session,
            stored.id,
            "status_changed",
            source=source,
            actor_id=actor,
            text=summary,
            occurred_at=now,
            data={"from": old.value, "to": status.value, "backwards": bool(direction)},
        )
        if status is Status.RESOLVED:
            effects.tell_stakeholders(session, stored.id, effects.Notice.RESOLVED, actor)
        elif status.is_open and not old.is_open:
            # The thread's last word was "resolved": say so where stakeholders look.
            effects.tell_stakeholders(
                session, stored.id, effects.Notice.REOPENED, actor, broadcast=True
            )
        if not status.is_open:
            outbox.unpage(session, stored)
        return summary

    # --- telling Slack ------------------------------------------------------------------

    def _announce_change(
        self, session: Session, stored: Incident, summary: str
    ) -> IncidentSnapshot:
        """Queue the redraws and the channel line in the change's transaction."""
        assert stored.id is not None
        effects.redraw(session, stored.id)
        effects.say_in_channel(session, stored.id, summary)
        return self._snapshot(session, stored)

    def _changed(
        self,
        incident: IncidentSnapshot,
        summary: str,
        note: str = "",
        claim: effects.Claim | None = None,
    ) -> Change:
        bind_request(incident=incident.reference)
        log.info("incident_changed", change=summary)
        self.effects_ready(incident.id, claim)
        return Change(incident, True, summary, note)

    def _unarchive(self, incident: IncidentSnapshot, now: datetime) -> str:
        """A reopened incident gets its channel back, or the reason Slack gave for not."""
        try:
            self.slack.unarchive(incident.channel_id or "")
        except WorkspaceError as error:
            log.warning("channel_not_unarchived", error=error.error)
            return _unarchive_refused(incident, error.error)
        with self.db.session() as session:
            stored = repo.get_incident(session, incident.id)
            stored.archived_at = None
            session.add(stored)
            repo.record_event(
                session,
                incident.id,
                closing.UNARCHIVED,
                source=Source.COMMAND,
                actor_id=None,
                text=f"Unarchived {channel_ref(incident.channel_id)} on reopening",
                occurred_at=now,
            )
        return ""

    def latest_update_line(self, incident_id: int) -> str | None:
        """The announcement root and the newcomer's welcome show the latest update."""
        with self.db.session() as session:
            return update_line(repo.latest_update(session, incident_id))


def _unarchive_refused(incident: IncidentSnapshot, error: str) -> str:
    return (
        f"{incident.reference} is reopened, but Slack did not let Firebreak unarchive "
        f"{channel_ref(incident.channel_id)} ({error}; Slack does not let apps unarchive "
        "channels). Anyone in the channel can unarchive it: open the archived channel and "
        "choose *Unarchive* in its settings. Firebreak posts there again once it is back."
    )


def snapshot_of(
    session: Session, incident: Incident, catalog: Catalog | None = None
) -> IncidentSnapshot:
    assert incident.id is not None
    snapshot = IncidentSnapshot.of(
        incident,
        repo.current_roles(session, incident.id),
        reminders.next_due(session, incident.id) if incident.is_open else None,
    )
    return with_alerts(session, snapshot, catalog)


def update_line(latest: StakeholderUpdate | None) -> str | None:
    if latest is None:
        return None
    return f"{Status(latest.status).label}: {latest.what_we_know[:300]}"


class _AskSlack(Exception):
    """Only Slack can say whether the actor is a member of the incident's channel."""


# (incident id, actor) whose membership Slack has just confirmed for the running change.
_checked: contextvars.ContextVar[tuple[int, str] | None] = contextvars.ContextVar(
    "membership_checked", default=None
)


class RecentMembers:
    """Channel member lists seen in the last few seconds, per channel."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._seen: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def holds(self, channel_id: str, user_id: str) -> bool:
        with self._lock:
            seen = self._seen.get(channel_id)
        return (
            seen is not None and time.monotonic() - seen[0] < self._seconds and (user_id in seen[1])
        )

    def remember(self, channel_id: str, members: list[str]) -> None:
        with self._lock:
            if len(self._seen) > 10_000:  # bounded: old channels fall out
                self._seen.clear()
            self._seen[channel_id] = (time.monotonic(), frozenset(members))

    def forget(self, channel_id: str) -> None:
        with self._lock:
            self._seen.pop(channel_id, None)


def _apply_status(incident: Incident, status: Status, now: datetime) -> None:
    incident.status = status.value
    incident.updated_at = now
    if status.is_mitigated and incident.mitigated_at is None:
        incident.mitigated_at = now
    if status in (Status.RESOLVED, Status.CLOSED) and incident.resolved_at is None:
        incident.resolved_at = now
    if status is Status.CLOSED:
        incident.closed_at = now
    if status.is_open:
        incident.resolved_at = None
        incident.closed_at = None
    if not status.is_mitigated:
        incident.mitigated_at = None
