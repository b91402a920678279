"""The HTTP front door: health, signatures, body limits."""

from __future__ import annotations

import socket
import time

from app.runtime import Runtime, build_runtime
from app.server import HttpServer
from emulator import SlackEmulator, payloads
from emulator.driver import FORM, http_request
from emulator.signing import signed_headers
from tests.conftest import SIGNING_SECRET, make_settings
from tests.support.driver import SlackDriver


def _command_body(emulator: SlackEmulator, user: str, channel: str) -> bytes:
    fields = payloads.slash_command(
        team_id=emulator.team_id,
        user_id=user,
        channel_id=channel,
        text="help",
        trigger_id=emulator.new_trigger_id(),
        response_url=emulator.new_response_url(),
    )
    return payloads.form_body(fields)


def test_healthz_reports_the_database(admin: HttpServer, server: HttpServer) -> None:
    result = http_request(admin.url + "/healthz")
    assert result.status == 200
    # Off Slack's port: metrics and probes stay on the admin listener.
    for path in ("/healthz", "/readyz", "/metrics"):
        assert http_request(server.url + path).status == 404
    assert result.json() == {"status": "ok", "database": "ok"}


def test_unsigned_request_is_refused(server: HttpServer, emulator: SlackEmulator) -> None:
    user = emulator.add_user("ada")
    body = _command_body(emulator, user, "C1")
    result = http_request(server.url + "/slack/events", body, {"Content-Type": FORM})
    assert result.status == 401
    assert emulator.responses == []


def test_wrong_signature_and_stale_timestamp_are_refused(
    server: HttpServer, emulator: SlackEmulator
) -> None:
    user = emulator.add_user("ada")
    body = _command_body(emulator, user, "C1")
    wrong = signed_headers("not-the-secret", body, FORM)
    stale = signed_headers(SIGNING_SECRET, body, FORM, timestamp=int(time.time()) - 6 * 60)
    for headers in (wrong, stale):
        assert http_request(server.url + "/slack/events", body, headers).status == 401
    assert emulator.responses == []


def test_signed_command_is_acknowledged(slack: SlackDriver, emulator: SlackEmulator) -> None:
    user = emulator.add_user("ada")
    result = slack.command("help", user=user, channel="C1")
    assert result.status == 200
    [reply] = emulator.responses
    assert "/incident" in reply.payload["text"]


def test_oversized_body_is_refused(server: HttpServer, runtime: Runtime) -> None:
    body = b"x" * (runtime.settings.max_body_bytes + 1)
    result = http_request(
        server.url + "/slack/events", body, signed_headers(SIGNING_SECRET, body, FORM)
    )
    assert result.status == 413


def test_unknown_path_is_404(server: HttpServer) -> None:
    assert http_request(server.url + "/nope").status == 404


def test_a_command_is_acked_while_auth_test_hangs(emulator: SlackEmulator, sqlite_url: str) -> None:
    """Identifying the bot happens in the background, never before an ack."""
    held = emulator.hold("auth.test")
    runtime = build_runtime(make_settings(emulator, sqlite_url))
    http = HttpServer(runtime.web, host="127.0.0.1", port=0, threads=4, max_body_bytes=1 << 20)
    http.start()
    try:
        assert held.arrived.wait(10), "the bot is identified at start-up"
        slack = SlackDriver(http.url, SIGNING_SECRET, emulator, runtime)
        user = emulator.add_user("ada")
        # Slack gives up after 3 s; a Web API call before ack would outlast this timeout.
        for _ in range(3):
            reply = http_request(
                slack.url,
                body := _command_body(emulator, user, "C1"),
                signed_headers(SIGNING_SECRET, body, FORM),
                timeout=1.5,
            )
            assert reply.status == 200
        assert slack.runtime.wait_idle(10)
        assert len(emulator.responses) == 3
        assert not runtime.identity.known
        held.release()
        assert runtime.identity.wait(10)
    finally:
        held.release()
        http.stop()
        runtime.close()


def test_slow_connections_leave_health_and_slack_requests_answered(
    server: HttpServer, admin: HttpServer, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    """150 clients each holding a half-sent request (waitress alone would stop at 100)."""
    host, port = server.url.removeprefix("http://").split(":")
    slow = []
    try:
        for _ in range(150):
            connection = socket.create_connection((host, int(port)), timeout=5)
            connection.sendall(b"POST /slack/events HTTP/1.1\r\nHost: firebreak\r\nX-Slow: ")
            slow.append(connection)
        assert http_request(admin.url + "/healthz", timeout=5).status == 200
        user = emulator.add_user("ada")
        body = _command_body(emulator, user, "C1")
        reply = http_request(slack.url, body, signed_headers(SIGNING_SECRET, body, FORM), timeout=5)
        assert reply.status == 200
    finally:
        for connection in slow:
            connection.close()
