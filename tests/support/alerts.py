"""Alert payloads as Alertmanager and other tools send them, and a client that posts them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.store.database import Database
from app.store.models import Alert, AlertGroup
from emulator.driver import HttpResult, http_request

ALERTS_TOKEN = "alerts-token-0123456789abcdef"


def am_alert(
    name: str,
    instance: str,
    *,
    status: str = "firing",
    severity: str = "warning",
    service: str = "checkout",
    starts_at: str = "2026-12-04T10:00:00Z",
    fingerprint: str | None = None,
) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "status": status,
        "labels": {
            "alertname": name,
            "instance": instance,
            "severity": severity,
            "service": service,
        },
        "annotations": {"summary": f"{name} on {instance}", "description": "It is broken"},
        "startsAt": starts_at,
        "endsAt": "2026-12-04T10:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": f"http://prometheus.example.com/graph?g0.expr={name}",
    }
    if fingerprint is not None:
        alert["fingerprint"] = fingerprint
    else:
        alert["fingerprint"] = f"{name}-{instance}"
    return alert


def am_payload(
    group: str, alerts: list[dict[str, Any]], *, status: str | None = None
) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "receiver": "firebreak",
        "status": status or ("firing" if firing else "resolved"),
        "groupKey": f'{{}}:{{alertname="{group}"}}',
        "truncatedAlerts": 0,
        "groupLabels": {"alertname": group},
        "commonLabels": {"alertname": group},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com",
        "alerts": alerts,
    }


def post_alerts(
    base_url: str,
    payload: Any,
    *,
    path: str = "/alerts/alertmanager",
    token: str | None = ALERTS_TOKEN,
    raw: bytes | None = None,
) -> HttpResult:
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http_request(base_url + path, body, headers, method="POST")


def stored_alerts(db: Database) -> list[Alert]:
    with db.session() as session:
        return list(session.execute(select(Alert).order_by(col(Alert.id))).scalars())


def stored_groups(db: Database) -> list[AlertGroup]:
    with db.session() as session:
        return list(session.execute(select(AlertGroup).order_by(col(AlertGroup.id))).scalars())
