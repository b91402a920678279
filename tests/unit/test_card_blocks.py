"""The incident card as Block Kit: every configured role is shown and assignable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.config import DEFAULT_SEVERITIES, MAX_ROLES, Settings
from app.incidents.rules import Status
from app.incidents.snapshot import IncidentSnapshot
from app.slack.outbound import blocks

ROLES = ["commander", "comms", "scribe", "ops_lead", "liaison", "tech_lead", "legal"]


def _snapshot(roles: dict[str, str]) -> IncidentSnapshot:
    return IncidentSnapshot(
        id=7,
        number=7,
        title="Checkout fails",
        summary="",
        severity="SEV2",
        status=Status.INVESTIGATING,
        is_private=False,
        declared_by="U1",
        declared_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        roles=roles,
        channel_id="C1",
    )


def test_every_configured_role_has_a_select_on_the_card() -> None:
    card = blocks.incident_card(_snapshot({"legal": "U9"}), ROLES, DEFAULT_SEVERITIES)

    selects = [
        element
        for block in card
        if block["type"] == "actions" and block["block_id"].startswith("roles")
        for element in block["elements"]
    ]
    assert [s["action_id"] for s in selects] == [f"role:{role}" for role in ROLES]
    assert next(s for s in selects if s["action_id"] == "role:legal")["initial_user"] == "U9"
    # The listener reads the incident id from the end of each block id.
    assert all(
        block["block_id"].rsplit(":", 1)[-1] == "7" for block in card if block["type"] == "actions"
    )


def test_every_configured_role_is_shown_with_its_holder() -> None:
    card = blocks.incident_card(_snapshot({"legal": "U9"}), ROLES, DEFAULT_SEVERITIES)

    texts = [f["text"] for block in card for f in block.get("fields", [])]
    assert all(len(block.get("fields", [])) <= 10 for block in card)
    assert "*Legal*\n<@U9>" in texts
    assert len(texts) == 2 + len(ROLES)


def test_more_roles_than_the_card_can_hold_are_refused_at_start_up() -> None:
    too_many = ["commander", *(f"role_{n}" for n in range(MAX_ROLES))]
    with pytest.raises(ValueError, match=f"at most {MAX_ROLES} roles"):
        Settings(_env_file=None, roles=too_many)
