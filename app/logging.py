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
    tail: list[Processor] = [structlog.processors.format_exc_info, redactor]

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
    "clear_request",
    "configure_logging",
    "get_logger",
]
