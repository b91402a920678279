"""The HTTP front door: Bolt's `/slack/events` plus health checks, as one WSGI app."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from app.store.database import Database

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

SLACK_PATH = "/slack/events"
WsgiApp = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]


def _json(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


class FirebreakWeb:
    """Routes requests; refuses oversized bodies before anything reads them."""

    def __init__(self, bolt: App, db: Database, max_body_bytes: int) -> None:
        self.slack = SlackRequestHandler(bolt, path=SLACK_PATH)
        self.db = db
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return self.health(start_response)
        if path == SLACK_PATH:
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "use POST"})
            if _content_length(environ) > self.max_body_bytes:
                return _json(
                    start_response, "413 Content Too Large", {"error": "request body too large"}
                )
            return self.slack(environ, start_response)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    def health(self, start_response: StartResponse) -> list[bytes]:
        database = "ok" if self.db.ping() else "unreachable"
        return _json(start_response, "200 OK", {"status": "ok", "database": database})


def _content_length(environ: WSGIEnvironment) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
