"""Socket Mode for real: `firebreak serve` as a subprocess, Slack's side from the emulator.

The story runs over the app's WebSocket: declare -> roles -> update -> resolve, and holds
through a refresh Slack asks for, a dropped connection, and envelopes Slack sends twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from app.slack.outbound.provisioning import CARD_EVENT
from app.slack.outbound.update_blocks import UPDATE_CALLBACK
from app.store.database import Database
from app.store.models import Incident, RoleAssignment, TimelineEvent
from emulator import SlackEmulator
from emulator.driver import SocketModeDriver
from emulator.socket_mode import SocketModeError
from tests.support.serve_socket_mode import ServeSocketMode
from tests.support.story import People, declare_modal, modal_values, seed_people
from tests.support.updates import form_values


@pytest.fixture
def serve(emulator: SlackEmulator, sqlite_url: str, tmp_path: Path) -> Iterator[ServeSocketMode]:
    Database(sqlite_url).migrate()
    running = ServeSocketMode(emulator, sqlite_url, tmp_path)
    yield running
    status, stderr = running.terminate()
    assert status == 0, stderr
    assert "Traceback" not in stderr, stderr


@pytest.fixture
def people(emulator: SlackEmulator) -> People:
    found = seed_people(emulator)
    emulator.add_channel("incidents", members=[found.alice, found.bob, emulator.bot_user_id])
    return found


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    yield database
    database.dispose()


@pytest.fixture
def socket(emulator: SlackEmulator, serve: ServeSocketMode) -> SocketModeDriver:
    return SocketModeDriver(emulator)


def _incidents(db: Database) -> list[Incident]:
    with db.session() as session:
        return list(session.execute(select(Incident).order_by(col(Incident.id))).scalars())


def _event_count(db: Database, kind: str) -> int:
    with db.session() as session:
        return int(
            session.execute(
                select(func.count()).where(col(TimelineEvent.kind) == kind)
            ).scalar_one()
        )


def _declare(socket: SocketModeDriver, db: Database, people: People, title: str) -> Incident:
    general = socket.emulator.channel_by_name("general").id
    opened = socket.command("", user=people.alice, channel=general)
    assert opened.acked.is_set() and not opened.late
    socket.eventually(lambda: any(v["callback_id"] == "declare_incident" for v in _views(socket)))
    submitted = socket.submit(
        declare_modal(socket.emulator), modal_values(title, "SEV2"), user=people.alice
    )
    # The modal's response_action comes back in the ack's payload, as in an HTTP answer.
    assert submitted.json()["response_action"] == "update"
    socket.eventually(lambda: any(i.channel_id and i.card_ts for i in _incidents(db)))
    return _incidents(db)[-1]


def _views(socket: SocketModeDriver) -> list[dict[str, Any]]:
    return list(socket.emulator.views.values())


def _card_posts(emulator: SlackEmulator, incident: Incident) -> list[Any]:
    return [
        call
        for call in emulator.calls_to("chat.postMessage")
        if call.ok
        and call.args.get("channel") == incident.channel_id
        and (call.args.get("metadata") or {}).get("event_type") == CARD_EVENT
    ]


def _holders(db: Database, incident: Incident) -> dict[str, str]:
    with db.session() as session:
        rows = session.execute(
            select(RoleAssignment).where(
                col(RoleAssignment.incident_id) == incident.id,
                col(RoleAssignment.relieved_at).is_(None),
            )
        ).scalars()
        return {row.role: row.user_id for row in rows}


def _status(db: Database, incident_id: int | None) -> str:
    with db.session() as session:
        found = session.get(Incident, incident_id)
        assert found is not None
        return str(found.status)


def _post_update(socket: SocketModeDriver, incident: Incident, user: str, know: str) -> None:
    before = len([v for v in _views(socket) if v["callback_id"] == UPDATE_CALLBACK])
    pressed = socket.action(
        {
            "type": "button",
            "action_id": "post_update",
            "block_id": f"controls:{incident.id}",
            "value": str(incident.id),
        },
        user=user,
        channel=incident.channel_id,
    )
    assert pressed.acked.is_set(), f"button press not acked on connection {pressed.connection}"
    try:
        socket.eventually(
            lambda: len([v for v in _views(socket) if v["callback_id"] == UPDATE_CALLBACK]) > before
        )
    except SocketModeError:
        opened = [(c.method, c.error) for c in socket.emulator.calls_to("views.open")]
        raise AssertionError(f"the update form did not open; views.open calls: {opened}") from None
    form = [v for v in _views(socket) if v["callback_id"] == UPDATE_CALLBACK][-1]
    ack = socket.submit(form, form_values(know, "Rolling back", "30", "identified"), user=user)
    assert ack.acked.is_set() and ack.json() is None, ack.ack_payload


def _updates_posted(emulator: SlackEmulator, know: str) -> int:
    announce = emulator.channel_by_name("incidents").id
    posted = [
        reply
        for message in emulator.messages(announce)
        for reply in emulator.replies(announce, message["ts"])
        if know in str(reply.get("blocks") or reply.get("text"))
    ]
    return len(posted)


def test_the_story_runs_over_socket_mode(
    socket: SocketModeDriver, emulator: SlackEmulator, db: Database, people: People
) -> None:
    incident = _declare(socket, db, people, "Checkout fails over Socket Mode")
    assert incident.channel_id is not None

    socket.action(
        {
            "type": "users_select",
            "action_id": "role:comms",
            "block_id": f"roles:{incident.id}",
            "selected_user": people.bob,
        },
        user=people.alice,
        channel=incident.channel_id,
        message=emulator.messages(incident.channel_id)[0],
    )
    socket.command(f"role scribe <@{people.carol}>", user=people.alice, channel=incident.channel_id)
    roles = {"commander": people.alice, "comms": people.bob, "scribe": people.carol}
    socket.eventually(lambda: _holders(db, incident) == roles)

    _post_update(socket, incident, people.bob, "EU card payments time out")
    socket.eventually(lambda: _updates_posted(emulator, "EU card payments time out") == 1)

    socket.command("resolve", user=people.alice, channel=incident.channel_id)
    socket.eventually(lambda: _status(db, incident.id) == "resolved")

    sent = socket.socket.envelopes
    assert {e.type for e in sent} == {"slash_commands", "interactive"}
    assert all(e.acked.is_set() for e in sent)
    assert socket.socket.late_acks() == [] and socket.socket.missing_acks() == []
    assert socket.socket.unknown_acks == []
    assert len(_incidents(db)) == 1


def test_a_refresh_loses_nothing(
    socket: SocketModeDriver, emulator: SlackEmulator, db: Database, people: People
) -> None:
    incident = _declare(socket, db, people, "Refresh in the middle")
    assert incident.channel_id is not None
    ts = emulator.add_message(incident.channel_id, people.bob, "gateway 502s since 09:20")
    emulator.pin_message(incident.channel_id, ts, user_id=people.alice)

    socket.socket.disconnect("warning", close=False)
    socket.socket.disconnect("refresh_requested")
    # Slack may still send on the old connection while the app opens the next one.
    socket.event(
        {
            "type": "pin_added",
            "user": people.alice,
            "channel_id": incident.channel_id,
            "item": {"type": "message", "channel": incident.channel_id, "message": {"ts": ts}},
            "event_ts": f"{time.time():.6f}",
        }
    )
    socket.socket.wait_connected(opened=3)
    socket.command(f"role comms <@{people.bob}>", user=people.alice, channel=incident.channel_id)
    # Bob may post once he holds the role and is in the channel (work done after the ack).
    socket.eventually(lambda: _holders(db, incident).get("comms") == people.bob)
    _post_update(socket, incident, people.bob, "Refreshed and still here")
    socket.command("resolve", user=people.alice, channel=incident.channel_id)

    socket.eventually(lambda: _status(db, incident.id) == "resolved")
    socket.eventually(lambda: _event_count(db, "message_pinned") == 1)
    socket.socket.wait_acked()
    assert _holders(db, incident)["comms"] == people.bob
    socket.eventually(lambda: _updates_posted(emulator, "Refreshed and still here") == 1)
    # Connections told to go are closed; one stays.
    socket.socket.wait_for(lambda: socket.socket.open_connections == 1, timeout=10)


def test_a_redelivered_envelope_changes_nothing(
    socket: SocketModeDriver, emulator: SlackEmulator, db: Database, people: People
) -> None:
    incident = _declare(socket, db, people, "Delivered twice")
    assert incident.channel_id is not None
    [submission] = [
        e for e in socket.socket.envelopes if e.payload.get("type") == "view_submission"
    ]
    resolve = socket.command("resolve", user=people.alice, channel=incident.channel_id)
    socket.eventually(lambda: _status(db, incident.id) == "resolved")
    resolved_events = _event_count(db, "status_changed")

    again = socket.socket.redeliver(submission)
    resolve_again = socket.socket.redeliver(resolve)

    assert again.retry_attempt == 1 and resolve_again.retry_attempt == 1
    assert again.acked.is_set() and resolve_again.acked.is_set()
    time.sleep(0.5)  # whatever a second delivery would start has had time to show
    assert len(_incidents(db)) == 1
    assert len(_card_posts(emulator, incident)) == 1
    assert [c.name for c in emulator.channels.values()].count(
        emulator.channel(incident.channel_id).name
    ) == 1
    assert _event_count(db, "status_changed") == resolved_events


def test_a_dropped_connection_is_reopened(
    socket: SocketModeDriver, emulator: SlackEmulator, db: Database, people: People
) -> None:
    socket.socket.drop()
    socket.socket.wait_connected(opened=2, timeout=15)
    assert socket.socket.open_connections == 1
    incident = _declare(socket, db, people, "After the drop")
    assert incident.number == 1 and incident.channel_id


def test_a_wrong_app_token_stops_with_one_line(
    emulator: SlackEmulator, sqlite_url: str, tmp_path: Path
) -> None:
    Database(sqlite_url).migrate()
    serve = ServeSocketMode(
        emulator, sqlite_url, tmp_path, app_token="xapp-1-A0WRONG-1-deadbeef", wait=False
    )
    status, stderr = serve.wait(60)
    assert status == 1
    assert "invalid_auth" in stderr and "SLACK_APP_TOKEN" in stderr
    assert "Traceback" not in stderr
    assert emulator.calls_to("apps.connections.open")[0].error == "invalid_auth"
