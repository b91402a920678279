"""Brings alert messages in Slack up to date, after the intake has answered.

Intake only marks a group changed (`version`); this worker posts or edits its message.
Changes arriving while a group waits for its channel's turn are coalesced into one edit,
so a storm never sends a channel more than one message per interval. A group is claimed
with a short lease before it is rendered, so replicas never post the same group twice;
a periodic sweep picks up groups a Slack outage or another replica left behind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from app.logging import get_logger
from app.slack.outbound.gateway import SlackCallError
from app.store.database import Database
from app.store.models import AlertGroup
from app.store.types import utcnow

log = get_logger(__name__)

LEASE = timedelta(seconds=30)
SWEEP_SECONDS = 15.0

# Renders one claimed group; returns the version it showed, or None if Slack refused.
Render = Callable[[int], "int | None"]


class AlertNotifier:
    def __init__(self, db: Database, render: Render, interval: float) -> None:
        self.db = db
        self.render = render
        self.interval = interval
        self._pending: dict[int, str] = {}
        self._next_turn: dict[str, float] = {}
        self._busy = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    # --- the queue ------------------------------------------------------------------------

    def notify(self, groups: dict[int, str]) -> None:
        """Groups (id → channel name) whose message should change."""
        if not groups:
            return
        with self._cond:
            self._pending.update(groups)
            self._start()
            self._cond.notify_all()

    def start(self) -> None:
        with self._cond:
            self._start()

    def _start(self) -> None:
        if self._thread is None and not self._stopping:
            self._thread = threading.Thread(target=self._run, name="alert-notifier", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once nothing is queued or being rendered."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    # --- the worker -----------------------------------------------------------------------

    def _run(self) -> None:
        last_sweep = time.monotonic()
        while True:
            with self._cond:
                if self._stopping:
                    return
                ready, wait = self._take_ready()
                if not ready:
                    self._cond.wait(min(wait, SWEEP_SECONDS))
                    swept = time.monotonic() - last_sweep >= SWEEP_SECONDS
                else:
                    self._busy += len(ready)
                    swept = False
            if swept:
                last_sweep = time.monotonic()
                self.notify(self.stale_groups())
                continue
            for group_id, channel in ready:
                self._render_one(group_id, channel)

    def _take_ready(self) -> tuple[list[tuple[int, str]], float]:
        """Groups whose channel may take a message now; else how long until one may."""
        now = time.monotonic()
        ready: list[tuple[int, str]] = []
        taken: set[str] = set()
        wait = SWEEP_SECONDS
        for group_id, channel in list(self._pending.items()):
            turn = self._next_turn.get(channel, 0.0)
            if channel in taken or turn > now:
                wait = min(wait, max(turn - now, 0.01))
                continue
            taken.add(channel)
            ready.append((group_id, channel))
            del self._pending[group_id]
        return ready, wait

    def _render_one(self, group_id: int, channel: str) -> None:
        try:
            rendered = self._claim_and_render(group_id)
        except Exception:  # the worker must outlive any one group's failure
            log.exception("alert_render_failed", group=group_id)
            rendered = None
        with self._cond:
            self._busy -= 1
            if rendered:
                self._next_turn[channel] = time.monotonic() + self.interval
            self._cond.notify_all()

    def _claim_and_render(self, group_id: int) -> bool:
        if not self._claim(group_id):
            return False
        shown: int | None = None
        try:
            shown = self.render(group_id)
        except SlackCallError as error:
            log.warning("alert_message_not_sent", group=group_id, error=error.error)
        finally:
            self._release(group_id)
        if shown is None:
            return False
        with self.db.session() as session:
            group = session.get(AlertGroup, group_id)
            behind = group is not None and group.version > group.rendered_version
        if behind and group is not None:
            self.notify({group_id: group.channel})
        return True

    def _claim(self, group_id: int) -> bool:
        now = utcnow()
        try:
            with self.db.session() as session:
                claimed = session.execute(
                    update(AlertGroup)
                    .where(col(AlertGroup.id) == group_id)
                    .where(col(AlertGroup.rendered_version) < col(AlertGroup.version))
                    .where(
                        or_(
                            col(AlertGroup.lease_until).is_(None),
                            col(AlertGroup.lease_until) < now,
                        )
                    )
                    .values(lease_until=now + LEASE)
                ).rowcount  # type: ignore[attr-defined]
        except SQLAlchemyError:
            log.warning("alert_claim_failed", group=group_id)
            return False
        return bool(claimed)

    def _release(self, group_id: int) -> None:
        with self.db.session() as session:
            session.execute(
                update(AlertGroup).where(col(AlertGroup.id) == group_id).values(lease_until=None)
            )

    def stale_groups(self) -> dict[int, str]:
        """Groups whose message is behind and not being rendered (outage, crash)."""
        now = utcnow()
        try:
            with self.db.session() as session:
                rows = session.execute(
                    select(col(AlertGroup.id), col(AlertGroup.channel))
                    .where(col(AlertGroup.rendered_version) < col(AlertGroup.version))
                    .where(
                        or_(
                            col(AlertGroup.lease_until).is_(None),
                            col(AlertGroup.lease_until) < now,
                        )
                    )
                    .limit(500)
                ).all()
        except SQLAlchemyError:
            return {}
        return {int(group_id): str(channel) for group_id, channel in rows}
