"""Background upkeep: finish interrupted declarations, forget old request records."""

from __future__ import annotations

import threading

from sqlalchemy.exc import SQLAlchemyError

from app.logging import get_logger
from app.services import Services
from app.slack.gateway import SlackCallError
from app.store.idempotency import RequestLedger

log = get_logger(__name__)


class Maintenance:
    """Runs at start-up, then every `resume_interval_seconds`, on its own thread."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.ledger = RequestLedger(services.db)
        self.interval = services.settings.resume_interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="maintenance", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)

    def run_once(self) -> None:
        try:
            for result in self.services.provisioner.resume_all():
                if result.pending:
                    log.info("declaration_still_pending", pending=result.pending_text())
            self.ledger.prune()
            self.services.alerts.resume_auto_declares()
        except (SQLAlchemyError, SlackCallError) as error:
            log.warning("maintenance_failed", error=type(error).__name__)
        except Exception:
            log.exception("maintenance_crashed")
