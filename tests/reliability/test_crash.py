"""A declaration survives `kill -9` at every step: on restart it is finished, once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from app.slack.outbound.provisioning import CARD_EVENT, STEPS
from app.store.database import Database
from app.store.models import Incident, TimelineEvent
from emulator import SlackEmulator
from tests.reliability.helpers import declaration
from tests.reliability.serve import ServeProcess, wait_for

Args = dict[str, Any]


def _step_call(step: str, announce: str) -> tuple[str, Callable[[Args], bool] | None]:
    """The Web API call each declaration step makes."""
    return {
        "channel": ("conversations.create", None),
        "invite": ("conversations.invite", None),
        "topic": ("conversations.setTopic", None),
        "card": ("chat.postMessage", lambda args: args.get("channel") != announce),
        "pin": ("pins.add", None),
        "announce": ("chat.postMessage", lambda args: args.get("channel") == announce),
        "bookmark": ("bookmarks.add", None),
    }[step]


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    database.migrate()
    yield database
    database.dispose()


def _incident(db: Database) -> Incident | None:
    with db.session() as session:
        return session.execute(select(Incident)).scalars().first()


def _event_kinds(db: Database) -> list[str]:
    with db.session() as session:
        return [e.kind for e in session.execute(select(TimelineEvent)).scalars()]


@pytest.mark.parametrize("step", STEPS)
def test_declaration_resumes_after_kill_at_each_step(
    step: str,
    emulator: SlackEmulator,
    announce_channel: str,
    db: Database,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    method, when = _step_call(step, announce_channel)
    held = emulator.hold(method, when)
    first = ServeProcess(emulator, sqlite_url, tmp_path)
    payload = declaration(emulator.team_id, emulator.user_by_name("alice").id, "Database on fire")
    assert first.submit(payload).status == 200
    assert held.arrived.wait(30), f"{method} never called"
    first.kill()
    held.release()  # Slack finishes the call the dead process made

    second = ServeProcess(emulator, sqlite_url, tmp_path)
    try:
        wait_for(lambda: bool((i := _incident(db)) and i.setup_complete))
    finally:
        second.terminate()

    incident = _incident(db)
    assert incident is not None and incident.channel_id is not None
    channels = [c for c in emulator.channels.values() if c.name.startswith("inc-1-")]
    assert [c.id for c in channels] == [incident.channel_id]
    cards = [
        m
        for m in emulator.messages(incident.channel_id)
        if (m.get("metadata") or {}).get("event_type") == CARD_EVENT
    ]
    assert [m["ts"] for m in cards] == [incident.card_ts]
    assert [m["ts"] for m in emulator.pins(incident.channel_id)] == [incident.card_ts]
    assert [m["ts"] for m in emulator.messages(announce_channel)] == [incident.announcement_ts]
    assert len(emulator.bookmarks(incident.channel_id)) == 1
    assert "setup_resumed" in _event_kinds(db)
    assert "channel_ready" in _event_kinds(db)
