from __future__ import annotations

import io
import json
import logging

from app.config import LogFormat
from app.logging import REDACTED, bind_request, clear_request, configure_logging, get_logger

BOT_TOKEN = "xoxb-1111-2222-abcdefSECRET"
SIGNING_SECRET = "8f14e45fceea167a5a36dedd4bea2543"


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def test_json_lines_carry_request_context() -> None:
    stream = io.StringIO()
    configure_logging(LogFormat.JSON, "INFO", stream=stream)
    clear_request()
    bind_request(slack_request="Ev123", incident="INC-7")
    get_logger("test").info("role_assigned", role="comms")
    clear_request()
    [line] = _json_lines(stream)
    assert line["event"] == "role_assigned"
    assert line["incident"] == "INC-7"
    assert line["slack_request"] == "Ev123"
    assert line["level"] == "info"
    assert str(line["timestamp"]).endswith("Z")


def test_secrets_never_reach_the_output() -> None:
    stream = io.StringIO()
    configure_logging(LogFormat.JSON, "DEBUG", secrets=[SIGNING_SECRET], stream=stream)
    log = get_logger("test")
    log.info("calling", url=f"https://x/?token={BOT_TOKEN}", headers={"Authorization": "Bearer x"})
    log.info(f"secret in the message {SIGNING_SECRET}")
    logging.getLogger("slack_sdk.web").debug("Sending a request - headers: %s", {"t": BOT_TOKEN})
    try:
        raise RuntimeError(f"failed with {BOT_TOKEN}")
    except RuntimeError:
        log.exception("boom")
    output = stream.getvalue()
    assert BOT_TOKEN not in output
    assert SIGNING_SECRET not in output
    assert "Bearer x" not in output
    assert output.count(REDACTED) >= 4
    assert len(_json_lines(stream)) == 4


def test_console_format_is_readable_text() -> None:
    stream = io.StringIO()
    configure_logging(LogFormat.CONSOLE, "INFO", stream=stream)
    get_logger("test").info("incident_declared", reference="INC-1")
    output = stream.getvalue()
    assert "incident_declared" in output
    assert "reference=INC-1" in output
    assert not output.startswith("{")
