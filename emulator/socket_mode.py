"""Slack's Socket Mode side of the emulator: a WebSocket server an app connects to.

The wire format follows Slack's Socket Mode documentation: `apps.connections.open` hands
out a single-use `ws://` URL; on connect the server sends `hello`, then envelopes
(`{"envelope_id", "type", "payload", "accepts_response_payload", ...}`) of type
`slash_commands`, `interactive` and `events_api`. The app acknowledges each with
`{"envelope_id": ..., "payload": optional}` within 3 seconds; the server records when
each ack arrived, so tests can see late and missing ones. `disconnect` asks the app to
open a new connection (`refresh_requested`, or `warning` shortly before a refresh);
`drop()` cuts a connection without a close frame, as a network failure does.

Uses the `websockets` library (a development dependency), imported only when an app
opens a connection.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from emulator.state import JsonDict

if TYPE_CHECKING:
    from websockets.http11 import Request, Response
    from websockets.sync.server import Server, ServerConnection

ACK_DEADLINE_SECONDS = 3.0
# Slack keeps a connection open for a while after asking for a refresh, so the app can
# open the next one first; short here so tests do not wait.
REFRESH_GRACE_SECONDS = 1.0
# How long after a reconnect an event orphaned by a closed connection is sent again.
ORPHAN_GRACE_SECONDS = 0.3
LINK_PATH = "/link/"
ENVELOPE_TYPES = frozenset({"slash_commands", "interactive", "events_api"})
DISCONNECT_REASONS = frozenset({"refresh_requested", "warning", "link_disabled"})
# Interactions whose ack may carry a response (a modal's response_action, options...).
_RESPONSE_PAYLOAD_TYPES = frozenset(
    {"view_submission", "block_suggestion", "shortcut", "message_action"}
)


@dataclass
class Envelope:
    """One envelope sent to the app, and the app's acknowledgement of it."""

    envelope_id: str
    type: str
    payload: JsonDict
    accepts_response_payload: bool
    retry_attempt: int
    retry_reason: str
    connection: int
    sent_at: float
    deadline: float
    acked: threading.Event = field(default_factory=threading.Event)
    ack_at: float | None = None
    ack_payload: JsonDict | None = None
    redelivered: bool = False

    def message(self) -> JsonDict:
        return {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
            "retry_attempt": self.retry_attempt,
            "retry_reason": self.retry_reason,
        }

    def wait_ack(self, timeout: float) -> bool:
        return self.acked.wait(timeout)

    @property
    def late(self) -> bool:
        """Acknowledged, but after Slack's deadline."""
        return self.ack_at is not None and self.ack_at - self.sent_at > self.deadline

    def missing(self, now: float) -> bool:
        """Not acknowledged, and the deadline has passed."""
        return self.ack_at is None and now - self.sent_at > self.deadline

    def json(self) -> Any:
        """The ack's payload, shaped like the body of an HTTP-mode answer (None if empty)."""
        return self.ack_payload


@dataclass
class _Connection:
    number: int
    ws: ServerConnection
    opened_at: float
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    closed: threading.Event = field(default_factory=threading.Event)


class SocketModeError(RuntimeError):
    """A test asked for something the connection state does not allow."""


class SocketModeServer:
    """The WebSocket server behind `apps.connections.open`."""

    def __init__(self, app_id: str, *, host: str = "127.0.0.1") -> None:
        self.app_id = app_id
        self.ack_deadline = ACK_DEADLINE_SECONDS
        self.refresh_grace = REFRESH_GRACE_SECONDS
        self._host = host
        self._lock = threading.Lock()
        self._starting = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._tickets: set[str] = set()
        self._connections: dict[int, _Connection] = {}
        self._opened = 0
        self._envelopes: dict[str, Envelope] = {}
        self._unknown_acks: list[JsonDict] = []
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        from websockets.sync.server import serve

        with self._starting:
            if self._server is not None:
                return
            self._server = serve(
                self._serve_connection,
                self._host,
                0,
                process_request=self._check_ticket,
                compression=None,
                # The app pings; Slack's side does not need its own keepalive here.
                ping_interval=None,
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="slack-socket-mode", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server, self._thread = None, None

    @property
    def port(self) -> int:
        if self._server is None:
            raise SocketModeError("the Socket Mode server is not running")
        return int(self._server.socket.getsockname()[1])

    def new_url(self) -> str:
        """A single-use URL, as `apps.connections.open` returns."""
        self.start()
        ticket = secrets.token_hex(16)
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://{self._host}:{self.port}{LINK_PATH}?ticket={ticket}&app_id={self.app_id}"

    # ------------------------------------------------------------ connections

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        ticket = (parse_qs(url.query).get("ticket") or [""])[0]
        with self._lock:
            known = url.path == LINK_PATH and ticket in self._tickets
            self._tickets.discard(ticket)
        if not known:
            return connection.respond(401, "invalid or used ticket\n")
        return None

    def _serve_connection(self, ws: ServerConnection) -> None:
        from websockets.exceptions import ConnectionClosed

        with self._lock:
            self._opened += 1
            conn = _Connection(self._opened, ws, time.time())
            self._connections[conn.number] = conn
            self._changed.notify_all()
        try:
            self._send(conn, self._hello(conn))
            for message in ws:
                self._receive(message)
        except (ConnectionClosed, OSError):
            pass  # closed by the app, or dropped under us
        finally:
            conn.closed.set()
            with self._lock:
                self._connections.pop(conn.number, None)
                self._changed.notify_all()
            self._retry_unacked_events(conn.number)

    def _retry_unacked_events(self, number: int) -> None:
        """Slack retries an event its connection closed on before the app acked it."""
        with self._lock:
            orphans = [
                envelope
                for envelope in self._envelopes.values()
                if envelope.connection == number
                and envelope.type == "events_api"
                and envelope.ack_at is None
                and not envelope.redelivered
            ]
        if orphans and self._server is not None:
            threading.Thread(
                target=self._redeliver_orphans, args=(orphans,), name="socket-retry", daemon=True
            ).start()

    def _redeliver_orphans(self, orphans: list[Envelope]) -> None:
        try:
            self.wait_connected(timeout=30)
        except SocketModeError:
            return
        time.sleep(ORPHAN_GRACE_SECONDS)  # an ack may still come in on the new connection
        for envelope in orphans:
            if envelope.ack_at is None and not envelope.redelivered:
                envelope.redelivered = True
                with contextlib.suppress(SocketModeError, OSError, RuntimeError):
                    self.send(
                        envelope.type,
                        envelope.payload,
                        accepts_response_payload=envelope.accepts_response_payload,
                        retry_attempt=envelope.retry_attempt + 1,
                        retry_reason="connection_closed",
                    )

    def _hello(self, conn: _Connection) -> JsonDict:
        with self._lock:
            count = len(self._connections)
        return {
            "type": "hello",
            "num_connections": count,
            "debug_info": {
                "host": f"applink-emulator-{conn.number}",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }

    def _receive(self, message: str | bytes) -> None:
        now = time.time()
        try:
            ack = json.loads(message)
        except ValueError:
            ack = {"raw": str(message)}
        envelope_id = ack.get("envelope_id") if isinstance(ack, dict) else None
        with self._lock:
            envelope = self._envelopes.get(envelope_id) if isinstance(envelope_id, str) else None
            if envelope is None or envelope.ack_at is not None:
                self._unknown_acks.append(ack if isinstance(ack, dict) else {"raw": ack})
                return
            envelope.ack_at = now
            payload = ack.get("payload")
            envelope.ack_payload = payload if isinstance(payload, dict) else None
        envelope.acked.set()

    def _send(self, conn: _Connection, message: JsonDict) -> None:
        with conn.send_lock:
            conn.ws.send(json.dumps(message))

    def _newest(self) -> _Connection:
        with self._lock:
            if not self._connections:
                raise SocketModeError("no app is connected over Socket Mode")
            return self._connections[max(self._connections)]

    def wait_connected(self, timeout: float = 15, *, opened: int | None = None) -> None:
        """Until an app is connected (and, with `opened`, that many connections were made)."""

        def ready() -> bool:
            return bool(self._connections) and (opened is None or self._opened >= opened)

        with self._changed:
            if not self._changed.wait_for(ready, timeout):
                raise SocketModeError(
                    f"no Socket Mode connection within {timeout} s ({self._opened} opened)"
                )

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    @property
    def connections_opened(self) -> int:
        with self._lock:
            return self._opened

    # ------------------------------------------------------------ envelopes

    def send(
        self,
        kind: str,
        payload: JsonDict,
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> Envelope:
        """Send one envelope on the newest connection (the one a refresh opened)."""
        if kind not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {kind!r}")
        if accepts_response_payload is None:
            accepts_response_payload = kind == "slash_commands" or (
                kind == "interactive" and payload.get("type") in _RESPONSE_PAYLOAD_TYPES
            )
        conn = self._newest()
        envelope = Envelope(
            envelope_id=f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}",
            type=kind,
            payload=payload,
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            connection=conn.number,
            sent_at=time.time(),
            deadline=self.ack_deadline,
        )
        with self._lock:
            self._envelopes[envelope.envelope_id] = envelope
        self._send(conn, envelope.message())
        return envelope

    def deliver(self, kind: str, payload: JsonDict, **options: Any) -> Envelope:
        """Send and wait for the app's ack (up to the deadline, as Slack does)."""
        envelope = self.send(kind, payload, **options)
        envelope.wait_ack(envelope.deadline)
        return envelope

    def redeliver(self, envelope: Envelope, reason: str = "timeout") -> Envelope:
        """Send the same payload again, as Slack retries: a new envelope, retry_attempt + 1."""
        envelope.redelivered = True
        return self.deliver(
            envelope.type,
            envelope.payload,
            accepts_response_payload=envelope.accepts_response_payload,
            retry_attempt=envelope.retry_attempt + 1,
            retry_reason=reason,
        )

    # What Slack sends; each waits for the ack and returns the envelope.

    def slash_command(self, fields: dict[str, str]) -> Envelope:
        return self.deliver("slash_commands", dict(fields))

    def interactive(self, payload: JsonDict) -> Envelope:
        return self.deliver("interactive", payload)

    def events_api(self, event_callback: JsonDict) -> Envelope:
        return self.deliver("events_api", event_callback)

    def wait_acked(self, timeout: float = 15) -> None:
        """Until every envelope sent so far has its ack (late ones included)."""
        self.wait_for(
            lambda: all(e.ack_at is not None or e.redelivered for e in self.envelopes), timeout
        )

    @property
    def envelopes(self) -> list[Envelope]:
        with self._lock:
            return list(self._envelopes.values())

    def late_acks(self) -> list[Envelope]:
        return [envelope for envelope in self.envelopes if envelope.late]

    def missing_acks(self) -> list[Envelope]:
        now = time.time()
        return [envelope for envelope in self.envelopes if envelope.missing(now)]

    @property
    def unknown_acks(self) -> list[JsonDict]:
        """Acks naming no envelope sent, or one already acknowledged."""
        with self._lock:
            return list(self._unknown_acks)

    # ------------------------------------------------------------ disconnects

    def disconnect(self, reason: str = "refresh_requested", *, close: bool = True) -> int:
        """Ask the app to reconnect; close this connection after a grace period.

        Returns the number of the connection told, so a test can wait for a newer one.
        """
        if reason not in DISCONNECT_REASONS:
            raise ValueError(f"unknown disconnect reason {reason!r}")
        conn = self._newest()
        self._send(
            conn,
            {
                "type": "disconnect",
                "reason": reason,
                "debug_info": {"host": f"applink-emulator-{conn.number}"},
            },
        )
        if close:
            timer = threading.Timer(self.refresh_grace, self._close, args=(conn,))
            timer.daemon = True
            timer.start()
        return conn.number

    def _close(self, conn: _Connection) -> None:
        with contextlib.suppress(Exception):
            conn.ws.close(1001, "refresh")

    def drop(self) -> int:
        """Cut the newest connection as a network failure would: a TCP reset, no close frame."""
        conn = self._newest()
        raw: socket.socket = conn.ws.socket
        with contextlib.suppress(OSError):
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # Closes the socket (a reset, with SO_LINGER 0) and wakes websockets' reader.
            conn.ws.close_socket()
        conn.closed.wait(5)
        return conn.number

    def wait_for(self, condition: Callable[[], bool], timeout: float = 15) -> None:
        """Poll until `condition()` holds (e.g. until the app's slow work shows)."""
        give_up = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > give_up:
                raise SocketModeError(f"condition not met within {timeout} s")
            time.sleep(0.02)
