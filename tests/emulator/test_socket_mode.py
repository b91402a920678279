"""The emulator's Socket Mode side, driven by slack_sdk's WebClient and a plain WebSocket client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from emulator import SlackEmulator

ENVELOPE_KEYS = {
    "envelope_id",
    "type",
    "payload",
    "accepts_response_payload",
    "retry_attempt",
    "retry_reason",
}


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emu:
        emu.socket_mode.ack_deadline = 0.5
        emu.socket_mode.refresh_grace = 0.2
        yield emu


def open_url(emulator: SlackEmulator, token: str | None = None) -> str:
    client = WebClient(token=token or emulator.app_token, base_url=emulator.api_url)
    return str(client.apps_connections_open(app_token=token or emulator.app_token)["url"])


@pytest.fixture
def app(emulator: SlackEmulator) -> Iterator[ClientConnection]:
    """An app connected over Socket Mode, its `hello` already read."""
    with connect(open_url(emulator)) as ws:
        hello = json.loads(ws.recv(timeout=5))
        assert hello["type"] == "hello"
        yield ws


def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=5))
    return message


def refused(emulator: SlackEmulator, token: str) -> str:
    client = WebClient(base_url=emulator.api_url)
    with pytest.raises(SlackApiError) as raised:
        client.apps_connections_open(app_token=token)
    return str(raised.value.response["error"])


def test_connections_open_needs_the_app_token(emulator: SlackEmulator) -> None:
    assert open_url(emulator).startswith("ws://127.0.0.1:")
    assert refused(emulator, "xapp-1-A0OTHER-1-0000") == "invalid_auth"
    assert refused(emulator, emulator.bot_token) == "not_allowed_token_type"
    assert refused(emulator, "") == "not_authed"
    assert [call.error for call in emulator.calls_to("apps.connections.open")] == [
        None,
        "invalid_auth",
        "not_allowed_token_type",
        "not_authed",
    ]


def test_connections_open_needs_connections_write() -> None:
    with SlackEmulator(app_token_scopes=()) as emulator:
        assert refused(emulator, emulator.app_token) == "missing_scope"


def test_hello_first_and_each_url_works_once(emulator: SlackEmulator) -> None:
    url = open_url(emulator)
    with connect(url) as ws:
        hello = receive(ws)
        assert hello["type"] == "hello" and hello["num_connections"] == 1
        assert hello["connection_info"]["app_id"] == emulator.socket_mode.app_id
        with pytest.raises(InvalidStatus):
            connect(url)
    with pytest.raises(InvalidStatus):
        connect(url.replace("ticket=", "ticket=x"))


def test_envelopes_carry_slacks_fields_and_acks_are_recorded(
    emulator: SlackEmulator, app: ClientConnection
) -> None:
    socket = emulator.socket_mode
    command = socket.send("slash_commands", {"command": "/incident", "text": "declare"})
    event = socket.send("events_api", {"type": "event_callback", "event_id": "Ev1"})
    view = socket.send("interactive", {"type": "view_submission"})
    action = socket.send("interactive", {"type": "block_actions"})

    received = [receive(app) for _ in range(4)]
    assert all(set(message) == ENVELOPE_KEYS for message in received)
    assert [m["accepts_response_payload"] for m in received] == [True, False, True, False]
    assert received[0]["payload"] == {"command": "/incident", "text": "declare"}
    assert received[1]["retry_attempt"] == 0 and received[1]["retry_reason"] == ""

    app.send(json.dumps({"envelope_id": command.envelope_id, "payload": {"text": "ok"}}))
    app.send(json.dumps({"envelope_id": view.envelope_id, "payload": {"response_action": "clear"}}))
    app.send(json.dumps({"envelope_id": event.envelope_id}))
    app.send(json.dumps({"envelope_id": "never-sent"}))
    assert command.wait_ack(5) and view.wait_ack(5) and event.wait_ack(5)
    assert command.json() == {"text": "ok"}
    assert view.json() == {"response_action": "clear"}
    assert event.json() is None
    socket.wait_for(lambda: socket.unknown_acks == [{"envelope_id": "never-sent"}], 5)

    time.sleep(0.6)
    assert socket.missing_acks() == [action]
    app.send(json.dumps({"envelope_id": action.envelope_id}))
    assert action.wait_ack(5)
    assert socket.late_acks() == [action]
    assert socket.missing_acks() == []


def test_deliver_waits_for_the_ack_and_redeliver_counts_attempts(
    emulator: SlackEmulator, app: ClientConnection
) -> None:
    def ack_everything() -> None:
        for _ in range(2):
            message = receive(app)
            app.send(json.dumps({"envelope_id": message["envelope_id"]}))

    acker = threading.Thread(target=ack_everything)
    acker.start()
    first = emulator.socket_mode.events_api({"type": "event_callback", "event_id": "Ev9"})
    again = emulator.socket_mode.redeliver(first)
    acker.join(5)
    assert first.acked.is_set() and again.acked.is_set()
    assert again.envelope_id != first.envelope_id
    assert (again.retry_attempt, again.retry_reason) == (1, "timeout")
    assert again.payload == first.payload


def test_disconnect_asks_for_a_refresh_then_closes(
    emulator: SlackEmulator, app: ClientConnection
) -> None:
    emulator.socket_mode.disconnect("warning", close=False)
    assert receive(app) == {
        "type": "disconnect",
        "reason": "warning",
        "debug_info": {"host": "applink-emulator-1"},
    }
    emulator.socket_mode.disconnect("refresh_requested")
    assert receive(app)["reason"] == "refresh_requested"
    with pytest.raises(ConnectionClosed):
        app.recv(timeout=5)
    emulator.socket_mode.wait_for(lambda: emulator.socket_mode.open_connections == 0, 5)
    with pytest.raises(ValueError, match="unknown disconnect reason"):
        emulator.socket_mode.disconnect("bored")


def test_a_dropped_connection_is_reset_without_a_close_frame(
    emulator: SlackEmulator, app: ClientConnection
) -> None:
    emulator.socket_mode.drop()
    with pytest.raises(ConnectionClosed) as closed:
        app.recv(timeout=5)
    assert closed.value.rcvd is None  # no close frame: the connection was cut
    assert emulator.socket_mode.open_connections == 0


def test_an_event_orphaned_by_a_closed_connection_is_retried_on_the_next(
    emulator: SlackEmulator,
) -> None:
    socket = emulator.socket_mode
    with connect(open_url(emulator)) as first:
        receive(first)
        event = socket.send("events_api", {"type": "event_callback", "event_id": "Ev7"})
        receive(first)
    with connect(open_url(emulator)) as second:
        receive(second)
        retried = receive(second)
        assert retried["payload"] == event.payload
        assert (retried["retry_attempt"], retried["retry_reason"]) == (1, "connection_closed")
        assert retried["envelope_id"] != event.envelope_id
