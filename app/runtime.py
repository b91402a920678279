"""Assembles a running Firebreak from settings: database, Slack client, services, Bolt."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient

from app.config import Settings
from app.incidents.reminders import Clock
from app.maintenance import Maintenance
from app.metrics import Metrics
from app.scheduler import ReminderJobs, ReminderScheduler
from app.services import Services
from app.slack.inbound.bolt_app import create_bolt_app
from app.slack.inbound.executor import ListenerExecutor
from app.slack.inbound.identity import BotIdentity
from app.slack.outbound.gateway import SlackGateway, create_web_client
from app.store.database import Database
from app.store.types import utcnow
from app.web import FirebreakWeb


@dataclass
class Runtime:
    services: Services
    bolt: App
    executor: ListenerExecutor
    web: FirebreakWeb
    scheduler: ReminderScheduler
    identity: BotIdentity
    maintenance: Maintenance | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def db(self) -> Database:
        return self.services.db

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait for the work listeners do after `ack()`."""
        return self.executor.wait_idle(timeout)

    def start_maintenance(self) -> None:
        """Resume interrupted declarations now and periodically (`firebreak serve`)."""
        if self.maintenance is None:
            self.maintenance = Maintenance(self.services)
            self.maintenance.start()
            self.services.alerts.notifier.start()

    def start_scheduler(self) -> None:
        """Run reminders in the background (leader election decides which replica sends)."""
        self.scheduler.start()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the background work, finish in-flight requests, then let go of the database."""
        self.scheduler.stop()
        self.identity.stop()
        if self.maintenance is not None:
            self.maintenance.stop(timeout)
        self.executor.wait_idle(timeout)
        self.executor.shutdown(wait=True, cancel_futures=False)
        self.services.alerts.close(timeout)
        self.db.dispose()


def open_database(settings: Settings) -> Database:
    """The database with the pool sizes the settings give (they apply to PostgreSQL)."""
    if not settings.database_url.startswith("postgresql"):
        return Database(settings.database_url)
    return Database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        admission_pool_size=settings.admission_pool_size,
    )


def build_runtime(settings: Settings, *, migrate: bool = True, clock: Clock = utcnow) -> Runtime:
    db = open_database(settings)
    if migrate:
        db.migrate()
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client: WebClient = create_web_client(
        token, settings.slack_api_url, timeout=settings.slack_timeout_seconds
    )
    metrics = Metrics()
    slack = SlackGateway(client, observer=metrics.observe_slack_call)
    # Bolt calls a listener, and so its `ack()`, on this pool: bounded threads, a queue
    # with lanes (commands and buttons first), work after the ack bounded by slots; see
    # docs/scaling.md. Slack effects queued for the notifier run on it too.
    executor = ListenerExecutor(
        settings.listener_threads, settings.work_slots, settings.listener_queue
    )
    metrics.watch_listeners(executor)
    jobs = ReminderJobs(db.engine)
    services = Services(
        settings=settings,
        db=db,
        slack=slack,
        metrics=metrics,
        clock=clock,
        run_later=executor.submit,
        schedule=jobs,
    )
    metrics.watch_open_incidents(services.incidents.open_counts)
    metrics.watch_pending_effects(services.notifier.pending_count)
    metrics.watch_pending_calls(services.integrations.pending_count)
    scheduler = ReminderScheduler(
        jobs, services.reminders, db.engine, clock=clock, closing=services.closing
    )
    identity = BotIdentity(token, settings.slack_api_url)
    identity.start()
    bolt = create_bolt_app(settings, services, client, executor, identity)
    web = FirebreakWeb(bolt, services)
    return Runtime(
        services=services,
        bolt=bolt,
        executor=executor,
        web=web,
        scheduler=scheduler,
        identity=identity,
    )
