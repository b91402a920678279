"""Stakeholder updates and reminders, driven through Slack requests with a hand-moved clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from app.config import Settings
from app.runtime import Runtime, build_runtime
from app.server import HttpServer
from app.store.models import Incident, ProcessedRequest, StakeholderUpdate
from emulator import SlackEmulator
from tests.conftest import SIGNING_SECRET
from tests.support.clock import FakeClock
from tests.support.driver import SlackDriver
from tests.support.replicas import wait_for
from tests.support.updates import (
    NUDGE_MARK,
    UPDATE_MARK,
    command,
    declare,
    events_of,
    form_values,
    messages_marked,
    open_update_form,
    post_update,
    press_snooze,
    reminder_state,
    reminders,
    setup_workspace,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def runtime(settings: Settings, clock: FakeClock) -> Iterator[Runtime]:
    built = build_runtime(settings, clock=clock)
    yield built
    built.close()


@pytest.fixture
def alice(emulator: SlackEmulator) -> str:
    return setup_workspace(emulator)


def test_reminder_fires_when_the_update_is_due(
    slack: SlackDriver, runtime: Runtime, clock: FakeClock, alice: str
) -> None:
    start = clock()
    incident = declare(slack, runtime.db, alice)  # SEV3: every 60 minutes
    assert runtime.scheduler.tick(start + timedelta(minutes=59)) == []
    assert reminders(slack.emulator, incident) == []

    fired = runtime.scheduler.tick(start + timedelta(minutes=60))

    assert [f.incident_id for f in fired] == [incident.id]
    [reminder] = reminders(slack.emulator, incident)
    assert f"<@{alice}>" in reminder["text"]  # no comms lead: the commander is reminded
    buttons = [e["action_id"] for e in reminder["blocks"][1]["elements"]]
    assert buttons == ["post_update", "snooze_update"]
    assert "Snooze 10 min" in str(reminder["blocks"][1])
    [event] = events_of(runtime.db, incident.id or 0, "reminder_sent")
    assert event.source == "reminder" and event.data["recipient"] == alice
    metrics = runtime.services.metrics.render().decode()
    assert "firebreak_reminders_sent_total 1.0" in metrics


def test_reminder_mentions_the_comms_lead(
    slack: SlackDriver, runtime: Runtime, clock: FakeClock, alice: str, emulator: SlackEmulator
) -> None:
    bob = emulator.user_by_name("bob").id
    incident = declare(slack, runtime.db, alice)
    command(slack, incident, f"role comms <@{bob}>", alice)
    runtime.scheduler.tick(clock() + timedelta(minutes=60))
    [reminder] = reminders(emulator, incident)
    assert f"<@{bob}>" in reminder["text"] and f"<@{alice}>" not in reminder["text"]


def test_unanswered_reminder_repeats_at_the_cadence(
    slack: SlackDriver, runtime: Runtime, clock: FakeClock, alice: str
) -> None:
    start = clock()
    incident = declare(slack, runtime.db, alice)
    runtime.scheduler.tick(start + timedelta(minutes=60))
    runtime.scheduler.tick(start + timedelta(minutes=60))
    runtime.scheduler.tick(start + timedelta(minutes=119))
    assert len(reminders(slack.emulator, incident)) == 1
    runtime.scheduler.tick(start + timedelta(minutes=120))
    assert len(reminders(slack.emulator, incident)) == 2
    state = reminder_state(runtime.db, incident.id or 0)
    assert state is not None and state.sent_count == 2


def test_snooze_pushes_the_reminder_back(
    slack: SlackDriver, runtime: Runtime, clock: FakeClock, alice: str
) -> None:
    start = clock()
    incident = declare(slack, runtime.db, alice)
    runtime.scheduler.tick(clock.set(start + timedelta(minutes=60)))
    clock.set(start + timedelta(minutes=61))
    press_snooze(slack, incident, alice)

    assert runtime.scheduler.tick(start + timedelta(minutes=70)) == []
    runtime.scheduler.tick(start + timedelta(minutes=71))
    assert len(reminders(slack.emulator, incident)) == 2
    [snoozed] = events_of(runtime.db, incident.id or 0, "reminder_snoozed")
    assert snoozed.actor_id == alice and snoozed.data["minutes"] == 10


def test_a_non_member_cannot_snooze_the_reminder(
    slack: SlackDriver, runtime: Runtime, clock: FakeClock, alice: str
) -> None:
    start = clock()
    incident = declare(slack, runtime.db, alice)
    runtime.scheduler.tick(clock.set(start + timedelta(minutes=60)))
    outsider = slack.emulator.user_by_name("dave").id
    due_before = reminder_state(runtime.db, incident.id or 0)

    press_snooze(slack, incident, outsider)

    replies = [str(reply.payload.get("text", "")) for reply in slack.emulator.responses]
    assert any("Only members of" in text for text in replies), replies
    assert not any("Snoozed" in text for text in replies)
    assert events_of(runtime.db, incident.id or 0, "reminder_snoozed") == []
    due_after = reminder_state(runtime.db, incident.id or 0)
    assert due_before is not None and due_after is not None
    assert due_after.next_due_at == due_before.next_due_at


def test_severity_change_reschedules(
    slack: SlackDriver, runtime: Runtime, clock: FakeClock, alice: str
) -> None:
    start = clock()
    incident = declare(slack, runtime.db, alice)
    clock.set(start + timedelta(minutes=5))
    command(slack, incident, "severity sev1", alice)  # every 15 minutes now
    assert runtime.scheduler.tick(start + timedelta(minutes=14)) == []
    runtime.scheduler.tick(start + timedelta(minutes=15))
    assert len(reminders(slack.emulator, incident)) == 1
    runtime.scheduler.tick(start + timedelta(minutes=30))
    assert len(reminders(slack.emulator, incident)) == 2


def test_lowest_severity_has_no_reminders(
    slack: SlackDriver, runtime: Runtime, clock: FakeClock, alice: str
) -> None:
    incident = declare(slack, runtime.db, alice)
    command(slack, incident, "severity sev4", alice)
    runtime.scheduler.tick(clock() + timedelta(days=1))
    assert reminders(slack.emulator, incident) == []


def test_resolving_stops_reminders_and_nudges_for_the_postmortem(
    slack: SlackDriver, runtime: Runtime, clock: FakeClock, alice: str
) -> None:
    start = clock()
    incident = declare(slack, runtime.db, alice)
    clock.set(start + timedelta(minutes=30))
    command(slack, incident, "resolve", alice)

    runtime.scheduler.tick(start + timedelta(hours=6))
    assert reminders(slack.emulator, incident) == []
    resolved = start + timedelta(minutes=30)
    assert runtime.scheduler.tick(resolved + timedelta(days=2, seconds=-1)) == []
    runtime.scheduler.tick(resolved + timedelta(days=2))
    runtime.scheduler.tick(resolved + timedelta(days=9))
    assert incident.channel_id is not None
    [nudge] = messages_marked(slack.emulator, incident.channel_id, NUDGE_MARK)
    assert f"<@{alice}>" in nudge["text"] and "postmortem" in nudge["text"]
    assert len(events_of(runtime.db, incident.id or 0, "postmortem_nudge_sent")) == 1


def test_closing_stops_everything(
    slack: SlackDriver, runtime: Runtime, clock: FakeClock, alice: str
) -> None:
    incident = declare(slack, runtime.db, alice)
    command(slack, incident, "resolve", alice)
    command(slack, incident, "status closed", alice)
    runtime.scheduler.tick(clock() + timedelta(days=30))
    assert incident.channel_id is not None
    assert reminders(slack.emulator, incident) == []
    assert messages_marked(slack.emulator, incident.channel_id, NUDGE_MARK) == []


def test_posting_an_update_reaches_everyone_and_resets_the_clock(
    slack: SlackDriver, runtime: Runtime, clock: FakeClock, alice: str, emulator: SlackEmulator
) -> None:
    start = clock()
    incident = declare(slack, runtime.db, alice)
    clock.set(start + timedelta(minutes=50))
    post_update(slack, incident, alice, "EU card payments fail", minutes="30")

    assert incident.channel_id and incident.announcement_channel_id and incident.announcement_ts
    [in_channel] = messages_marked(emulator, incident.channel_id, UPDATE_MARK)
    assert "EU card payments fail" in str(in_channel["blocks"])
    thread = emulator.replies(incident.announcement_channel_id, incident.announcement_ts)
    assert any("EU card payments fail" in str(m.get("blocks")) for m in thread)
    [root] = [
        m
        for m in emulator.messages(incident.announcement_channel_id)
        if m["ts"] == incident.announcement_ts
    ]
    assert "Latest:" in str(root["blocks"]) and "EU card payments fail" in str(root["blocks"])
    with runtime.db.session() as session:
        [stored] = session.execute(select(StakeholderUpdate)).scalars().all()
    assert stored.posted_by == alice and stored.next_update_minutes == 30
    assert stored.channel_ts == in_channel["ts"] and stored.thread_ts is not None
    assert len(events_of(runtime.db, incident.id or 0, "stakeholder_update")) == 1
    card = [m for m in emulator.messages(incident.channel_id) if m.get("ts") == _card_ts(runtime)]
    card_text = str(card[0]["blocks"])
    assert "next due" in card_text
    # Slack renders {ago} as "N minutes ago" in each reader's client.
    posted = int((start + timedelta(minutes=50)).timestamp())
    assert f"*Last stakeholder update:* <!date^{posted}^{{ago}}|" in card_text

    assert runtime.scheduler.tick(start + timedelta(minutes=79)) == []
    runtime.scheduler.tick(start + timedelta(minutes=80))
    assert len(reminders(emulator, incident)) == 1


def test_a_late_update_restarts_the_clock(
    slack: SlackDriver, runtime: Runtime, clock: FakeClock, alice: str
) -> None:
    start = clock()
    incident = declare(slack, runtime.db, alice)
    runtime.scheduler.tick(start + timedelta(minutes=60))
    clock.set(start + timedelta(minutes=75))
    post_update(slack, incident, alice, "Still failing", minutes="60")
    assert runtime.scheduler.tick(start + timedelta(minutes=120)) == []
    assert runtime.scheduler.tick(start + timedelta(minutes=134)) == []
    runtime.scheduler.tick(start + timedelta(minutes=135))
    assert len(reminders(slack.emulator, incident)) == 2


def test_update_command_opens_a_prefilled_form(
    slack: SlackDriver, runtime: Runtime, alice: str, emulator: SlackEmulator
) -> None:
    incident = declare(slack, runtime.db, alice)
    command(slack, incident, "severity sev2", alice)
    command(slack, incident, "update Payments recovering", alice)
    [view] = [v for v in emulator.views.values() if v.get("callback_id") == "stakeholder_update"]
    fields = {block.get("block_id"): block for block in view["blocks"]}
    assert fields["know"]["element"]["initial_value"] == "Payments recovering"
    assert fields["status"]["element"]["initial_option"]["value"] == "investigating"
    assert fields["next"]["element"]["initial_value"] == "30"


def test_bad_form_values_are_shown_in_the_form(
    slack: SlackDriver, runtime: Runtime, alice: str
) -> None:
    incident = declare(slack, runtime.db, alice)
    view = open_update_form(slack, incident, alice)
    result = slack.submit(view, form_values("", minutes="soon"), user=alice)
    assert result.json()["response_action"] == "errors"
    assert set(result.json()["errors"]) == {"know", "next"}
    with runtime.db.session() as session:
        assert session.execute(select(StakeholderUpdate)).first() is None


def test_resolving_from_the_form_stops_update_reminders(
    slack: SlackDriver, runtime: Runtime, clock: FakeClock, alice: str
) -> None:
    start = clock()
    incident = declare(slack, runtime.db, alice)
    post_update(slack, incident, alice, "Fixed", status="resolved")
    runtime.scheduler.tick(start + timedelta(hours=5))
    assert reminders(slack.emulator, incident) == []
    assert len(events_of(runtime.db, incident.id or 0, "status_changed")) == 1


def test_outsiders_cannot_post_updates(
    slack: SlackDriver, runtime: Runtime, alice: str, emulator: SlackEmulator
) -> None:
    incident = declare(slack, runtime.db, alice)
    carol = emulator.user_by_name("carol").id
    slack.action(
        {"type": "button", "action_id": "post_update", "value": str(incident.id)},
        user=carol,
        channel=incident.channel_id,
    )
    assert not [v for v in emulator.views.values() if v.get("callback_id") == "stakeholder_update"]
    assert "Only members" in emulator.responses[-1].payload["text"]


def test_restart_with_an_overdue_reminder_sends_it_once(
    settings: Settings, emulator: SlackEmulator, alice: str
) -> None:
    clock = FakeClock()
    start = clock()
    first = build_runtime(settings, clock=clock)
    http = HttpServer(first.web, host="127.0.0.1", port=0, threads=2, max_body_bytes=1 << 20)
    http.start()
    incident = declare(SlackDriver(http.url, SIGNING_SECRET, emulator, first), first.db, alice)
    http.stop()
    first.close()

    # Down for five hours: five periods missed, one reminder on start.
    clock.set(start + timedelta(hours=5))
    second = build_runtime(settings, clock=clock)
    try:
        second.scheduler.tick()
        second.scheduler.tick()
    finally:
        second.close()
    assert len(reminders(emulator, incident)) == 1
    state = reminder_state(second.db, incident.id or 0)
    assert state is not None
    assert state.next_due_at == start + timedelta(hours=6)


def _card_ts(runtime: Runtime) -> str | None:
    with runtime.db.session() as session:
        incident = session.execute(select(Incident).order_by(col(Incident.id))).scalars().first()
        return incident.card_ts if incident else None


def test_background_scheduler_on_sqlite_leads_alone_and_fires_overdue_once(
    settings: Settings, emulator: SlackEmulator, alice: str
) -> None:
    first = build_runtime(settings, clock=FakeClock(datetime.now(UTC) - timedelta(hours=3)))
    http = HttpServer(first.web, host="127.0.0.1", port=0, threads=2, max_body_bytes=1 << 20)
    http.start()
    incident = declare(SlackDriver(http.url, SIGNING_SECRET, emulator, first), first.db, alice)
    http.stop()
    first.close()

    second = build_runtime(settings)
    second.start_scheduler()
    try:
        wait_for(lambda: second.scheduler.is_leader, 5, "the only process to lead")
        wait_for(lambda: len(reminders(emulator, incident)) > 0, 10, "the overdue reminder")
        time.sleep(2.5)
        assert len(reminders(emulator, incident)) == 1
    finally:
        second.close()


def test_a_retried_submission_posts_one_update(
    slack: SlackDriver, runtime: Runtime, alice: str, emulator: SlackEmulator
) -> None:
    incident = declare(slack, runtime.db, alice)
    view = open_update_form(slack, incident, alice)
    values = form_values("Payments failing", "Rolling back", "30")
    for _ in range(2):  # Slack retries a submission it did not see acknowledged
        assert slack.submit(view, values, user=alice).status == 200
    with runtime.db.session() as session:
        assert len(session.execute(select(StakeholderUpdate)).all()) == 1
    assert incident.channel_id is not None
    assert len(messages_marked(emulator, incident.channel_id, UPDATE_MARK)) == 1


def test_a_failed_reminder_post_is_tried_again_on_the_next_tick(
    slack: SlackDriver, runtime: Runtime, clock: FakeClock, alice: str, emulator: SlackEmulator
) -> None:
    start = clock()
    incident = declare(slack, runtime.db, alice)
    emulator.fail_next("chat.postMessage", "channel_not_found")
    assert runtime.scheduler.tick(start + timedelta(minutes=60)) == []
    assert reminders(emulator, incident) == []
    state = reminder_state(runtime.db, incident.id or 0)
    assert state is not None
    assert (state.next_due_at, state.sent_count) == (start + timedelta(minutes=60), 0)

    runtime.scheduler.tick(start + timedelta(minutes=61))
    assert len(reminders(emulator, incident)) == 1
    assert len(events_of(runtime.db, incident.id or 0, "reminder_sent")) == 1


def test_a_reminder_waiting_on_slack_holds_no_database_lock(
    slack: SlackDriver, runtime: Runtime, clock: FakeClock, alice: str, emulator: SlackEmulator
) -> None:
    start = clock()
    incident = declare(slack, runtime.db, alice)
    held = emulator.hold("chat.postMessage")
    ticking = threading.Thread(target=runtime.scheduler.tick, args=(start + timedelta(minutes=60),))
    ticking.start()
    try:
        assert held.arrived.wait(10)
        # While Slack has not answered, a request can still write to the database.
        writer = threading.Thread(target=_write_something, args=(runtime,))
        writer.start()
        writer.join(5)
        assert not writer.is_alive(), "the reminder's Slack call blocked the database"
    finally:
        held.release()
        ticking.join(10)
    assert len(reminders(emulator, incident)) == 1


def _write_something(runtime: Runtime) -> None:
    with runtime.db.session() as session:
        session.add(ProcessedRequest(key="probe", kind="probe"))
