"""Alert deduplication holds under concurrent and repeated posts, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from app.config import Settings
from app.maintenance import Maintenance
from app.runtime import Runtime
from app.server import HttpServer
from emulator import SlackEmulator
from tests.conftest import make_settings
from tests.support.alerts import (
    ALERTS_TOKEN,
    am_alert,
    am_payload,
    post_alerts,
    stored_alerts,
    stored_groups,
)
from tests.support.story import incidents

SENDERS = 16


@pytest.fixture
def settings(emulator: SlackEmulator, database_url: str) -> Settings:
    return make_settings(
        emulator,
        database_url,
        alerts_token=ALERTS_TOKEN,
        alerts_channel_interval_seconds=0,
        auto_declare="severity=critical:SEV1",
    )


@pytest.fixture
def alerts_channel(emulator: SlackEmulator, people: dict[str, str]) -> str:
    return emulator.add_channel("alerts", members=[people["alice"]])


def settle(runtime: Runtime) -> None:
    assert runtime.services.alerts.wait_idle(30)
    assert runtime.wait_idle(30)
    assert runtime.services.alerts.wait_idle(30)


def all_at_once(base: str, payloads: list[dict[str, Any]]) -> list[int]:
    """Post every payload from its own thread, released together."""
    start = threading.Barrier(len(payloads))

    def send(payload: dict[str, Any]) -> int:
        start.wait()
        return post_alerts(base, payload).status

    with ThreadPoolExecutor(len(payloads)) as pool:
        return list(pool.map(send, payloads))


def storm_payload() -> dict[str, Any]:
    return am_payload(
        "HighLatency",
        [am_alert("HighLatency", f"api-{n}") for n in range(3)],
    )


def test_concurrent_repeats_store_each_alert_once_and_post_once(
    server: HttpServer, runtime: Runtime, emulator: SlackEmulator, alerts_channel: str
) -> None:
    other = am_payload("DiskFull", [am_alert("DiskFull", "db-1")])
    statuses = all_at_once(server.url, [storm_payload()] * SENDERS + [other] * SENDERS)
    assert statuses == [200] * (2 * SENDERS)
    settle(runtime)
    alerts = stored_alerts(runtime.db)
    assert sorted(a.fingerprint for a in alerts) == [
        "DiskFull-db-1",
        "HighLatency-api-0",
        "HighLatency-api-1",
        "HighLatency-api-2",
    ]
    assert {a.notifications for a in alerts} == {SENDERS}
    assert len(stored_groups(runtime.db)) == 2
    assert len(emulator.calls_to("chat.postMessage")) == 2
    assert len(emulator.messages(alerts_channel)) == 2


def test_concurrent_critical_alerts_declare_one_incident(
    server: HttpServer, runtime: Runtime, emulator: SlackEmulator, alerts_channel: str
) -> None:
    critical = am_payload("CheckoutDown", [am_alert("CheckoutDown", "web-1", severity="critical")])
    assert all_at_once(server.url, [critical] * SENDERS) == [200] * SENDERS
    settle(runtime)
    [incident] = incidents(runtime.db)
    assert incident.severity == "SEV1"
    [group] = stored_groups(runtime.db)
    assert group.incident_id == incident.id


def test_fire_and_resolve_repeated_in_any_order_end_in_the_last_state(
    server: HttpServer, runtime: Runtime, emulator: SlackEmulator, alerts_channel: str
) -> None:
    firing = am_payload("Flappy", [am_alert("Flappy", "x")])
    resolved = am_payload("Flappy", [am_alert("Flappy", "x", status="resolved")])
    for payload in [firing, firing, resolved, resolved, firing, resolved]:
        assert post_alerts(server.url, payload).status == 200
    settle(runtime)
    [alert] = stored_alerts(runtime.db)
    assert alert.status == "resolved"
    assert alert.notifications == 6
    [message] = emulator.messages(alerts_channel)
    assert message["text"] == "[RESOLVED] Flappy"


def test_a_slack_outage_never_fails_intake_and_the_message_follows_later(
    server: HttpServer, runtime: Runtime, emulator: SlackEmulator, alerts_channel: str
) -> None:
    emulator.fail_next("chat.postMessage", "internal_error", times=1)
    assert post_alerts(server.url, storm_payload()).status == 200
    settle(runtime)
    assert len(stored_alerts(runtime.db)) == 3
    assert emulator.messages(alerts_channel) == []
    # The notifier's periodic sweep finds the group still behind and posts it.
    notifier = runtime.services.alerts.notifier
    behind = notifier.stale_groups()
    assert list(behind.values()) == ["alerts"]
    notifier.notify(behind)
    settle(runtime)
    [message] = emulator.messages(alerts_channel)
    assert message["text"] == "[FIRING:3] HighLatency"
    assert notifier.stale_groups() == {}


def test_an_auto_declaration_slack_interrupted_is_finished_by_maintenance(
    server: HttpServer,
    runtime: Runtime,
    emulator: SlackEmulator,
    alerts_channel: str,
    announce_channel: str,
) -> None:
    # The bot identifies itself in the background at start-up; let it, so the one failure
    # below reaches the auto-declaration's own auth.test.
    assert runtime.identity.wait(10)
    emulator.fail_next("auth.test", "internal_error")
    critical = am_payload("CheckoutDown", [am_alert("CheckoutDown", "web-1", severity="critical")])
    assert post_alerts(server.url, critical).status == 200
    settle(runtime)
    assert incidents(runtime.db) == []
    [group] = stored_groups(runtime.db)
    assert group.auto_declare_severity == "SEV1"

    Maintenance(runtime.services).run_once()
    settle(runtime)
    [incident] = incidents(runtime.db)
    [group] = stored_groups(runtime.db)
    assert group.incident_id == incident.id
    assert incident.setup_complete
