"""Setting up a declared incident in Slack, one recorded step at a time.

Declaring is a sequence of Slack calls. Each finished step is written to the incident
row before the next begins, so a declaration interrupted by a crash or a Slack outage
resumes where it stopped: no second channel, card or announcement. A step that posts a
message notes its attempt first and tags the message with Slack message metadata; if it
was interrupted after Slack posted but before the ts was saved, the next run finds the
message instead of posting it twice.

Once the channel exists the remaining steps form independent chains (invite; topic;
card then pin; announcement then bookmark) that run side by side: the channel is ready
after three Slack round trips instead of six, and the whole setup after four, not eight.
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
from app.store.database import Database
from app.store.idempotency import claim_request, renew_claim
from app.store.models import Incident, ProcessedRequest
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

# A step returns the incident fields it learned (channel id, message ts...) to save.
Step = Callable[[Incident, IncidentSnapshot | None], dict[str, Any]]


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
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: list[str] = field(default_factory=list)
    snapshot: IncidentSnapshot | None = None


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
        if not self._take_lease(incident_id):
            return self._result(incident_id, None)
        try:
            if resumed:
                self._record_resume(incident_id)
            return self._run_steps(incident_id)
        finally:
            self._release_lease(incident_id)

    def resume_all(self) -> list[SetupResult]:
        """Finish declarations a crash or an outage interrupted (start-up and periodically)."""
        with self.db.session() as session:
            unfinished = list(repo.unfinished_declarations(session))
        return [self.run(incident_id, resumed=True) for incident_id in unfinished]

    def _run_steps(self, incident_id: int) -> SetupResult:
        state = _Run(incident_id)
        incident = self._load(incident_id)
        bind_request(incident=incident.reference)
        if self._chain(state, incident, ("channel",)):
            incident = self._load(incident_id)
            state.snapshot = self._snapshot(incident)
            _in_parallel([functools.partial(self._chain, state, incident, c) for c in CHAINS])
        return self._result(incident_id, state.errors[0] if state.errors else None)

    def _chain(self, state: _Run, incident: Incident, steps: tuple[str, ...]) -> bool:
        """Run `steps` in order, skipping finished ones; False if one failed."""
        for step in steps:
            if step in incident.setup_steps:
                continue
            try:
                learned = self._steps[step](incident, state.snapshot)
            except SlackCallError as failure:
                log.warning("declaration_step_failed", step=step, error=failure.error)
                with state.lock:
                    state.errors.append(failure.error)
                    self._record_failure(state.incident_id, step, failure.error)
                return False
            with state.lock:
                incident = self._mark_done(state.incident_id, step, learned, state.snapshot)
        return True

    # --- the lease ----------------------------------------------------------------------

    def _lease_key(self, incident_id: int) -> str:
        return f"setup-lease:{incident_id}"

    def _take_lease(self, incident_id: int) -> bool:
        lapsed = utcnow() - timedelta(seconds=self.settings.setup_lease_seconds)
        key = self._lease_key(incident_id)
        with self.db.session() as session:
            session.execute(
                delete(ProcessedRequest).where(
                    col(ProcessedRequest.key) == key, col(ProcessedRequest.received_at) < lapsed
                )
            )
            return claim_request(session, key, "setup_lease", incident_id)

    def _renew_lease(self, session: Session, incident_id: int) -> None:
        renew_claim(session, self._lease_key(incident_id))

    def _release_lease(self, incident_id: int) -> None:
        with self.db.session() as session:
            session.execute(
                delete(ProcessedRequest).where(
                    col(ProcessedRequest.key) == self._lease_key(incident_id)
                )
            )

    def _record_resume(self, incident_id: int) -> None:
        with self.db.session() as session:
            incident = repo.get_incident(session, incident_id)
            pending = [STEP_LABELS[step] for step in STEPS if step not in incident.setup_steps]
            repo.record_event(
                session,
                incident_id,
                "setup_resumed",
                source=Source.SYSTEM,
                actor_id=None,
                text="Firebreak resumed setting up the incident; still to do: "
                + ", ".join(pending),
                data={"pending": pending},
            )

    # --- bookkeeping --------------------------------------------------------------------

    def _load(self, incident_id: int) -> Incident:
        with self.db.session() as session:
            return repo.get_incident(session, incident_id)

    def _save(self, incident_id: int, **values: object) -> None:
        with self.db.session() as session:
            incident = repo.get_incident(session, incident_id, lock=True)
            for name, value in values.items():
                setattr(incident, name, value)
            session.add(incident)

    def _mark_done(
        self,
        incident_id: int,
        step: str,
        values: dict[str, Any],
        drawn: IncidentSnapshot | None = None,
    ) -> Incident:
        """Save what the step learned and that it is done, in one transaction."""
        with self.db.session() as session:
            incident = repo.get_incident(session, incident_id, lock=True)
            for name, value in values.items():
                setattr(incident, name, value)
            done = [*incident.setup_steps, step]
            incident.setup_steps = done
            incident.setup_complete = all(s in done for s in STEPS)
            # Another chain's failure stays on record until its own step succeeds.
            failed_step = (incident.setup_error or "").partition(":")[0]
            if incident.setup_complete or failed_step == step:
                incident.setup_error = None
            session.add(incident)
            self._renew_lease(session, incident_id)
            redrawn = _REDRAWN_BY_STEP.get(step)
            changed_meanwhile = (
                redrawn is not None
                and drawn is not None
                and _shown(drawn) != _shown(self._snapshot_in(session, incident))
            )
            if changed_meanwhile and redrawn is not None:
                # The step drew the incident as it was when set-up began; a change since
                # then was recorded while there was no message to redraw.
                effects.redraw(session, incident_id, [redrawn])
            if incident.setup_complete:
                repo.record_event(
                    session,
                    incident_id,
                    "channel_ready",
                    source=Source.SYSTEM,
                    actor_id=None,
                    text=f"#{incident.channel_name} is ready",
                    data={"channel": incident.channel_id},
                )
        if changed_meanwhile or step == "announce":
            # Replies for the announcement thread may be waiting for it.
            self.effects_ready(incident_id)
        return incident

    def _was_attempted(self, incident: Incident, step: str) -> bool:
        """True when an earlier run began `step`: Slack may have done it already."""
        return step in incident.setup_attempted

    def _note_attempt(self, incident_id: int, step: str) -> None:
        with self.db.session() as session:
            incident = repo.get_incident(session, incident_id, lock=True)
            if step not in incident.setup_attempted:
                incident.setup_attempted = [*incident.setup_attempted, step]
                session.add(incident)

    def _record_failure(self, incident_id: int, step: str, error: str) -> None:
        with self.db.session() as session:
            incident = repo.get_incident(session, incident_id, lock=True)
            if incident.setup_error is None:
                repo.record_event(
                    session,
                    incident_id,
                    "setup_delayed",
                    source=Source.SYSTEM,
                    actor_id=None,
                    text=f"Could not {STEP_LABELS[step]} yet ({error}); Firebreak will retry",
                    data={"step": step, "error": error},
                )
            incident.setup_error = f"{step}: {error}"
            session.add(incident)

    def _result(self, incident_id: int, error: str | None) -> SetupResult:
        with self.db.session() as session:
            incident = repo.get_incident(session, incident_id)
            snapshot = IncidentSnapshot.of(incident, repo.current_roles(session, incident_id))
            pending = [step for step in STEPS if step not in incident.setup_steps]
        return SetupResult(snapshot, pending, error)

    def _snapshot(self, incident: Incident) -> IncidentSnapshot:
        with self.db.session() as session:
            return self._snapshot_in(session, incident)

    def _snapshot_in(self, session: Session, incident: Incident) -> IncidentSnapshot:
        incident_id = incident.id or 0
        return IncidentSnapshot.of(
            incident, repo.current_roles(session, incident_id), next_due(session, incident_id)
        )

    # --- the steps ----------------------------------------------------------------------

    def _create_channel(self, incident: Incident, _: IncidentSnapshot | None) -> dict[str, Any]:
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

    def _invite(self, incident: Incident, snapshot: IncidentSnapshot | None) -> dict[str, Any]:
        assert incident.channel_id is not None and snapshot is not None
        people = {incident.declared_by, *snapshot.roles.values()}
        self.slack.invite(incident.channel_id, sorted(people))
        return {}

    def _set_topic(self, incident: Incident, snapshot: IncidentSnapshot | None) -> dict[str, Any]:
        assert incident.channel_id is not None and snapshot is not None
        self.slack.set_topic(incident.channel_id, blocks.channel_topic(snapshot))
        return {}

    def _post_card(self, incident: Incident, snapshot: IncidentSnapshot | None) -> dict[str, Any]:
        assert incident.channel_id is not None and incident.id is not None
        assert snapshot is not None
        card = blocks.incident_card(
            snapshot,
            self.settings.roles,
            self.settings.severities,
            blocks.bridge_link(self.settings.bridge_url, snapshot),
            paging=self.settings.pagerduty_enabled,
        )
        ts = self._post_once(
            incident, "card", incident.channel_id, blocks.card_text(snapshot), card, CARD_EVENT
        )
        return {"card_ts": ts}

    def _post_once(
        self,
        incident: Incident,
        step: str,
        channel: str,
        text: str,
        message: list[dict[str, Any]],
        event_type: str,
    ) -> str:
        """Post a tagged message, or find the one an interrupted earlier run posted."""
        assert incident.id is not None
        marker = _marker(event_type, incident.id)
        if self._was_attempted(incident, step):
            found = self.slack.find_marked(channel, marker)
            if found is not None:
                return found
        self._note_attempt(incident.id, step)
        return self.slack.post(channel, text, message, metadata=marker).ts

    def _pin_card(self, incident: Incident, _: IncidentSnapshot | None) -> dict[str, Any]:
        assert incident.channel_id is not None and incident.card_ts is not None
        self.slack.pin(incident.channel_id, incident.card_ts)
        return {}

    def _announce(self, incident: Incident, snapshot: IncidentSnapshot | None) -> dict[str, Any]:
        assert snapshot is not None
        if incident.is_private:
            return {}
        channel = self._announcement_channel()
        ts = self._post_once(
            incident,
            "announce",
            channel,
            blocks.announcement_text(snapshot),
            blocks.announcement(
                snapshot, bridge=blocks.bridge_link(self.settings.bridge_url, snapshot)
            ),
            ANNOUNCEMENT_EVENT,
        )
        return {"announcement_channel_id": channel, "announcement_ts": ts, "updated_at": utcnow()}

    def _bookmark(self, incident: Incident, _: IncidentSnapshot | None) -> dict[str, Any]:
        if incident.is_private or not incident.announcement_ts:
            return {}
        assert incident.channel_id is not None and incident.announcement_channel_id is not None
        assert incident.id is not None
        link = self.slack.permalink(incident.announcement_channel_id, incident.announcement_ts)
        retrying = self._was_attempted(incident, "bookmark")
        if retrying and link in self.slack.bookmark_links(incident.channel_id):
            return {}
        self._note_attempt(incident.id, "bookmark")
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
