"""Closing: the channel is archived a while after the review is done, with a last word;
reopening brings it back or says why it can't. Driven through signed requests, hand clock."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from app.config import Settings
from app.runtime import Runtime, build_runtime
from app.server import HttpServer
from app.store.models import Incident
from emulator import SlackEmulator
from tests.conftest import SIGNING_SECRET, make_settings
from tests.support.clock import FakeClock
from tests.support.driver import SlackDriver
from tests.support.story import People, declare, event_kinds, incidents

DAY = timedelta(hours=24)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """Archiving is claimed in the database: both stores."""
    if request.param == "sqlite":
        return sqlite_url
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(emulator: SlackEmulator, database_url: str) -> Settings:
    return make_settings(emulator, database_url, archive_after_hours=24)


@pytest.fixture
def runtime(settings: Settings, clock: FakeClock) -> Iterator[Runtime]:
    built = build_runtime(settings, clock=clock)
    yield built
    built.close()


def _closed(slack: SlackDriver, people: People, *, private: bool = False) -> Incident:
    declare(slack, slack.emulator, people.alice, "Checkout fails", private=private)
    [incident] = incidents(slack.runtime.db)
    slack.command("status closed", user=people.alice, channel=incident.channel_id or "")
    [incident] = incidents(slack.runtime.db)
    assert incident.status == "closed"
    return incident


def _texts(emulator: SlackEmulator, channel: str) -> list[str]:
    return [str(m.get("text", "")) for m in emulator.messages(channel)]


def _replies(emulator: SlackEmulator) -> list[str]:
    return [str(r.payload.get("text", "")) for r in emulator.responses]


def test_closing_archives_the_channel_a_day_later_with_a_last_word(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: FakeClock, people: People
) -> None:
    start = clock()
    incident = _closed(slack, people)
    channel = incident.channel_id or ""
    assert incident.archive_due_at == start + DAY
    assert any("will be archived" in text for text in _texts(emulator, channel))

    runtime.scheduler.tick(start + DAY - timedelta(minutes=1))
    assert not emulator.channel(channel).is_archived

    runtime.scheduler.tick(start + DAY)
    assert emulator.channel(channel).is_archived
    last = _texts(emulator, channel)[-1]
    assert "Archiving this channel" in last and "Export postmortem" in last
    assert "firebreak export INC-1" in last
    [stored] = incidents(runtime.db)
    assert stored.archived_at == start + DAY and stored.archive_due_at is None
    kinds = event_kinds(runtime.db, stored.id or 0)
    assert kinds.count("archive_notice") == 1 and kinds.count("channel_archived") == 1

    # A second pass (another replica, a redelivered job) archives nothing twice.
    emulator.reset_calls()
    runtime.scheduler.tick(start + DAY + timedelta(hours=1))
    assert emulator.calls_to("conversations.archive") == []
    assert emulator.calls_to("chat.postMessage") == []
    # Slack refuses messages to an archived channel, as it does.
    with pytest.raises(SlackApiError) as refused:
        WebClient(token=emulator.bot_token, base_url=emulator.api_url).chat_postMessage(
            channel=channel, text="late"
        )
    assert refused.value.response["error"] == "is_archived"


def test_replicas_racing_to_archive_archive_once(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: FakeClock, people: People
) -> None:
    start = clock()
    incident = _closed(slack, people)
    emulator.reset_calls()
    closing = runtime.services.closing
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda _: closing.archive_due(start + DAY), range(4)))
    assert sorted(len(ids) for ids in done) == [0, 0, 0, 1]
    assert len(emulator.calls_to("conversations.archive")) == 1
    assert len(emulator.calls_to("chat.postMessage")) == 1
    assert emulator.channel(incident.channel_id or "").is_archived


def test_a_closed_archived_incident_can_still_be_exported(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: FakeClock, people: People
) -> None:
    start = clock()
    _closed(slack, people, private=True)
    runtime.scheduler.tick(start + DAY)
    slack.event({"type": "app_home_opened", "user": people.alice, "tab": "home", "channel": "D1"})
    home = emulator.home_view(people.alice)
    assert home is not None
    button: dict[str, Any] = next(
        block["accessory"]
        for block in home["blocks"]
        if block.get("accessory", {}).get("action_id") == "export_incident"
    )
    slack.action({"type": "button", **button}, user=people.alice)
    [shared] = [f for f in emulator.files.values() if f.channels]
    assert shared.content is not None and b"# INC-1: Checkout fails" in shared.content
    assert b"Closed" in shared.content or b"closed" in shared.content


def test_zero_hours_closing_schedules_nothing(
    emulator: SlackEmulator, database_url: str, clock: FakeClock, people: People
) -> None:
    runtime = build_runtime(
        make_settings(emulator, database_url, archive_after_hours=0), clock=clock
    )
    http = HttpServer(runtime.web, host="127.0.0.1", port=0, threads=4, max_body_bytes=1 << 20)
    http.start()
    try:
        slack = SlackDriver(http.url, SIGNING_SECRET, emulator, runtime)
        incident = _closed(slack, people)
        assert incident.archive_due_at is None
        runtime.scheduler.tick(clock() + 400 * DAY)
        assert not emulator.channel(incident.channel_id or "").is_archived
        assert not any("will be archived" in t for t in _texts(emulator, incident.channel_id or ""))
    finally:
        http.stop()
        runtime.close()


def test_reopening_before_the_archive_keeps_the_channel(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: FakeClock, people: People
) -> None:
    start = clock()
    incident = _closed(slack, people)
    slack.command("status investigating", user=people.alice, channel=incident.channel_id or "")
    runtime.scheduler.tick(start + 2 * DAY)
    assert not emulator.channel(incident.channel_id or "").is_archived
    [stored] = incidents(runtime.db)
    assert stored.archive_due_at is None and stored.status == "investigating"


def test_reopening_an_archived_incident_says_why_slack_keeps_it_archived(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: FakeClock, people: People
) -> None:
    start = clock()
    incident = _closed(slack, people)
    runtime.scheduler.tick(start + DAY)

    slack.command("reopen INC-1", user=people.alice, channel="C_ANYWHERE")

    [stored] = incidents(runtime.db)
    assert stored.status == "investigating"
    assert emulator.channel(incident.channel_id or "").is_archived
    reply = _replies(emulator)[-1]
    assert "did not let Firebreak unarchive" in reply and "not_allowed_token_type" in reply
    assert "Unarchive" in reply


def test_reopening_unarchives_where_slack_allows_it(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: FakeClock, people: People
) -> None:
    start = clock()
    incident = _closed(slack, people)
    channel = incident.channel_id or ""
    runtime.scheduler.tick(clock.set(start + DAY))
    emulator.allow_bot_unarchive()

    clock.advance(hours=2)
    slack.command("reopen inc-1 monitoring", user=people.alice, channel="C_ANYWHERE")

    assert not emulator.channel(channel).is_archived
    assert "INC-1 is reopened: Monitoring." in _replies(emulator)[-1]
    assert "from Closed to Monitoring (back)" in _texts(emulator, channel)[-1]
    [stored] = incidents(runtime.db)
    assert stored.archived_at is None and "channel_unarchived" in event_kinds(
        runtime.db, stored.id or 0
    )
    # Closing again archives again, with a new last word.
    slack.command("status closed", user=people.alice, channel=channel)
    runtime.scheduler.tick(clock() + DAY)
    assert emulator.channel(channel).is_archived
    assert "Archiving this channel" in _texts(emulator, channel)[-1]


def test_a_non_member_cannot_reopen_or_learn_of_a_private_incident(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: FakeClock, people: People
) -> None:
    start = clock()
    _closed(slack, people, private=True)
    runtime.scheduler.tick(start + DAY)
    emulator.allow_bot_unarchive()

    slack.command("reopen INC-1", user=people.bob, channel="C_ANYWHERE")
    slack.command("reopen INC-99", user=people.bob, channel="C_ANYWHERE")

    refused, missing = _replies(emulator)[-2:]
    assert refused == missing  # the same words as for an incident that does not exist
    assert "Checkout" not in refused
    [stored] = incidents(runtime.db)
    assert stored.status == "closed" and stored.archived_at is not None
