"""Hostile and malformed input, correctly signed: no 5xx, no crash, nothing written."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from app.runtime import Runtime
from app.slack.outbound import blocks
from app.store.models import Incident, TimelineEvent
from emulator import SlackEmulator, payloads
from emulator.driver import http_request
from emulator.signing import signed_headers
from tests.conftest import SIGNING_SECRET
from tests.reliability.helpers import declaration, incidents
from tests.support.driver import SlackDriver

TEAM = "T0FIREBRK"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
nasty_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60
) | st.sampled_from(["<!channel>", "<!here>", "<@U00000002>", "<!everyone>", "\x00\x1b[31m", "‮"])


def _shapes() -> st.SearchStrategy[dict[str, Any]]:
    """Slack-shaped envelopes with fields missing, mistyped or unknown."""
    view = st.fixed_dictionaries(
        {"callback_id": st.sampled_from([blocks.DECLARE_CALLBACK, "nope", ""])},
        optional={
            "id": json_values,
            "hash": json_values,
            "state": json_values,
            "private_metadata": json_values,
        },
    )
    action = st.fixed_dictionaries(
        {
            "action_id": st.sampled_from(
                [
                    blocks.STATUS_ACTION,
                    blocks.SEVERITY_ACTION,
                    blocks.RESOLVE_ACTION,
                    "role:commander",
                    "unknown",
                ]
            )
        },
        optional={
            "block_id": st.sampled_from(["controls:1", "controls:x", "roles:999", ""]),
            "selected_option": json_values,
            "value": json_values,
            "selected_user": json_values,
            "action_ts": st.text(max_size=12),
        },
    )
    return st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("view_submission"), "view": view},
            optional={"user": json_values, "team": json_values},
        ),
        st.fixed_dictionaries(
            {"type": st.just("block_actions"), "actions": st.lists(action, max_size=2)},
            optional={"user": json_values, "team": json_values, "trigger_id": json_values},
        ),
        st.fixed_dictionaries(
            {"type": st.just("event_callback"), "event": json_values},
            optional={"event_id": json_values, "team_id": json_values},
        ),
        st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    )


def _bodies() -> st.SearchStrategy[tuple[bytes, str]]:
    form = "application/x-www-form-urlencoded"
    return st.one_of(
        st.tuples(
            st.binary(max_size=200),
            st.sampled_from([form, "application/json", "text/plain", "image/png", ""]),
        ),
        st.tuples(json_values.map(lambda v: json.dumps(v).encode()), st.just("application/json")),
        st.tuples(
            _shapes().map(lambda p: urlencode({"payload": json.dumps(p)}).encode()), st.just(form)
        ),
        st.tuples(_shapes().map(lambda p: json.dumps(p).encode()), st.just("application/json")),
        st.tuples(
            st.dictionaries(
                st.sampled_from(
                    [
                        "command",
                        "text",
                        "user_id",
                        "team_id",
                        "trigger_id",
                        "channel_id",
                        "response_url",
                    ]
                ),
                nasty_text,
                max_size=7,
            ).map(lambda f: urlencode(f).encode()),
            st.just(form),
        ),
    )


def _mrkdwn(value: Any) -> list[str]:
    """Every text Slack parses for mentions: message `text` and mrkdwn text objects."""
    if isinstance(value, list):
        return [text for item in value for text in _mrkdwn(item)]
    if not isinstance(value, dict):
        return []
    text = value.get("text")
    found = [text] if isinstance(text, str) and value.get("type") != "plain_text" else []
    return found + [t for item in value.values() for t in _mrkdwn(item)]


def _count(runtime: Runtime, model: type[Any]) -> int:
    with runtime.db.session() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=_bodies())
def test_malformed_signed_requests_never_fail(
    slack: SlackDriver, runtime: Runtime, body: tuple[bytes, str]
) -> None:
    data, content_type = body
    before = (_count(runtime, Incident), _count(runtime, TimelineEvent))
    result = http_request(slack.url, data, signed_headers(SIGNING_SECRET, data, content_type))
    slack.wait()
    # Errors Bolt meets on such shapes reach the error handler, which answers 400.
    assert result.status < 500, result
    if result.status >= 400:
        assert (_count(runtime, Incident), _count(runtime, TimelineEvent)) == before


def test_body_above_the_limit_is_refused(slack: SlackDriver, runtime: Runtime) -> None:
    data = b"payload=" + b"x" * runtime.settings.max_body_bytes
    headers = signed_headers(SIGNING_SECRET, data, "application/x-www-form-urlencoded")
    assert http_request(slack.url, data, headers).status == 413
    assert _count(runtime, Incident) == 0


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(title=nasty_text.filter(lambda t: t.strip()))
def test_titles_with_markup_ping_no_one(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, title: str
) -> None:
    payload = declaration(
        emulator.team_id,
        emulator.user_by_name("alice").id,
        f"{title} <!channel> <!here> <@U00000003>",
    )
    body = payloads.interactive_body(payload)
    result = http_request(
        slack.url, body, signed_headers(SIGNING_SECRET, body, "application/x-www-form-urlencoded")
    )
    slack.wait()
    assert result.status == 200
    for call in emulator.calls_to("chat.postMessage") + emulator.calls_to("chat.update"):
        parsed = " ".join(_mrkdwn(call.args))
        for ping in ("<!channel>", "<!here>", "<!everyone>", "<@U00000003>"):
            assert ping not in parsed, (ping, call.method)
    assert runtime.services.metrics.listener_errors._value.get() == 0
    assert incidents(runtime)
