"""Jinja2 templates, autoescaped: every incident title and update is text, never markup."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from app.statuspage.view import Board, IncidentView, board_json

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_text(value: datetime) -> str:
    """`4 Dec 2026, 14:03 UTC`: unambiguous for readers anywhere."""
    return f"{value.day} {value:%b %Y, %H:%M} UTC"


def iso(value: datetime) -> str:
    return value.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def duration(start: datetime, end: datetime | None) -> str:
    if end is None:
        return ""
    minutes = max(0, int((end - start).total_seconds() // 60))
    if minutes == 0:
        return "less than a minute"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("app.statuspage", "templates"),
        autoescape=select_autoescape(["html", "atom", "xml"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(utc=utc_text, iso=iso, duration=duration)
    return env


def status_html(board: Board, base: str) -> bytes:
    return _render("status.html", board=board, base=base)


def incident_html(board_title: str, incident: IncidentView, base: str) -> bytes:
    return _render("incident.html", title=board_title, incident=incident, base=base)


def not_found_html(board_title: str, base: str) -> bytes:
    return _render("not_found.html", title=board_title, base=base)


def unavailable_html(board_title: str, base: str) -> bytes:
    return _render("unavailable.html", title=board_title, base=base)


def feed_atom(board: Board, base: str, feed_id: str) -> bytes:
    return _render("feed.atom", board=board, base=base, feed_id=feed_id, epoch=EPOCH)


def status_json(board: Board) -> bytes:
    return _json(board_json(board))


def _json(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, indent=1).encode()


def _render(name: str, **context: object) -> bytes:
    return environment().get_template(name).render(**context).encode()


def static_file(name: str) -> bytes:
    """A file of app/statuspage/static."""
    return resources.files("app.statuspage").joinpath("static", name).read_bytes()


STATIC_TYPES = {
    "status.css": "text/css; charset=utf-8",
    "local-time.js": "text/javascript; charset=utf-8",
}
