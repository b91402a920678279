"""PagerDuty, Jira and Statuspage: each call made once, after Slack, retried until done."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from app.alerts.catalog import Catalog, CatalogService
from app.config import Settings
from app.export.delivery import write_export
from app.incidents.rules import Source
from app.runtime import Runtime, build_runtime
from app.server import HttpServer
from app.slack.outbound import blocks
from app.slack.outbound.update_blocks import PUBLISH_BLOCK, PUBLISH_VALUE
from app.store.models import ActionItem, AlertGroup, Incident
from emulator import SlackEmulator
from emulator.driver import http_request
from tests.conftest import SIGNING_SECRET, make_settings
from tests.reliability.helpers import declaration, deliver, incidents, timeline
from tests.support.driver import SlackDriver
from tests.support.updates import form_values, open_update_form
from tests.support.vendors.jira import JiraEmulator
from tests.support.vendors.pagerduty import PagerDutyEmulator
from tests.support.vendors.setup import (
    acknowledgement,
    integration_settings,
    pagerduty_signature,
)
from tests.support.vendors.statuspage import StatuspageEmulator


@pytest.fixture
def pd() -> Iterator[PagerDutyEmulator]:
    with PagerDutyEmulator() as emulator:
        yield emulator


@pytest.fixture
def jr() -> Iterator[JiraEmulator]:
    with JiraEmulator() as emulator:
        yield emulator


@pytest.fixture
def sp() -> Iterator[StatuspageEmulator]:
    with StatuspageEmulator() as emulator:
        yield emulator


@pytest.fixture
def settings(
    emulator: SlackEmulator,
    database_url: str,
    pd: PagerDutyEmulator,
    jr: JiraEmulator,
    sp: StatuspageEmulator,
) -> Settings:
    return make_settings(emulator, database_url, **integration_settings(pd, jr, sp))


@pytest.fixture
def running(runtime: Runtime) -> Runtime:
    """The maintenance loop sweeps retries, as in `firebreak serve`."""
    runtime.start_maintenance()
    return runtime


def wait_until(condition: Callable[[], object], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def declare_at(slack: SlackDriver, user: str, title: str, severity: str) -> dict[str, Any]:
    payload = declaration(slack.team_id, user, title)
    values = payload["view"]["state"]["values"]
    values["severity"]["value"]["selected_option"] = {"value": severity}
    assert deliver(slack, payload).status == 200
    return payload


def render_export(db: Any, incident_id: int, fmt: str) -> str:
    out = io.StringIO()
    write_export(db, incident_id, fmt, out, lambda user: user)
    return out.getvalue()


def only_incident(runtime: Runtime) -> Incident:
    [incident] = incidents(runtime)
    return incident


def kinds(runtime: Runtime, incident_id: int) -> list[str]:
    return [event.kind for event in timeline(runtime, incident_id)]


def press(slack: SlackDriver, action_id: str, value: str, user: str, channel: str) -> None:
    result = slack.action(
        {"type": "button", "action_id": action_id, "block_id": f"b:{value}", "value": value},
        user=user,
        channel=channel,
    )
    assert result.status == 200


def post_webhook(url: str, body: bytes, signature: str) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "X-PagerDuty-Signature": signature}
    result = http_request(url + "/integrations/pagerduty", body, headers)
    return result.status, result.json()


def accepted(emulator: PagerDutyEmulator, action: str) -> int:
    return sum(
        1
        for r in emulator.requests_to("POST", "/v2/enqueue")
        if r.status == 202 and r.body["event_action"] == action
    )


# --- PagerDuty ---------------------------------------------------------------------------------


def test_sev1_pages_once_despite_retries_resolves_and_records_the_acknowledgement(
    slack: SlackDriver,
    emulator: SlackEmulator,
    running: Runtime,
    pd: PagerDutyEmulator,
    announce_channel: str,
    server: Any,
) -> None:
    alice = emulator.user_by_name("alice").id
    # The first answer is lost after PagerDuty took the event: the retry must not page twice.
    pd.fail_next(502, after_work=True)
    payload = declare_at(slack, alice, "Checkout down", "SEV1")
    assert deliver(slack, payload, retry=1).status == 200  # Slack's own retry
    incident = only_incident(running)
    wait_until(lambda: "pagerduty_triggered" in kinds(running, incident.id or 0))
    assert len(pd.alerts) == 1
    [alert] = pd.alerts.values()
    assert alert["status"] == "triggered" and "INC-1" in alert["summary"]
    assert incident.channel_id and incident.channel_id in alert["links"][0]["href"]
    assert kinds(running, incident.id or 0).count("pagerduty_triggered") == 1

    press(slack, blocks.RESOLVE_ACTION, str(incident.id), alice, incident.channel_id)
    wait_until(lambda: "pagerduty_resolved" in kinds(running, incident.id or 0))
    assert alert_status(pd) == "resolved" and accepted(pd, "resolve") == 1

    key = f"firebreak/{incident.team_id}/INC-1"
    body = acknowledgement(key)
    assert post_webhook(server.url, body, "v1=" + "0" * 64)[0] == 401
    assert post_webhook(server.url, body, pagerduty_signature(body)) == (200, {"ok": True})
    assert post_webhook(server.url, body, pagerduty_signature(body))[1].get("duplicate")
    events = [e for e in timeline(running, incident.id or 0) if e.kind == "acknowledged"]
    assert [e.text for e in events] == ["Dana On-Call acknowledged the page in PagerDuty"]
    exported = json.loads(render_export(running.db, incident.id or 0, "json"))
    assert exported["incident"]["acknowledged_at"] == "2026-12-04T10:05:00Z"


def alert_status(pd: PagerDutyEmulator) -> str:
    [alert] = pd.alerts.values()
    return str(alert["status"])


def test_page_button_pages_a_sev3_once_however_often_pressed(
    slack: SlackDriver,
    emulator: SlackEmulator,
    running: Runtime,
    pd: PagerDutyEmulator,
    announce_channel: str,
) -> None:
    alice = emulator.user_by_name("alice").id
    declare_at(slack, alice, "Slow search", "SEV3")
    incident = only_incident(running)
    assert incident.channel_id
    running.services.integrations.deliver_all_due()
    assert pd.requests == []  # SEV3 does not page by itself
    card = emulator.messages(incident.channel_id)[0]
    assert blocks.PAGE_ACTION in json.dumps(card["blocks"])
    for _ in range(2):
        press(slack, blocks.PAGE_ACTION, str(incident.id), alice, incident.channel_id)
    wait_until(lambda: "pagerduty_triggered" in kinds(running, incident.id or 0))
    assert accepted(pd, "trigger") == 1 and len(pd.alerts) == 1
    assert kinds(running, incident.id or 0).count("page_requested") == 1
    told = [r.payload.get("text") for r in emulator.responses]
    assert "The on-call is paged." in told


CHECKOUT_KEY = "Rcheckout0123456789abcdef012345"


def test_an_incident_pages_its_services_routing_key_from_the_catalog(
    emulator: SlackEmulator,
    database_url: str,
    pd: PagerDutyEmulator,
    jr: JiraEmulator,
    sp: StatuspageEmulator,
    announce_channel: str,
) -> None:
    catalog = Catalog(services={"checkout": CatalogService(pagerduty_routing_key=CHECKOUT_KEY)})
    settings = make_settings(
        emulator, database_url, catalog=catalog, **integration_settings(pd, jr, sp)
    )
    pd.routing_keys.add(CHECKOUT_KEY)
    runtime = build_runtime(settings)
    try:
        alice = emulator.user_by_name("alice").id
        server = HttpServer(
            runtime.web, host="127.0.0.1", port=0, threads=4, max_body_bytes=1 << 20
        )
        server.start()
        try:
            driver = SlackDriver(server.url, SIGNING_SECRET, emulator, runtime)
            declare_at(driver, alice, "Checkout down", "SEV3")
            incident = only_incident(runtime)
            assert incident.id is not None and incident.channel_id
            with runtime.db.session() as session:  # what the alert intake records
                group = AlertGroup(
                    source="webhook",
                    group_key="checkout-5xx",
                    title="Checkout 5xx",
                    service="checkout",
                    channel="alerts",
                    incident_id=incident.id,
                )
                session.add(group)
            press(driver, blocks.PAGE_ACTION, str(incident.id), alice, incident.channel_id)
            runtime.start_maintenance()
            wait_until(lambda: "pagerduty_triggered" in kinds(runtime, incident.id or 0))
        finally:
            server.stop()
    finally:
        runtime.close()
    [alert] = pd.alerts.values()
    assert alert["routing_key"] == CHECKOUT_KEY
    assert CHECKOUT_KEY in settings.secrets()


def test_a_public_update_sets_the_statuspage_component_of_the_incidents_service(
    emulator: SlackEmulator,
    database_url: str,
    pd: PagerDutyEmulator,
    jr: JiraEmulator,
    sp: StatuspageEmulator,
    announce_channel: str,
) -> None:
    catalog = Catalog(services={"checkout": CatalogService(statuspage_component="cmpcheckout")})
    settings = make_settings(
        emulator, database_url, catalog=catalog, **integration_settings(pd, jr, sp)
    )
    sp.components = {"cmpcheckout": "operational", "cmpsearch": "operational"}
    runtime = build_runtime(settings)
    server = HttpServer(runtime.web, host="127.0.0.1", port=0, threads=4, max_body_bytes=1 << 20)
    server.start()
    try:
        alice = emulator.user_by_name("alice").id
        driver = SlackDriver(server.url, SIGNING_SECRET, emulator, runtime)
        declare_at(driver, alice, "Checkout down", "SEV2")
        incident = only_incident(runtime)
        with runtime.db.session() as session:  # what the alert intake records
            session.add(
                AlertGroup(
                    source="webhook",
                    group_key="checkout-5xx",
                    title="Checkout 5xx",
                    service="checkout",
                    channel="alerts",
                    incident_id=incident.id,
                )
            )
        runtime.start_maintenance()
        post(driver, incident, alice, "Card payments fail", "investigating", public=True)
        wait_until(lambda: sp.components["cmpcheckout"] == "partial_outage")
        assert sp.components["cmpsearch"] == "operational"
        post(driver, incident, alice, "Payments are back", "resolved", public=True)
        wait_until(lambda: sp.components["cmpcheckout"] == "operational")
    finally:
        server.stop()
        runtime.close()


# --- Jira --------------------------------------------------------------------------------------


def add_item(slack: SlackDriver, incident: Incident, user: str, text: str) -> ActionItem:
    assert incident.channel_id
    slack.command(f"action {text}", user=user, channel=incident.channel_id)
    with slack.runtime.db.session() as session:
        found: ActionItem = session.execute(
            select(ActionItem).where(col(ActionItem.text) == text)
        ).scalar_one()
        return found


def item(runtime: Runtime, item_id: int) -> ActionItem:
    with runtime.db.session() as session:
        found = session.get(ActionItem, item_id)
        assert found is not None
        return found


def test_jira_issue_filed_once_shown_everywhere_and_done_follows_jira(
    slack: SlackDriver,
    emulator: SlackEmulator,
    running: Runtime,
    jr: JiraEmulator,
    announce_channel: str,
) -> None:
    alice = emulator.user_by_name("alice").id
    declare_at(slack, alice, "Disk full", "SEV3")
    incident = only_incident(running)
    assert incident.channel_id
    added = add_item(slack, incident, alice, "Alert on disk usage")
    # The issue is made but the answer is lost; the retry finds it by its label.
    jr.fail_next(504, after_work=True)
    for _ in range(2):
        press(slack, blocks.FILE_IN_JIRA_ACTION, str(added.id), alice, incident.channel_id)
    wait_until(lambda: item(running, added.id or 0).jira_issue_key)
    assert list(jr.issues) == ["OPS-1"] and item(running, added.id or 0).jira_issue_key == "OPS-1"

    slack.command("actions", user=alice, channel=incident.channel_id)
    listed = json.dumps(emulator.calls_to("chat.postEphemeral")[-1].args)
    assert f"{jr.url}/browse/OPS-1|OPS-1" in listed
    exported = json.loads(render_export(running.db, incident.id or 0, "json"))
    assert exported["action_items"][0]["jira_issue"] == "OPS-1"
    assert "OPS-1" in render_export(running.db, incident.id or 0, "markdown")

    jr.close("OPS-1")
    assert running.services.integrations.poll_jira() == 1
    done = item(running, added.id or 0)
    assert done.state == "done" and done.done_by is None
    assert running.services.integrations.poll_jira() == 0


def test_auto_filing_files_each_new_item(
    emulator: SlackEmulator,
    database_url: str,
    pd: PagerDutyEmulator,
    jr: JiraEmulator,
    sp: StatuspageEmulator,
    announce_channel: str,
) -> None:
    values = integration_settings(pd, jr, sp) | {"jira_auto_file": True}
    runtime = build(emulator, database_url, values)
    try:
        incident_id = runtime.services.incidents.declare(_declaration(emulator)).id  # type: ignore[union-attr]
        from app.incidents.actions import NewActionItem

        runtime.services.actions.add(
            incident_id, NewActionItem("Rotate keys"), "U1", Source.COMMAND
        )
        runtime.services.integrations.deliver_all_due()
        assert [i["summary"] for i in jr.issues.values()] == ["Rotate keys"]
    finally:
        runtime.close()


def build(emulator: SlackEmulator, database_url: str, values: dict[str, Any]) -> Runtime:
    from app.runtime import build_runtime

    return build_runtime(make_settings(emulator, database_url, **values))


def _declaration(emulator: SlackEmulator) -> Any:
    from app.incidents.service import Declaration

    return Declaration(emulator.team_id, emulator.user_by_name("alice").id, "Keys leaked", "SEV3")


# --- Statuspage --------------------------------------------------------------------------------


def post(
    slack: SlackDriver, incident: Incident, user: str, know: str, status: str, public: bool
) -> None:
    view = open_update_form(slack, incident, user)
    offered = PUBLISH_BLOCK in [b.get("block_id") for b in view["blocks"]]
    assert offered is not incident.is_private
    values = form_values(know, "Rolling back", "30", status)
    if public:
        values[PUBLISH_BLOCK] = {
            "value": {"type": "checkboxes", "selected_options": [{"value": PUBLISH_VALUE}]}
        }
    assert slack.submit(view, values, user=user).status == 200


def test_public_updates_reach_statuspage_once_internal_and_private_never(
    slack: SlackDriver,
    emulator: SlackEmulator,
    running: Runtime,
    sp: StatuspageEmulator,
    announce_channel: str,
) -> None:
    alice = emulator.user_by_name("alice").id
    declare_at(slack, alice, "Payments failing", "SEV3")
    private_payload = declaration(slack.team_id, alice, "Secret thing", private=True)
    assert deliver(slack, private_payload).status == 200
    public_incident, private_incident = incidents(running)

    sp.fail_next(429, retry_after=0.2)  # rate limited once: retried after Retry-After
    post(slack, public_incident, alice, "Card payments fail in the EU", "identified", True)
    post(slack, public_incident, alice, "Internal detail: db-7 is sick", "identified", False)
    post(slack, private_incident, alice, "Should stay inside", "identified", True)
    post(slack, public_incident, alice, "Payments work again", "resolved", True)
    wait_until(lambda: kinds(running, public_incident.id or 0).count("statuspage_published") == 2)
    [page_incident] = sp.incidents.values()
    assert page_incident["name"] == "Payments failing"
    assert [u["status"] for u in page_incident["incident_updates"]] == ["identified", "resolved"]
    assert "Internal detail" not in json.dumps(sp.requests_to("PATCH", "/"), default=str)
    assert len(sp.requests_to("POST", "/v1/pages")) == 2  # the 429, then the create
    stored = only(running, public_incident.id or 0)
    assert stored.statuspage_incident_id == page_incident["id"]
    assert "statuspage_published" not in kinds(running, private_incident.id or 0)


def only(runtime: Runtime, incident_id: int) -> Incident:
    with runtime.db.session() as session:
        found = session.get(Incident, incident_id)
        assert found is not None
        return found


# --- outages -----------------------------------------------------------------------------------


def test_services_down_leave_slack_working_and_calls_are_retried_until_they_succeed(
    slack: SlackDriver,
    emulator: SlackEmulator,
    running: Runtime,
    pd: PagerDutyEmulator,
    jr: JiraEmulator,
    sp: StatuspageEmulator,
    announce_channel: str,
) -> None:
    alice = emulator.user_by_name("alice").id
    pd.down = jr.down = True
    sp.slow_next(2)  # longer than the client's timeout
    sp.fail_next(503, times=2)
    declare_at(slack, alice, "Everything is down", "SEV2")
    incident = only_incident(running)
    assert incident.setup_complete and incident.card_ts  # Slack did not wait
    added = add_item(slack, incident, alice, "Write the runbook")
    assert incident.channel_id
    press(slack, blocks.FILE_IN_JIRA_ACTION, str(added.id), alice, incident.channel_id)
    post(slack, incident, alice, "We know why", "identified", True)
    messages = emulator.messages(incident.channel_id)
    assert any(":mega:" in json.dumps(m) for m in messages)  # the update reached Slack
    wait_until(lambda: len(sp.requests) >= 3 and len(pd.requests) >= 2 and len(jr.requests) >= 2)
    # Statuspage took the create whose answer timed out: the retry must find it.
    assert not pd.alerts and not jr.issues and len(sp.incidents) == 1

    pd.down = jr.down = False
    wait_until(
        lambda: (
            {"pagerduty_triggered", "jira_issue_filed", "statuspage_published"}
            <= set(kinds(running, incident.id or 0))
        ),
        timeout=30,
    )
    assert len(pd.alerts) == 1 and len(jr.issues) == 1 and len(sp.incidents) == 1
    metrics = running.services.metrics.render().decode()
    assert (
        'firebreak_integration_calls_total{call="page",outcome="retried",service="pagerduty"}'
        in metrics
    )
    assert "firebreak_integration_calls_pending 0.0" in metrics


def test_a_refused_call_is_on_the_timeline_and_in_the_channel_never_in_the_logs(
    emulator: SlackEmulator,
    database_url: str,
    pd: PagerDutyEmulator,
    jr: JiraEmulator,
    sp: StatuspageEmulator,
    announce_channel: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    values = integration_settings(pd, jr, sp) | {
        "pagerduty_routing_key": "W" * 32,
        "pagerduty_link_wait_seconds": 0,  # no channel is made here: page without a link
    }
    runtime = build(emulator, database_url, values)
    try:
        incident = runtime.services.incidents.declare(_declaration(emulator))
        assert incident is not None
        runtime.services.incidents.page_on_call(incident.id, incident.declared_by, Source.BUTTON)
        runtime.services.integrations.deliver_all_due()
        failed = [e for e in timeline(runtime, incident.id) if e.kind == "integration_call_failed"]
        assert [e.data["service"] for e in failed] == ["pagerduty"]
        assert "HTTP 400" in failed[0].text
        assert only(runtime, incident.id).pagerduty_status is None  # may be pressed again
        logged = capsys.readouterr()
        assert "W" * 32 not in logged.out + logged.err
    finally:
        runtime.close()
