"""The alert message as Block Kit: pure, escaped, within Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from app.alerts import blocks as alert_blocks
from app.alerts.catalog import CatalogService
from app.config import DEFAULT_SEVERITIES

T0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def view(**changes: object) -> alert_blocks.GroupView:
    values: dict[str, object] = {
        "id": 7,
        "title": "HighErrorRate <!channel>",
        "channel": "alerts",
        "service": "checkout",
        "severity": "critical",
        "alerts": [
            alert_blocks.AlertLine(f"Errors on web-{n}", "firing", T0, None, 1) for n in range(40)
        ],
    }
    values.update(changes)
    return alert_blocks.GroupView(**values)  # type: ignore[arg-type]


def actions(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        str(element["action_id"])
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_sender_text_is_escaped_and_long_groups_are_cut() -> None:
    message = alert_blocks.group_message(view())
    text = json.dumps(message, ensure_ascii=False)
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text
    assert "…and 25 more" in text
    assert alert_blocks.group_text(view()) == "[FIRING:40] HighErrorRate &lt;!channel&gt;"


def test_controls_follow_the_state() -> None:
    fresh = alert_blocks.group_message(view())
    assert actions(fresh) == ["alert_ack", "alert_declare", "alert_attach", "alert_silence"]
    linked = alert_blocks.group_message(
        view(acknowledged_by="U1", acknowledged_at=T0, incident_reference="INC-3")
    )
    assert actions(linked) == ["alert_silence"]
    done = alert_blocks.group_message(
        view(
            alerts=[alert_blocks.AlertLine("x", "resolved", T0, None, 1)],
            incident_reference="INC-3",
        )
    )
    assert actions(done) == []


def test_a_private_incident_is_not_named() -> None:
    text = json.dumps(
        alert_blocks.group_message(
            view(incident_reference="INC-9", incident_channel_id="C9", incident_private=True)
        )
    )
    assert "Linked to a private incident" in text
    assert "INC-9" not in text and "C9" not in text


def test_catalog_facts_mention_owners_and_link_the_runbook() -> None:
    entry = CatalogService(
        owners=["U0123ABCD", "S0999XYZ"], runbook="https://runbooks.example.com/c"
    )
    text = json.dumps(alert_blocks.group_message(view(catalog=entry)))
    assert "<@U0123ABCD> <!subteam^S0999XYZ>" in text
    assert "<https://runbooks.example.com/c|Runbook>" in text


def test_declare_modal_is_prefilled_from_the_group() -> None:
    modal = alert_blocks.declare_modal(view(), DEFAULT_SEVERITIES, "SEV3", ["billing", "checkout"])
    assert modal["callback_id"] == alert_blocks.DECLARE_CALLBACK
    assert modal["private_metadata"] == "7"
    assert modal["blocks"][1]["element"]["initial_option"]["value"] == "SEV1"
    assert [b["block_id"] for b in modal["blocks"]] == [
        "title",
        "severity",
        "service",
        "summary",
        "options",
    ]
    assert modal["blocks"][2]["element"]["initial_option"]["value"] == "checkout"
