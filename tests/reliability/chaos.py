"""A chaos run: many incidents through several `firebreak serve` replicas on one database,
with Slack failing a share of its calls and a replica killed (SIGKILL) and restarted.

Every interaction is delivered three times, to different replicas. At the end the run
counts, against the database and the emulator's workspace:
- lost: a change that was acknowledged but is not in the database;
- duplicated: a message Slack shows more than once (updates, lines, notices);
- stale: a card, topic or announcement that does not show the database's state.
Used by `tests/reliability/test_chaos.py` (small) and `benchmarks/chaos.py` (large).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from app.incidents.service import snapshot_of
from app.slack.outbound import blocks
from app.slack.outbound.update_blocks import UPDATE_CALLBACK
from app.store.database import Database
from app.store.models import Incident, SlackEffect, StakeholderUpdate
from emulator import SlackEmulator, payloads
from tests.reliability.helpers import declaration
from tests.reliability.serve import ServeProcess
from tests.support.updates import form_values

# The calls that show a change; reads stay reliable so the checks themselves are exact.
SHOWING = (
    "chat.postMessage",
    "chat.update",
    "conversations.setTopic",
    "conversations.invite",
    "pins.add",
    "bookmarks.add",
)
FAST = {
    "FIREBREAK_EFFECTS_INTERVAL_SECONDS": "0.3",
    "FIREBREAK_EFFECTS_LEASE_SECONDS": "1",
    "FIREBREAK_RESUME_INTERVAL_SECONDS": "0.5",
}


@dataclass
class ChaosReport:
    incidents: int = 0
    requests: int = 0
    refused: int = 0
    kills: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.stale)


class Cluster:
    """Replicas of `firebreak serve --http` sharing one database and one emulated Slack."""

    def __init__(
        self, emulator: SlackEmulator, database_url: str, workdir: Path, size: int
    ) -> None:
        self.emulator, self.database_url, self.workdir = emulator, database_url, workdir
        self.replicas = [self._start() for _ in range(size)]
        self.turn = 0

    def _start(self) -> ServeProcess:
        return ServeProcess(self.emulator, self.database_url, self.workdir, FAST)

    def deliver_three_times(self, payload: dict[str, Any]) -> bool:
        """True when at least one delivery was acknowledged (Slack saw a 200)."""
        acked = False
        for _ in range(3):
            replica = self.replicas[self.turn % len(self.replicas)]
            self.turn += 1
            try:
                acked = replica.submit(payload).status == 200 or acked
            except OSError:
                continue
        return acked

    def kill_and_restart(self, index: int) -> None:
        self.replicas[index].kill()
        self.replicas[index] = self._start()

    def stop(self) -> None:
        for replica in self.replicas:
            if replica.process.poll() is None:
                replica.terminate()


def _incident(db: Database, title: str) -> Incident | None:
    with db.session() as session:
        return (
            session.execute(select(Incident).where(col(Incident.title) == title)).scalars().first()
        )


def _has_channel(db: Database, title: str) -> bool:
    incident = _incident(db, title)
    return incident is not None and incident.channel_id is not None


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _action(emulator: SlackEmulator, user: str, incident: Incident, action: dict[str, Any]) -> Any:
    return payloads.block_actions(
        team_id=emulator.team_id,
        user_id=user,
        actions=[{"block_id": f"controls:{incident.id}", **action}],
        trigger_id=emulator.new_trigger_id(),
        response_url=emulator.new_response_url(),
        channel_id=incident.channel_id,
    )


def _select(action_id: str, value: str) -> dict[str, Any]:
    return {"type": "static_select", "action_id": action_id, "selected_option": {"value": value}}


def _update(emulator: SlackEmulator, user: str, incident: Incident, status: str) -> Any:
    view = {"type": "modal", "callback_id": UPDATE_CALLBACK, "private_metadata": str(incident.id)}
    return payloads.view_submission(
        team_id=emulator.team_id,
        user_id=user,
        view=view,
        values=form_values(f"{incident.title}: cause found", "Rolling back", "30", status),
    )


def run_chaos(
    emulator: SlackEmulator,
    database_url: str,
    workdir: Path,
    *,
    incidents: int,
    replicas: int = 3,
    fault_rate: float = 0.1,
    kill_every: int = 4,
    seed: int = 7,
) -> ChaosReport:
    """Declare, escalate, hand over comms, update and (every other one) resolve."""
    started = time.monotonic()
    report = ChaosReport(incidents=incidents)
    alice, bob = (emulator.user_by_name(name).id for name in ("alice", "bob"))
    db = Database(database_url)
    db.migrate()
    cluster = Cluster(emulator, database_url, workdir, replicas)
    emulator.chaos(fault_rate, SHOWING, seed=seed)
    titles = [f"Chaos incident {n}" for n in range(incidents)]
    try:
        for title in titles:
            report.requests += 1
            if not cluster.deliver_three_times(declaration(emulator.team_id, alice, title)):
                report.refused += 1
        for number, title in enumerate(titles):
            if not _wait(functools.partial(_has_channel, db, title), 60):
                report.lost.append(f"{title}: no channel")
                continue
            incident = _incident(db, title)
            assert incident is not None
            steps = [
                _action(emulator, alice, incident, _select(blocks.SEVERITY_ACTION, "SEV1")),
                _action(
                    emulator,
                    alice,
                    incident,
                    {"type": "users_select", "action_id": "role:comms", "selected_user": bob},
                ),
                _update(emulator, alice, incident, "resolved" if number % 2 else "identified"),
            ]
            for step in steps:
                report.requests += 1
                if not cluster.deliver_three_times(step):
                    report.refused += 1
            if kill_every and number % kill_every == kill_every - 1:
                cluster.kill_and_restart(number % replicas)
                report.kills += 1
        emulator.chaos(0.0, ())
        _wait(lambda: _settled(db, incidents), 120)
        _check(db, emulator, titles, report)
    finally:
        cluster.stop()
        db.dispose()
    report.seconds = time.monotonic() - started
    return report


def _settled(db: Database, expected: int) -> bool:
    with db.session() as session:
        pending = session.execute(
            select(func.count()).select_from(SlackEffect).where(SlackEffect.done_at.is_(None))  # type: ignore[union-attr]
        ).scalar_one()
        unfinished = session.execute(
            select(func.count()).select_from(Incident).where(Incident.setup_complete.is_(False))  # type: ignore[attr-defined]
        ).scalar_one()
        total = session.execute(select(func.count()).select_from(Incident)).scalar_one()
    return bool(pending == 0 and unfinished == 0 and total == expected)


def _count(messages: list[dict[str, Any]], needle: str) -> int:
    return sum(1 for m in messages if needle in str(m.get("text", "")))


def _check(db: Database, emulator: SlackEmulator, titles: list[str], report: ChaosReport) -> None:
    for number, title in enumerate(titles):
        with db.session() as session:
            query = select(Incident).where(col(Incident.title) == title)
            stored = session.execute(query).scalars().all()
            if len(stored) != 1:
                report.duplicated.append(f"{title}: {len(stored)} incidents")
                continue
            incident = stored[0]
            snapshot = snapshot_of(session, incident)
            updates = (
                session.execute(
                    select(StakeholderUpdate).where(
                        col(StakeholderUpdate.incident_id) == incident.id
                    )
                )
                .scalars()
                .all()
            )
        resolved = number % 2 == 1
        ref = snapshot.reference
        if snapshot.severity != "SEV1" or snapshot.roles.get("comms") is None or len(updates) != 1:
            report.lost.append(f"{ref}: severity, comms or update missing")
        if resolved != (snapshot.status.value == "resolved"):
            report.lost.append(f"{ref}: status {snapshot.status.value}")
        _check_slack(emulator, incident, snapshot, report)


def _check_slack(
    emulator: SlackEmulator, incident: Incident, snapshot: Any, report: ChaosReport
) -> None:
    ref = snapshot.reference
    channel = incident.channel_id or ""
    in_channel = emulator.messages(channel)
    thread = [
        m
        for m in emulator.replies(
            incident.announcement_channel_id or "", incident.announcement_ts or ""
        )
        if m.get("ts") != incident.announcement_ts
    ]
    expected_once = {
        "update in channel": _count(in_channel, f"{ref} update ("),
        "update in thread": _count(thread, f"{ref} update ("),
        "severity line": _count(in_channel, "raised severity"),
        "escalation": _count(thread, "escalated to SEV1"),
        "comms line": _count(in_channel, f"<@{snapshot.roles.get('comms')}> comms"),
    }
    if snapshot.status.value == "resolved":
        expected_once["resolved notice"] = _count(thread, "is resolved")
    for what, count in expected_once.items():
        if count != 1:
            report.duplicated.append(f"{ref}: {what} x{count}")
    card = next((m for m in in_channel if m["ts"] == incident.card_ts), None)
    if card is None or card.get("text") != blocks.card_text(snapshot):
        report.stale.append(f"{ref}: card")
    if emulator.channel(channel).topic.value != blocks.channel_topic(snapshot)[:250]:
        report.stale.append(f"{ref}: topic")
    roots = [
        m
        for m in emulator.messages(incident.announcement_channel_id or "")
        if m["ts"] == incident.announcement_ts
    ]
    if not roots or roots[0].get("text") != blocks.announcement_text(snapshot):
        report.stale.append(f"{ref}: announcement")
