"""The HTTP front door: Bolt's `/slack/events`, health, readiness, metrics, and
PagerDuty's webhook."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest

from app.integrations import webhooks
from app.logging import clear_request, get_logger
from app.metrics import CONTENT_TYPE, Metrics, listener_label
from app.readiness import Readiness, slack_probe
from app.services import Services
from app.slack import blocks, update_blocks

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = get_logger(__name__)

SLACK_PATH = "/slack/events"
# What Firebreak listens for: the only names a request metric may carry.
EVENT_TYPES = (
    "app_home_opened",
    "member_joined_channel",
    "message",
    "pin_added",
    "pin_removed",
    "reaction_added",
    "reaction_removed",
)
NAMES = ("_ACTION", "_CALLBACK", "_PREFIX")
KNOWN_LISTENERS = frozenset(
    {
        "/incident",
        *(value.rstrip(":") for name, value in vars(blocks).items() if name.endswith(NAMES)),
        *(value for name, value in vars(update_blocks).items() if name.endswith(NAMES)),
        *EVENT_TYPES,
    }
)
WsgiApp = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]


def _json(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


class _MeasuredHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, counting and timing each request by listener."""

    def __init__(self, app: App, metrics: Metrics) -> None:
        super().__init__(app, path=SLACK_PATH)
        self.metrics = metrics

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        started = time.perf_counter()
        bolt_request = BoltRequest(
            body=request.get_body(), query=request.query_string, headers=request.get_headers()
        )
        response = self.app.dispatch(bolt_request)
        # A refused request's body is the sender's word, not Slack's: never a label.
        label = (
            "unverified"
            if response.status == 401
            else listener_label(bolt_request.body, KNOWN_LISTENERS)
        )
        self.metrics.observe_request(label, str(response.status), time.perf_counter() - started)
        return response


class FirebreakWeb:
    """Routes requests; refuses oversized or unparseable bodies before Bolt sees them.

    `accept_slack` is False in Socket Mode without a signing secret: Slack's requests then
    arrive over the websocket, and an unsigned HTTP door must not exist.
    """

    def __init__(self, bolt: App, services: Services, *, accept_slack: bool = True) -> None:
        self.slack = _MeasuredHandler(bolt, services.metrics)
        self.services = services
        self.max_body_bytes = services.settings.max_body_bytes
        self.accept_slack = accept_slack
        settings = services.settings
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        self.pagerduty = webhooks.PagerDutyWebhook(settings, services.db, services.after_commit)
        self.readiness = Readiness(
            services.db,
            slack_probe(token, settings.slack_api_url),
            settings.readiness_cache_seconds,
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # Server threads are reused: a refused request must not log the previous one's ids.
        clear_request()
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if method in ("GET", "HEAD"):
            page = {"/healthz": self.health, "/readyz": self.ready, "/metrics": self.metrics}
            if path in page:
                return page[path](start_response)
        if path == webhooks.PATH and method == "POST":
            return self._pagerduty(environ, start_response)
        if path == SLACK_PATH and self.accept_slack:
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "use POST"})
            if _content_length(environ) > self.max_body_bytes:
                return _json(
                    start_response, "413 Content Too Large", {"error": "request body too large"}
                )
            return self._slack(environ, start_response)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    def _slack(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # Bolt parses the body before it checks the signature, and reads fields it expects
        # (even in its error handler); a body not shaped like Slack's would surface as a 500.
        try:
            return self.slack(environ, start_response)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as error:
            log.warning("malformed_request_refused", error=type(error).__name__)
            self.services.metrics.observe_request("malformed", "400", 0.0)
            return _json(start_response, "400 Bad Request", {"error": "malformed request"})

    def _pagerduty(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        length = _content_length(environ)
        if length > self.max_body_bytes:
            return _json(
                start_response, "413 Content Too Large", {"error": "request body too large"}
            )
        body = environ["wsgi.input"].read(length) if length else b""
        answer = self.pagerduty.handle(body, environ.get("HTTP_X_PAGERDUTY_SIGNATURE"))
        self.services.metrics.observe_request("pagerduty", str(answer.status), 0.0)
        status = {200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized"}
        return _json(start_response, status.get(answer.status, "404 Not Found"), answer.body)

    def health(self, start_response: StartResponse) -> list[bytes]:
        database = "ok" if self.services.db.ping() else "unreachable"
        return _json(start_response, "200 OK", {"status": "ok", "database": database})

    def ready(self, start_response: StartResponse) -> list[bytes]:
        """Ready to serve: the database answers and Slack accepts our token."""
        checks = self.readiness.current()
        ready = all(value == "ok" for value in checks.values())
        status = "200 OK" if ready else "503 Service Unavailable"
        return _json(start_response, status, {"status": "ok" if ready else "unready", **checks})

    def metrics(self, start_response: StartResponse) -> list[bytes]:
        body = self.services.metrics.render()
        start_response(
            "200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))]
        )
        return [body]


def _content_length(environ: WSGIEnvironment) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
