"""Only channel members change an incident; private incidents stay private."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from app.runtime import Runtime
from app.slack.outbound import blocks
from app.store.models import RoleAssignment
from emulator import SlackEmulator
from tests.reliability.helpers import declare, incidents
from tests.support.driver import SlackDriver


def _select(incident_id: int, action_id: str, **value: Any) -> dict[str, Any]:
    block = "roles" if action_id.startswith(blocks.ROLE_ACTION_PREFIX) else "controls"
    return {
        "type": "static_select",
        "action_id": action_id,
        "block_id": f"{block}:{incident_id}",
        **value,
    }


def test_non_member_cannot_change_an_incident(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: dict[str, str],
    announce_channel: str,
) -> None:
    declare(slack, people["alice"], "Login broken")
    [incident] = incidents(runtime)
    assert incident.id is not None
    emulator.reset_calls()
    slack.action(
        _select(incident.id, blocks.SEVERITY_ACTION, selected_option={"value": "SEV1"}),
        user=people["bob"],
        channel=incident.channel_id,
    )
    slack.command("status resolved", user=people["bob"], channel=incident.channel_id or "")
    [after] = incidents(runtime)
    assert (after.severity, after.status) == ("SEV2", "investigating")
    told = [r.payload["text"] for r in emulator.responses]
    assert len(told) == 2 and all("Only members of" in text for text in told)
    assert emulator.calls_to("chat.update") == []


def test_member_can_change_it(
    slack: SlackDriver, runtime: Runtime, people: dict[str, str], announce_channel: str
) -> None:
    declare(slack, people["alice"], "Login broken")
    [incident] = incidents(runtime)
    slack.command("severity sev1", user=people["alice"], channel=incident.channel_id or "")
    assert incidents(runtime)[0].severity == "SEV1"


def test_roles_refuse_bots_and_deactivated_people(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: dict[str, str],
    announce_channel: str,
) -> None:
    declare(slack, people["alice"], "Search slow")
    [incident] = incidents(runtime)
    assert incident.id is not None
    for name in ("pagerbot", "erin"):
        slack.action(
            _select(
                incident.id,
                f"{blocks.ROLE_ACTION_PREFIX}comms",
                selected_user=emulator.user_by_name(name).id,
            ),
            user=people["alice"],
            channel=incident.channel_id,
        )
    told = [r.payload["text"] for r in emulator.responses]
    assert any("is a bot and cannot be comms" in text for text in told)
    assert any("is deactivated and cannot be comms" in text for text in told)
    with runtime.db.session() as session:
        roles = [a.role for a in session.execute(select(RoleAssignment)).scalars()]
    assert roles == ["commander"]


def test_private_incident_is_invisible_to_non_members(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: dict[str, str],
    announce_channel: str,
) -> None:
    declare(slack, people["alice"], "Secret breach", private=True)
    declare(slack, people["alice"], "Public outage")
    emulator.reset_calls()
    for who in ("alice", "bob"):
        slack.command("list", user=people[who], channel="C0")
        slack.event({"type": "app_home_opened", "user": people[who], "tab": "home"})
    alice_list, bob_list = (r.payload["text"] for r in emulator.responses)
    assert "Secret breach" in alice_list and "Public outage" in alice_list
    assert "Secret breach" not in bob_list and "INC-1" not in bob_list
    assert "Public outage" in bob_list
    alice_home = json.dumps(emulator.home_view(people["alice"]))
    bob_home = json.dumps(emulator.home_view(people["bob"]))
    assert "Secret breach" in alice_home
    assert "Secret breach" not in bob_home and "Public outage" in bob_home
    announced = json.dumps(emulator.messages(announce_channel))
    assert "Secret breach" not in announced and "Public outage" in announced


def test_commander_can_act_while_the_invite_is_still_failing(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: dict[str, str],
    announce_channel: str,
) -> None:
    """The declarer and role holders are the people the invite step adds: a failing invite
    must not tell the commander to ask the commander to invite them."""
    emulator.fail_next("conversations.invite", "internal_error", times=5)
    declare(slack, people["alice"], "Login broken")
    [incident] = incidents(runtime)
    assert incident.id is not None
    assert people["alice"] not in emulator.channel(incident.channel_id or "").members
    slack.action(
        _select(incident.id, blocks.SEVERITY_ACTION, selected_option={"value": "SEV1"}),
        user=people["alice"],
        channel=incident.channel_id,
    )
    assert incidents(runtime)[0].severity == "SEV1"
    assert not any("invite you" in r.payload.get("text", "") for r in emulator.responses)


def _severity(slack: SlackDriver, incident_id: int, user: str, channel: str, value: str) -> None:
    slack.action(
        _select(incident_id, blocks.SEVERITY_ACTION, selected_option={"value": value}),
        user=user,
        channel=channel,
    )


def test_membership_is_asked_afresh_for_joiners_and_after_a_leave(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: dict[str, str],
    announce_channel: str,
) -> None:
    """A recent member list lets members act without a Web API call before the ack; a
    newcomer is never refused for it, and someone who left is refused once Slack says so."""
    declare(slack, people["alice"], "Login broken")
    [incident] = incidents(runtime)
    assert incident.id is not None and incident.channel_id is not None
    channel, bob = incident.channel_id, people["bob"]
    _severity(slack, incident.id, bob, channel, "SEV1")
    assert incidents(runtime)[0].severity == "SEV2"  # not a member yet
    emulator.join(channel, bob)
    _severity(slack, incident.id, bob, channel, "SEV1")
    assert incidents(runtime)[0].severity == "SEV1"  # joined: asked afresh
    emulator.reset_calls()
    _severity(slack, incident.id, bob, channel, "SEV2")
    assert incidents(runtime)[0].severity == "SEV2"
    assert emulator.calls_to("conversations.members") == []  # the recent list answered
    emulator.leave(channel, bob)
    slack.event({"type": "member_left_channel", "channel": channel, "user": bob})
    _severity(slack, incident.id, bob, channel, "SEV1")
    assert incidents(runtime)[0].severity == "SEV2"
    assert "Only members of" in emulator.responses[-1].payload["text"]
