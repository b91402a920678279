"""A press acknowledged by a replica that is then killed (SIGKILL) is not lost.

The press is recorded with its Slack effects before the ack; the replica dies while
telling Slack; another replica finds the pending effects and shows the change, once.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.slack.outbound import blocks
from app.store.database import Database
from app.store.models import Incident
from emulator import SlackEmulator, payloads
from tests.reliability.helpers import declaration
from tests.reliability.serve import ServeProcess, wait_for

FAST_TAKEOVER = {
    "FIREBREAK_EFFECTS_INTERVAL_SECONDS": "0.2",
    "FIREBREAK_EFFECTS_LEASE_SECONDS": "1",
}


def _incident(db: Database) -> Incident | None:
    with db.session() as session:
        return session.execute(select(Incident)).scalars().first()


def _severity_press(emulator: SlackEmulator, user: str, incident: Incident) -> dict[str, object]:
    return payloads.block_actions(
        team_id=emulator.team_id,
        user_id=user,
        actions=[
            {
                "type": "static_select",
                "action_id": blocks.SEVERITY_ACTION,
                "block_id": f"controls:{incident.id}",
                "selected_option": {"value": "SEV1"},
            }
        ],
        trigger_id=emulator.new_trigger_id(),
        response_url=emulator.new_response_url(),
        channel_id=incident.channel_id,
    )


def test_a_press_is_not_lost_when_the_replica_dies_right_after_the_ack(
    emulator: SlackEmulator, database_url: str, announce_channel: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    db.migrate()
    alice = emulator.user_by_name("alice").id
    first = ServeProcess(emulator, database_url, tmp_path, FAST_TAKEOVER)
    try:
        assert first.submit(declaration(emulator.team_id, alice, "Checkout down")).status == 200
        wait_for(lambda: bool((i := _incident(db)) and i.setup_complete))
        incident = _incident(db)
        assert incident is not None and incident.channel_id and incident.card_ts
        card_ts = incident.card_ts
        held = emulator.hold("chat.update", lambda args: args.get("ts") == card_ts)

        assert first.submit(_severity_press(emulator, alice, incident)).status == 200
        assert held.arrived.wait(30), "the card was never redrawn"
    finally:
        first.kill()
    # The dead replica's call never lands: Slack answers it with an error.
    emulator.fail_next("chat.update", "internal_error")
    held.release()
    stored = _incident(db)
    assert stored is not None and stored.severity == "SEV1"  # recorded before the ack

    second = ServeProcess(emulator, database_url, tmp_path, FAST_TAKEOVER)
    try:
        channel = incident.channel_id

        def card_text() -> str:
            card = next(m for m in emulator.messages(channel) if m["ts"] == card_ts)
            return str(card["text"])

        wait_for(lambda: "SEV1" in card_text())
        wait_for(lambda: "SEV1" in emulator.channel(channel).topic.value)
    finally:
        second.terminate()
    lines = [m for m in emulator.messages(channel) if "raised severity" in str(m.get("text"))]
    assert len(lines) == 1
    escalations = [
        m for m in emulator.messages(announce_channel) if "escalated to SEV1" in str(m.get("text"))
    ]
    assert len(escalations) == 1
    db.dispose()
