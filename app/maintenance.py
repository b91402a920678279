"""Background upkeep: carry out pending Slack effects and outside calls, follow Jira,
finish interrupted declarations, compare what Slack shows with the database, forget old
request records."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from app.incidents.ports import WorkspaceError
from app.logging import get_logger
from app.services import Services
from app.slack.outbound.reconcile import Reconciler
from app.store.idempotency import RequestLedger

log = get_logger(__name__)


class Maintenance:
    """Runs on its own thread: Slack effects every `effects_interval_seconds`, resuming
    declarations every `resume_interval_seconds`, reconciling every
    `reconcile_interval_seconds`."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.ledger = RequestLedger(services.db)
        self.reconciler = Reconciler(
            services.settings, services.db, services.slack, services.metrics, services.notifier.kick
        )
        settings = services.settings
        self.tick = min(settings.effects_interval_seconds, settings.resume_interval_seconds)
        self._jobs: list[tuple[float, Callable[[], None]]] = [
            (settings.effects_interval_seconds, self.deliver_effects),
            (settings.resume_interval_seconds, self.resume_declarations),
            (settings.resume_interval_seconds, self.resume_auto_declares),
            (settings.reconcile_interval_seconds, self.reconcile),
        ]
        if settings.jira_enabled:
            self._jobs.append((settings.jira_poll_seconds, self.poll_jira))
        self._next_run = [0.0 for _ in self._jobs]
        self._stop = threading.Event()
        self._calls_sweep = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="maintenance", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for index, (interval, job) in enumerate(self._jobs):
                if now >= self._next_run[index]:
                    self._next_run[index] = now + interval
                    self._guarded(job)
            self._stop.wait(self.tick)

    def run_once(self) -> None:
        for _, job in self._jobs:
            self._guarded(job)

    def _guarded(self, job: Callable[[], None]) -> None:
        try:
            job()
        except (SQLAlchemyError, WorkspaceError) as error:
            log.warning("maintenance_failed", job=job.__name__, error=type(error).__name__)
        except Exception:
            log.exception("maintenance_crashed", job=job.__name__)

    def deliver_effects(self) -> None:
        self.services.notifier.deliver_all_due()
        # Outside services answer on another thread: a slow one never holds up this loop's
        # Slack sweeps. One sweep of them at a time.
        if self._calls_sweep.acquire(blocking=False):
            self.services.run_later(self._deliver_calls)

    def _deliver_calls(self) -> None:
        try:
            self._guarded(self._sweep_calls)
        finally:
            self._calls_sweep.release()

    def _sweep_calls(self) -> None:
        self.services.integrations.deliver_all_due()

    def poll_jira(self) -> None:
        self.services.integrations.poll_jira()

    def resume_auto_declares(self) -> None:
        self.services.alerts.resume_auto_declares()

    def resume_declarations(self) -> None:
        for result in self.services.provisioner.resume_all():
            if result.pending:
                log.info("declaration_still_pending", pending=result.pending_text())
        self.ledger.prune()

    def reconcile(self) -> None:
        self.reconciler.run()
