"""What the stakeholder update form accepts."""

from __future__ import annotations

from typing import Any

from app.incidents.updates import UpdateRequest, validate_update


def _request(**values: str) -> UpdateRequest:
    fields: dict[str, Any] = {
        "status": "identified",
        "what_we_know": "EU card payments fail",
        "what_we_are_doing": "Rolling back",
        "next_update_minutes": "30",
        **values,
    }
    return UpdateRequest(
        incident_id=1,
        user_id="U1",
        status=fields["status"],
        what_we_know=fields["what_we_know"],
        what_we_are_doing=fields["what_we_are_doing"],
        next_update_minutes=fields["next_update_minutes"],
    )


def test_a_complete_update_is_valid() -> None:
    assert validate_update(_request()) == {}
    assert validate_update(_request(next_update_minutes="0", what_we_are_doing="")) == {}


def test_each_bad_field_is_named() -> None:
    assert set(validate_update(_request(status="fixed"))) == {"status"}
    assert set(validate_update(_request(what_we_know="  "))) == {"know"}
    assert set(validate_update(_request(what_we_know="x" * 1501))) == {"know"}
    assert set(validate_update(_request(what_we_are_doing="x" * 1501))) == {"doing"}
    for minutes in ("soon", "-5", "1441", ""):
        assert set(validate_update(_request(next_update_minutes=minutes))) == {"next"}
