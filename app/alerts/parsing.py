"""Alert payloads in, `Notice`s out: pure functions, no database, no Slack.

Alertmanager (and Grafana's webhook contact point, which sends the same shape) and a
generic JSON body are both turned into the same `Notice`. A payload that is not what
it should be raises `PayloadError` naming the field, so the sender gets a 400 it can act on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ALERTMANAGER = "alertmanager"
WEBHOOK = "webhook"
STATUSES = ("firing", "resolved")
MAX_TITLE = 200
MAX_KEY = 255
MAX_FINGERPRINT = 128
MAX_URL = 500
MAX_ALERTS = 1000


class PayloadError(ValueError):
    """The body is not a valid alert; `field` names what is wrong."""

    def __init__(self, field: str, problem: str = "is missing") -> None:
        super().__init__(f"{field} {problem}")
        self.field = field


@dataclass(frozen=True)
class Notice:
    """One alert as one notification describes it."""

    source: str
    fingerprint: str
    group_key: str
    group_title: str
    title: str
    status: str
    started_at: datetime
    ended_at: datetime | None = None
    severity: str | None = None
    service: str | None = None
    description: str = ""
    url: str | None = None
    external_url: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def firing(self) -> bool:
        return self.status == "firing"


def decode(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PayloadError("body", "is not valid JSON") from None
    if not isinstance(value, dict):
        raise PayloadError("body", "must be a JSON object")
    return value


def fingerprint_of(title: str, labels: dict[str, str]) -> str:
    """A stable identity for an alert that came without one."""
    canonical = json.dumps([title, sorted(labels.items())], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def parse_alertmanager(payload: dict[str, Any], service_label: str, now: datetime) -> list[Notice]:
    """Alertmanager's webhook (version 4) or Grafana's webhook contact point."""
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise PayloadError("alerts", "must be a non-empty list")
    if len(alerts) > MAX_ALERTS:
        raise PayloadError("alerts", f"holds more than {MAX_ALERTS} alerts")
    common = _labels(payload.get("commonLabels"), "commonLabels")
    group_labels = _labels(payload.get("groupLabels"), "groupLabels")
    group_key = _text(payload.get("groupKey"), "groupKey", required=False, limit=None)
    external = _url(payload.get("externalURL"), "externalURL")
    notices = []
    for index, alert in enumerate(alerts):
        where = f"alerts[{index}]"
        if not isinstance(alert, dict):
            raise PayloadError(where, "must be an object")
        labels = _labels(alert.get("labels"), f"{where}.labels", required=True)
        annotations = _labels(alert.get("annotations"), f"{where}.annotations")
        status = _status(alert.get("status"), f"{where}.status")
        title = _title(
            annotations.get("summary") or labels.get("alertname") or "", f"{where}.labels"
        )
        fingerprint = _text(alert.get("fingerprint"), f"{where}.fingerprint", required=False)
        key = group_key or _group_key_of(group_labels or common or labels)
        notices.append(
            Notice(
                source=ALERTMANAGER,
                fingerprint=fingerprint[:MAX_FINGERPRINT] or fingerprint_of(title, labels),
                group_key=_key(key),
                group_title=_title(_group_title(group_labels, common, title), "groupLabels"),
                title=title,
                status=status,
                started_at=_time(alert.get("startsAt"), f"{where}.startsAt") or now,
                ended_at=_time(alert.get("endsAt"), f"{where}.endsAt")
                if status == "resolved"
                else None,
                severity=labels.get("severity"),
                service=labels.get(service_label),
                description=annotations.get("description", ""),
                url=_url(alert.get("generatorURL"), f"{where}.generatorURL"),
                external_url=external,
                labels=labels,
            )
        )
    return notices


def parse_webhook(payload: dict[str, Any], service_label: str, now: datetime) -> list[Notice]:
    """The generic body: one alert, `title` required."""
    title = _title(_text(payload.get("title"), "title", required=True), "title")
    labels = _labels(payload.get("labels"), "labels")
    status = _status(payload.get("status", "firing"), "status")
    fingerprint = _text(payload.get("fingerprint"), "fingerprint", required=False)
    fingerprint = fingerprint[:MAX_FINGERPRINT] or fingerprint_of(title, labels)
    group = _text(payload.get("group"), "group", required=False)
    severity = _text(payload.get("severity"), "severity", required=False)
    service = _text(payload.get("service"), "service", required=False)
    return [
        Notice(
            source=WEBHOOK,
            fingerprint=fingerprint,
            group_key=_key(group or fingerprint),
            group_title=title,
            title=title,
            status=status,
            started_at=_time(payload.get("started_at"), "started_at") or now,
            ended_at=now if status == "resolved" else None,
            severity=severity or labels.get("severity"),
            service=service or labels.get(service_label),
            description=_text(payload.get("description"), "description", required=False),
            url=_url(payload.get("url"), "url"),
            labels=labels,
        )
    ]


# --- fields ------------------------------------------------------------------------------


def _text(value: Any, name: str, *, required: bool, limit: int | None = 4000) -> str:
    if value is None or value == "":
        if required:
            raise PayloadError(name)
        return ""
    if not isinstance(value, str):
        raise PayloadError(name, "must be a string")
    return value.strip()[:limit] if limit else value.strip()


def _title(value: str, name: str) -> str:
    title = " ".join(value.split())
    if not title:
        raise PayloadError(name, "gives no title (set annotations.summary or alertname)")
    return title[:MAX_TITLE]


def _key(value: str) -> str:
    if len(value) <= MAX_KEY:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def _status(value: Any, name: str) -> str:
    if value not in STATUSES:
        raise PayloadError(name, "must be firing or resolved")
    return str(value)


def _labels(value: Any, name: str, *, required: bool = False) -> dict[str, str]:
    if value is None:
        if required:
            raise PayloadError(name)
        return {}
    if not isinstance(value, dict):
        raise PayloadError(name, "must be an object")
    return {str(key): str(item) for key, item in value.items()}


def _url(value: Any, name: str) -> str | None:
    text = _text(value, name, required=False, limit=None)
    if not text:
        return None
    if not text.startswith(("http://", "https://")) or len(text) > MAX_URL:
        return None  # a link we cannot show safely is left out, not refused
    return text


def _time(value: Any, name: str) -> datetime | None:
    text = _text(value, name, required=False, limit=None)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(name, "must be an RFC 3339 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Alertmanager sends 0001-01-01T00:00:00Z for "not ended yet".
    if moment.year < 1970:
        return None
    return moment.astimezone(UTC)


def _group_key_of(labels: dict[str, str]) -> str:
    return "labels:" + fingerprint_of("", labels)


def _group_title(group_labels: dict[str, str], common: dict[str, str], fallback: str) -> str:
    name = group_labels.get("alertname") or common.get("alertname")
    others = [f"{k}={v}" for k, v in sorted(group_labels.items()) if k != "alertname"]
    if name:
        return " ".join([name, *others])
    return " ".join(others) or fallback
