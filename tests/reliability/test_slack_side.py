"""Acknowledged means recorded, recorded means shown: the outbox under Slack failures.

Each test makes the emulator fail a chosen Web API call (HTTP 500, `internal_error`, 429,
a timeout-like outage) and checks that what the database says reaches Slack exactly once
and that every surface ends up showing the latest state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from app.config import Settings
from app.incidents import effects
from app.incidents.effects import Claim
from app.runtime import Runtime, build_runtime
from app.server import HttpServer
from app.slack.outbound import blocks
from app.slack.outbound.reconcile import Reconciler
from app.store.models import Incident, SlackEffect
from emulator import SlackEmulator
from emulator.server import LOST_ANSWER
from tests.conftest import SIGNING_SECRET, make_settings
from tests.reliability.helpers import timeline
from tests.support.driver import SlackDriver
from tests.support.updates import (
    UPDATE_MARK,
    declare,
    messages_marked,
    post_update,
    setup_workspace,
)


@pytest.fixture
def settings(emulator: SlackEmulator, database_url: str) -> Settings:
    return make_settings(
        emulator, database_url, effects_interval_seconds=0.1, effects_lease_seconds=2
    )


@pytest.fixture
def alice(emulator: SlackEmulator) -> str:
    return setup_workspace(emulator)


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def fresh(runtime: Runtime, incident: Incident) -> Incident:
    with runtime.db.session() as session:
        stored = session.get(Incident, incident.id)
        assert stored is not None
        return stored


def pending_effects(runtime: Runtime) -> list[SlackEffect]:
    with runtime.db.session() as session:
        rows = session.execute(select(SlackEffect).where(SlackEffect.done_at.is_(None)))  # type: ignore[union-attr]
        return list(rows.scalars())


def press(
    slack: SlackDriver, incident: Incident, user: str, action: dict[str, Any], *, wait: bool = True
) -> int:
    result = slack.action(
        {"block_id": f"controls:{incident.id}", **action},
        user=user,
        channel=incident.channel_id,
        wait=wait,
    )
    return result.status


def choose_status(
    slack: SlackDriver, incident: Incident, user: str, status: str, *, wait: bool = True
) -> int:
    return press(
        slack,
        incident,
        user,
        {
            "type": "static_select",
            "action_id": blocks.STATUS_ACTION,
            "selected_option": {"value": status},
        },
        wait=wait,
    )


def choose_severity(slack: SlackDriver, incident: Incident, user: str, severity: str) -> int:
    return press(
        slack,
        incident,
        user,
        {
            "type": "static_select",
            "action_id": blocks.SEVERITY_ACTION,
            "selected_option": {"value": severity},
        },
    )


def card_text(emulator: SlackEmulator, incident: Incident) -> str:
    assert incident.channel_id and incident.card_ts
    card = next(m for m in emulator.messages(incident.channel_id) if m["ts"] == incident.card_ts)
    return str(card["text"])


def root_text(emulator: SlackEmulator, incident: Incident) -> str:
    assert incident.announcement_channel_id
    root = next(
        m
        for m in emulator.messages(incident.announcement_channel_id)
        if m["ts"] == incident.announcement_ts
    )
    return str(root["text"])


def updates_in_thread(emulator: SlackEmulator, incident: Incident) -> list[dict[str, Any]]:
    assert incident.announcement_channel_id and incident.announcement_ts
    return [
        m
        for m in emulator.replies(incident.announcement_channel_id, incident.announcement_ts)
        if UPDATE_MARK in str(m.get("blocks", "")) + str(m.get("text", ""))
        and m["ts"] != incident.announcement_ts
    ]


def start_sweeping(runtime: Runtime) -> None:
    runtime.start_maintenance()


# Slack's answers worth retrying: the SDK retries HTTP 5xx and 429 itself (three times),
# so four in a row reach the notifier; `internal_error` comes back as `ok: false`.
TRANSIENT = [
    pytest.param(LOST_ANSWER, 2, id="posted-but-answer-lost"),
    pytest.param("http_500", 4, id="http-500"),
    pytest.param("internal_error", 2, id="internal-error"),
    pytest.param("ratelimited", 4, id="429"),
]


@pytest.mark.parametrize(("error", "times"), TRANSIENT)
def test_a_failed_update_post_reaches_channel_and_thread_exactly_once(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    alice: str,
    error: str,
    times: int,
) -> None:
    incident = declare(slack, runtime.db, alice)
    start_sweeping(runtime)
    thread_ts = fresh(runtime, incident).announcement_ts
    emulator.fail_next("chat.postMessage", error, retry_after=0, times=times)
    post_update(slack, incident, alice, "Payments time out")
    incident = fresh(runtime, incident)
    assert incident.channel_id and incident.announcement_channel_id and thread_ts
    wait_for(lambda: not pending_effects(runtime))
    assert len(messages_marked(emulator, incident.channel_id, UPDATE_MARK)) == 1
    assert len(updates_in_thread(emulator, incident)) == 1


def test_a_slow_slack_does_not_let_another_replica_post_again(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    alice: str,
    database_url: str,
) -> None:
    """While one replica waits on Slack for longer than a lease, it keeps renewing the
    lease, so a second replica sweeping the same database does not post the update too."""
    incident = fresh(runtime, declare(slack, runtime.db, alice))
    assert incident.channel_id
    held = emulator.hold("chat.postMessage", lambda args: UPDATE_MARK in str(args.get("blocks")))
    post_update(slack, incident, alice, "Payments time out", wait=False)
    assert held.arrived.wait(10)
    other = build_runtime(
        make_settings(
            emulator, database_url, effects_interval_seconds=0.1, effects_lease_seconds=0.6
        )
    )
    try:
        # Two and a half of the holder's leases: it must renew, not merely hold one.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            other.services.notifier.deliver_all_due()
            time.sleep(0.1)
        held.release()
        runtime.wait_idle()
        wait_for(lambda: not pending_effects(runtime))
    finally:
        other.close()
    assert len(messages_marked(emulator, incident.channel_id, UPDATE_MARK)) == 1
    assert len(updates_in_thread(emulator, fresh(runtime, incident))) == 1


def test_a_failed_redraw_is_retried_until_the_card_shows_the_latest_state(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, alice: str
) -> None:
    incident = fresh(runtime, declare(slack, runtime.db, alice))
    start_sweeping(runtime)
    emulator.fail_next("chat.update", "internal_error", times=3)
    emulator.fail_next("conversations.setTopic", "internal_error", times=1)
    assert choose_severity(slack, incident, alice, "SEV1") == 200
    assert choose_status(slack, incident, alice, "resolved") == 200
    wait_for(lambda: not pending_effects(runtime))
    incident = fresh(runtime, incident)
    assert incident.channel_id
    assert "SEV1" in card_text(emulator, incident)
    assert "Resolved" in card_text(emulator, incident)
    assert "Resolved" in root_text(emulator, incident)
    assert emulator.channel(incident.channel_id).topic.value == blocks.channel_topic(
        runtime.services.incidents.snapshot(incident.id or 0)
    )


def test_an_older_state_never_overwrites_a_newer_one(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, alice: str
) -> None:
    """A redraw that is in flight while a newer change commits is drawn again."""
    incident = fresh(runtime, declare(slack, runtime.db, alice))
    held = emulator.hold("chat.update", lambda args: args.get("ts") == incident.card_ts)
    assert choose_status(slack, incident, alice, "identified", wait=False) == 200
    assert held.arrived.wait(10)
    # Acknowledged only once recorded: the newer state is in the database at this point.
    assert choose_status(slack, incident, alice, "monitoring", wait=False) == 200
    held.release()
    runtime.wait_idle()
    wait_for(lambda: not pending_effects(runtime))
    assert "Monitoring" in card_text(emulator, incident)
    card_updates = [
        call
        for call in emulator.calls_to("chat.update")
        if call.args.get("ts") == incident.card_ts and call.ok
    ]
    assert "Monitoring" in str(card_updates[-1].args["text"])


def test_slack_refusing_for_good_is_recorded_and_counted(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, alice: str
) -> None:
    incident = fresh(runtime, declare(slack, runtime.db, alice))
    emulator.fail_next("chat.update", "msg_too_long", times=5)
    assert choose_severity(slack, incident, alice, "SEV1") == 200
    runtime.wait_idle()
    wait_for(lambda: not pending_effects(runtime))
    refused = runtime.services.notifier.refused([incident.id or 0])
    assert ("card", "msg_too_long") in refused[incident.id or 0]
    kinds = [e.kind for e in timeline(runtime, incident.id or 0)]
    assert "slack_effect_failed" in kinds
    metrics = runtime.services.metrics.render().decode()
    assert 'firebreak_slack_effects_total{kind="card",outcome="failed"} 1.0' in metrics
    assert "firebreak_slack_effects_pending 0.0" in metrics
    slack.event({"type": "app_home_opened", "user": alice, "tab": "home"})
    home = emulator.home_view(alice)
    assert home is not None
    assert "Slack refused the card redraw (`msg_too_long`)" in str(home["blocks"])


def test_a_redelivered_status_change_tells_stakeholders_once(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, alice: str
) -> None:
    incident = fresh(runtime, declare(slack, runtime.db, alice))
    for _ in range(3):
        choose_status(slack, incident, alice, "resolved")
    runtime.wait_idle()
    assert incident.announcement_channel_id and incident.announcement_ts
    notices = [
        m
        for m in emulator.replies(incident.announcement_channel_id, incident.announcement_ts)
        if "is resolved" in str(m.get("text"))
    ]
    assert len(notices) == 1


def test_reconcile_redraws_a_card_that_differs_from_the_database(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, alice: str
) -> None:
    incident = fresh(runtime, declare(slack, runtime.db, alice))
    assert incident.channel_id and incident.card_ts
    # Redrawn once, so the card's redraw remembers drawing just what it draws next.
    assert choose_severity(slack, incident, alice, "SEV1") == 200
    bot = emulator.bot_user_id
    emulator.edit_message(incident.channel_id, incident.card_ts, "stale card", user_id=bot)
    services = runtime.services
    reconciler = Reconciler(
        services.settings, services.db, services.slack, services.metrics, services.notifier.kick
    )
    assert reconciler.run() == 1
    runtime.wait_idle()
    wait_for(lambda: card_text(emulator, incident) != "stale card")
    assert "SEV1" in card_text(emulator, incident)
    metrics = runtime.services.metrics.render().decode()
    assert 'firebreak_reconcile_repairs_total{surface="card"} 1.0' in metrics
    # Once repaired, nothing more to do.
    assert reconciler.run() == 0
    metrics = runtime.services.metrics.render().decode()
    assert 'firebreak_reconcile_repairs_total{surface="card"} 1.0' in metrics


def test_a_post_that_timed_out_but_landed_is_not_posted_again(
    emulator: SlackEmulator, database_url: str, announce_channel: str
) -> None:
    """Slack took longer than the client waits, then posted: the retry finds the post."""
    settings = make_settings(emulator, database_url, slack_timeout_seconds=1)
    runtime = build_runtime(settings)
    server = HttpServer(runtime.web, host="127.0.0.1", port=0, threads=4, max_body_bytes=1 << 20)
    server.start()
    try:
        slack = SlackDriver(server.url, SIGNING_SECRET, emulator, runtime)
        alice = emulator.user_by_name("alice").id
        incident = fresh(runtime, declare(slack, runtime.db, alice))
        channel = incident.channel_id
        assert channel
        slow_post = emulator.hold(
            "chat.postMessage",
            lambda args: args.get("channel") == channel and UPDATE_MARK in str(args.get("blocks")),
        )
        lookup = emulator.hold("conversations.history", lambda args: args.get("channel") == channel)
        post_update(slack, incident, alice, "Payments time out", wait=False)
        assert slow_post.arrived.wait(10)
        assert lookup.arrived.wait(10), "the timed-out post was not looked up"
        slow_post.release()  # Slack gets to it after all
        wait_for(lambda: len(messages_marked(emulator, channel, UPDATE_MARK)) == 1)
        lookup.release()
        runtime.wait_idle()
        wait_for(lambda: not pending_effects(runtime))
        assert len(messages_marked(emulator, channel, UPDATE_MARK)) == 1
        assert len(updates_in_thread(emulator, fresh(runtime, incident))) == 1
    finally:
        server.stop()
        runtime.close()


def _claim_a_line(runtime: Runtime, incident: Incident, text: str) -> Claim | None:
    """What a change does at the end of its transaction: record an effect and lease it."""
    assert incident.id is not None
    with runtime.db.session() as session:
        effects.say_in_channel(session, incident.id, text)
        return runtime.services.notifier.claim(session, incident.id)


def _lines(emulator: SlackEmulator, incident: Incident, text: str) -> int:
    assert incident.channel_id
    return sum(1 for m in emulator.messages(incident.channel_id) if m.get("text") == text)


def test_effects_handed_over_after_their_lease_lapsed_are_not_carried_out_twice(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    alice: str,
    database_url: str,
) -> None:
    """A change leases its effects for its own process; if that process takes them up
    only after the lease lapsed and another replica carried them out meanwhile, it leaves
    them alone."""
    incident = fresh(runtime, declare(slack, runtime.db, alice))
    runtime.wait_idle()
    claim = _claim_a_line(runtime, incident, "Handed over late")
    assert claim is not None
    time.sleep(2.2)  # the 2 s lease lapses
    other = build_runtime(make_settings(emulator, database_url))
    try:
        assert other.services.notifier.deliver_all_due() == 1
    finally:
        other.close()
    assert _lines(emulator, incident, "Handed over late") == 1
    runtime.services.notifier.deliver(incident.id or 0, claim)
    assert _lines(emulator, incident, "Handed over late") == 1
    assert not pending_effects(runtime)


def test_effects_handed_over_late_but_still_leased_are_carried_out_once(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, alice: str
) -> None:
    incident = fresh(runtime, declare(slack, runtime.db, alice))
    runtime.wait_idle()
    claim = _claim_a_line(runtime, incident, "Handed over in time")
    time.sleep(1)  # past a third of the 2 s lease: checked, and still this process's
    assert runtime.services.notifier.deliver_all_due() == 0  # leased: nothing else is due
    runtime.services.notifier.deliver(incident.id or 0, claim)
    assert _lines(emulator, incident, "Handed over in time") == 1
    assert not pending_effects(runtime)
