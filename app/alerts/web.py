"""`POST /alerts/alertmanager` and `POST /alerts/webhook`, on the same port as /healthz."""

from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from app.alerts.parsing import ALERTMANAGER, WEBHOOK, PayloadError
from app.alerts.service import AlertService
from app.logging import get_logger

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = get_logger(__name__)

PREFIX = "/alerts/"
ROUTES = {"/alerts/alertmanager": ALERTMANAGER, "/alerts/webhook": WEBHOOK}


def _json(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


class AlertIntake:
    """The alert endpoints; they do not exist (404) without FIREBREAK_ALERTS_TOKEN."""

    def __init__(self, alerts: AlertService, max_body_bytes: int) -> None:
        self.alerts = alerts
        token = alerts.settings.alerts_token
        self.token = token.get_secret_value().encode() if token else None
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        source = ROUTES.get(environ.get("PATH_INFO", ""))
        if self.token is None or source is None:
            return _json(start_response, "404 Not Found", {"error": "not found"})
        if environ.get("REQUEST_METHOD") != "POST":
            return _json(start_response, "405 Method Not Allowed", {"error": "use POST"})
        if not self._authorized(environ.get("HTTP_AUTHORIZATION", "")):
            log.warning("alert_intake_unauthorized", source=source)
            return _json(start_response, "401 Unauthorized", {"error": "bad or missing token"})
        length = _content_length(environ)
        if length > self.max_body_bytes:
            return _json(start_response, "413 Content Too Large", {"error": "body too large"})
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            result = self.alerts.intake(source, body)
        except PayloadError as error:
            log.info("alert_intake_refused", source=source, field=error.field)
            return _json(start_response, "400 Bad Request", {"error": str(error)})
        except SQLAlchemyError:
            log.warning("alert_intake_database_unavailable", source=source)
            return _json(start_response, "503 Service Unavailable", {"error": "database down"})
        log.info("alerts_received", source=source, received=result.received, new=result.new_alerts)
        return _json(
            start_response,
            "200 OK",
            {"status": "ok", "received": result.received, "new": result.new_alerts},
        )

    def _authorized(self, header: str) -> bool:
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or self.token is None:
            return False
        return hmac.compare_digest(given.strip().encode(), self.token)


def _content_length(environ: WSGIEnvironment) -> int:
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0
