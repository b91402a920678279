"""Alerts over real HTTP: intake, one message per group, the buttons, auto-declare, export."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.config import Settings
from app.export.loader import open_export
from app.export.markdown import write_markdown
from app.export.people import ids_only
from app.runtime import Runtime
from app.server import HttpServer
from app.store.models import Incident
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
from tests.support.driver import SlackDriver
from tests.support.story import People, event_kinds, events, incidents, modal_values


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
def alerts_channel(emulator: SlackEmulator, people: People) -> str:
    return emulator.add_channel("alerts", members=[people.alice, people.bob, people.carol])


@pytest.fixture
def base(server: HttpServer) -> str:
    return server.url


def settle(runtime: Runtime) -> None:
    assert runtime.services.alerts.wait_idle(15), "alert work still busy after 15 s"
    assert runtime.wait_idle(15)
    assert runtime.services.alerts.wait_idle(15)


def messages(emulator: SlackEmulator, channel: str) -> list[dict[str, Any]]:
    return emulator.messages(channel)


def control(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in message["blocks"]:
        if block["type"] == "actions":
            for element in block["elements"]:
                if element["action_id"] == action_id:
                    return {**element, "block_id": block["block_id"]}
    raise AssertionError(f"no {action_id} control on the message")


def press(
    slack: SlackDriver,
    runtime: Runtime,
    channel: str,
    message: dict[str, Any],
    action_id: str,
    user: str,
    option: int | None = None,
) -> None:
    action = control(message, action_id)
    if option is not None:
        action = {**action, "selected_option": action["options"][option]}
    result = slack.action(action, user=user, channel=channel, message=message)
    assert result.status == 200
    settle(runtime)


def two_alerts(status: str = "firing") -> dict[str, Any]:
    return am_payload(
        "HighErrorRate",
        [am_alert("HighErrorRate", "web-1", status=status), am_alert("HighErrorRate", "web-2")],
    )


def test_a_group_is_one_message_and_repeats_change_nothing_but_the_edit(
    base: str, runtime: Runtime, emulator: SlackEmulator, alerts_channel: str
) -> None:
    result = post_alerts(base, two_alerts())
    assert result.status == 200
    assert result.json() == {"status": "ok", "received": 2, "new": 2}
    settle(runtime)
    [message] = messages(emulator, alerts_channel)
    assert "[FIRING:2] HighErrorRate" in message["text"]
    assert "web-1" in json.dumps(message["blocks"])
    assert "web-2" in json.dumps(message["blocks"])
    emulator.reset_calls()

    for _ in range(5):
        assert post_alerts(base, two_alerts()).status == 200
    settle(runtime)
    assert emulator.calls_to("chat.postMessage") == []
    assert emulator.calls_to("chat.update") == []
    assert len(messages(emulator, alerts_channel)) == 1
    assert [a.notifications for a in stored_alerts(runtime.db)] == [6, 6]

    # A new alert in the group edits the same message.
    grown = two_alerts()
    grown["alerts"].append(am_alert("HighErrorRate", "web-3"))
    post_alerts(base, grown)
    settle(runtime)
    [message] = messages(emulator, alerts_channel)
    assert "[FIRING:3]" in message["text"]
    assert len(emulator.calls_to("chat.update")) == 1
    assert emulator.calls_to("chat.postMessage") == []


def test_resolving_edits_the_message(
    base: str, runtime: Runtime, emulator: SlackEmulator, alerts_channel: str
) -> None:
    post_alerts(base, two_alerts())
    settle(runtime)
    resolved = am_payload(
        "HighErrorRate",
        [
            am_alert("HighErrorRate", "web-1", status="resolved"),
            am_alert("HighErrorRate", "web-2", status="resolved"),
        ],
    )
    post_alerts(base, resolved)
    settle(runtime)
    [message] = messages(emulator, alerts_channel)
    assert "[RESOLVED] HighErrorRate" in message["text"]
    assert {a.status for a in stored_alerts(runtime.db)} == {"resolved"}
    assert len(emulator.calls_to("chat.postMessage")) == 1
    assert len(emulator.calls_to("chat.update")) == 1


def test_groups_are_separate_messages_and_the_generic_webhook_works(
    base: str, runtime: Runtime, emulator: SlackEmulator, alerts_channel: str
) -> None:
    post_alerts(base, two_alerts())
    post_alerts(base, am_payload("DiskFull", [am_alert("DiskFull", "db-1")]))
    generic = {"title": "Queue backlog over 10k", "severity": "warning", "service": "billing"}
    result = post_alerts(base, generic, path="/alerts/webhook")
    assert result.status == 200
    assert post_alerts(base, generic, path="/alerts/webhook").json()["new"] == 0
    settle(runtime)
    texts = sorted(m["text"] for m in messages(emulator, alerts_channel))
    assert texts == [
        "[FIRING:1] DiskFull",
        "[FIRING:1] Queue backlog over 10k",
        "[FIRING:2] HighErrorRate",
    ]
    assert len(stored_alerts(runtime.db)) == 4


def test_acknowledge_is_recorded_and_shown(
    slack: SlackDriver,
    base: str,
    runtime: Runtime,
    emulator: SlackEmulator,
    people: People,
    alerts_channel: str,
) -> None:
    post_alerts(base, two_alerts())
    settle(runtime)
    [message] = messages(emulator, alerts_channel)
    press(slack, runtime, alerts_channel, message, "alert_ack", people.bob)
    [group] = stored_groups(runtime.db)
    assert group.acknowledged_by == people.bob
    assert group.acknowledged_at is not None
    [message] = messages(emulator, alerts_channel)
    assert f"Acknowledged by <@{people.bob}>" in json.dumps(message["blocks"])
    with pytest.raises(AssertionError):
        control(message, "alert_ack")


def test_silence_keeps_repeats_and_new_alerts_quiet_and_records_who(
    slack: SlackDriver,
    base: str,
    runtime: Runtime,
    emulator: SlackEmulator,
    people: People,
    alerts_channel: str,
) -> None:
    post_alerts(base, two_alerts())
    settle(runtime)
    [message] = messages(emulator, alerts_channel)
    press(slack, runtime, alerts_channel, message, "alert_silence", people.carol, option=1)
    [group] = stored_groups(runtime.db)
    assert group.silenced_by == people.carol
    assert group.silenced_until is not None
    assert timedelta(hours=3, minutes=59) < group.silenced_until - datetime.now(UTC)
    emulator.reset_calls()
    grown = two_alerts()
    grown["alerts"].append(am_alert("HighErrorRate", "web-9"))
    post_alerts(base, grown)
    settle(runtime)
    assert emulator.calls_to("chat.update") == []
    assert len(stored_alerts(runtime.db)) == 3


def test_declare_opens_a_prefilled_modal_and_links_the_alerts(
    slack: SlackDriver,
    base: str,
    runtime: Runtime,
    emulator: SlackEmulator,
    people: People,
    alerts_channel: str,
) -> None:
    payload = am_payload("HighErrorRate", [am_alert("HighErrorRate", "web-1", severity="high")])
    post_alerts(base, payload)
    settle(runtime)
    [message] = messages(emulator, alerts_channel)
    press(slack, runtime, alerts_channel, message, "alert_ack", people.alice)
    [message] = messages(emulator, alerts_channel)
    press(slack, runtime, alerts_channel, message, "alert_declare", people.alice)
    [modal] = [v for v in emulator.views.values() if v["callback_id"] == "alert_declare_incident"]
    assert modal["blocks"][0]["element"]["initial_value"] == "HighErrorRate"
    assert modal["blocks"][1]["element"]["initial_option"]["value"] == "SEV2"

    result = slack.submit(modal, modal_values("HighErrorRate", "SEV2"), user=people.alice)
    assert result.json()["response_action"] == "update"
    settle(runtime)
    [incident] = incidents(runtime.db)
    assert incident.setup_complete
    assert incident.detected_at == datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    assert incident.acknowledged_at is not None
    kinds = event_kinds(runtime.db, incident.id or 0)
    assert kinds[0] == "alert_firing"
    assert {e.source for e in events(runtime.db, incident.id or 0) if e.kind == "alert_firing"} == {
        "alert"
    }
    [group] = stored_groups(runtime.db)
    assert group.incident_id == incident.id
    [message] = messages(emulator, alerts_channel)
    assert "Incident *INC-1*" in json.dumps(message["blocks"])

    # Later notifications for the linked group land on the incident's timeline.
    resolved = am_payload(
        "HighErrorRate", [am_alert("HighErrorRate", "web-1", status="resolved", severity="high")]
    )
    post_alerts(base, resolved)
    settle(runtime)
    assert "alert_resolved" in event_kinds(runtime.db, incident.id or 0)
    assert runtime.services.alerts.alert_counts(incident.id or 0) == (0, 1)
    assert incident.channel_id
    card = messages(emulator, incident.channel_id)[0]
    assert "alerts: 0 firing, 1 resolved" in json.dumps(card["blocks"])


def test_attach_links_the_group_to_an_open_incident(
    slack: SlackDriver,
    base: str,
    runtime: Runtime,
    emulator: SlackEmulator,
    people: People,
    alerts_channel: str,
) -> None:
    slack.command("declare Payments are down", user=people.alice, channel=alerts_channel)
    settle(runtime)
    [incident] = incidents(runtime.db)
    post_alerts(base, two_alerts())
    settle(runtime)
    [message] = [m for m in messages(emulator, alerts_channel) if "FIRING" in m["text"]]
    press(slack, runtime, alerts_channel, message, "alert_attach", people.alice)
    [modal] = [v for v in emulator.views.values() if v["callback_id"] == "alert_attach_incident"]
    options = modal["blocks"][0]["element"]["options"]
    assert [o["value"] for o in options] == [str(incident.id)]
    values = {"incident": {"value": {"type": "static_select", "selected_option": options[0]}}}
    assert slack.submit(modal, values, user=people.alice).status == 200
    settle(runtime)
    [group] = stored_groups(runtime.db)
    assert group.incident_id == incident.id
    assert group.linked_by == people.alice
    assert event_kinds(runtime.db, incident.id or 0).count("alert_firing") == 2
    assert incident.channel_id
    notice = messages(emulator, incident.channel_id)[-1]
    assert "attached alerts *HighErrorRate*: 2 firing, 0 resolved" in notice["text"]


def test_an_auto_declare_rule_opens_exactly_one_incident_for_a_repeated_alert(
    base: str, runtime: Runtime, emulator: SlackEmulator, alerts_channel: str
) -> None:
    critical = am_payload("CheckoutDown", [am_alert("CheckoutDown", "web-1", severity="critical")])
    for _ in range(5):
        assert post_alerts(base, critical).status == 200
    settle(runtime)
    [incident] = incidents(runtime.db)
    assert incident.severity == "SEV1"
    assert incident.declared_by == emulator.bot_user_id
    assert incident.setup_complete
    [group] = stored_groups(runtime.db)
    assert group.incident_id == incident.id
    for _ in range(3):
        post_alerts(base, critical)
    settle(runtime)
    assert len(incidents(runtime.db)) == 1


@pytest.mark.parametrize(
    ("token", "raw", "status", "error"),
    [
        ("wrong-token-0123456789", None, 401, "bad or missing token"),
        (None, None, 401, "bad or missing token"),
        (ALERTS_TOKEN, b"{not json", 400, "body is not valid JSON"),
        (ALERTS_TOKEN, b'{"alerts": []}', 400, "alerts must be a non-empty list"),
        (ALERTS_TOKEN, b'{"alerts": [{"status": "firing"}]}', 400, "alerts[0].labels is missing"),
    ],
)
def test_bad_requests_are_refused_and_store_nothing(
    base: str,
    runtime: Runtime,
    emulator: SlackEmulator,
    alerts_channel: str,
    token: str | None,
    raw: bytes | None,
    status: int,
    error: str,
) -> None:
    result = post_alerts(base, two_alerts(), token=token, raw=raw)
    assert result.status == status
    assert result.json() == {"error": error}
    settle(runtime)
    assert stored_alerts(runtime.db) == []
    assert stored_groups(runtime.db) == []
    assert messages(emulator, alerts_channel) == []


def test_the_generic_webhook_names_a_missing_title(base: str, runtime: Runtime) -> None:
    result = post_alerts(base, {"status": "firing"}, path="/alerts/webhook")
    assert result.status == 400
    assert result.json() == {"error": "title is missing"}
    assert stored_alerts(runtime.db) == []


def test_an_oversize_body_is_refused_with_413(base: str, runtime: Runtime) -> None:
    big = two_alerts()
    big["commonAnnotations"] = {"padding": "x" * (runtime.settings.max_body_bytes + 10)}
    result = post_alerts(base, big)
    assert result.status == 413
    assert stored_alerts(runtime.db) == []


@pytest.fixture
def no_token_runtime(emulator: SlackEmulator, database_url: str) -> Iterator[HttpServer]:
    from app.runtime import build_runtime

    built = build_runtime(make_settings(emulator, database_url))
    http = HttpServer(built.web, host="127.0.0.1", port=0, threads=2, max_body_bytes=1 << 20)
    http.start()
    yield http
    http.stop()
    built.close()


def test_without_a_token_setting_the_endpoints_do_not_exist(
    no_token_runtime: HttpServer,
) -> None:
    result = post_alerts(no_token_runtime.url, two_alerts())
    assert result.status == 404


def test_the_postmortem_of_an_alert_born_incident_shows_every_moment(
    slack: SlackDriver,
    base: str,
    runtime: Runtime,
    emulator: SlackEmulator,
    people: People,
    alerts_channel: str,
) -> None:
    high = am_payload("CheckoutDown", [am_alert("CheckoutDown", "web-1", severity="high")])
    post_alerts(base, high)
    settle(runtime)
    [message] = messages(emulator, alerts_channel)
    press(slack, runtime, alerts_channel, message, "alert_ack", people.bob)
    [message] = messages(emulator, alerts_channel)
    press(slack, runtime, alerts_channel, message, "alert_declare", people.bob)
    [modal] = [v for v in emulator.views.values() if v["callback_id"] == "alert_declare_incident"]
    slack.submit(modal, modal_values("Checkout is down", "SEV2"), user=people.bob)
    settle(runtime)
    [incident] = incidents(runtime.db)
    assert incident.channel_id
    slack.command("status monitoring", user=people.bob, channel=incident.channel_id)
    slack.command("resolve", user=people.bob, channel=incident.channel_id)
    settle(runtime)
    with runtime.db.session() as session:
        stored = session.get(Incident, incident.id)
        assert stored is not None
        assert stored.mitigated_at is not None
        assert stored.resolved_at is not None
    out = io.StringIO()
    with open_export(runtime.db, incident.id or 0) as data:
        write_markdown(data, out, ids_only)
    markdown = out.getvalue()
    for row in (
        "| Detected | 2026-12-04 10:00 UTC |",
        "| Acknowledged |",
        "| Declared |",
        "| Mitigated |",
        "| Resolved |",
        "| Time to acknowledge |",
        "| Time to declare |",
        "| Time to mitigate |",
        "| Time to resolve |",
    ):
        assert row in markdown, row
    assert "CheckoutDown on web-1" in markdown


@pytest.fixture
def catalog_server(
    emulator: SlackEmulator, database_url: str, people: People, tmp_path: Any
) -> Iterator[tuple[HttpServer, Runtime]]:
    from app.runtime import build_runtime

    catalog = tmp_path / "catalog.yml"
    catalog.write_text(
        "services:\n"
        "  checkout:\n"
        "    channel: alerts-checkout\n"
        f"    owners: [{people.carol}]\n"
        "    runbook: https://runbooks.example.com/checkout\n"
    )
    built = build_runtime(
        make_settings(
            emulator,
            database_url,
            alerts_token=ALERTS_TOKEN,
            alerts_channel_interval_seconds=0,
            auto_declare="severity=critical:SEV1",
            catalog=str(catalog),
        )
    )
    http = HttpServer(built.web, host="127.0.0.1", port=0, threads=2, max_body_bytes=1 << 20)
    http.start()
    yield http, built
    http.stop()
    built.close()


def test_the_catalog_routes_alerts_and_invites_owners_to_auto_declared_incidents(
    catalog_server: tuple[HttpServer, Runtime], emulator: SlackEmulator, people: People
) -> None:
    server, built = catalog_server
    channel = emulator.add_channel("alerts-checkout", members=[people.alice])
    critical = am_payload("CheckoutDown", [am_alert("CheckoutDown", "web-1", severity="critical")])
    assert post_alerts(server.url, critical).status == 200
    settle(built)
    [message] = messages(emulator, channel)
    assert "<https://runbooks.example.com/checkout|Runbook>" in json.dumps(message["blocks"])
    [incident] = incidents(built.db)
    assert incident.channel_id
    assert people.carol in emulator.channel(incident.channel_id).members
    card = messages(emulator, incident.channel_id)[0]
    shown = json.dumps(card["blocks"])
    assert "service: checkout" in shown
    assert "<https://runbooks.example.com/checkout|Runbook>" in shown


def test_a_private_incident_is_never_named_on_the_public_alert_message(
    slack: SlackDriver,
    base: str,
    runtime: Runtime,
    emulator: SlackEmulator,
    people: People,
    alerts_channel: str,
) -> None:
    post_alerts(base, two_alerts())
    settle(runtime)
    [message] = messages(emulator, alerts_channel)
    press(slack, runtime, alerts_channel, message, "alert_declare", people.alice)
    [modal] = [v for v in emulator.views.values() if v["callback_id"] == "alert_declare_incident"]
    values = modal_values("Secret breach", "SEV1", private=True)
    assert slack.submit(modal, values, user=people.alice).status == 200
    settle(runtime)
    [incident] = incidents(runtime.db)
    assert incident.is_private
    [message] = messages(emulator, alerts_channel)
    shown = json.dumps(message)
    assert "Linked to a private incident" in shown
    assert "INC-1" not in shown
    assert "Secret breach" not in shown
    assert incident.channel_id is not None
    assert incident.channel_id not in shown
