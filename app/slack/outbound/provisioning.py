"""Setting up a declared incident in Slack, resumable at every step.

Declaring is a sequence of Slack calls. The channel is recorded as soon as it exists, so
a declaration interrupted by a crash or a Slack outage never makes a second one. The
other steps form independent chains (invite; topic; card then pin; announcement then
bookmark) that run side by side: the channel is ready after three Slack round trips
instead of six, and the whole setup after four, not eight. What they made is recorded
in one transaction once they have all finished.

Every one of those steps is safe to run again when a run is interrupted before that
record: the invite and the topic change nothing the second time, a pin already there is
fine, and the steps that post (card, announcement, bookmark) are noted as attempted
before the chains start and tag their message (Slack message metadata), so the next run
finds the message instead of posting it twice. A whole set-up costs four short
transactions: the lease, the channel's name, the channel, the record (and a renewal of
the lease every third of it while Slack is slow).
"""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col

from app.config import Settings
from app.incidents import effects
from app.incidents import repository as repo
from app.incidents.reminders import next_due
from app.incidents.rules import Source, channel_name
from app.incidents.snapshot import IncidentSnapshot
from app.logging import bind_request, get_logger
from app.slack.outbound import blocks
from app.slack.outbound.gateway import SlackCallError, SlackGateway
from app.slack.outbound.notifier import effects_pending
from app.store.database import Database
from app.store.idempotency import claim_request, renew_claim
from app.store.models import Incident, ProcessedRequest
from app.store.outbox import LeaseKeeper
from app.store.types import utcnow

log = get_logger(__name__)

STEPS = ("channel", "invite", "topic", "card", "pin", "announce", "bookmark")
# After "channel": each chain runs in order, the chains in parallel with each other.
CHAINS = (("card", "pin"), ("announce", "bookmark"), ("invite",), ("topic",))
STEP_LABELS = {
    "channel": "create the channel",
    "invite": "invite the responders",
    "topic": "set the channel topic",
    "card": "post the incident card",
    "pin": "pin the card",
    "announce": "announce it",
    "bookmark": "bookmark the announcement",
}
MAX_NAME_ATTEMPTS = 20
CARD_EVENT = "firebreak_card"
ANNOUNCEMENT_EVENT = "firebreak_announcement"
_EVENTS = {"card": CARD_EVENT, "announce": ANNOUNCEMENT_EVENT}

# Steps that post: noted as attempted before the chains start, looked for when resumed.
POSTING_STEPS = ("card", "announce", "bookmark")

# A step returns the incident fields it learned (channel id, message ts...) to save.
Step = Callable[[Incident, "_Run"], dict[str, Any]]


def _marker(event_type: str, incident_id: int) -> dict[str, Any]:
    return {"event_type": event_type, "event_payload": {"incident_id": incident_id}}


@dataclass
class SetupResult:
    incident: IncidentSnapshot
    pending: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def complete(self) -> bool:
        return not self.pending

    def pending_text(self) -> str:
        return ", ".join(STEP_LABELS[step] for step in self.pending)


@dataclass
class _Run:
    """One pass over an incident's unfinished steps; chains share it across threads."""

    incident_id: int
    # Steps an earlier run began: Slack may have done them, so look before doing them.
    attempted: frozenset[str]
    # The incident as the steps draw it (the card, the topic, the announcement).
    snapshot: IncidentSnapshot | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: list[str] = field(default_factory=list)
    learned: dict[str, Any] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)


_REDRAWN_BY_STEP = {
    "card": effects.Kind.CARD,
    "topic": effects.Kind.TOPIC,
    "announce": effects.Kind.ANNOUNCEMENT,
}


def _shown(incident: IncidentSnapshot) -> tuple[object, ...]:
    """What the card, topic and announcement show of an incident."""
    return (
        incident.title,
        incident.summary,
        incident.severity,
        incident.status,
        incident.roles,
        incident.last_update_at,
        incident.next_update_due_at,
    )


class Provisioner:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        slack: SlackGateway,
        effects_ready: effects.EffectsReady = effects.no_notifier,
    ) -> None:
        self.settings = settings
        self.db = db
        self.slack = slack
        self.effects_ready = effects_ready
        self._announce_channel: str | None = None
        self._announce_lock = threading.Lock()
        lease = timedelta(seconds=settings.setup_lease_seconds)
        self._leases = LeaseKeeper(db, lease, self._renew_leases, "setup")
        self._steps: dict[str, Step] = {
            "channel": self._create_channel,
            "invite": self._invite,
            "topic": self._set_topic,
            "card": self._post_card,
            "pin": self._pin_card,
            "announce": self._announce,
            "bookmark": self._bookmark,
        }

    def run(self, incident_id: int, *, resumed: bool = False) -> SetupResult:
        """Do every step not done yet; a Slack failure stops its chain and is reported.

        Only one process sets an incident up at a time (a lease in the database), so a
        retry never races the declaration it is retrying.
        """
        started = self._start(incident_id, resumed)
        if started is None:
            return self._result(incident_id)
        state, incident = started
        try:
            return self._run_steps(state, incident)
        except BaseException:
            self._release_lease(incident_id)
            raise

    def resume_all(self) -> list[SetupResult]:
        """Finish declarations a crash or an outage interrupted (start-up and periodically)."""
        with self.db.session() as session:
            unfinished = list(repo.unfinished_declarations(session))
        return [self.run(incident_id, resumed=True) for incident_id in unfinished]

    def _run_steps(self, state: _Run, incident: Incident) -> SetupResult:
        bind_request(incident=incident.reference)
        with self._leases.holding([state.incident_id]):
            if "channel" not in incident.setup_steps:
                try:
                    learned = self._create_channel(incident, state)
                except SlackCallError as failure:
                    self._failed(state, "channel", failure)
                    return self._finish(state)
                incident = self._channel_made(state, learned)
            _in_parallel([functools.partial(self._chain, state, incident, c) for c in CHAINS])
        return self._finish(state)

    def _chain(self, state: _Run, incident: Incident, steps: tuple[str, ...]) -> None:
        """Run `steps` in order, skipping finished ones, until one fails."""
        for step in steps:
            if step in incident.setup_steps:
                continue
            try:
                learned = self._steps[step](incident, state)
            except SlackCallError as failure:
                self._failed(state, step, failure)
                return
            with state.lock:
                state.done.append(step)
                state.learned.update(learned)
            if learned:  # the chain's next step sees it (each chain has its own copy)
                incident = Incident(**{**incident.model_dump(), **learned})

    def _failed(self, state: _Run, step: str, failure: SlackCallError) -> None:
        log.warning("declaration_step_failed", step=step, error=failure.error)
        with state.lock:
            state.failures.append((step, failure.error))

    # --- bookkeeping: the lease, the channel, the record ----------------------------------

    def _lease_key(self, incident_id: int) -> str:
        return f"setup-lease:{incident_id}"

    def _renew_leases(self, session: Session, incident_ids: list[int]) -> None:
        for incident_id in incident_ids:
            renew_claim(session, self._lease_key(incident_id))

    def _start(self, incident_id: int, resumed: bool) -> tuple[_Run, Incident] | None:
        """Take the lease and read the incident in one transaction; None when another
        run holds the lease."""
        lapsed = utcnow() - timedelta(seconds=self.settings.setup_lease_seconds)
        key = self._lease_key(incident_id)
        with self.db.session() as session:
            session.execute(
                delete(ProcessedRequest).where(
                    col(ProcessedRequest.key) == key, col(ProcessedRequest.received_at) < lapsed
                )
            )
            if not claim_request(session, key, "setup_lease", incident_id):
                return None
            incident = repo.get_incident(session, incident_id, lock=True)
            state = _Run(incident_id, frozenset(incident.setup_attempted))
            if resumed:
                self._record_resume(session, incident)
            if "channel" in incident.setup_steps:
                self._before_chains(session, incident, state)
        return state, incident

    def _record_resume(self, session: Session, incident: Incident) -> None:
        pending = [STEP_LABELS[step] for step in STEPS if step not in incident.setup_steps]
        repo.record_event(
            session,
            incident.id or 0,
            "setup_resumed",
            source=Source.SYSTEM,
            actor_id=None,
            text="Firebreak resumed setting up the incident; still to do: " + ", ".join(pending),
            data={"pending": pending},
        )

    def _save(self, incident_id: int, **values: object) -> None:
        with self.db.session() as session:
            incident = repo.get_incident(session, incident_id, lock=True)
            for name, value in values.items():
                setattr(incident, name, value)
            session.add(incident)

    def _channel_made(self, state: _Run, learned: dict[str, Any]) -> Incident:
        """Record the channel before anything goes into it."""
        with self.db.session() as session:
            incident = repo.get_incident(session, state.incident_id, lock=True)
            _record_done(incident, ["channel"], learned)
            self._before_chains(session, incident, state)
        return incident

    def _before_chains(self, session: Session, incident: Incident, state: _Run) -> None:
        """Note the posting steps as attempted and read what the steps draw."""
        pending = [step for step in POSTING_STEPS if step not in incident.setup_steps]
        if any(step not in incident.setup_attempted for step in pending):
            incident.setup_attempted = sorted({*incident.setup_attempted, *pending})
            session.add(incident)
        state.snapshot = self._snapshot_in(session, incident)

    def _finish(self, state: _Run) -> SetupResult:
        """Record what the run did and what failed, and let go of the lease."""
        with self.db.session() as session:
            incident = repo.get_incident(session, state.incident_id, lock=True)
            _record_done(incident, state.done, state.learned)
            for step, error in state.failures:
                self._record_failure(session, incident, step, error)
            redrawn = self._redraw_changed(session, incident, state)
            if incident.setup_complete and state.done:
                repo.record_event(
                    session,
                    state.incident_id,
                    "channel_ready",
                    source=Source.SYSTEM,
                    actor_id=None,
                    text=f"#{incident.channel_name} is ready",
                    data={"channel": incident.channel_id},
                )
            session.add(incident)
            session.execute(
                delete(ProcessedRequest).where(
                    col(ProcessedRequest.key) == self._lease_key(state.incident_id)
                )
            )
            # Replies for the announcement thread may be waiting for it.
            waiting = (redrawn or "announce" in state.done) and effects_pending(
                session, state.incident_id
            )
            result = self._result_in(session, incident, state)
        if waiting:
            self.effects_ready(state.incident_id)
        return result

    def _redraw_changed(self, session: Session, incident: Incident, state: _Run) -> bool:
        """The steps drew the incident as it was when they began; a change since then
        was recorded while there was no message to redraw."""
        surfaces = [_REDRAWN_BY_STEP[s] for s in state.done if s in _REDRAWN_BY_STEP]
        if not surfaces or state.snapshot is None:
            return False
        if _shown(state.snapshot) == _shown(self._snapshot_in(session, incident)):
            return False
        effects.redraw(session, state.incident_id, surfaces)
        return True

    def _release_lease(self, incident_id: int) -> None:
        with self.db.session() as session:
            session.execute(
                delete(ProcessedRequest).where(
                    col(ProcessedRequest.key) == self._lease_key(incident_id)
                )
            )

    def _record_failure(self, session: Session, incident: Incident, step: str, error: str) -> None:
        if incident.setup_error is None:
            repo.record_event(
                session,
                incident.id or 0,
                "setup_delayed",
                source=Source.SYSTEM,
                actor_id=None,
                text=f"Could not {STEP_LABELS[step]} yet ({error}); Firebreak will retry",
                data={"step": step, "error": error},
            )
        incident.setup_error = f"{step}: {error}"

    def _result(self, incident_id: int) -> SetupResult:
        with self.db.session() as session:
            return self._result_in(session, repo.get_incident(session, incident_id), None)

    def _result_in(self, session: Session, incident: Incident, state: _Run | None) -> SetupResult:
        snapshot = IncidentSnapshot.of(incident, repo.current_roles(session, incident.id or 0))
        pending = [step for step in STEPS if step not in incident.setup_steps]
        error = state.failures[0][1] if state and state.failures else None
        return SetupResult(snapshot, pending, error)

    def _snapshot_in(self, session: Session, incident: Incident) -> IncidentSnapshot:
        incident_id = incident.id or 0
        return IncidentSnapshot.of(
            incident, repo.current_roles(session, incident_id), next_due(session, incident_id)
        )

    # --- the steps ----------------------------------------------------------------------

    def _create_channel(self, incident: Incident, _: _Run) -> dict[str, Any]:
        assert incident.id is not None
        if incident.channel_name and not incident.channel_id:
            # A name was chosen before an interruption: the channel may exist already.
            existing = self.slack.find_channel(incident.channel_name)
            if existing:
                return {"channel_id": existing}
        for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
            name = channel_name(incident.number, incident.title, attempt)
            self._save(incident.id, channel_name=name)
            try:
                channel_id, created = self.slack.create_channel(name, private=incident.is_private)
            except SlackCallError as error:
                if error.error == "name_taken":
                    continue
                raise
            return {"channel_id": channel_id, "channel_name": created}
        raise SlackCallError("conversations.create", "name_taken")

    def _invite(self, incident: Incident, state: _Run) -> dict[str, Any]:
        assert incident.channel_id is not None and state.snapshot is not None
        people = {incident.declared_by, *state.snapshot.roles.values()}
        self.slack.invite(incident.channel_id, sorted(people))
        return {}

    def _set_topic(self, incident: Incident, state: _Run) -> dict[str, Any]:
        assert incident.channel_id is not None and state.snapshot is not None
        self.slack.set_topic(incident.channel_id, blocks.channel_topic(state.snapshot))
        return {}

    def _post_card(self, incident: Incident, state: _Run) -> dict[str, Any]:
        assert incident.channel_id is not None and state.snapshot is not None
        snapshot = state.snapshot
        card = blocks.incident_card(
            snapshot,
            self.settings.roles,
            self.settings.severities,
            blocks.bridge_link(self.settings.bridge_url, snapshot),
            paging=self.settings.pagerduty_enabled,
        )
        ts = self._post_once(
            incident, state, "card", incident.channel_id, blocks.card_text(snapshot), card
        )
        return {"card_ts": ts}

    def _post_once(
        self,
        incident: Incident,
        state: _Run,
        step: str,
        channel: str,
        text: str,
        message: list[dict[str, Any]],
    ) -> str:
        """Post a tagged message, or find the one an interrupted earlier run posted."""
        assert incident.id is not None
        marker = _marker(_EVENTS[step], incident.id)
        if step in state.attempted:
            found = self.slack.find_marked(channel, marker)
            if found is not None:
                return found
        return self.slack.post(channel, text, message, metadata=marker).ts

    def _pin_card(self, incident: Incident, _: _Run) -> dict[str, Any]:
        assert incident.channel_id is not None and incident.card_ts is not None
        self.slack.pin(incident.channel_id, incident.card_ts)
        return {}

    def _announce(self, incident: Incident, state: _Run) -> dict[str, Any]:
        assert state.snapshot is not None
        if incident.is_private:
            return {}
        snapshot = state.snapshot
        channel = self._announcement_channel()
        ts = self._post_once(
            incident,
            state,
            "announce",
            channel,
            blocks.announcement_text(snapshot),
            blocks.announcement(
                snapshot, bridge=blocks.bridge_link(self.settings.bridge_url, snapshot)
            ),
        )
        return {"announcement_channel_id": channel, "announcement_ts": ts, "updated_at": utcnow()}

    def _bookmark(self, incident: Incident, state: _Run) -> dict[str, Any]:
        if incident.is_private or not incident.announcement_ts:
            return {}
        assert incident.channel_id is not None and incident.announcement_channel_id is not None
        link = self.slack.permalink(incident.announcement_channel_id, incident.announcement_ts)
        retrying = "bookmark" in state.attempted
        if retrying and link in self.slack.bookmark_links(incident.channel_id):
            return {}
        self.slack.bookmark(incident.channel_id, "Stakeholder updates", link)
        return {}

    def _announcement_channel(self) -> str:
        # One lookup per process, even when many declarations start at once: the
        # lookup (conversations.list) is Tier 2, 20 calls a minute.
        with self._announce_lock:
            if self._announce_channel is None:
                name = self.settings.announce_channel
                found = self.slack.find_channel(name)
                if found is None:
                    raise SlackCallError("conversations.list", "channel_not_found", f"#{name}")
                self.slack.join(found)
                self._announce_channel = found
            return self._announce_channel


def _record_done(incident: Incident, steps: list[str], learned: dict[str, Any]) -> None:
    """Save what finished steps learned and that they are done."""
    for name, value in learned.items():
        setattr(incident, name, value)
    done = [*incident.setup_steps, *(step for step in steps if step not in incident.setup_steps)]
    incident.setup_steps = done
    incident.setup_complete = all(step in done for step in STEPS)
    # Another step's failure stays on record until that step succeeds.
    failed_step = (incident.setup_error or "").partition(":")[0]
    if incident.setup_complete or failed_step in steps:
        incident.setup_error = None


def _in_parallel(tasks: list[Callable[[], object]]) -> None:
    """Run tasks on threads of their own (the first on this one), each in a copy of the
    caller's context so log fields follow; re-raise the first unexpected error."""
    errors: list[BaseException] = []

    def guarded(task: Callable[[], object]) -> None:
        try:
            task()
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(
            target=contextvars.copy_context().run, args=(guarded, task), name="provision"
        )
        for task in tasks[1:]
    ]
    for thread in threads:
        thread.start()
    guarded(tasks[0])
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
