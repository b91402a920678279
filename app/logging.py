"""Structured logs: JSON lines in production, readable lines on a terminal.

Configured once by `configure_logging`. Standard-library loggers (Bolt, slack_sdk,
SQLAlchemy, APScheduler) go through the same processors, so every line is redacted
the same way: Slack tokens and the configured secrets never reach the output.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog
from structlog.types import EventDict, Processor

from app.config import LogFormat

REDACTED = "[redacted]"
# Slack token shapes: bot, user, app-level, refresh and configuration tokens.
_TOKEN_PATTERN = re.compile(r"\bx(?:ox[abeprs]|app)-[A-Za-z0-9-]+")
_SECRET_KEYS = re.compile(r"token|secret|password|authorization|signature", re.IGNORECASE)
# A value longer than this is cut: one request must not be able to write megabytes of log.
MAX_VALUE_CHARS = 2000
# Tracebacks are longer, and only our own code raises them.
MAX_EXCEPTION_CHARS = 20_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Bolt logs an unverified request's whole body at INFO from this logger, whatever its
# parent's level; app/web.py refuses such requests itself with one fixed line.
BOLT_VERIFICATION_LOGGER = "slack_bolt.RequestVerification"


class SecretRedactor:
    """A structlog processor that masks token shapes and known secret values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def __call__(self, _logger: Any, _name: str, event_dict: EventDict) -> EventDict:
        return {key: self._clean(key, value) for key, value in event_dict.items()}

    def _clean(self, key: str, value: Any) -> Any:
        if _SECRET_KEYS.search(key) and value not in (None, ""):
            return REDACTED
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, MutableMapping):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean("", v) for v in value]
        return value

    def redact_text(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_PATTERN.sub(REDACTED, text)


def cap_text(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[{len(text) - limit} more characters]"


def escape_control(text: str) -> str:
    """Newlines and other control characters as visible escapes, so a value forges no line."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode(), text)


def cap_values(_logger: Any, _name: str, event_dict: EventDict) -> EventDict:
    """Cut every string value (the event text included) to a bounded length."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            limit = MAX_EXCEPTION_CHARS if key == "exception" else MAX_VALUE_CHARS
            event_dict[key] = cap_text(value, limit)
    return event_dict


def escape_values(_logger: Any, _name: str, event_dict: EventDict) -> EventDict:
    """Console lines only (JSON escapes for itself): no value may start a new line.

    A traceback keeps its lines; they come from our code, not from a sender.
    """
    for key, value in event_dict.items():
        if key == "exception":
            continue
        text = value if isinstance(value, str) else None
        if text is None and not isinstance(value, int | float | bool | type(None)):
            text = repr(value)
        if text is not None:
            event_dict[key] = escape_control(text)
    return event_dict


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def silence_bolt_body_logging() -> None:
    """Drop Bolt's `Invalid request signature … body: <body>` lines (idempotent).

    A filter, not a level: Bolt resets this logger's level from the root when it builds
    the middleware.
    """
    logger = logging.getLogger(BOLT_VERIFICATION_LOGGER)
    if not any(isinstance(item, _DropAll) for item in logger.filters):
        logger.addFilter(_DropAll())


def configure_logging(
    log_format: LogFormat = LogFormat.AUTO,
    level: str = "INFO",
    secrets: Iterable[str] = (),
    stream: Any = None,
) -> None:
    stream = stream or sys.stderr
    as_json = log_format is LogFormat.JSON or (
        log_format is LogFormat.AUTO and not getattr(stream, "isatty", lambda: False)()
    )
    redactor = SecretRedactor(secrets)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=getattr(stream, "isatty", lambda: False)())
    )
    # Tracebacks are rendered to text before redaction so that the redactor sees them too.
    tail: list[Processor] = [structlog.processors.format_exc_info, redactor, cap_values]
    if not as_json:
        tail.append(escape_values)

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    silence_bolt_body_logging()
    # Third-party chatter stays at WARNING unless the operator asks for DEBUG.
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for name in ("slack_bolt", "slack_sdk", "sqlalchemy", "apscheduler", "waitress", "alembic"):
        logging.getLogger(name).setLevel(max(quiet, logging.getLevelName(level)))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger


def bind_request(**values: Any) -> None:
    """Attach request facts (Slack request id, incident reference) to every later line."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v is not None})


def clear_request() -> None:
    structlog.contextvars.clear_contextvars()


__all__ = [
    "REDACTED",
    "SecretRedactor",
    "bind_request",
    "cap_text",
    "clear_request",
    "configure_logging",
    "escape_control",
    "get_logger",
    "silence_bolt_body_logging",
]
