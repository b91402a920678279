"""The modals and the App Home as Block Kit: within Slack's documented limits (checked by
the emulator's view rules), every input where its listener reads it, user text escaped."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from app.config import DEFAULT_SEVERITIES
from app.incidents.rules import MAX_TITLE, UPDATE_TEXT_LIMIT, Status
from app.incidents.snapshot import IncidentSnapshot
from app.insight.figures import OverdueAction
from app.slack.outbound import blocks, update_blocks
from emulator.state import view_problems

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MARKUP = "<!channel> *bold* <@U00000009>"


def _incident(number: int = 7, **changes: Any) -> IncidentSnapshot:
    return replace(
        IncidentSnapshot(
            id=number,
            number=number,
            title="Checkout fails",
            summary="",
            severity="SEV2",
            status=Status.INVESTIGATING,
            is_private=False,
            declared_by="U1",
            declared_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
            roles={"commander": "U1"},
            channel_id="C1",
        ),
        **changes,
    )


def _inputs(view: dict[str, Any]) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b["type"] == "input"]


def _input(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def _valid_modal(view: dict[str, Any]) -> None:
    assert view_problems(view, {"modal"}) == []
    # Listeners read each input by its block id: its one element has the action id "value".
    assert all(b["element"]["action_id"] == "value" for b in view["blocks"] if b["type"] == "input")


def _texts(view: dict[str, Any]) -> str:
    return " ".join(
        str(b["text"]["text"]) for b in view["blocks"] if isinstance(b.get("text"), dict)
    )


# --- declare ----------------------------------------------------------------------------


def test_the_declare_modal_asks_for_what_declaring_needs() -> None:
    view = blocks.declare_modal(
        DEFAULT_SEVERITIES, "SEV3", private_metadata="https://hooks.example/1"
    )
    _valid_modal(view)
    assert view["callback_id"] == blocks.DECLARE_CALLBACK
    assert view["private_metadata"] == "https://hooks.example/1"
    assert _inputs(view) == ["title", "severity", "summary", "impact_started", "options"]
    assert _input(view, "title")["element"]["max_length"] == MAX_TITLE
    assert _input(view, "impact_started").get("optional") is True
    ticked = _input(view, "options")["element"]["initial_options"]
    assert [o["value"] for o in ticked] == ["commander"]


@pytest.mark.parametrize("default", ["SEV1", "SEV4"])
def test_the_declare_modal_starts_at_the_default_severity(default: str) -> None:
    severity = _input(blocks.declare_modal(DEFAULT_SEVERITIES, default), "severity")["element"]
    assert severity["initial_option"]["value"] == default
    assert [o["value"] for o in severity["options"]] == [s.name for s in DEFAULT_SEVERITIES]


def test_a_title_carried_into_the_declare_modal_is_cut_to_fit() -> None:
    view = blocks.declare_modal(DEFAULT_SEVERITIES, "SEV3", title="x" * (MAX_TITLE + 50))
    _valid_modal(view)
    assert _input(view, "title")["element"]["initial_value"] == "x" * MAX_TITLE


def test_the_declaring_modal_names_the_recorded_incident_and_asks_nothing() -> None:
    view = blocks.declaring_modal(_incident(title=MARKUP))
    assert view_problems(view, {"modal"}) == []
    assert _inputs(view) == [] and "submit" not in view
    assert view["title"]["text"] == "INC-7"
    text = _texts(view)
    assert "*INC-7* is recorded" in text and "<!channel>" not in text


# --- timeline picker and action items ---------------------------------------------------


def test_the_timeline_picker_offers_open_incidents_up_to_slacks_limit() -> None:
    many = [_incident(n, title=f"Outage {n}") for n in range(1, blocks.MAX_SELECT_OPTIONS + 30)]
    view = blocks.timeline_picker_modal(many, '{"channel": "C9"}', "Rolled back deploy 42")
    _valid_modal(view)
    assert view["callback_id"] == blocks.TIMELINE_PICK_CALLBACK
    options = _input(view, "incident")["element"]["options"]
    assert len(options) == blocks.MAX_SELECT_OPTIONS
    assert (options[0]["text"]["text"], options[0]["value"]) == ("INC-1 Outage 1", "1")


def test_the_timeline_picker_quotes_the_message_escaped_and_short() -> None:
    view = blocks.timeline_picker_modal([_incident()], "{}", MARKUP + "\n" + "y" * 900)
    quoted = view["blocks"][0]["text"]["text"]
    assert quoted.startswith(">&lt;!channel&gt;")
    assert len(quoted) < 600
    empty = blocks.timeline_picker_modal([_incident()], "{}", "  ")
    assert empty["blocks"][0]["text"]["text"] == ">(no text)"


def test_the_action_item_modal_belongs_to_its_incident() -> None:
    view = blocks.action_item_modal(_incident(12))
    _valid_modal(view)
    assert view["callback_id"] == blocks.ACTION_ITEM_CALLBACK
    assert view["private_metadata"] == "12"
    assert _inputs(view) == ["text", "owner", "due"]
    assert [_input(view, b).get("optional", False) for b in _inputs(view)] == [False, True, True]


# --- stakeholder updates ----------------------------------------------------------------


def test_the_update_modal_starts_from_the_incidents_status_and_cadence() -> None:
    view = update_blocks.update_modal(_incident(status=Status.IDENTIFIED), 45)
    _valid_modal(view)
    assert view["callback_id"] == update_blocks.UPDATE_CALLBACK
    assert view["private_metadata"] == "7"
    assert _inputs(view) == ["status", "know", "doing", "next", update_blocks.PUBLISH_BLOCK]
    assert _input(view, "status")["element"]["initial_option"]["value"] == "identified"
    assert _input(view, "next")["element"]["initial_value"] == "45"
    assert "initial_value" not in _input(view, "know")["element"]


def test_what_we_know_carried_into_the_update_modal_is_cut_to_fit() -> None:
    view = update_blocks.update_modal(_incident(), 30, "z" * (UPDATE_TEXT_LIMIT + 1))
    _valid_modal(view)
    assert _input(view, "know")["element"]["initial_value"] == "z" * UPDATE_TEXT_LIMIT


@pytest.mark.parametrize(
    ("private", "publishable", "offered"),
    [(False, True, True), (True, True, False), (False, False, False)],
)
def test_publishing_is_offered_only_for_a_public_incident_with_a_status_page(
    private: bool, publishable: bool, offered: bool
) -> None:
    view = update_blocks.update_modal(
        _incident(is_private=private), 30, publishable=publishable, public=True
    )
    assert (update_blocks.PUBLISH_BLOCK in _inputs(view)) is offered


def test_the_closing_note_modal_has_publishing_ticked() -> None:
    ticked = update_blocks.update_modal(_incident(status=Status.RESOLVED), 0, public=True)
    element = _input(ticked, update_blocks.PUBLISH_BLOCK)["element"]
    assert [o["value"] for o in element["initial_options"]] == [update_blocks.PUBLISH_VALUE]
    unticked = update_blocks.update_modal(_incident(), 30)
    assert "initial_options" not in _input(unticked, update_blocks.PUBLISH_BLOCK)["element"]


def test_the_closing_note_offer_is_a_button_naming_its_incident() -> None:
    text, offer = update_blocks.closing_note_offer(_incident(9))
    assert text.startswith("INC-9 is resolved.")
    [button] = offer[1]["elements"]
    assert offer[1]["block_id"] == "closing:9"
    assert (button["action_id"], button["value"]) == (update_blocks.CLOSING_NOTE_ACTION, "9")


# --- App Home ---------------------------------------------------------------------------


def _home(**kwargs: Any) -> dict[str, Any]:
    view = blocks.home_view(now=NOW, **{"incidents": [], "my_roles": [], **kwargs})
    assert view_problems(view, {"home"}) == []
    return view


def test_an_empty_home_offers_declaring_and_says_all_is_quiet() -> None:
    view = _home()
    assert view["type"] == "home"
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [blocks.DECLARE_BUTTON]
    text = " ".join(
        str(e.get("text"))
        for b in view["blocks"]
        for e in [b.get("text"), *b.get("elements", [])]
        if isinstance(e, dict)
    )
    assert "No open incidents." in text
    assert "You hold no incident roles." in text and "None overdue." in text


def test_the_home_lists_roles_overdue_items_and_exports_escaped() -> None:
    incident = _incident(title=MARKUP)
    overdue = OverdueAction("INC-7", MARKUP, "U1", date(2026, 11, 20), 11)
    view = _home(
        incidents=[incident],
        my_roles=[(incident, "commander")],
        recent=[incident],
        numbers=["Incidents: 3"],
        overdue=[overdue],
    )
    texts = _texts(view)
    assert "Commander of *INC-7*" in texts
    assert "(due 2026-11-20, 11 days overdue)" in texts
    assert "*Last 30 days*\nIncidents: 3" in texts
    assert "<!channel>" not in texts and "&lt;!channel&gt;" in texts
    exports = [b["accessory"] for b in view["blocks"] if "accessory" in b]
    assert [(e["action_id"], e["value"]) for e in exports] == [(blocks.EXPORT_ACTION, "7:markdown")]


def test_a_busy_home_stays_within_slacks_hundred_blocks() -> None:
    many = [_incident(n) for n in range(1, 200)]
    view = _home(incidents=many, my_roles=[(i, "commander") for i in many], recent=many)
    assert len(view["blocks"]) <= 100
