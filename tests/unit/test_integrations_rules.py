"""Pure parts of the integrations: keys, signatures, status mapping, settings, blocks."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from app.config import ConfigError, load_settings
from app.integrations.jira import item_label
from app.integrations.pagerduty import dedup_key, parse_dedup_key, signature_valid
from app.integrations.statuspage import STATUSES
from app.slack.outbound import blocks


def test_dedup_key_round_trips_and_refuses_strangers() -> None:
    key = dedup_key("T123", 42)
    assert parse_dedup_key(key) == ("T123", 42)
    assert parse_dedup_key("someone-else/T1/INC-4") is None
    assert parse_dedup_key("firebreak/T1/INC-x") is None


def test_webhook_signature_any_of_several_during_rotation() -> None:
    body = b'{"event": {}}'
    good = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signature_valid("s3cret", body, f"v1={good}")
    assert signature_valid("s3cret", body, f"v1={'0' * 64},v1={good}")
    assert not signature_valid("s3cret", body + b" ", f"v1={good}")
    assert not signature_valid("s3cret", body, good)  # no scheme
    assert not signature_valid("s3cret", body, None)


def test_every_status_maps_to_a_statuspage_status() -> None:
    assert STATUSES["closed"] == "resolved"
    assert set(STATUSES.values()) == {"investigating", "identified", "monitoring", "resolved"}


def test_jira_label_has_no_spaces_and_names_the_item() -> None:
    assert item_label("T0ABC", 7) == "firebreak-t0abc-action-7"


def test_integrations_are_off_by_default_and_half_a_jira_set_up_is_refused() -> None:
    settings = load_settings(_env_file=None)
    assert not (settings.pagerduty_enabled or settings.jira_enabled)
    assert not settings.statuspage_enabled
    assert settings.pages_on_declare("sev1") and not settings.pages_on_declare("SEV3")
    with pytest.raises(ConfigError, match="Jira needs all of"):
        load_settings(_env_file=None, jira_url="https://example.atlassian.net")


def test_integration_secrets_are_redacted_from_logs() -> None:
    settings = load_settings(
        _env_file=None,
        pagerduty_routing_key="R" * 32,
        statuspage_api_key="k",
        statuspage_page_id="p",
    )
    assert {"R" * 32, "k"} <= set(settings.secrets())


def test_action_items_offer_jira_only_when_set_up_and_not_filed() -> None:
    items = [(1, "Fix it", None, None, "open"), (2, "Done already", None, None, "done")]
    plain = blocks.action_item_list("INC-1", items)
    assert blocks.FILE_IN_JIRA_ACTION not in str(plain)
    offered = blocks.action_item_list("INC-1", items, {}, jira=True)
    assert str(offered).count(blocks.FILE_IN_JIRA_ACTION) == 1
    filed = blocks.action_item_list(
        "INC-1", items, {1: ("OPS-1", "https://j/browse/OPS-1")}, jira=True
    )
    assert blocks.FILE_IN_JIRA_ACTION not in str(filed)
    assert "<https://j/browse/OPS-1|OPS-1>" in str(filed)
    many = [(n, f"item {n}", None, None, "open") for n in range(60)]
    assert len(blocks.action_item_list("INC-1", many, {}, jira=True)) <= 50
