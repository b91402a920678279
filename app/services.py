"""The services a running Firebreak shares between listeners, the scheduler and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.alerts.service import AlertService
from app.config import Settings
from app.incidents.actions import ActionItemService
from app.incidents.closing import ClosingService
from app.incidents.effects import Claim
from app.incidents.reminders import Clock, NoSchedule, ReminderSchedule, ReminderService
from app.incidents.service import IncidentService
from app.incidents.timeline import TimelineService
from app.incidents.updates import UpdateService
from app.integrations.dispatcher import Integrations
from app.metrics import Metrics
from app.slack.outbound.gateway import SlackGateway
from app.slack.outbound.notifier import Notifier
from app.slack.outbound.provisioning import Provisioner
from app.slack.outbound.workspace import SlackWorkspace
from app.store.database import Database
from app.store.outbox import Submit, run_now
from app.store.types import utcnow


@dataclass
class Services:
    settings: Settings
    db: Database
    slack: SlackGateway
    metrics: Metrics = field(default_factory=Metrics)
    clock: Clock = utcnow
    # Where the notifier carries out Slack effects after a commit: the listener pool in a
    # running app, the caller's own thread in the CLI and the demo.
    run_later: Submit = run_now
    # Where reminder times go when they move: the scheduler's job store in a running app.
    schedule: ReminderSchedule = field(default_factory=NoSchedule)
    notifier: Notifier = field(init=False)
    workspace: SlackWorkspace = field(init=False)
    incidents: IncidentService = field(init=False)
    provisioner: Provisioner = field(init=False)
    timeline: TimelineService = field(init=False)
    actions: ActionItemService = field(init=False)
    reminders: ReminderService = field(init=False)
    updates: UpdateService = field(init=False)
    closing: ClosingService = field(init=False)
    alerts: AlertService = field(init=False)
    integrations: Integrations = field(init=False)

    def __post_init__(self) -> None:
        self.notifier = Notifier(self.settings, self.db, self.slack, self.metrics, self.run_later)
        self.workspace = SlackWorkspace(self.slack, self.settings)
        self.incidents = IncidentService(
            self.settings,
            self.db,
            self.workspace,
            self.clock,
            effects_ready=self.after_commit,
            claim_effects=self.notifier.claim,
            schedule=self.schedule,
        )
        self.provisioner = Provisioner(
            self.settings, self.db, self.slack, effects_ready=self.after_commit
        )
        self.timeline = TimelineService(self.db, self.workspace, self.clock)
        self.actions = ActionItemService(
            self.db,
            self.clock,
            jira_enabled=self.settings.jira_enabled,
            auto_file=self.settings.jira_auto_file,
        )
        self.integrations = Integrations(
            self.settings,
            self.db,
            self.metrics,
            self.actions,
            effects_ready=self.notifier.kick,
            submit=self.run_later,
        )
        self.reminders = ReminderService(
            self.settings,
            self.db,
            self.workspace,
            self.clock,
            schedule=self.schedule,
            on_update_reminder=self.metrics.reminders_sent.inc,
        )
        self.closing = ClosingService(self.settings, self.db, self.workspace, self.clock)
        self.updates = UpdateService(
            self.settings, self.db, self.incidents, self.clock, self.schedule
        )
        self.alerts = AlertService(
            self.settings, self.db, self.slack, self.incidents, self.provisioner, self.clock
        )

    def after_commit(self, incident_id: int, claim: Claim | None = None, /) -> None:
        """A change committed: tell Slack first (starting with the effects the change
        claimed), then the outside services, off the caller's thread."""

        def deliver() -> None:
            self.notifier.deliver(incident_id, claim)
            self.integrations.deliver(incident_id)

        self.run_later(deliver)
