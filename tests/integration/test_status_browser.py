"""The status page in a real browser (headless Chromium): what a reader sees.

`FIREBREAK_SCREENSHOT_DIR=docs` keeps the screenshot for the documentation
(docs/status-page.png).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from app.config import Settings
from app.server import HttpServer
from emulator import SlackEmulator
from tests.conftest import make_settings
from tests.support.browser import dump_dom, screenshot
from tests.support.driver import SlackDriver
from tests.support.status import declare, post_update
from tests.support.updates import setup_workspace


@pytest.fixture
def settings(emulator: SlackEmulator, database_url: str) -> Settings:
    return make_settings(
        emulator,
        database_url,
        status_page=True,
        status_title="Acme status",
        status_cache_seconds=0,
        announce_channel="incidents",
    )


def _story(slack: SlackDriver, emulator: SlackEmulator) -> str:
    """Two open public incidents, a resolved one, a private one and an internal update."""
    alice = setup_workspace(emulator)
    earlier = declare(slack, alice, "Login emails arrive late", "SEV3")
    post_update(slack, earlier, alice, "Login emails take up to 10 minutes.", public=True)
    post_update(
        slack,
        earlier,
        alice,
        "A backed-up mail queue was drained; emails arrive at once again.",
        doing="",
        status="resolved",
        minutes="0",
        public=True,
    )
    checkout = declare(slack, alice, "Card payments fail at checkout", "SEV1")
    post_update(
        slack,
        checkout,
        alice,
        "Card payments in the EU fail for about 30% of customers.\nPayPal still works.",
        doing="We are rolling back this morning's payment service release.",
        public=True,
    )
    post_update(slack, checkout, alice, "Rollback blocked by bob's migration", public=False)
    search = declare(slack, alice, "Search results are slow", "SEV3")
    post_update(
        slack,
        search,
        alice,
        "Search answers in 3-5 s instead of under 1 s.",
        doing="A fix is deployed; we are watching response times.",
        status="monitoring",
        public=True,
    )
    secret = declare(slack, alice, "Payroll export leaked", "SEV1", private=True)
    post_update(slack, secret, alice, "Rotating payroll keys", public=True)
    return checkout.reference


def test_a_reader_sees_the_state_the_incidents_and_their_local_time(
    slack: SlackDriver, server: HttpServer, emulator: SlackEmulator, tmp_path: Path
) -> None:
    reference = _story(slack, emulator)

    dom = dump_dom(tmp_path / "profile", server.url + "/status")

    assert '<html lang="en">' in dom
    assert re.search(r'<h1 class="overall major-outage">\s*Major outage\s*</h1>', dom)
    assert "Card payments in the EU fail for about 30% of customers." in dom
    assert "Search results are slow" in dom and "Monitoring" in dom
    assert "A backed-up mail queue was drained" in dom  # the closing note, under past incidents
    assert "Payroll" not in dom and "bob" not in dom and "Rollback blocked" not in dom
    # local-time.js ran (the CSP allows the page's own script) and added Berlin time.
    utc, local = re.findall(
        r'<time datetime="[^"]+">\d+ \w+ \d{4}, (\d\d):\d\d UTC</time>'
        r'<span class="local"> \(your time: (\d\d):\d\d( [AP]M)? (?:CET|GMT\+1)\)</span>',
        dom,
    )[0][:2]
    assert int(local) % 12 == (int(utc) + 1) % 12

    detail = dump_dom(tmp_path / "profile", f"{server.url}/status/incidents/{reference}")
    assert "<h1>Card payments fail at checkout</h1>" in detail
    assert "rolling back this morning" in detail

    shot = screenshot(
        tmp_path / "profile",
        server.url + "/status",
        tmp_path / "status-page.png",
        width=900,
        height=1250,
    )
    phone = screenshot(
        tmp_path / "profile",
        server.url + "/status",
        tmp_path / "status-page-phone.png",
        width=390,
        height=1400,
    )
    keep = os.environ.get("FIREBREAK_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / shot.name)
        shutil.copy(phone, Path(keep) / phone.name)


def test_markup_in_a_title_is_text_in_the_browser(
    slack: SlackDriver, server: HttpServer, emulator: SlackEmulator, tmp_path: Path
) -> None:
    alice = setup_workspace(emulator)
    incident = declare(slack, alice, '<img src=x onerror="document.title=1">', "SEV2")
    post_update(slack, incident, alice, "<script>document.title='owned'</script>", public=True)

    for path in ("/status", f"/status/incidents/{incident.reference}"):
        dom = dump_dom(tmp_path / "profile", server.url + path)
        assert "<img" not in dom and "owned" not in dom.split("<body")[0]
        assert "&lt;img src=x onerror=" in dom
        assert "&lt;script&gt;document.title='owned'&lt;/script&gt;" in dom
