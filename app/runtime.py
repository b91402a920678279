"""Assembles a running Firebreak from settings: database, Slack client, services, Bolt."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient

from app.config import Settings
from app.incidents.reminders import Clock
from app.maintenance import Maintenance
from app.metrics import Metrics
from app.scheduler import ReminderScheduler
from app.services import Services
from app.slack.bolt_app import create_bolt_app
from app.slack.executor import ListenerExecutor
from app.slack.gateway import SlackGateway, create_web_client
from app.store.database import Database
from app.store.types import utcnow
from app.web import FirebreakWeb

# Bolt calls a listener (and so its `ack()`) on this pool. A small pool fills up with
# listeners waiting on Slack after their ack, and the next request's ack then queues
# behind them: the Web API's latency lands in the HTTP response time. Threads start only
# when none is idle, so a generous ceiling costs nothing at low load. At 100 requests/s
# on two cores the work after the acks falls behind and held over 600 threads (waiting
# for Slack or their database turn); with 256 the pool filled and acks waited for a
# thread (p99 over 1 s).
LISTENER_THREADS = 1024


@dataclass
class Runtime:
    services: Services
    bolt: App
    executor: ListenerExecutor
    web: FirebreakWeb
    scheduler: ReminderScheduler
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

    def start_scheduler(self) -> None:
        """Run reminders in the background (leader election decides which replica sends)."""
        self.scheduler.start()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the background work, finish in-flight requests, then let go of the database."""
        self.scheduler.stop()
        if self.maintenance is not None:
            self.maintenance.stop(timeout)
        self.executor.wait_idle(timeout)
        self.executor.shutdown(wait=True, cancel_futures=False)
        self.db.dispose()


def build_runtime(settings: Settings, *, migrate: bool = True, clock: Clock = utcnow) -> Runtime:
    db = Database(settings.database_url)
    if migrate:
        db.migrate()
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client: WebClient = create_web_client(
        token, settings.slack_api_url, timeout=settings.slack_timeout_seconds
    )
    metrics = Metrics()
    slack = SlackGateway(client, observer=metrics.observe_slack_call)
    executor = ListenerExecutor(max_workers=LISTENER_THREADS)
    services = Services(
        settings=settings,
        db=db,
        slack=slack,
        metrics=metrics,
        clock=clock,
        run_later=executor.submit,
    )
    metrics.watch_open_incidents(services.incidents.open_counts)
    metrics.watch_pending_effects(services.notifier.pending_count)
    metrics.watch_pending_calls(services.integrations.pending_count)
    scheduler = ReminderScheduler(services.reminders, db.engine, clock=clock)
    services.incidents.schedule = scheduler
    services.reminders.sink = scheduler
    services.updates.sink = scheduler
    bolt = create_bolt_app(settings, services, client, executor)
    web = FirebreakWeb(bolt, services, accept_slack=settings.slack_signing_secret is not None)
    return Runtime(services=services, bolt=bolt, executor=executor, web=web, scheduler=scheduler)
