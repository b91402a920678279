"""What a sender without the signing secret can make Firebreak do: refuse, briefly."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator

import pytest
from slack_bolt.logger import get_bolt_logger
from slack_bolt.middleware.request_verification import RequestVerification

from app.config import LogFormat
from app.logging import configure_logging
from app.runtime import Runtime
from emulator import SlackEmulator, payloads
from emulator.driver import FORM, http_request
from emulator.signing import signed_headers
from tests.conftest import SIGNING_SECRET
from tests.support.driver import SlackDriver

JSON = "application/json"


@pytest.fixture
def console_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    configure_logging(LogFormat.CONSOLE, "INFO", stream=stream)
    yield stream
    root.handlers, _ = saved
    root.setLevel(saved[1])


def _slack_like_body(emulator: SlackEmulator, filler: int = 0) -> bytes:
    fields = payloads.slash_command(
        team_id=emulator.team_id,
        user_id="U1",
        channel_id="C1",
        text="list\n2026-01-01 forged_line level=critical" + "x" * filler,
        trigger_id=emulator.new_trigger_id(),
        response_url=emulator.new_response_url(),
    )
    return payloads.form_body({**fields, "token": "legacy-verification-token"})


def test_unsigned_bodies_are_refused_with_one_fixed_log_line(
    console_log: io.StringIO, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    assert slack.runtime.identity.wait(10)  # its start-up line is written by now
    start = len(console_log.getvalue())
    body = _slack_like_body(emulator, filler=900_000)
    forged = {
        "Content-Type": FORM,
        "X-Slack-Signature": "v0=" + "0" * 64,
        "X-Slack-Request-Timestamp": str(int(time.time())),
    }
    for headers in ({"Content-Type": FORM}, forged, forged):
        assert http_request(slack.url, body, headers).status == 401

    output = console_log.getvalue()[start:]
    assert len(output) < 500, output[:500]
    [line] = output.splitlines()
    assert "unverified_requests_refused" in line
    for leaked in ("forged_line", "legacy-verification-token", emulator.base_url, "xxxx"):
        assert leaked not in output
    assert emulator.responses == []


def test_a_bad_timestamp_is_refused_without_an_error(
    console_log: io.StringIO, slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime
) -> None:
    body = _slack_like_body(emulator)
    for timestamp in ("soon", "1e9", "-5", "17.5", "9" * 400):
        headers = signed_headers(SIGNING_SECRET, body, FORM)
        headers["X-Slack-Request-Timestamp"] = timestamp
        assert http_request(slack.url, body, headers).status == 401

    output = console_log.getvalue()
    assert "listener_failed" not in output
    assert "[error" not in output
    assert "firebreak_listener_errors_total 0.0" in runtime.services.metrics.render().decode()
    assert emulator.responses == []


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_deeply_nested_json_gets_a_4xx(
    slack: SlackDriver, runtime: Runtime, console_log: io.StringIO, signed: bool
) -> None:
    for depth in (100, 100_000):
        body = ('{"type": "event_callback", "event": ' + "[" * depth + "]" * depth + "}").encode()
        headers = signed_headers(SIGNING_SECRET, body, JSON) if signed else {"Content-Type": JSON}
        result = http_request(slack.url, body, headers)
        assert result.status == (400 if signed else 401)
    assert "Traceback" not in console_log.getvalue()
    assert "firebreak_listener_errors_total 0.0" in runtime.services.metrics.render().decode()


def test_signed_bodies_that_do_not_parse_get_a_400(slack: SlackDriver) -> None:
    for body, content_type in (
        (b'{"type": "event_callback", ', JSON),
        (b"payload=%7Bnot-json", FORM),
        (b"payload=" + b"%5B" * 5000, FORM),
    ):
        result = http_request(slack.url, body, signed_headers(SIGNING_SECRET, body, content_type))
        assert result.status == 400, body[:40]


def test_bolts_verification_logger_never_writes_a_body(console_log: io.StringIO) -> None:
    # The logger as Bolt makes it: its level copied from the root's, whatever its parent's.
    logger = get_bolt_logger(RequestVerification)
    assert logger.isEnabledFor(logging.INFO)
    logger.info("Invalid request signature detected (body: token=abc)")
    assert console_log.getvalue() == ""


def test_console_lines_cannot_be_forged_or_grow_without_bound(console_log: io.StringIO) -> None:
    from app.logging import get_logger

    get_logger("test").warning(
        "refused\nfake_event level=error", title="a\nb\r\x1b[31mred", blob="y" * 100_000
    )
    [line] = console_log.getvalue().splitlines()
    assert "\\n" in line and "\\x1b" in line
    assert len(line) < 5000
