"""The status page's HTTP side: routes, a per-change render cache, ETags and headers.

Readers come in floods during an outage. Each page is rebuilt from the database at most
once per `status_cache_seconds` and re-rendered only when what it shows changed; every
other request is answered from memory (or with 304), so readers cost almost nothing and
never hold the database away from Slack's requests.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from app.config import Settings
from app.incidents.reminders import Clock
from app.logging import get_logger
from app.statuspage import render
from app.statuspage.read import load_board, load_incident
from app.statuspage.view import Board, IncidentView, build_board, incident_view
from app.store.database import Database
from app.store.types import utcnow

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = get_logger(__name__)

BASE = "/status"
HISTORY_DAYS = 14
# Browsers and proxies may reuse a page this long; the ETag makes revalidation cheap.
MAX_AGE_SECONDS = 10
STATIC_MAX_AGE_SECONDS = 3600
# Pages kept in memory (a scan of incident numbers must not grow it without bound).
MAX_CACHED_PAGES = 512
CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HTML = "text/html; charset=utf-8"
INCIDENT_PATH = re.compile(r"^/status/incidents/INC-([0-9]{1,9})$")
FEED_ID = "urn:firebreak:status"


@dataclass
class Page:
    status: str
    body: bytes
    content_type: str
    etag: str
    model: object = None
    checked: float = field(default_factory=time.monotonic)


def _page(status: str, body: bytes, content_type: str, model: object = None) -> Page:
    digest = hashlib.sha256(body).hexdigest()[:32]
    return Page(status, body, content_type, f'"{digest}"', model)


Build = Callable[[Page | None], Page | None]
Model = TypeVar("Model")


def _unless_same(model: Model, previous: Page | None, draw: Callable[[Model], Page]) -> Page:
    """Render only when what the page shows changed since it was last built."""
    if previous is not None and previous.model == model:
        return previous
    page = draw(model)
    page.model = model
    return page


class StatusPages:
    """`GET /status`, `/status.json`, `/status/feed.atom`, `/status/incidents/INC-n`."""

    def __init__(self, settings: Settings, db: Database, clock: Clock = utcnow) -> None:
        self.db = db
        self.clock = clock
        self.title = settings.status_title
        self.link_base = (settings.status_url or BASE).rstrip("/")
        self.severity_names = settings.severity_names
        # One row per catalog service; without a catalog, one "All systems" row.
        self.services = settings.catalog.names if settings.catalog else []
        self.ttl = settings.status_cache_seconds
        self._pages: OrderedDict[str, Page] = OrderedDict()
        self._lock = threading.Lock()
        self.renders = 0  # how many times a page was actually rendered (tests, benchmark)
        self.not_found = _page("404 Not Found", render.not_found_html(self.title, BASE), HTML)
        self.unavailable = _page(
            "503 Service Unavailable", render.unavailable_html(self.title, BASE), HTML
        )
        self.static = {
            name: _page("200 OK", render.static_file(name), kind)
            for name, kind in render.STATIC_TYPES.items()
        }

    @staticmethod
    def handles(path: str) -> bool:
        return path in (BASE, BASE + "/", BASE + ".json") or path.startswith(BASE + "/")

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        page = self.page(path)
        if page is None:
            page = self.not_found
        return _respond(environ, start_response, page, self._max_age(path))

    def page(self, path: str) -> Page | None:
        if path in (BASE, BASE + "/"):
            return self._cached("board.html", self._board_page(self._html))
        if path == BASE + ".json":
            return self._cached("board.json", self._board_page(self._json))
        if path == BASE + "/feed.atom":
            return self._cached("board.atom", self._board_page(self._atom))
        if path.startswith(BASE + "/static/"):
            return self.static.get(path.removeprefix(BASE + "/static/"))
        match = INCIDENT_PATH.match(path)
        if match:
            return self._cached(f"incident:{match.group(1)}", self._incident_page(match.group(1)))
        return None

    @staticmethod
    def _max_age(path: str) -> int:
        return STATIC_MAX_AGE_SECONDS if path.startswith(BASE + "/static/") else MAX_AGE_SECONDS

    # --- the cache ------------------------------------------------------------------------

    def _cached(self, key: str, build: Build) -> Page | None:
        page = self._pages.get(key)
        if page is not None and time.monotonic() - page.checked < self.ttl:
            return page
        # One rebuild at a time; meanwhile other readers get the page as it was.
        if not self._lock.acquire(blocking=page is None):
            return page
        try:
            page = self._pages.get(key)
            if page is not None and time.monotonic() - page.checked < self.ttl:
                return page
            try:
                fresh = build(page) or self.not_found
            except SQLAlchemyError:
                # The database is away: readers keep the last page rather than an error.
                log.warning("status_page_database_unavailable", page=key)
                fresh = page or self.unavailable
            if fresh is not page and fresh not in (self.not_found, self.unavailable):
                self.renders += 1
            fresh.checked = time.monotonic()
            self._remember(key, fresh)
            return fresh
        finally:
            self._lock.release()

    def _remember(self, key: str, page: Page) -> None:
        self._pages[key] = page
        self._pages.move_to_end(key)
        while len(self._pages) > MAX_CACHED_PAGES:
            self._pages.popitem(last=False)

    def _board_page(self, draw: Callable[[Board], Page]) -> Build:
        def build(previous: Page | None) -> Page | None:
            board = build_board(
                self.title,
                load_board(self.db, self.clock(), HISTORY_DAYS),
                self.severity_names,
                HISTORY_DAYS,
                self.services,
            )
            return _unless_same(board, previous, draw)

        return build

    def _incident_page(self, number: str) -> Build:
        def build(previous: Page | None) -> Page | None:
            published = load_incident(self.db, int(number))
            if published is None:
                return None
            incident = incident_view(published.incidents[0], published.updates, self.severity_names)
            return _unless_same(incident, previous, self._incident_html)

        return build

    # --- renderers ------------------------------------------------------------------------

    def _html(self, board: Board) -> Page:
        return _page("200 OK", render.status_html(board, BASE), HTML)

    def _json(self, board: Board) -> Page:
        return _page("200 OK", render.status_json(board), "application/json")

    def _atom(self, board: Board) -> Page:
        body = render.feed_atom(board, self.link_base, FEED_ID)
        return _page("200 OK", body, "application/atom+xml; charset=utf-8")

    def _incident_html(self, incident: IncidentView) -> Page:
        return _page("200 OK", render.incident_html(self.title, incident, BASE), HTML)


def _matches(environ: WSGIEnvironment, etag: str) -> bool:
    header = environ.get("HTTP_IF_NONE_MATCH", "")
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in tags or "*" in tags


def _respond(
    environ: WSGIEnvironment, start_response: StartResponse, page: Page, max_age: int
) -> list[bytes]:
    headers = [
        ("ETag", page.etag),
        ("Cache-Control", f"public, max-age={max_age}"),
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]
    if page.content_type == "application/json":
        headers.append(("Access-Control-Allow-Origin", "*"))
    if page.status.startswith("200") and _matches(environ, page.etag):
        start_response("304 Not Modified", headers)
        return []
    headers += [("Content-Type", page.content_type), ("Content-Length", str(len(page.body)))]
    start_response(page.status, headers)
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else [page.body]
