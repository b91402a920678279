"""Alert use cases: intake, acknowledge, silence, attach, declare.

Intake stores every notice of one request in one transaction and answers; Slack is told
afterwards by the notifier, so a Slack outage never makes a sender retry into duplicates.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session, col

from app.alerts import blocks as alert_blocks
from app.alerts import store
from app.alerts.notifier import AlertNotifier
from app.alerts.parsing import (
    ALERTMANAGER,
    WEBHOOK,
    Notice,
    decode,
    parse_alertmanager,
    parse_webhook,
)
from app.config import Settings
from app.incidents import effects
from app.incidents import repository as repo
from app.incidents.errors import InvalidInput
from app.incidents.rules import Source
from app.incidents.service import Declaration, IncidentService
from app.incidents.snapshot import IncidentSnapshot
from app.logging import get_logger
from app.slack.outbound import blocks
from app.slack.outbound.gateway import SlackCallError, SlackGateway
from app.slack.outbound.provisioning import Provisioner, SetupResult
from app.store.database import Database
from app.store.models import AlertGroup, Incident
from app.store.types import utcnow

log = get_logger(__name__)

Clock = Callable[[], datetime]
SILENCE_HOURS = {"1h": 1, "4h": 4}
PARSERS = {ALERTMANAGER: parse_alertmanager, WEBHOOK: parse_webhook}


@dataclass(frozen=True)
class IntakeResult:
    received: int
    stored: int
    new_alerts: int


class AlertService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        slack: SlackGateway,
        incidents: IncidentService,
        provisioner: Provisioner,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.db = db
        self.slack = slack
        self.incidents = incidents
        self.provisioner = provisioner
        self.clock = clock
        self.notifier = AlertNotifier(db, self.render, settings.alerts_channel_interval_seconds)
        self._channels: dict[str, str] = {}
        self._channel_lock = threading.Lock()
        self._background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="alert-declare")
        self._in_flight = 0
        self._team: str | None = None
        self._flight = threading.Condition()

    # --- intake -----------------------------------------------------------------------------

    def intake(self, source: str, body: bytes) -> IntakeResult:
        """Parse and store a notification (PayloadError when it is not valid)."""
        now = self.clock()
        notices = PARSERS[source](decode(body), self.settings.alerts_service_label, now)
        with self.db.session(urgent=True) as session:
            recorded = store.record_notices(
                session, notices, self._channels_for(notices), self.settings.auto_declare, now
            )
        self.notifier.notify(recorded.groups_to_render)
        for group_id in recorded.auto_declare:
            self._in_background(functools.partial(self.auto_declare, group_id))
        for incident_id in recorded.incidents_changed:
            self._in_background(functools.partial(self.refresh_incident, incident_id))
        return IntakeResult(len(notices), recorded.stored, recorded.new_alerts)

    def _channels_for(self, notices: list[Notice]) -> dict[str | None, str]:
        catalog = self.settings.catalog
        channels: dict[str | None, str] = {}
        for notice in notices:
            entry = catalog.get(notice.service) if catalog else None
            channels[notice.service] = (
                entry.channel if entry and entry.channel else self.settings.alerts_channel
            )
        return channels

    # --- the message ------------------------------------------------------------------------

    def view(self, group_id: int) -> tuple[alert_blocks.GroupView, int, AlertGroup]:
        with self.db.session() as session:
            group = session.get(AlertGroup, group_id)
            if group is None:
                raise InvalidInput("That alert is no longer known to Firebreak.")
            return self._view(session, group), group.version, group

    def _view(self, session: Session, group: AlertGroup) -> alert_blocks.GroupView:
        assert group.id is not None
        incident = session.get(Incident, group.incident_id) if group.incident_id else None
        catalog = self.settings.catalog
        return alert_blocks.GroupView(
            id=group.id,
            title=group.title,
            channel=group.channel,
            service=group.service,
            severity=group.severity,
            alerts=[
                alert_blocks.AlertLine(a.title, a.status, a.started_at, a.url, a.notifications)
                for a in store.group_alerts(session, group.id)
            ],
            external_url=group.external_url,
            acknowledged_by=group.acknowledged_by,
            acknowledged_at=group.acknowledged_at,
            silenced_by=group.silenced_by,
            silenced_until=group.silenced_until
            if group.silenced_until and group.silenced_until > self.clock()
            else None,
            silenced_until_resolved=group.silenced_until_resolved,
            incident_reference=incident.reference if incident else None,
            incident_channel_id=incident.channel_id if incident else None,
            incident_private=bool(incident and incident.is_private),
            catalog=catalog.get(group.service) if catalog else None,
        )

    def render(self, group_id: int) -> int | None:
        """Post or edit the group's message (the notifier holds its lease)."""
        view, version, group = self.view(group_id)
        text = alert_blocks.group_text(view)
        message = alert_blocks.group_message(view)
        if group.message_ts and group.message_channel_id:
            self.slack.update(group.message_channel_id, group.message_ts, text, message)
            channel_id, ts, posted = group.message_channel_id, group.message_ts, False
        else:
            channel_id = self._channel_id(group.channel)
            ts = self.slack.post(channel_id, text, message).ts
            posted = True
        with self.db.session() as session:
            session.execute(
                update(AlertGroup)
                .where(col(AlertGroup.id) == group_id)
                .values(
                    message_channel_id=channel_id,
                    message_ts=ts,
                    rendered_version=version,
                    post_count=col(AlertGroup.post_count) + int(posted),
                    edit_count=col(AlertGroup.edit_count) + int(not posted),
                )
            )
        return version

    def _channel_id(self, name: str) -> str:
        with self._channel_lock:
            if name not in self._channels:
                found = self.slack.find_channel(name)
                if found is None:
                    raise SlackCallError("conversations.list", "channel_not_found", f"#{name}")
                self.slack.join(found)
                self._channels[name] = found
            return self._channels[name]

    # --- buttons ----------------------------------------------------------------------------

    def acknowledge(self, group_id: int, user_id: str) -> bool:
        """Record the first acknowledgement; False if someone already acknowledged."""
        now = self.clock()
        with self.db.session() as session:
            group = store.lock_group(session, group_id)
            if group.acknowledged_by is not None:
                return False
            group.acknowledged_by = user_id
            group.acknowledged_at = now
            group.version += 1
            session.add(group)
            if group.incident_id is not None:
                store.note_acknowledgement(session, group.incident_id, now)
                self._event(session, group, "alert_acknowledged", user_id, now)
            channel = group.channel
        log.info("alert_acknowledged", group=group_id)
        self.notifier.notify({group_id: channel})
        return True

    def silence(self, group_id: int, user_id: str, choice: str) -> None:
        if choice not in alert_blocks.SILENCE_CHOICES:
            raise InvalidInput("Choose 1 h, 4 h or until resolved.")
        now = self.clock()
        with self.db.session() as session:
            group = store.lock_group(session, group_id)
            group.silenced_by = user_id
            group.silenced_at = now
            group.silenced_until_resolved = choice == "resolved"
            group.silenced_until = (
                now + timedelta(hours=SILENCE_HOURS[choice]) if choice in SILENCE_HOURS else None
            )
            group.version += 1
            session.add(group)
            if group.incident_id is not None:
                self._event(session, group, "alert_silenced", user_id, now, choice)
            channel = group.channel
        log.info("alert_silenced", group=group_id, until=choice)
        self.notifier.notify({group_id: channel})

    def attach(self, group_id: int, incident_id: int, user_id: str | None) -> bool:
        """Link the group to an incident; its alerts join the incident's timeline."""
        with self.db.session() as session:
            group = store.lock_group(session, group_id)
            linked = store.link_group(session, group, incident_id, user_id)
            channel = group.channel
        if linked:
            self.notifier.notify({group_id: channel})
            self._tell_incident(group_id, incident_id, user_id)
            self.refresh_incident(incident_id)
        return linked

    def _set_service(self, group_id: int, service: str) -> None:
        """The responder's choice in the declare form wins over the alert's label."""
        catalog = self.settings.catalog
        if catalog is None or catalog.get(service) is None:
            return
        with self.db.session() as session:
            group = store.lock_group(session, group_id)
            group.service = service
            session.add(group)

    def _touch(self, group_id: int) -> None:
        with self.db.session() as session:
            group = store.lock_group(session, group_id)
            group.version += 1
            session.add(group)
            channel = group.channel
        self.notifier.notify({group_id: channel})

    def refresh_incident(self, incident_id: int) -> None:
        """The incident card shows its alert counts: have it drawn again."""
        with self.db.session() as session:
            effects.redraw(session, incident_id, [effects.Kind.CARD])
        self.incidents.effects_ready(incident_id)

    def _tell_incident(self, group_id: int, incident_id: int, user_id: str | None) -> None:
        incident = self.incidents.snapshot(incident_id)
        if not incident.channel_id:
            return  # not set up yet: `set_up` says it once the channel exists
        view, _, _ = self.view(group_id)
        with self.db.session() as session:
            effects.say_in_channel(
                session, incident_id, alert_blocks.attached_notice(view, user_id)
            )
        self.incidents.effects_ready(incident_id)

    def alert_counts(self, incident_id: int) -> tuple[int, int]:
        with self.db.session() as session:
            return store.alert_counts(session, incident_id)

    # --- declaring --------------------------------------------------------------------------

    def declare(self, group_id: int, declaration: Declaration) -> IncidentSnapshot | None:
        """Declare through the incident service, then link the group (None: a retry)."""
        declared = self.incidents.declare(declaration)
        if declared is not None:
            self.attach(group_id, declared.id, declaration.user_id)
        return declared

    def set_up(
        self, group_id: int, incident: IncidentSnapshot, service: str | None = None
    ) -> SetupResult:
        """Create the incident's channel and the rest, then invite the service's owners."""
        if service:
            self._set_service(group_id, service)
        result = self.provisioner.run(incident.id)
        view, _, _ = self.view(group_id)
        catalog = self.settings.catalog
        entry = (catalog.get(service) if catalog else None) or view.catalog
        owners = entry.owner_users if entry else []
        if result.incident.channel_id:
            self._touch(group_id)  # the alert message names the new channel
            view_now, _, _ = self.view(group_id)
            with self.db.session() as session:
                if owners:
                    effects.invite(session, incident.id, owners)
                effects.redraw(session, incident.id, [effects.Kind.CARD])  # alert counts
                effects.say_in_channel(
                    session, incident.id, alert_blocks.attached_notice(view_now, None)
                )
            self.incidents.effects_ready(incident.id)
        return result

    def auto_declare(self, group_id: int) -> IncidentSnapshot | None:
        """Declare the incident an auto-declare rule asked for, as Firebreak itself."""
        view, _, group = self.view(group_id)
        if group.incident_id is not None or group.auto_declare_severity is None:
            return None
        declared = self.incidents.declare(
            Declaration(
                team_id=self._team_id(),
                user_id=self.slack.bot_user_id(),
                title=view.title,
                severity=group.auto_declare_severity,
                summary=alert_blocks.summary_text(view),
                declarer_is_commander=False,
                source=Source.ALERT,
                request_key=f"alert-group:{group_id}:auto-declare",
            )
        )
        if declared is None:
            return None
        with self.db.session() as session:
            locked = store.lock_group(session, group_id)
            store.link_group(session, locked, declared.id, None)
            channel = locked.channel
        self.notifier.notify({group_id: channel})
        log.info("alert_auto_declared", group=group_id, incident=declared.reference)
        self.set_up(group_id, declared)
        return declared

    def resume_auto_declares(self) -> None:
        """Auto-declarations a crash interrupted between the intake and the incident."""
        with self.db.session() as session:
            pending = list(
                session.execute(
                    select(col(AlertGroup.id))
                    .where(col(AlertGroup.auto_declare_severity).is_not(None))
                    .where(col(AlertGroup.incident_id).is_(None))
                ).scalars()
            )
        for group_id in pending:
            self.auto_declare(group_id)

    def _team_id(self) -> str:
        if self._team is None:
            self._team = str(self.slack.auth_test().get("team_id", ""))
        return self._team

    def _event(
        self,
        session: Session,
        group: AlertGroup,
        kind: str,
        user_id: str,
        now: datetime,
        detail: str = "",
    ) -> None:
        assert group.incident_id is not None
        verb = {"alert_acknowledged": "acknowledged", "alert_silenced": "silenced"}[kind]
        text = f"<@{user_id}> {verb} alerts {blocks.escape(group.title)}"
        if detail:
            text += f" ({alert_blocks.SILENCE_CHOICES[detail].lower()})"
        repo.record_event(
            session,
            group.incident_id,
            kind,
            source=Source.ALERT,
            actor_id=user_id,
            text=text,
            occurred_at=now,
            data={"group": group.id},
        )

    # --- background -------------------------------------------------------------------------

    def _in_background(self, work: Callable[[], object]) -> None:
        with self._flight:
            self._in_flight += 1

        def run() -> None:
            try:
                work()
            except Exception:  # a failure here is retried by resume_auto_declares
                log.exception("alert_background_failed")
            finally:
                with self._flight:
                    self._in_flight -= 1
                    self._flight.notify_all()

        self._background.submit(run)

    def wait_idle(self, timeout: float = 15.0) -> bool:
        """Background declarations done and every message up to date (tests, benchmarks)."""
        with self._flight:
            if not self._flight.wait_for(lambda: self._in_flight == 0, timeout):
                return False
        return self.notifier.wait_idle(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self._background.shutdown(wait=True)
        self.notifier.stop(timeout)
