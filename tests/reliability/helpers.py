"""Shared steps for the reliability tests: declare through the modal, read the database."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlmodel import select

from app.config import DEFAULT_SEVERITIES
from app.runtime import Runtime
from app.slack.outbound import blocks
from app.store.models import Incident, ProcessedRequest, TimelineEvent
from emulator import SlackEmulator, payloads
from emulator.driver import FORM, HttpResult, http_request
from emulator.signing import signed_headers
from tests.conftest import SIGNING_SECRET
from tests.support.driver import SlackDriver


def declare_values(title: str, severity: str = "SEV2", private: bool = False) -> dict[str, Any]:
    options = [{"value": "commander"}] + ([{"value": "private"}] if private else [])
    return {
        "title": {"value": {"type": "plain_text_input", "value": title}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": severity}}},
        "summary": {"value": {"type": "plain_text_input", "value": ""}},
        "options": {"value": {"type": "checkboxes", "selected_options": options}},
    }


def declare_view() -> dict[str, Any]:
    view = blocks.declare_modal(DEFAULT_SEVERITIES, "SEV3")
    return {**view, "id": f"V{time.monotonic_ns()}", "hash": "h1"}


def declaration(team_id: str, user: str, title: str, *, private: bool = False) -> dict[str, Any]:
    """A declare-modal submission as Slack sends it."""
    return payloads.view_submission(
        team_id=team_id,
        user_id=user,
        view=declare_view(),
        values=declare_values(title, private=private),
    )


def declare(slack: SlackDriver, user: str, title: str, *, private: bool = False) -> dict[str, Any]:
    """Submit the declare modal; return the payload so a test can deliver it again."""
    payload = declaration(slack.team_id, user, title, private=private)
    result = deliver(slack, payload)
    assert result.status == 200
    return payload


def deliver(
    slack: SlackDriver, payload: dict[str, Any], *, retry: int = 0, wait: bool = True
) -> HttpResult:
    """POST an interaction payload signed now; `retry` sets X-Slack-Retry-Num and makes the
    timestamp differ, as Slack's redeliveries do."""
    body = payloads.interactive_body(payload)
    return post_signed(slack, body, FORM, retry=retry, wait=wait)


def deliver_event(slack: SlackDriver, envelope: dict[str, Any], *, retry: int = 0) -> HttpResult:
    return post_signed(slack, json.dumps(envelope).encode(), "application/json", retry=retry)


def post_signed(
    slack: SlackDriver, body: bytes, content_type: str, *, retry: int = 0, wait: bool = True
) -> HttpResult:
    headers = signed_headers(SIGNING_SECRET, body, content_type, int(time.time()) + 10 * retry)
    if retry:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    result = http_request(slack.url, body, headers)
    if wait:
        slack.wait()
    return result


def incidents(runtime: Runtime) -> list[Incident]:
    with runtime.db.session() as session:
        return list(session.execute(select(Incident).order_by(Incident.id)).scalars())  # type: ignore[arg-type]


def timeline(runtime: Runtime, incident_id: int) -> list[TimelineEvent]:
    with runtime.db.session() as session:
        rows = session.execute(
            select(TimelineEvent)
            .where(TimelineEvent.incident_id == incident_id)
            .order_by(TimelineEvent.id)  # type: ignore[arg-type]
        )
        return list(rows.scalars())


def processed(runtime: Runtime) -> list[ProcessedRequest]:
    with runtime.db.session() as session:
        return list(session.execute(select(ProcessedRequest)).scalars())


def card_messages(emulator: SlackEmulator, channel_id: str) -> list[dict[str, Any]]:
    return [m for m in emulator.messages(channel_id) if m.get("blocks") and m.get("bot_id")]


def now_url(base: str, path: str) -> HttpResult:
    return http_request(base + path)
