"""Names for user ids in exports, and Slack markup turned into plain text."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

People = Callable[[str], str]

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]*))?>")


def ids_only(user_id: str) -> str:
    return user_id


def person(user_id: str | None, people: People) -> str:
    return f"@{people(user_id)}" if user_id else ""


def plain_text(text: str, people: People, *, slack_escaped: bool = True) -> str:
    """Slack mrkdwn to readable text: mentions by name, links bare, entities decoded.

    `slack_escaped`: the text is as Slack sent it (messages, notes), with `&`, `<`, `>`
    escaped; False for text stored as typed (action items), which is not decoded again.
    The result is plain text: a writer escapes it for its format.
    """
    text = _USER.sub(lambda m: f"@{m.group(2) or people(m.group(1))}", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    if not slack_escaped:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def utc(moment: datetime | None, *, seconds: bool = False) -> str:
    if moment is None:
        return ""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def duration(start: datetime, end: datetime | None) -> str:
    if end is None:
        return ""
    minutes = max(0, int((end - start) / timedelta(minutes=1)))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if days or hours:
        parts.append(f"{hours}h")
    parts.append(f"{mins:02d}m" if parts else f"{mins}m")
    return " ".join(parts)


def seconds_between(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else max(0, int((end - start).total_seconds()))
