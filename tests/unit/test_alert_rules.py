"""Pure alert rules: parsing payloads, fingerprints, severity mapping, settings, catalog."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.alerts import blocks as alert_blocks
from app.alerts.parsing import PayloadError, decode, parse_alertmanager, parse_webhook
from app.config import DEFAULT_SEVERITIES, ConfigError, load_settings
from tests.support.alerts import am_alert, am_payload

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_alertmanager_payload_becomes_one_notice_per_alert() -> None:
    payload = am_payload("HighErrorRate", [am_alert("HighErrorRate", "web-1")])
    [notice] = parse_alertmanager(payload, "service", NOW)
    assert notice.source == "alertmanager"
    assert notice.fingerprint == "HighErrorRate-web-1"
    assert notice.group_key == '{}:{alertname="HighErrorRate"}'
    assert notice.group_title == "HighErrorRate"
    assert notice.title == "HighErrorRate on web-1"
    assert notice.started_at == datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    assert notice.ended_at is None  # Alertmanager's zero time means "not ended"
    assert notice.service == "checkout"
    assert notice.severity == "warning"


def test_a_missing_fingerprint_is_derived_stably_from_title_and_labels() -> None:
    first = am_alert("A", "x")
    del first["fingerprint"]
    again = dict(first, labels=dict(reversed(list(first["labels"].items()))))
    [one] = parse_alertmanager(am_payload("A", [first]), "service", NOW)
    [two] = parse_alertmanager(am_payload("A", [again]), "service", NOW)
    assert one.fingerprint == two.fingerprint
    assert len(one.fingerprint) == 32


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"[1]", "body"),
        (b'{"alerts": "x"}', "alerts"),
        (b'{"alerts": [{"labels": {"alertname": "A"}, "status": "on"}]}', "alerts[0].status"),
        (
            b'{"alerts": [{"labels": {"alertname": "A"}, "status": "firing", "startsAt": "soon"}]}',
            "alerts[0].startsAt",
        ),
        (b'{"alerts": [{"labels": {}, "status": "firing"}]}', "alerts[0].labels"),
    ],
)
def test_bad_alertmanager_payloads_name_the_field(body: bytes, field: str) -> None:
    with pytest.raises(PayloadError) as raised:
        parse_alertmanager(decode(body), "service", NOW)
    assert raised.value.field == field


def test_generic_webhook_defaults_and_grouping() -> None:
    [notice] = parse_webhook({"title": "  Queue  backlog ", "labels": {"team": "x"}}, "team", NOW)
    assert notice.title == "Queue backlog"
    assert notice.status == "firing"
    assert notice.started_at == NOW
    assert notice.service == "x"
    assert notice.group_key == notice.fingerprint
    [grouped] = parse_webhook({"title": "T", "group": "g1", "url": "javascript:x"}, "s", NOW)
    assert grouped.group_key == "g1"
    assert grouped.url is None


@pytest.mark.parametrize(
    ("label", "expected"),
    [("critical", "SEV1"), ("High", "SEV2"), ("warning", "SEV3"), ("info", "SEV4"), (None, "SEV3")],
)
def test_alert_severity_maps_to_an_incident_severity(label: str | None, expected: str) -> None:
    assert alert_blocks.map_severity(label, DEFAULT_SEVERITIES, "SEV3") == expected


def test_auto_declare_rules_parse_and_check_severities() -> None:
    settings = load_settings(_env_file=None, auto_declare="severity=critical:sev1, team=db:SEV2")
    assert [(r.label, r.value, r.severity) for r in settings.auto_declare] == [
        ("severity", "critical", "SEV1"),
        ("team", "db", "SEV2"),
    ]
    with pytest.raises(ConfigError, match="SEV9"):
        load_settings(_env_file=None, auto_declare="severity=critical:SEV9")
    with pytest.raises(ConfigError, match="label=value:SEVERITY"):
        load_settings(_env_file=None, auto_declare="critical")


def test_catalog_loads_and_a_bad_entry_is_named(tmp_path: Path) -> None:
    good = tmp_path / "catalog.yml"
    good.write_text(
        "services:\n"
        "  checkout:\n"
        "    channel: alerts-checkout\n"
        "    owners: [U0123ABCD, S0999]\n"
        "    runbook: https://runbooks.example.com/checkout\n"
    )
    catalog = load_settings(_env_file=None, catalog=str(good)).catalog
    assert catalog is not None
    entry = catalog.get("checkout")
    assert entry is not None
    assert entry.owner_users == ["U0123ABCD"]
    bad = tmp_path / "bad.yml"
    bad.write_text("services:\n  checkout: {}\n  billing:\n    channel: 'Not A Channel'\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None, catalog=str(bad))
    message = str(raised.value)
    assert message.startswith("FIREBREAK_CATALOG is invalid: service 'billing': channel")
    assert "\n" not in message
