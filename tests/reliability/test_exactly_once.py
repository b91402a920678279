"""A modal submission delivered again changes nothing: in sequence, at once, on two replicas.

Runs on SQLite and PostgreSQL (tests/reliability/conftest.py). `replica` is a second
Firebreak (its own engine, pool and Bolt app) on the same database, as a second
`firebreak serve` behind a round-robin would be.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select

from app.config import Settings
from app.runtime import Runtime, build_runtime
from app.server import HttpServer
from app.slack.outbound import blocks
from app.store.models import ActionItem, Incident
from emulator import SlackEmulator, payloads
from tests.conftest import SIGNING_SECRET
from tests.reliability.helpers import declaration, deliver, incidents
from tests.support.driver import SlackDriver
from tests.support.updates import UPDATE_MARK, form_values, messages_marked, open_update_form


@pytest.fixture
def replica(
    settings: Settings, emulator: SlackEmulator, slack: SlackDriver
) -> Iterator[SlackDriver]:
    runtime = build_runtime(settings)
    http = HttpServer(runtime.web, host="127.0.0.1", port=0, threads=4, max_body_bytes=1 << 20)
    http.start()
    yield SlackDriver(http.url, SIGNING_SECRET, emulator, runtime)
    http.stop()
    runtime.close()


def _in_sequence(slack: SlackDriver, replica: SlackDriver, payload: dict[str, Any]) -> None:
    for retry in range(3):
        assert deliver(slack, payload, retry=retry).status == 200
        time.sleep(0.2)


def _at_once(slack: SlackDriver, replica: SlackDriver, payload: dict[str, Any]) -> None:
    start = threading.Barrier(2)
    results: list[int] = []

    def send(retry: int) -> None:
        start.wait()
        results.append(deliver(slack, payload, retry=retry, wait=False).status)

    threads = [threading.Thread(target=send, args=(retry,)) for retry in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slack.wait()
    assert results == [200, 200]


def _to_both_replicas(slack: SlackDriver, replica: SlackDriver, payload: dict[str, Any]) -> None:
    assert deliver(slack, payload).status == 200
    assert deliver(replica, payload, retry=1).status == 200
    assert deliver(slack, payload, retry=2).status == 200
    replica.wait()


DELIVERIES: dict[str, Callable[[SlackDriver, SlackDriver, dict[str, Any]], None]] = {
    "three times in sequence": _in_sequence,
    "twice at the same instant": _at_once,
    "to different replicas": _to_both_replicas,
}


@dataclass
class Workspace:
    alice: str
    announce: str


@pytest.fixture
def workspace(emulator: SlackEmulator, announce_channel: str) -> Workspace:
    return Workspace(emulator.user_by_name("alice").id, announce_channel)


def _declared(slack: SlackDriver, runtime: Runtime, alice: str) -> Incident:
    assert deliver(slack, declaration(slack.team_id, alice, "Checkout is down")).status == 200
    [incident] = incidents(runtime)
    return incident


@pytest.mark.parametrize("how", DELIVERIES)
def test_a_declaration_delivered_again_makes_one_incident(
    slack: SlackDriver,
    replica: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    workspace: Workspace,
    how: str,
) -> None:
    payload = declaration(slack.team_id, workspace.alice, "Payments failing")

    DELIVERIES[how](slack, replica, payload)

    assert len(incidents(runtime)) == 1
    assert len(emulator.calls_to("conversations.create")) == 1
    assert len(emulator.messages(workspace.announce)) == 1


@pytest.mark.parametrize("how", DELIVERIES)
def test_a_stakeholder_update_delivered_again_is_posted_once(
    slack: SlackDriver,
    replica: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    workspace: Workspace,
    how: str,
) -> None:
    incident = _declared(slack, runtime, workspace.alice)
    view = open_update_form(slack, incident, workspace.alice)
    payload = payloads.view_submission(
        team_id=slack.team_id,
        user_id=workspace.alice,
        view=view,
        values=form_values("EU gateway times out", "Rolling back"),
        view_id=view.get("id"),
        view_hash=view.get("hash"),
    )

    DELIVERIES[how](slack, replica, payload)

    assert len(messages_marked(emulator, incident.channel_id or "", UPDATE_MARK)) == 1
    thread = emulator.replies(workspace.announce, incident.announcement_ts or "")
    assert len([m for m in thread if "EU gateway times out" in str(m.get("blocks"))]) == 1


@pytest.mark.parametrize("how", DELIVERIES)
def test_an_action_item_delivered_again_is_added_once(
    slack: SlackDriver,
    replica: SlackDriver,
    runtime: Runtime,
    workspace: Workspace,
    how: str,
) -> None:
    incident = _declared(slack, runtime, workspace.alice)
    view = {**blocks.action_item_modal(runtime.services.incidents.snapshot(incident.id or 0))}
    payload = payloads.view_submission(
        team_id=slack.team_id,
        user_id=workspace.alice,
        view=view,
        values={
            "text": {"value": {"type": "plain_text_input", "value": "Alert on gateway latency"}},
            "owner": {"value": {"type": "users_select", "selected_user": None}},
            "due": {"value": {"type": "datepicker", "selected_date": None}},
        },
    )

    DELIVERIES[how](slack, replica, payload)

    with runtime.db.session() as session:
        items = list(session.execute(select(ActionItem)).scalars())
    assert [item.text for item in items] == ["Alert on gateway latency"]
