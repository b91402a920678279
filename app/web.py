"""The HTTP doors: on the public port Bolt's `/slack/events`, the status page, the alert
intake and PagerDuty's webhook; health, readiness and metrics apart."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from app.alerts import blocks as alert_blocks
from app.alerts.web import PREFIX as ALERTS_PREFIX
from app.alerts.web import AlertIntake
from app.integrations import webhooks
from app.logging import clear_request, get_logger
from app.metrics import CONTENT_TYPE, Metrics, listener_label
from app.readiness import Readiness, slack_probe
from app.services import Services
from app.slack.outbound import blocks, update_blocks
from app.statuspage.pages import StatusPages

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
        *(
            value
            for name, value in vars(alert_blocks).items()
            if name.endswith(("_ACTION", "_CALLBACK"))
        ),
        *EVENT_TYPES,
    }
)
# Slack's payloads nest about ten levels (rich text in a view's state); a parse deeper than
# this is refused before it can exhaust the interpreter's recursion limit.
MAX_JSON_DEPTH = 64
TIMESTAMP = re.compile(r"[0-9]{1,12}")
REFUSAL_LOG_SECONDS = 10.0
# Slack's v0 signatures: "v0=" and a hex SHA-256, for a timestamp within five minutes.
SIGNATURE_LENGTH = 3 + 64
SIGNATURE_WINDOW_SECONDS = 5 * 60
BOLT_PARSE_ERRORS = (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError)
WsgiApp = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]


def _json(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


class SlackDoor:
    """`/slack/events`: Slack's signature checked here, before Bolt sees a byte of the body.

    An unsigned body is never parsed, counted under its own labels or logged (Bolt would
    log it whole); a signed one is parsed with a bounded depth, then handed to Bolt, which
    checks the signature again.
    """

    def __init__(self, app: App, metrics: Metrics, signing_secret: str) -> None:
        self.app = app
        self.metrics = metrics
        self.verifier = SignatureVerifier(signing_secret)
        self.refusals = RefusalLog()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        headers = _headers(environ)
        body, problem = self._verified_text(environ, headers)
        if body is None:
            self.refusals.note(problem)
            self.metrics.observe_request("unverified", "401", time.perf_counter() - started)
            return _json(start_response, "401 Unauthorized", {"error": "invalid request"})
        try:
            parsed = bounded_parse(body, headers.get("content-type"))
            label = listener_label(parsed, KNOWN_LISTENERS)
        except (ValueError, RecursionError) as error:
            return self._malformed(start_response, error, started)
        try:
            response = self.app.dispatch(
                BoltRequest(body=body, query=environ.get("QUERY_STRING", ""), headers=dict(headers))
            )
        except BOLT_PARSE_ERRORS as error:
            # Bolt reads the fields it expects (even in its error handler): a signed body
            # not shaped like Slack's would otherwise surface as a 500.
            return self._malformed(start_response, error, started)
        self.metrics.observe_request(label, str(response.status), time.perf_counter() - started)
        wsgi = WsgiHttpResponse(
            status=response.status, headers=response.headers, body=response.body
        )
        start_response(wsgi.status, wsgi.get_headers())
        return wsgi.get_body()

    def _verified_text(
        self, environ: WSGIEnvironment, headers: dict[str, str]
    ) -> tuple[str | None, str]:
        """The body as text when Slack's signature holds, else None and why not.

        The headers are checked first: a request that cannot be Slack's is refused
        without its body being read or hashed.
        """
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not timestamp or not signature:
            return None, "unsigned"
        if not TIMESTAMP.fullmatch(timestamp):
            return None, "bad_timestamp"
        if abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
            return None, "stale"
        if not signature.startswith("v0=") or len(signature) != SIGNATURE_LENGTH:
            return None, "bad_signature"
        try:
            body = _read_body(environ).decode("utf-8")
        except UnicodeDecodeError:
            return None, "not_utf8"  # Slack signs UTF-8
        if not self.verifier.is_valid(body, timestamp, signature):
            return None, "bad_signature"
        return body, ""

    def _malformed(
        self, start_response: StartResponse, error: BaseException, started: float
    ) -> list[bytes]:
        log.warning("malformed_request_refused", error=type(error).__name__)
        self.metrics.observe_request("malformed", "400", time.perf_counter() - started)
        return _json(start_response, "400 Bad Request", {"error": "malformed request"})


class RefusalLog:
    """One fixed line for refused requests, at most once per `interval` seconds.

    A flood of unsigned requests writes a line every `interval` with counts by reason,
    not a line each; nothing from the request (body, headers) is ever written.
    """

    def __init__(self, interval: float = REFUSAL_LOG_SECONDS) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._last = -interval

    def note(self, reason: str) -> None:
        with self._lock:
            self._counts[reason] = self._counts.get(reason, 0) + 1
            now = time.monotonic()
            if now - self._last < self.interval:
                return
            counts, self._counts, self._last = self._counts, {}, now
        log.warning("unverified_requests_refused", **counts)


def bounded_parse(body: str, content_type: str | None) -> Any:
    """Bolt's own parse of a body, refusing (ValueError) nesting deeper than Slack's."""
    parsed = parse_body(body, content_type)
    stack: list[tuple[Any, int]] = [(parsed, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError("nested too deeply")
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict | list):
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return parsed


def _read_body(environ: WSGIEnvironment) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    data: bytes = stream.read(_content_length(environ))
    return data


def _headers(environ: WSGIEnvironment) -> dict[str, str]:
    headers = {
        key.lower().replace("_", "-"): str(environ[key])
        for key in ("CONTENT_LENGTH", "CONTENT_TYPE")
        if key in environ
    }
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].lower().replace("_", "-")] = str(value)
    return headers


class AdminWeb:
    """`/healthz`, `/readyz` and `/metrics`, on their own listener (FIREBREAK_ADMIN_PORT).

    Apart from Slack's port so that a flood of slow connections there cannot take the
    health check down with it, and so that unauthenticated metrics stay off the public
    interface.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        settings = services.settings
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        self.readiness = Readiness(
            services.db,
            slack_probe(token, settings.slack_api_url),
            settings.readiness_cache_seconds,
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        clear_request()
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "GET") in ("GET", "HEAD"):
            page = {"/healthz": self.health, "/readyz": self.ready, "/metrics": self.metrics}
            if path in page:
                return page[path](start_response)
        return _json(start_response, "404 Not Found", {"error": "not found"})

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


class FirebreakWeb:
    """Slack's door: refuses oversized, unsigned or unparseable bodies before Bolt sees them.

    `slack` is None in Socket Mode without a signing secret: Slack's requests then arrive
    over the websocket, and an unsigned HTTP door must not exist. `admin` is the WSGI app
    for health, readiness and metrics.
    """

    def __init__(self, bolt: App, services: Services) -> None:
        self.services = services
        secret = services.settings.slack_signing_secret
        self.slack = (
            SlackDoor(bolt, services.metrics, secret.get_secret_value()) if secret else None
        )
        self.max_body_bytes = services.settings.max_body_bytes
        self.admin = AdminWeb(services)
        settings = services.settings
        self.status = StatusPages(settings, services.db) if settings.status_page else None
        self.alerts = AlertIntake(services.alerts, self.max_body_bytes)
        self.pagerduty = webhooks.PagerDutyWebhook(settings, services.db, services.after_commit)

    @property
    def has_public_pages(self) -> bool:
        """Doors for the world outside Slack (status page, alert intake): served on the
        public port in Socket Mode too."""
        settings = self.services.settings
        return (
            self.status is not None
            or settings.alerts_token is not None
            or settings.pagerduty_webhook_secret is not None
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # Server threads are reused: a refused request must not log the previous one's ids.
        clear_request()
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == SLACK_PATH and self.slack is not None:
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "use POST"})
            if _content_length(environ) > self.max_body_bytes:
                return _json(
                    start_response, "413 Content Too Large", {"error": "request body too large"}
                )
            return self.slack(environ, start_response)
        if method in ("GET", "HEAD") and self.status is not None and self.status.handles(path):
            return self.status(environ, start_response)
        if path.startswith(ALERTS_PREFIX):
            return self.alerts(environ, start_response)
        if path == webhooks.PATH and method == "POST":
            return self._pagerduty(environ, start_response)
        return _json(start_response, "404 Not Found", {"error": "not found"})

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


def _content_length(environ: WSGIEnvironment) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
