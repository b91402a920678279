"""The one way out to Slack for committed changes: carry out the pending Slack effects.

Use cases record effects (`app/incidents/effects.py`) in the transaction of their change.
The notifier renders each from the database as it is *now* and tells Slack:

- a pending effect is leased before it runs, so replicas never run it at once;
- a redraw that another change bumped while it ran runs again, so the latest state wins;
- a redraw remembers what it drew (a digest, in its row's payload); one that would draw
  the same again is not sent (a new comms lead changes the card, not the topic);
- a message carries metadata naming its effect; a retry first looks for it in Slack, so
  a post whose answer was lost is never posted twice;
- a failure Slack may get over (5xx, `internal_error`, rate limits, timeouts) is retried
  with backoff; one that cannot succeed (`channel_not_found`, `is_archived`, ...) is
  recorded on the timeline and counted, and never retried.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel

from app.config import Settings
from app.incidents import repository as repo
from app.incidents.effects import Claim, Kind, Notice
from app.incidents.rules import Source, Status, UpdateContent
from app.incidents.service import snapshot_of, update_line
from app.incidents.snapshot import IncidentSnapshot
from app.logging import bind_request, get_logger
from app.metrics import Metrics
from app.slack.outbound import blocks, update_blocks
from app.slack.outbound.gateway import SlackCallError, SlackGateway
from app.statuspage.links import incident_link
from app.store.database import Database
from app.store.models import SlackEffect, StakeholderUpdate
from app.store.outbox import (
    IncidentRunner,
    LeaseKeeper,
    Submit,
    backoff,
    claim_due,
    due_incidents,
    pending_count,
    renew_rows,
    run_now,
)
from app.store.types import utcnow

log = get_logger(__name__)

_TABLE = SQLModel.metadata.tables[SlackEffect.__tablename__]
EFFECT_MARKER = "firebreak_effect"
NOT_READY = "not_ready"
# Worth trying again: Slack or the network may get over these.
TRANSIENT_ERRORS = frozenset(
    {
        "unavailable",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "ratelimited",
        "rate_limited",
        "team_added_to_org",
        # Ours: the message to reply to is not posted yet (the declaration is still
        # being set up); try again once it is.
        NOT_READY,
        # Someone may unarchive the channel (Slack does not let apps do it).
        "is_archived",
    }
)


# The payload key of a redraw row: the digest of what it last drew in Slack.
DRAWN = "drawn"


@dataclass(frozen=True)
class Drawn:
    """A surface as Slack shows it after a redraw (sent now, or sent before)."""

    digest: str

    @classmethod
    def of(cls, *call: object) -> Drawn:
        encoded = json.dumps(call, sort_keys=True, default=str).encode()
        return cls(hashlib.sha256(encoded).hexdigest()[:32])


# How carrying an effect out went: refused, a surface drawn, a message posted (its ts).
Outcome = SlackCallError | Drawn | str | None


def forget_drawn(session: Session, incident_id: int, surfaces: Iterable[Kind]) -> None:
    """Slack shows something other than what was last drawn (a topic set by hand): the
    next redraw of these surfaces is sent even if it looks the same as the last one."""
    session.execute(
        update(_TABLE)
        .where(
            _TABLE.c.incident_id == incident_id,
            _TABLE.c.kind.in_([surface.value for surface in surfaces]),
        )
        .values(payload={})
    )


def effects_pending(session: Session, incident_id: int) -> bool:
    """Whether the incident has Slack effects not carried out yet."""
    waiting = select(_TABLE.c.id).where(
        _TABLE.c.incident_id == incident_id, _TABLE.c.done_at.is_(None)
    )
    return session.execute(waiting.limit(1)).first() is not None


def is_transient(error: SlackCallError) -> bool:
    return error.error in TRANSIENT_ERRORS or error.error.startswith("http_5")


@dataclass(frozen=True)
class _View:
    """What the effects of one incident are drawn from, read in one transaction."""

    incident: IncidentSnapshot
    card_ts: str | None
    latest_update: str | None
    setup_steps: list[str]
    updates: dict[int | None, StakeholderUpdate]


@dataclass(frozen=True)
class Claimed:
    id: int
    incident_id: int
    kind: Kind
    payload: dict[str, Any]
    version: int
    attempts: int


@dataclass(frozen=True)
class Batch(Claim):
    """Effects leased for this process and the incident they are drawn from."""

    claimed: list[Claimed]
    view: _View
    # The lease the claim wrote, and when (monotonic): a batch handed over late is checked
    # against it, since the lease may have lapsed and another replica taken the work.
    lease_until: datetime
    claimed_at: float


class Notifier:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        slack: SlackGateway,
        metrics: Metrics,
        submit: Submit = run_now,
    ) -> None:
        self.settings = settings
        self.db = db
        self.slack = slack
        self.metrics = metrics
        self._submit = submit
        self._lease = timedelta(seconds=settings.effects_lease_seconds)
        self._leases = LeaseKeeper(db, self._lease, renew_rows(_TABLE, self._lease), _TABLE.name)
        self._runner: IncidentRunner[Batch] = IncidentRunner(self._deliver_due)

    # --- scheduling -----------------------------------------------------------------------

    def kick(self, incident_id: int, claim: Claim | None = None) -> None:
        """A change committed with effects: carry them out soon, off the caller's thread."""
        self._submit(lambda: self.deliver(incident_id, claim))

    def deliver(self, incident_id: int, claim: Claim | None = None) -> None:
        """Carry out the incident's due effects (one runner per incident in this process),
        starting with what the change claimed, if it did."""
        self._runner.run(incident_id, claim if isinstance(claim, Batch) else None)

    def claim(self, session: Session, incident_id: int) -> Batch | None:
        """In a change's transaction, after its effects are recorded: lease what is due and
        read what it is drawn from (`ClaimEffects`)."""
        rows = claim_due(
            session,
            _TABLE,
            incident_id,
            self._lease,
            "kind",
            "payload",
            "version",
            "attempts",
            "lease_until",
        )
        if not rows:
            return None
        claimed = [
            Claimed(int(row[0]), incident_id, Kind(row[1]), dict(row[2]), row[3], row[4])
            for row in rows
        ]
        view = self._view(session, incident_id, claimed)
        return Batch(claimed, view, rows[0][5], time.monotonic())

    def _still_held(self, handed: Batch) -> Batch | None:
        """A handed-over batch, if its lease is still this process's: taken up within a
        third of the lease it is (the lease keeper renews from then on); later, the lease
        is renewed only on the rows still carrying it, so what another replica took over
        is left to it."""
        if time.monotonic() - handed.claimed_at < self._lease.total_seconds() / 3:
            return handed
        ids = [effect.id for effect in handed.claimed]
        with self.db.session() as session:
            kept = {
                int(row[0])
                for row in session.execute(
                    update(_TABLE)
                    .where(
                        _TABLE.c.id.in_(ids),
                        _TABLE.c.lease_until == handed.lease_until,
                        _TABLE.c.done_at.is_(None),
                    )
                    .values(lease_until=utcnow() + self._lease)
                    .returning(_TABLE.c.id)
                )
            }
        claimed = [effect for effect in handed.claimed if effect.id in kept]
        return dataclasses.replace(handed, claimed=claimed) if claimed else None

    def deliver_all_due(self) -> int:
        """The maintenance loop's sweep: every incident with due effects (retries, or
        effects a killed replica left). Returns how many incidents it visited."""
        incidents = due_incidents(self.db, _TABLE)
        for incident_id in incidents:
            self.deliver(incident_id)
        return len(incidents)

    def pending_count(self) -> int:
        return pending_count(self.db, _TABLE)

    def refused(self, incident_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
        """incident id -> [(effect kind, Slack's error)] of effects Slack refused for good."""
        wanted = list(incident_ids)
        if not wanted:
            return {}
        with self.db.session() as session:
            rows = session.execute(
                select(_TABLE.c.incident_id, _TABLE.c.kind, _TABLE.c.error)
                .where(
                    _TABLE.c.incident_id.in_(wanted),
                    _TABLE.c.done_at.is_not(None),
                    _TABLE.c.error.is_not(None),
                )
                .order_by(_TABLE.c.id)
            ).all()
        refused: dict[int, list[tuple[str, str]]] = {}
        for incident_id, kind, error in rows:
            refused.setdefault(int(incident_id), []).append((str(kind), str(error)))
        return refused

    # --- one incident -----------------------------------------------------------------------

    def _deliver_due(self, incident_id: int, handed: Batch | None) -> None:
        """Carry out what a change handed over, or claim the incident's due effects and
        read what they are drawn from; settle them: two short transactions however many
        effects there are (one when the change claimed them). Redraws bumped meanwhile by
        a newer change are claimed and drawn again."""
        batch = self._still_held(handed) if handed else None
        while True:
            if batch is None:
                try:
                    batch = self._claim_due(incident_id)
                except SQLAlchemyError as error:
                    # A lease lapses and the maintenance loop tries again.
                    log.warning("effects_unreadable", error=type(error).__name__)
                    return
                if batch is None:
                    return
            bind_request(incident=batch.view.incident.reference)
            with self._leases.holding(effect.id for effect in batch.claimed):
                outcomes = [(effect, self._attempt(effect, batch.view)) for effect in batch.claimed]
            try:
                redrawn_again = self._settle(outcomes)
            except SQLAlchemyError as error:
                log.warning("effect_bookkeeping_failed", error=type(error).__name__)
                return
            if not redrawn_again:
                return
            batch = None

    def _claim_due(self, incident_id: int) -> Batch | None:
        """Lease the due effects and read the incident as it is now, in one transaction;
        None when nothing is due."""
        with self.db.session() as session:
            return self.claim(session, incident_id)

    def _view(self, session: Session, incident_id: int, claimed: list[Claimed]) -> _View:
        update_ids = [e.payload["update_id"] for e in claimed if e.kind is Kind.UPDATE]
        stored = repo.get_incident(session, incident_id)
        updates = (
            {
                row.id: row
                for row in session.execute(
                    select(StakeholderUpdate).where(
                        StakeholderUpdate.id.in_(update_ids)  # type: ignore[union-attr]
                    )
                ).scalars()
            }
            if update_ids
            else {}
        )
        return _View(
            incident=snapshot_of(session, stored, self.settings.catalog),
            card_ts=stored.card_ts,
            setup_steps=list(stored.setup_steps),
            latest_update=update_line(repo.latest_update(session, incident_id)),
            updates=updates,
        )

    def _attempt(self, effect: Claimed, view: _View) -> Outcome:
        """Carry one effect out: the error, what it drew, or the ts of what it posted."""
        try:
            return self._carry_out(effect, view)
        except SlackCallError as error:
            return error

    def _settle(self, outcomes: list[tuple[Claimed, Outcome]]) -> bool:
        """Record how each effect went; True if a redraw must run again (bumped meanwhile)."""
        again = False
        now = utcnow()
        with self.db.session() as session:
            for effect, outcome in outcomes:
                if isinstance(outcome, SlackCallError):
                    self._record_failure(session, effect, outcome, now)
                    continue
                if effect.kind is Kind.UPDATE and isinstance(outcome, str):
                    self._remember_post(session, effect, outcome)
                # What Slack shows now, even when a newer change wants another redraw.
                drawn = {"payload": {DRAWN: outcome.digest}} if isinstance(outcome, Drawn) else {}
                finished = session.execute(
                    update(_TABLE)
                    .where(_TABLE.c.id == effect.id, _TABLE.c.version == effect.version)
                    .values(done_at=now, lease_until=None, error=None, **drawn)
                    .returning(_TABLE.c.id)
                ).first()
                if finished is None:
                    session.execute(
                        update(_TABLE)
                        .where(_TABLE.c.id == effect.id)
                        .values(lease_until=None, **drawn)
                    )
                    again = True
                else:
                    self.metrics.slack_effects.labels(effect.kind.value, "done").inc()
        return again

    def _remember_post(self, session: Session, effect: Claimed, ts: str) -> None:
        stored = session.get(StakeholderUpdate, effect.payload["update_id"])
        if stored is None:
            return
        if effect.payload.get("thread"):
            stored.thread_ts = ts
        else:
            stored.channel_ts = ts
        session.add(stored)

    def _record_failure(
        self, session: Session, effect: Claimed, error: SlackCallError, now: datetime
    ) -> None:
        if is_transient(error):
            log.warning(
                "effect_retry_scheduled",
                effect=effect.kind.value,
                error=error.error,
                attempts=effect.attempts,
            )
            self.metrics.slack_effects.labels(effect.kind.value, "retried").inc()
            session.execute(
                update(_TABLE)
                .where(_TABLE.c.id == effect.id)
                .values(
                    lease_until=None,
                    error=error.error[:120],
                    next_attempt_at=now + backoff(effect.attempts),
                )
            )
            return
        log.error("effect_failed", effect=effect.kind.value, error=error.error)
        self.metrics.slack_effects.labels(effect.kind.value, "failed").inc()
        session.execute(
            update(_TABLE)
            .where(_TABLE.c.id == effect.id)
            .values(done_at=now, lease_until=None, error=error.error[:120])
        )
        repo.record_event(
            session,
            effect.incident_id,
            "slack_effect_failed",
            source=Source.SYSTEM,
            actor_id=None,
            text=f"Slack refused {_describe(effect.kind)}: {error.error}",
            data={"effect": effect.kind.value, "method": error.method, "error": error.error},
        )

    # --- rendering and telling Slack -----------------------------------------------------------

    def _carry_out(self, effect: Claimed, view: _View) -> Drawn | str | None:
        incident = view.incident
        match effect.kind:
            case Kind.CARD:
                return self._draw_card(effect, incident, view.card_ts)
            case Kind.TOPIC:
                return self._set_topic(effect, incident)
            case Kind.ANNOUNCEMENT:
                return self._draw_announcement(effect, incident, view.latest_update)
            case Kind.LINE:
                _require(view, "channel")
                if incident.channel_id:
                    return self._post_once(effect, incident.channel_id, effect.payload["text"])
            case Kind.NOTICE:
                _require(view, "announce")
                return self._tell_stakeholders(effect, incident)
            case Kind.UPDATE:
                _require(view, "announce" if effect.payload.get("thread") else "channel")
                row = view.updates.get(effect.payload["update_id"])
                if row is not None:
                    return self._post_update(effect, incident, row)
            case Kind.INVITE:
                if incident.channel_id:
                    self.slack.invite(incident.channel_id, list(effect.payload["users"]))
            case Kind.ARCHIVING:
                _require(view, "channel")
                archive_at = datetime.fromisoformat(effect.payload["archive_at"])
                text = blocks.archive_scheduled(incident, archive_at)
                return self._post_once(effect, incident.channel_id or "", text)
        return None

    def _draw_card(
        self, effect: Claimed, incident: IncidentSnapshot, card_ts: str | None
    ) -> Drawn | None:
        # Before the declaration posts its card there is nothing to redraw: the card step
        # draws the state of its own moment and queues a redraw after it.
        if not (incident.channel_id and card_ts):
            return None
        card = blocks.incident_card(
            incident,
            self.settings.roles,
            self.settings.severities,
            self._bridge(incident),
            paging=self.settings.pagerduty_enabled,
        )
        text = blocks.card_text(incident)
        return self._update_once(effect, incident.channel_id, card_ts, text, card)

    def _set_topic(self, effect: Claimed, incident: IncidentSnapshot) -> Drawn | None:
        if not incident.channel_id:
            return None
        topic = blocks.channel_topic(incident)
        drawn = Drawn.of(incident.channel_id, topic)
        if effect.payload.get(DRAWN) != drawn.digest:
            self.slack.set_topic(incident.channel_id, topic)
        return drawn

    def _bridge(self, incident: IncidentSnapshot) -> str | None:
        return blocks.bridge_link(self.settings.bridge_url, incident)

    def _draw_announcement(
        self, effect: Claimed, incident: IncidentSnapshot, latest: str | None
    ) -> Drawn | None:
        if not (incident.announcement_channel_id and incident.announcement_ts):
            return None
        return self._update_once(
            effect,
            incident.announcement_channel_id,
            incident.announcement_ts,
            blocks.announcement_text(incident),
            blocks.announcement(incident, latest, self._bridge(incident)),
        )

    def _update_once(
        self, effect: Claimed, channel: str, ts: str, text: str, message: list[dict[str, Any]]
    ) -> Drawn:
        """Edit a message, unless this row last drew it just so."""
        drawn = Drawn.of(channel, ts, text, message)
        if effect.payload.get(DRAWN) != drawn.digest:
            self.slack.update(channel, ts, text, message)
        return drawn

    def _tell_stakeholders(self, effect: Claimed, incident: IncidentSnapshot) -> str | None:
        notice = Notice(effect.payload["notice"])
        if not (incident.announcement_channel_id and incident.announcement_ts):
            return None
        if notice is Notice.ESCALATED and incident.is_private:
            return None
        actor = str(effect.payload.get("actor", ""))
        text = {
            Notice.RESOLVED: blocks.resolved_notice,
            Notice.REOPENED: blocks.reopened_notice,
            Notice.ESCALATED: blocks.escalated_notice,
        }[notice](incident, actor)
        return self._post_once(
            effect,
            incident.announcement_channel_id,
            text,
            thread_ts=incident.announcement_ts,
            broadcast=bool(effect.payload.get("broadcast")),
        )

    def _post_update(
        self, effect: Claimed, incident: IncidentSnapshot, row: StakeholderUpdate
    ) -> str | None:
        if effect.payload.get("thread"):
            channel, thread_ts = incident.announcement_channel_id, incident.announcement_ts
            if not thread_ts:
                return None
        else:
            channel, thread_ts = incident.channel_id, None
        if not channel:
            return None
        content = UpdateContent(
            status=Status(row.status),
            what_we_know=row.what_we_know,
            what_we_are_doing=row.what_we_are_doing,
            next_update_minutes=row.next_update_minutes or 0,
            next_due_at=_next_due(row),
        )
        return self._post_once(
            effect,
            channel,
            update_blocks.update_text(incident, content),
            update_blocks.update_message(
                incident,
                content,
                row.posted_by,
                incident_link(self.settings.status_url, incident.reference) if row.public else None,
            ),
            thread_ts=thread_ts,
        )

    def _post_once(
        self,
        effect: Claimed,
        channel: str,
        text: str,
        message: list[dict[str, Any]] | None = None,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> str:
        marker = {"event_type": EFFECT_MARKER, "event_payload": {"effect": effect.id}}
        if effect.attempts > 1:
            # An earlier attempt may have posted before its answer was lost.
            found = self.slack.find_marked(channel, marker, thread_ts=thread_ts)
            if found:
                log.info("effect_already_posted", effect=effect.kind.value)
                return found
        return self.slack.post(
            channel, text, message, thread_ts=thread_ts, broadcast=broadcast, metadata=marker
        ).ts


def _require(view: _View, step: str) -> None:
    """A message for the channel or the announcement thread waits until the declaration
    has made it; once made (or skipped, with no announcement channel) it goes ahead."""
    if step not in view.setup_steps:
        raise SlackCallError("firebreak", NOT_READY, f"waiting for the {step} step")


def _describe(kind: Kind) -> str:
    return blocks.EFFECT_NAMES[kind.value]


def _next_due(row: StakeholderUpdate) -> datetime | None:
    if Status(row.status) in (Status.RESOLVED, Status.CLOSED) or row.next_update_minutes is None:
        return None
    due: datetime = row.posted_at + timedelta(minutes=row.next_update_minutes)
    return due
