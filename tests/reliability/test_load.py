"""Heavy but legal load: acks keep coming, threads stay bounded, accepted work is kept."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.config import Settings
from app.runtime import Runtime
from app.server import HttpServer
from emulator import SlackEmulator, payloads
from emulator.driver import http_request
from emulator.signing import signed_headers
from tests.conftest import SIGNING_SECRET, make_settings
from tests.support.driver import SlackDriver

THREADS = 6
WORKERS = 3
EVENTS = 60


@pytest.fixture
def settings(emulator: SlackEmulator, database_url: str) -> Settings:
    return make_settings(emulator, database_url, listener_threads=THREADS, listener_workers=WORKERS)


def _home_opened(emulator: SlackEmulator, user: str, number: int) -> bytes:
    envelope = payloads.event_callback(
        {"type": "app_home_opened", "user": user, "tab": "home"},
        team_id=emulator.team_id,
        event_id=f"Ev{number:06d}",
    )
    return json.dumps(envelope).encode()


def _metric(admin: HttpServer, name: str) -> float:
    text = http_request(admin.url + "/metrics").body.decode()
    [line] = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(line.split()[1])


def test_a_flood_of_events_with_slack_slow_is_acked_on_bounded_threads(
    slack: SlackDriver,
    admin: HttpServer,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: dict[str, str],
) -> None:
    emulator.latency = 0.2
    bodies = [_home_opened(emulator, people["alice"], n) for n in range(EVENTS)]

    def send(body: bytes) -> int:
        headers = signed_headers(SIGNING_SECRET, body, "application/json")
        return http_request(slack.url, body, headers).status

    with ThreadPoolExecutor(max_workers=16) as senders:
        statuses = list(senders.map(send, bodies))
    assert statuses == [200] * EVENTS
    # Every event is acked; most of their work is still queued, and visible as such.
    assert _metric(admin, "firebreak_listener_queue_depth") > 0
    assert _metric(admin, "firebreak_listener_busy_workers") <= WORKERS
    assert _metric(admin, "firebreak_listener_busy_threads") <= THREADS
    assert runtime.executor.threads <= THREADS
    slack.wait()
    assert len(emulator.calls_to("views.publish")) == EVENTS
    assert runtime.executor.threads <= THREADS
    assert _metric(admin, "firebreak_listener_queue_depth") == 0
