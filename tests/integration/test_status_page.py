"""The public status page over real HTTP: what is published, what never is, and its headers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app.alerts.catalog import Catalog, CatalogService
from app.config import Settings
from app.runtime import Runtime, build_runtime
from app.server import HttpServer
from app.store.models import AlertGroup, Incident, StakeholderUpdate
from emulator import SlackEmulator
from tests.conftest import ROOT, SIGNING_SECRET, make_settings
from tests.support.driver import SlackDriver
from tests.support.status import (
    declare,
    ephemerals,
    get,
    header,
    post_update,
    publish_values,
    text_of,
)
from tests.support.updates import (
    UPDATE_MARK,
    form_values,
    messages_marked,
    setup_workspace,
    update_views,
)

ATOM = "{http://www.w3.org/2005/Atom}"
STATUS_URL = "https://status.example.com/status"


@pytest.fixture
def settings(emulator: SlackEmulator, database_url: str) -> Settings:
    return make_settings(
        emulator,
        database_url,
        status_page=True,
        status_title="Acme status",
        status_url=STATUS_URL,
        status_cache_seconds=0,
        announce_channel="incidents",
    )


@pytest.fixture
def alice(emulator: SlackEmulator) -> str:
    return setup_workspace(emulator)


def test_a_public_update_is_published_and_an_internal_one_is_not(
    slack: SlackDriver, server: HttpServer, alice: str
) -> None:
    incident = declare(slack, alice, "Checkout fails", "SEV1")
    post_update(slack, incident, alice, "Card payments fail in the EU", public=True)
    post_update(slack, incident, alice, "Suspect the deploy by bob at 14:02", public=False)

    page = text_of(get(server.url, "/status"))
    assert "Card payments fail in the EU" in page
    assert "Checkout fails" in page and "Major outage" in page
    assert "Suspect the deploy" not in page

    board = get(server.url, "/status.json").json()
    [open_incident] = board["open_incidents"]
    assert open_incident["reference"] == incident.reference
    assert open_incident["updates"][0]["what_we_know"] == "Card payments fail in the EU"
    assert board["status"] == "major-outage"
    assert board["services"] == [{"name": "All systems", "status": "major-outage"}]
    schema = json.loads((ROOT / "docs" / "status.schema.json").read_text())
    jsonschema.validate(board, schema)

    feed = ET.fromstring(get(server.url, "/status/feed.atom").body)  # noqa: S314 - our own feed
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}content") for e in entries] == [
        "Card payments fail in the EU\n\nWhat we are doing: Rolling back"
    ]
    link = entries[0].find(f"{ATOM}link")
    assert link is not None and link.get("href") == f"{STATUS_URL}/incidents/{incident.reference}"

    detail = text_of(get(server.url, f"/status/incidents/{incident.reference}"))
    assert "Card payments fail in the EU" in detail and "Suspect the deploy" not in detail


def test_each_catalog_service_has_its_row(
    emulator: SlackEmulator, database_url: str, alice: str
) -> None:
    catalog = Catalog(services={"checkout": CatalogService(), "search": CatalogService()})
    settings = make_settings(
        emulator, database_url, status_page=True, status_cache_seconds=0, catalog=catalog
    )
    runtime = build_runtime(settings)
    server = HttpServer(runtime.web, host="127.0.0.1", port=0, threads=4, max_body_bytes=1 << 20)
    server.start()
    try:
        slack = SlackDriver(server.url, SIGNING_SECRET, emulator, runtime)
        incident = declare(slack, alice, "Checkout fails", "SEV1")
        with runtime.db.session() as session:  # linked to an alert of the checkout service
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
        post_update(slack, incident, alice, "Card payments fail in the EU", public=True)
        board = get(server.url, "/status.json").json()
    finally:
        server.stop()
        runtime.close()
    assert board["services"] == [
        {"name": "checkout", "status": "major-outage"},
        {"name": "search", "status": "operational"},
    ]


def test_nothing_of_a_private_incident_appears(
    slack: SlackDriver, server: HttpServer, runtime: Runtime, alice: str, emulator: SlackEmulator
) -> None:
    secret = declare(slack, alice, "Payroll data exposed", "SEV1", private=True)
    view = post_update(slack, secret, alice, "Rotating the payroll keys", public=True)

    assert "publish" not in [block.get("block_id") for block in view["blocks"]]
    with runtime.db.session() as session:
        [stored] = session.execute(select(StakeholderUpdate)).scalars().all()
        assert stored.public is False  # even a forged submission is not published
    for path in ("/status", "/status.json", "/status/feed.atom"):
        body = get(server.url, path).body.decode()
        assert "Payroll" not in body and "payroll" not in body
    assert get(server.url, "/status.json").json()["status"] == "operational"
    assert get(server.url, f"/status/incidents/{secret.reference}").status == 404


def test_names_and_roles_never_appear(
    slack: SlackDriver, server: HttpServer, alice: str, emulator: SlackEmulator
) -> None:
    incident = declare(slack, alice, "Search is slow", "SEV3")
    post_update(slack, incident, alice, f"<@{alice}> is restarting the cluster", public=True)

    body = get(server.url, "/status").body.decode()
    assert "a responder is restarting the cluster" in body
    assert alice not in body and "alice" not in body.lower()
    assert "commander" not in body.lower()


def test_markup_in_a_title_or_update_is_shown_as_text(
    slack: SlackDriver, server: HttpServer, alice: str
) -> None:
    incident = declare(slack, alice, "<script>alert(1)</script>", "SEV2")
    post_update(slack, incident, alice, "<img src=x onerror=alert(2)>", public=True)

    for path in ("/status", f"/status/incidents/{incident.reference}"):
        page = text_of(get(server.url, path))
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    feed = ET.fromstring(get(server.url, "/status/feed.atom").body)  # noqa: S314 - our own feed
    assert "<script>alert(1)</script>" in (feed.findtext(f"{ATOM}entry/{ATOM}title") or "")


def test_headers_etag_and_304(slack: SlackDriver, server: HttpServer, alice: str) -> None:
    first = get(server.url, "/status")
    assert header(first, "Content-Type") == "text/html; charset=utf-8"
    assert header(first, "X-Content-Type-Options") == "nosniff"
    assert header(first, "Cache-Control") == "public, max-age=10"
    csp = header(first, "Content-Security-Policy")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in first.body.decode()  # no inline script for the CSP to refuse
    etag = header(first, "ETag")

    again = get(server.url, "/status", {"If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    assert header(again, "ETag") == etag

    incident = declare(slack, alice, "Checkout fails")
    post_update(slack, incident, alice, "Payments fail", public=True)
    changed = get(server.url, "/status", {"If-None-Match": etag})
    assert changed.status == 200 and header(changed, "ETag") != etag


def test_a_page_is_rendered_once_per_change(
    slack: SlackDriver, server: HttpServer, runtime: Runtime, alice: str
) -> None:
    pages = runtime.web.status
    assert pages is not None
    get(server.url, "/status")
    rendered = pages.renders
    for _ in range(20):
        get(server.url, "/status")
    assert pages.renders == rendered

    incident = declare(slack, alice, "Checkout fails")
    post_update(slack, incident, alice, "Internal only", public=False)
    get(server.url, "/status")
    assert pages.renders == rendered  # nothing public changed

    post_update(slack, incident, alice, "Payments fail", public=True)
    get(server.url, "/status")
    assert pages.renders == rendered + 1


def test_the_published_update_links_to_the_status_page(
    slack: SlackDriver, alice: str, emulator: SlackEmulator
) -> None:
    incident = declare(slack, alice, "Checkout fails")
    post_update(slack, incident, alice, "Payments fail", public=True)
    post_update(slack, incident, alice, "Still looking", public=False)

    assert incident.channel_id is not None
    posted = messages_marked(emulator, incident.channel_id, UPDATE_MARK)
    links = ["Also on the status page" in json.dumps(m["blocks"]) for m in posted]
    assert links == [True, False]
    assert f"{STATUS_URL}/incidents/{incident.reference}" in json.dumps(posted[0]["blocks"])


def test_resolving_offers_a_closing_public_note(
    slack: SlackDriver, server: HttpServer, alice: str, emulator: SlackEmulator
) -> None:
    incident = declare(slack, alice, "Checkout fails", "SEV2")
    post_update(slack, incident, alice, "Payments fail", public=True)
    assert incident.channel_id is not None
    press_resolve(slack, incident, alice)

    [offer] = [m for m in ephemerals(emulator, incident.channel_id) if "closing" in str(m)]
    assert offer["recipient"] == alice
    button = offer["blocks"][1]["elements"][0]
    before = len(update_views(emulator))
    slack.action(
        {**button, "block_id": offer["blocks"][1]["block_id"]},
        user=alice,
        channel=incident.channel_id,
    )
    [modal] = update_views(emulator)[before:]
    publish = next(b for b in modal["blocks"] if b.get("block_id") == "publish")
    assert publish["element"]["initial_options"][0]["value"] == "public"

    values = {**form_values("Fixed by a rollback", "", "0", "resolved"), **publish_values(True)}
    assert slack.submit(modal, values, user=alice).status == 200

    board = get(server.url, "/status.json").json()
    assert board["open_incidents"] == [] and board["status"] == "operational"
    [past] = board["resolved_incidents"]
    assert past["updates"][0] == {
        **past["updates"][0],
        "status": "resolved",
        "what_we_know": "Fixed by a rollback",
        "next_update_by": None,
    }
    assert "Fixed by a rollback" in text_of(get(server.url, "/status"))
    assert "Fixed by a rollback" in text_of(
        get(server.url, f"/status/incidents/{incident.reference}")
    )


def test_a_private_incident_is_not_offered_a_closing_note(
    slack: SlackDriver, alice: str, emulator: SlackEmulator
) -> None:
    incident = declare(slack, alice, "Payroll", private=True)
    assert incident.channel_id is not None
    press_resolve(slack, incident, alice)
    assert [m for m in ephemerals(emulator, incident.channel_id) if "closing" in str(m)] == []
    slack.command("reopen", user=alice, channel=incident.channel_id)
    slack.command("resolve", user=alice, channel=incident.channel_id)
    assert not [r for r in emulator.responses if "status page" in str(r.payload)]


def test_resolving_by_command_says_how_to_write_the_closing_note(
    slack: SlackDriver, alice: str, emulator: SlackEmulator
) -> None:
    incident = declare(slack, alice, "Checkout fails")
    assert incident.channel_id is not None
    slack.command("resolve", user=alice, channel=incident.channel_id)
    hints = [r.payload["text"] for r in emulator.responses if "status page" in str(r.payload)]
    assert hints == [
        "Tell status page readers how it ended: `/incident update`, status Resolved, "
        "with “Also publish on the status page” ticked."
    ]


def test_unknown_pages_are_404_and_static_files_are_served(server: HttpServer) -> None:
    for path in ("/status/incidents/INC-999", "/status/incidents/nope", "/status/static/x.js"):
        assert get(server.url, path).status == 404
    script = get(server.url, "/status/static/local-time.js")
    assert script.status == 200 and header(script, "Content-Type").startswith("text/javascript")
    assert get(server.url, "/status/static/status.css").status == 200


def test_the_status_page_is_off_unless_asked_for(emulator: SlackEmulator, tmp_path: Path) -> None:
    runtime = build_runtime(make_settings(emulator, f"sqlite:///{tmp_path}/off.db"))
    http = HttpServer(runtime.web, host="127.0.0.1", port=0, threads=2, max_body_bytes=1 << 20)
    http.start()
    try:
        assert get(http.url, "/status").status == 404
        assert get(http.url, "/status.json").status == 404
    finally:
        http.stop()
        runtime.close()


@pytest.mark.postgres
def test_readers_keep_the_last_page_while_the_database_is_away(
    emulator: SlackEmulator, postgres_url: str
) -> None:
    settings = make_settings(emulator, postgres_url, status_page=True, status_cache_seconds=0)
    runtime = build_runtime(settings)
    http = HttpServer(runtime.web, host="127.0.0.1", port=0, threads=2, max_body_bytes=1 << 20)
    http.start()
    try:
        before = get(http.url, "/status")
        assert before.status == 200
        _drop(postgres_url)

        during = get(http.url, "/status")
        assert during.status == 200 and during.body == before.body
        never_built = get(http.url, "/status/incidents/INC-1")
        assert never_built.status == 503 and b"Temporarily unavailable" in never_built.body
    finally:
        http.stop()
        runtime.close()


def press_resolve(slack: SlackDriver, incident: Incident, user: str) -> None:
    slack.action(
        {
            "type": "button",
            "action_id": "resolve",
            "block_id": f"controls:{incident.id}",
            "value": str(incident.id),
        },
        user=user,
        channel=incident.channel_id,
    )


def _drop(database_url: str) -> None:
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))
    admin.dispose()
