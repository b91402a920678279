"""Carries out the recorded outbound calls (`outbound_call`) after the Slack work.

The same discipline as the Slack notifier: a due call is leased before it runs (the lease
is renewed while a slow service answers), a failure the service may get over (5xx, 429
with its Retry-After, a timeout) is retried with backoff, and one it will never accept
(401, 400 ...) is recorded on the timeline, said in the channel and counted, never retried.
An incident's calls to one service go in order: a create before its updates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, col

from app.alerts.store import service_of
from app.config import Settings
from app.incidents import effects
from app.incidents import repository as repo
from app.incidents.actions import ActionItemService
from app.incidents.rules import Source
from app.integrations import outbox
from app.integrations.http import CallError
from app.integrations.jira import JiraClient, item_label
from app.integrations.outbox import Call
from app.integrations.pagerduty import PD_SEVERITIES, Alert, PagerDutyClient, dedup_key
from app.integrations.statuspage import STATUSES, StatuspageClient, component_status, marker
from app.logging import bind_request, get_logger
from app.metrics import Metrics
from app.slack.outbound.blocks import escape
from app.store.database import Database
from app.store.models import ActionItem, Incident, OutboundCall, StakeholderUpdate
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

_TABLE = SQLModel.metadata.tables[OutboundCall.__tablename__]
NAMES = {"pagerduty": "PagerDuty", "jira": "Jira", "statuspage": "Statuspage"}
WHAT = {
    Call.PAGE: "the page to the on-call",
    Call.UNPAGE: "resolving the page",
    Call.FILE: "filing an action item",
    Call.PUBLISH: "a public status update",
}

_C = TypeVar("_C")

# Applied in the settling transaction when a call succeeded.
Settle = Callable[[Session], None]


def _nothing(_session: Session) -> None:
    return None


@dataclass(frozen=True)
class Claimed:
    id: int
    incident_id: int
    call: Call
    payload: dict[str, Any]
    attempts: int
    created_at: datetime

    @property
    def service(self) -> str:
        return self.call.service


class Integrations:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        metrics: Metrics,
        actions: ActionItemService,
        effects_ready: effects.EffectsReady = effects.no_notifier,
        submit: Submit = run_now,
    ) -> None:
        self.settings = settings
        self.db = db
        self.metrics = metrics
        self.actions = actions
        self.effects_ready = effects_ready
        self._submit = submit
        timeout = settings.integrations_timeout_seconds
        self.pagerduty = PagerDutyClient(settings.pagerduty_events_url, timeout)
        self.jira = _jira_client(settings)
        self.statuspage = _statuspage_client(settings)
        self._lease = timedelta(seconds=settings.effects_lease_seconds)
        self._leases = LeaseKeeper(db, self._lease, renew_rows(_TABLE, self._lease), _TABLE.name)
        self._runner: IncidentRunner[None] = IncidentRunner(self._deliver_due)

    def routing_key(self, incident: Incident) -> str | None:
        """Where an incident pages: its service's key in the catalog (the service of its
        alerts), else FIREBREAK_PAGERDUTY_ROUTING_KEY."""
        catalog = self.settings.catalog
        if catalog is not None and incident.id is not None:
            with self.db.session() as session:
                entry = catalog.get(service_of(session, incident.id))
            if entry is not None and entry.pagerduty_routing_key is not None:
                return entry.pagerduty_routing_key.get_secret_value()
        key = self.settings.pagerduty_routing_key
        return key.get_secret_value() if key is not None else None

    # --- scheduling (as the notifier's) ---------------------------------------------------

    @property
    def configured(self) -> bool:
        settings = self.settings
        return settings.pagerduty_enabled or settings.jira_enabled or settings.statuspage_enabled

    def kick(self, incident_id: int) -> None:
        self._submit(lambda: self.deliver(incident_id))

    def deliver(self, incident_id: int) -> None:
        """After a change commits. With no service set up no change records a call, so
        the database is not asked (calls an earlier configuration left are the sweep's)."""
        if self.configured:
            self._runner.run(incident_id)

    def deliver_all_due(self) -> int:
        incidents = due_incidents(self.db, _TABLE)
        for incident_id in incidents:
            self._runner.run(incident_id)
        return len(incidents)

    def pending_count(self) -> int:
        return pending_count(self.db, _TABLE)

    # --- one incident ---------------------------------------------------------------------

    def _deliver_due(self, incident_id: int, _handed: None = None) -> None:
        try:
            claimed, blocked = self._claim_due(incident_id)
        except SQLAlchemyError as error:
            log.warning("outbound_calls_unreadable", error=type(error).__name__)
            return
        if not claimed:
            return
        told_slack = False
        with self._leases.holding(call.id for call in claimed):
            for call in claimed:
                if call.service in blocked:
                    self._release(call)
                    continue
                outcome = self._attempt(call)
                try:
                    told_slack |= self._settle(call, outcome)
                except SQLAlchemyError as error:
                    log.warning("outbound_bookkeeping_failed", error=type(error).__name__)
                    blocked.add(call.service)
                    continue
                if isinstance(outcome, CallError) and outcome.transient:
                    blocked.add(call.service)
        if told_slack:
            self.effects_ready(incident_id)

    def _claim_due(self, incident_id: int) -> tuple[list[Claimed], set[str]]:
        """Lease the due calls, and name the services whose claimed calls must wait, in
        one transaction."""
        with self.db.session() as session:
            rows = claim_due(
                session,
                _TABLE,
                incident_id,
                self._lease,
                "kind",
                "payload",
                "attempts",
                "created_at",
            )
            claimed = [
                Claimed(int(row[0]), incident_id, Call(row[1]), dict(row[2]), row[3], row[4])
                for row in rows
            ]
            if not claimed:
                return [], set()
            return claimed, _waiting_behind_earlier(session, incident_id, claimed)

    def _release(self, call: Claimed) -> None:
        with self.db.session() as session:
            session.execute(
                update(_TABLE)
                .where(_TABLE.c.id == call.id)
                .values(lease_until=None, attempts=_TABLE.c.attempts - 1)
            )

    def _attempt(self, call: Claimed) -> Settle | CallError:
        bind_request(incident_id=call.incident_id)
        try:
            match call.call:
                case Call.PAGE:
                    return self._page(call)
                case Call.UNPAGE:
                    return self._unpage(call)
                case Call.FILE:
                    return self._file(call)
                case Call.PUBLISH:
                    return self._publish(call)
        except CallError as error:
            return error
        except SQLAlchemyError as error:
            # Reading what to send failed: try again later, like a service outage.
            return CallError(call.service, None, type(error).__name__)

    def _settle(self, call: Claimed, outcome: Settle | CallError) -> bool:
        """Record how the call went; True when Slack has something new to say."""
        now = utcnow()
        with self.db.session() as session:
            if not isinstance(outcome, CallError):
                outcome(session)
                session.execute(
                    update(_TABLE)
                    .where(_TABLE.c.id == call.id)
                    .values(done_at=now, lease_until=None, error=None)
                )
                self.metrics.integration_calls.labels(call.service, call.call.value, "done").inc()
                return outcome is not _nothing
            if outcome.transient:
                self._retry_later(session, call, outcome, now)
                return False
            self._give_up(session, call, outcome, now)
            return True

    def _retry_later(
        self, session: Session, call: Claimed, error: CallError, now: datetime
    ) -> None:
        wait = backoff(call.attempts)
        if error.retry_after is not None:
            wait = max(wait, timedelta(seconds=min(error.retry_after, 3600)))
        log.warning(
            "outbound_retry_scheduled",
            service=call.service,
            call=call.call.value,
            error=error.short,
            attempts=call.attempts,
        )
        self.metrics.integration_calls.labels(call.service, call.call.value, "retried").inc()
        session.execute(
            update(_TABLE)
            .where(_TABLE.c.id == call.id)
            .values(lease_until=None, error=error.short[:200], next_attempt_at=now + wait)
        )

    def _give_up(self, session: Session, call: Claimed, error: CallError, now: datetime) -> None:
        name = NAMES[call.service]
        log.error("outbound_failed", service=call.service, call=call.call.value, error=error.short)
        self.metrics.integration_calls.labels(call.service, call.call.value, "failed").inc()
        reason = f"{error.short} {error.detail}".strip()
        session.execute(
            update(_TABLE)
            .where(_TABLE.c.id == call.id)
            .values(done_at=now, lease_until=None, error=reason[:200])
        )
        text = f"{name} refused {WHAT[call.call]}: {reason}"
        repo.record_event(
            session,
            call.incident_id,
            "integration_call_failed",
            source=Source.SYSTEM,
            actor_id=None,
            text=text,
            data={"service": call.service, "call": call.call.value, "error": reason},
        )
        effects.say_in_channel(
            session, call.incident_id, f":warning: {escape(text)} (see docs/integrations.md)"
        )
        # Let someone try again once the setting is fixed.
        if call.call is Call.PAGE:
            incident = repo.get_incident(session, call.incident_id, lock=True)
            incident.pagerduty_status = None
            session.add(incident)
        elif call.call is Call.FILE:
            item = session.get(ActionItem, call.payload["item_id"])
            if item is not None and item.jira_issue_key is None:
                item.jira_requested_at = None
                session.add(item)

    # --- the calls --------------------------------------------------------------------------

    def _incident(self, incident_id: int) -> Incident:
        with self.db.session() as session:
            return repo.get_incident(session, incident_id)

    def _page(self, call: Claimed) -> Settle:
        incident = self._incident(call.incident_id)
        key = self._require_routing_key(incident)
        waited = (utcnow() - call.created_at).total_seconds()
        if (
            "channel" not in incident.setup_steps
            and waited < self.settings.pagerduty_link_wait_seconds
        ):
            raise CallError("pagerduty", None, "waiting for the incident channel to link to")
        names = [name.upper() for name in self.settings.severity_names]
        position = (
            names.index(incident.severity.upper()) if incident.severity.upper() in names else 0
        )
        link = (
            f"https://slack.com/app_redirect?team={incident.team_id}&channel={incident.channel_id}"
            if incident.channel_id
            else None
        )
        self.pagerduty.trigger(
            key,
            Alert(
                dedup_key=dedup_key(incident.team_id, incident.number),
                summary=f"{incident.reference} {incident.severity}: {incident.title}",
                severity=PD_SEVERITIES[min(position, len(PD_SEVERITIES) - 1)],
                source=f"firebreak/{incident.team_id}",
                link=link,
            ),
        )

        def settle(session: Session) -> None:
            text = "Paged the on-call through PagerDuty"
            repo.record_event(
                session,
                call.incident_id,
                "pagerduty_triggered",
                source=Source.SYSTEM,
                actor_id=None,
                text=text,
                data={"dedup_key": dedup_key(incident.team_id, incident.number)},
            )
            effects.say_in_channel(session, call.incident_id, f":rotating_light: {text}.")

        return settle

    def _unpage(self, call: Claimed) -> Settle:
        incident = self._incident(call.incident_id)
        key = self._require_routing_key(incident)
        self.pagerduty.resolve(key, dedup_key(incident.team_id, incident.number))

        def settle(session: Session) -> None:
            repo.record_event(
                session,
                call.incident_id,
                "pagerduty_resolved",
                source=Source.SYSTEM,
                actor_id=None,
                text="Resolved the PagerDuty alert",
            )

        return settle

    def _require_routing_key(self, incident: Incident) -> str:
        key = self.routing_key(incident)
        if key is None:
            raise CallError("pagerduty", 400, "no routing key is configured")
        return key

    def _file(self, call: Claimed) -> Settle:
        jira = self._require(self.jira, "jira")
        with self.db.session() as session:
            item = session.get(ActionItem, call.payload["item_id"])
            incident = repo.get_incident(session, call.incident_id)
        if item is None or item.id is None or item.jira_issue_key:
            return _nothing
        label = item_label(incident.team_id, item.id)
        # An earlier attempt may have created the issue before its answer was lost.
        key = jira.find_by_label(label) if call.attempts > 1 else None
        if key is None:
            key = jira.create_issue(
                item.text,
                f"Action item from {incident.reference}: {incident.title}",
                label,
            )
        url = jira.browse_url(key)
        item_id = item.id
        text = item.text

        def settle(session: Session) -> None:
            stored = session.get(ActionItem, item_id)
            if stored is None:
                return
            stored.jira_issue_key = key
            session.add(stored)
            repo.record_event(
                session,
                call.incident_id,
                "jira_issue_filed",
                source=Source.SYSTEM,
                actor_id=None,
                text=f"Filed {key}: {text}",
                data={"action_item_id": item_id, "key": key, "url": url},
            )
            effects.say_in_channel(
                session, call.incident_id, f":ticket: Filed <{url}|{key}>: {escape(text)}"
            )

        return settle

    def _publish(self, call: Claimed) -> Settle:
        client = self._require(self.statuspage, "statuspage")
        with self.db.session() as session:
            row = session.get(StakeholderUpdate, call.payload["update_id"])
            incident = repo.get_incident(session, call.incident_id)
        if row is None or incident.is_private:
            return _nothing
        status = STATUSES[row.status]
        body = " ".join(part for part in (row.what_we_know, row.what_we_are_doing) if part)
        components = self._components(incident, row.status)
        page_incident = incident.statuspage_incident_id
        if page_incident is None:
            mark = marker(incident.team_id, incident.number)
            page_incident = client.find(incident.title, mark) if call.attempts > 1 else None
            if page_incident is None:
                page_incident = client.create(incident.title, status, body, mark, components)
            else:
                client.update(page_incident, status, body, components)
        else:
            client.update(page_incident, status, body, components)
        created = page_incident

        def settle(session: Session) -> None:
            stored = repo.get_incident(session, call.incident_id, lock=True)
            if stored.statuspage_incident_id is None:
                stored.statuspage_incident_id = created
                session.add(stored)
            repo.record_event(
                session,
                call.incident_id,
                "statuspage_published",
                source=Source.SYSTEM,
                actor_id=None,
                text=f"Published to the status page as {status}",
                data={"status": status, "statuspage_incident": created},
            )

        return settle

    def _components(self, incident: Incident, status: str) -> dict[str, str]:
        """The Statuspage component of the incident's service (from its alerts), if the
        catalog names one, with the status the incident gives it."""
        catalog = self.settings.catalog
        if catalog is None or incident.id is None:
            return {}
        with self.db.session() as session:
            entry = catalog.get(service_of(session, incident.id))
        if entry is None or entry.statuspage_component is None:
            return {}
        shown = component_status(incident.severity, self.settings.severity_names, status)
        return {entry.statuspage_component: shown}

    @staticmethod
    def _require(client: _C | None, service: str) -> _C:
        if client is None:
            raise CallError(service, 400, "the integration is not configured")
        return client

    # --- Jira status follows back ------------------------------------------------------------

    def poll_jira(self) -> int:
        """Mark done the open action items whose Jira issue is done; returns how many."""
        if self.jira is None:
            return 0
        with self.db.session() as session:
            rows = session.execute(
                select(col(ActionItem.id), col(ActionItem.jira_issue_key)).where(
                    col(ActionItem.state) != "done", col(ActionItem.jira_issue_key).is_not(None)
                )
            ).all()
        if not rows:
            return 0
        try:
            done = self.jira.done_keys(str(key) for _, key in rows)
        except CallError as error:
            log.warning("jira_poll_failed", error=error.short)
            self.metrics.integration_calls.labels("jira", "poll", "retried").inc()
            return 0
        self.metrics.integration_calls.labels("jira", "poll", "done").inc()
        marked = 0
        for item_id, key in rows:
            if key in done:
                item, changed = self.actions.mark_done(
                    int(item_id), None, Source.JIRA, say=f"{key} is done in Jira"
                )
                if changed:
                    marked += 1
                    self.effects_ready(item.incident_id)
        return marked


def _waiting_behind_earlier(session: Session, incident_id: int, claimed: list[Claimed]) -> set[str]:
    """Services with an unfinished earlier call this run did not claim (in backoff, or
    another replica's): their claimed calls wait, so the order holds."""
    first: dict[str, int] = {}
    for call in claimed:
        first.setdefault(call.service, call.id)
    rows = session.execute(
        select(_TABLE.c.service, func.min(_TABLE.c.id))
        .where(_TABLE.c.incident_id == incident_id, _TABLE.c.done_at.is_(None))
        .group_by(_TABLE.c.service)
    ).all()
    return {str(service) for service, lowest in rows if lowest < first.get(service, lowest)}


def _jira_client(settings: Settings) -> JiraClient | None:
    if not settings.jira_enabled:
        return None
    assert settings.jira_url and settings.jira_project and settings.jira_email
    assert settings.jira_api_token is not None
    return JiraClient(
        settings.jira_url,
        settings.jira_project,
        settings.jira_email,
        settings.jira_api_token.get_secret_value(),
        settings.jira_issue_type,
        settings.integrations_timeout_seconds,
    )


def _statuspage_client(settings: Settings) -> StatuspageClient | None:
    if settings.statuspage_api_key is None or settings.statuspage_page_id is None:
        return None
    return StatuspageClient(
        settings.statuspage_url,
        settings.statuspage_page_id,
        settings.statuspage_api_key.get_secret_value(),
        settings.integrations_timeout_seconds,
    )


__all__ = ["Integrations", "outbox"]
