"""Health, readiness, metrics and a graceful stop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from app.metrics import Metrics
from app.runtime import Runtime, build_runtime
from app.server import HttpServer
from app.store.database import Database
from app.store.models import Incident
from emulator import SlackEmulator, payloads
from emulator.driver import FORM, http_request
from tests.conftest import make_settings
from tests.reliability.helpers import declaration, declare, deliver_event
from tests.reliability.serve import ServeProcess
from tests.support.driver import SlackDriver


@pytest.fixture
def probing_server(emulator: SlackEmulator, database_url: str) -> Iterator[HttpServer]:
    """A server whose /readyz probes on every request (no cached answer)."""
    runtime = build_runtime(make_settings(emulator, database_url, readiness_cache_seconds=0))
    assert runtime.identity.wait(10)  # its auth.test is not the one a test holds
    server = HttpServer(runtime.web.admin, host="127.0.0.1", port=0, threads=4, max_body_bytes=1024)
    server.start()
    yield server
    server.stop()
    runtime.close()


def test_readyz_needs_database_and_slack(
    probing_server: HttpServer, emulator: SlackEmulator
) -> None:
    ready = http_request(probing_server.url + "/readyz")
    assert (ready.status, ready.json()) == (200, {"status": "ok", "database": "ok", "slack": "ok"})
    emulator.down = True
    down = http_request(probing_server.url + "/readyz")
    assert down.status == 503
    assert down.json()["slack"] != "ok"
    emulator.down = False
    assert http_request(probing_server.url + "/healthz").status == 200


def test_readyz_answers_quickly_while_slack_hangs(
    probing_server: HttpServer, emulator: SlackEmulator
) -> None:
    held = emulator.hold("auth.test")
    try:
        # The client gives up after 2 s: a /readyz waiting on Slack's retries would fail here.
        ready = http_request(probing_server.url + "/readyz", timeout=2)
    finally:
        held.release()
    assert (ready.status, ready.json()["slack"]) == (503, "timeout")
    assert ready.json()["database"] == "ok"


def test_readyz_probes_slack_once_for_many_readers(
    admin: HttpServer, emulator: SlackEmulator, runtime: Runtime
) -> None:
    assert runtime.identity.wait(10)
    emulator.reset_calls()
    for _ in range(10):
        assert http_request(admin.url + "/readyz").status == 200
    assert len(emulator.calls_to("auth.test")) == 1


def test_readyz_reports_an_unreachable_database(emulator: SlackEmulator, tmp_path: Path) -> None:

    runtime = build_runtime(
        make_settings(emulator, f"sqlite:///{tmp_path}/gone/x.db"), migrate=False
    )
    server = HttpServer(runtime.web.admin, host="127.0.0.1", port=0, threads=2, max_body_bytes=1024)
    server.start()
    try:
        ready = http_request(server.url + "/readyz")
        health = http_request(server.url + "/healthz")
    finally:
        server.stop()
        runtime.close()
    assert ready.status == 503
    assert ready.json()["database"] == "unreachable"
    assert (health.status, health.json()["database"]) == (200, "unreachable")


def test_metrics_count_requests_slack_calls_and_open_incidents(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    admin: HttpServer,
    announce_channel: str,
) -> None:
    declare(slack, emulator.user_by_name("alice").id, "Queue backlog")
    text = http_request(admin.url + "/metrics").body.decode()
    assert 'firebreak_requests_total{listener="view:declare_incident",outcome="200"} 1.0' in text
    assert 'firebreak_request_seconds_count{listener="view:declare_incident"} 1.0' in text
    assert 'firebreak_slack_api_calls_total{method="conversations.create"} 1.0' in text
    assert 'firebreak_open_incidents{severity="SEV2"} 1.0' in text
    assert "firebreak_reminders_sent_total 0.0" in text
    # Each runtime has its own registry: a fresh one starts from zero.
    fresh = Metrics().render().decode()
    assert "firebreak_requests_total{" not in fresh
    assert runtime.services.metrics.render().decode().count("firebreak_requests_total{") == 1


def test_request_metrics_stay_bounded_whatever_senders_put_in_bodies(
    slack: SlackDriver, runtime: Runtime
) -> None:
    for n in range(50):
        body = f"command=%2Fcmd{n}&text=x".encode()
        headers = {
            "Content-Type": FORM,
            "X-Slack-Signature": "v0=0",
            "X-Slack-Request-Timestamp": "1",
        }
        assert http_request(slack.url, body, headers).status == 401
    for n in range(20):  # signed, yet naming nothing Firebreak listens for
        event = {"type": f"made_up_{n}", "user": "U1"}
        envelope = payloads.event_callback(event, team_id=slack.team_id)
        assert deliver_event(slack, envelope).status == 404  # Bolt: no listener for it

    series = [
        line
        for line in runtime.services.metrics.render().decode().splitlines()
        if line.startswith("firebreak_requests_total{")
    ]
    assert sorted(series) == [
        'firebreak_requests_total{listener="event:other",outcome="404"} 20.0',
        'firebreak_requests_total{listener="unverified",outcome="401"} 50.0',
    ]


def test_slack_errors_are_counted_by_method(
    slack: SlackDriver, emulator: SlackEmulator, admin: HttpServer, announce_channel: str
) -> None:
    emulator.fail_next("pins.add", "http_500", times=10)
    declare(slack, emulator.user_by_name("alice").id, "Pins broken")
    text = http_request(admin.url + "/metrics").body.decode()
    assert 'firebreak_slack_api_errors_total{error="internal_error",method="pins.add"} 1.0' in text


def test_sigterm_finishes_in_flight_work(
    emulator: SlackEmulator, announce_channel: str, sqlite_url: str, tmp_path: Path
) -> None:
    db = Database(sqlite_url)
    db.migrate()
    held = emulator.hold("pins.add")
    serve = ServeProcess(emulator, sqlite_url, tmp_path)
    payload = declaration(emulator.team_id, emulator.user_by_name("alice").id, "Slow Slack")
    assert serve.submit(payload).status == 200
    assert held.arrived.wait(30)
    serve.process.send_signal(15)
    held.release()
    code, stderr = serve.terminate()
    assert code == 0
    assert '"event": "stopped"' in stderr
    with db.session() as session:
        incident = session.execute(select(Incident)).scalars().one()
    db.dispose()
    assert incident.setup_complete
