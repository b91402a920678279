"""Steps shared by the status page tests: publish updates through the real modal, read pages."""

from __future__ import annotations

from typing import Any

from app.store.models import Incident
from emulator import SlackEmulator
from emulator.driver import HttpResult, http_request
from tests.support.driver import SlackDriver
from tests.support.story import declare as declare_in_modal
from tests.support.story import incidents
from tests.support.updates import form_values, open_update_form


def declare(
    slack: SlackDriver, user: str, title: str, severity: str = "SEV2", *, private: bool = False
) -> Incident:
    result = declare_in_modal(slack, slack.emulator, user, title, severity, private=private)
    assert result.status == 200
    slack.wait()
    incident = incidents(slack.runtime.db)[-1]
    assert incident.channel_id is not None, "the incident channel was not created"
    return incident


def publish_values(public: bool) -> dict[str, Any]:
    chosen = [{"value": "public"}] if public else []
    return {"publish": {"value": {"type": "checkboxes", "selected_options": chosen}}}


def post_update(
    slack: SlackDriver,
    incident: Incident,
    user: str,
    know: str,
    *,
    public: bool,
    doing: str = "Rolling back",
    status: str = "investigating",
    minutes: str = "30",
) -> dict[str, Any]:
    """Fill and submit the stakeholder update modal; returns the modal as Slack showed it."""
    view = open_update_form(slack, incident, user)
    values = {**form_values(know, doing, minutes, status), **publish_values(public)}
    result = slack.submit(view, values, user=user)
    assert result.status == 200 and not result.body, result.body
    return view


def get(base_url: str, path: str, headers: dict[str, str] | None = None) -> HttpResult:
    return http_request(base_url + path, headers=headers)


def text_of(result: HttpResult) -> str:
    assert result.status == 200, (result.status, result.body[:300])
    return result.body.decode()


def ephemerals(emulator: SlackEmulator, channel: str) -> list[dict[str, Any]]:
    return list(emulator.channel(channel).ephemeral)


def header(result: HttpResult, name: str) -> str:
    """A response header, whatever case the server wrote its name in."""
    found = {key.lower(): value for key, value in result.headers.items()}
    return found[name.lower()]
