from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, Settings, load_settings


def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _clean_env(monkeypatch, tmp_path)
    settings = load_settings()
    assert settings.database_url == "sqlite:///firebreak.db"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.announce_channel == "incidents"
    assert settings.severity_names == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert [s.update_minutes for s in settings.severities] == [15, 30, 60, 0]
    assert settings.roles == ["commander", "comms", "scribe"]
    assert not settings.socket_mode


def test_reads_plain_and_prefixed_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-123")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-abc")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db:5432/fb")
    monkeypatch.setenv("FIREBREAK_ROLES", "commander, comms, scribe, tech_lead")
    monkeypatch.setenv("FIREBREAK_ANNOUNCE_CHANNEL", "major-incidents")
    settings = load_settings()
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-123"
    assert settings.socket_mode
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/fb"
    assert settings.roles == ["commander", "comms", "scribe", "tech_lead"]
    assert settings.announce_channel == "major-incidents"


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _clean_env(monkeypatch, tmp_path)
    (tmp_path / ".env").write_text("SLACK_SIGNING_SECRET=from-dotenv\n")
    settings = load_settings()
    assert settings.slack_signing_secret is not None
    assert settings.slack_signing_secret.get_secret_value() == "from-dotenv"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("FIREBREAK_SEVERITIES", "not json", "FIREBREAK_SEVERITIES is invalid"),
        ("FIREBREAK_ROLES", "comms,scribe", "must include commander"),
        ("FIREBREAK_HTTP_PORT", "eighty", "FIREBREAK_HTTP_PORT is invalid"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL is invalid"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "SLACK_BOT_TOKEN must start with xoxb-"),
        ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL is invalid"),
    ],
)
def test_malformed_setting_names_itself_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, expected: str
) -> None:
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert expected in message
    assert "\n" not in message


def test_require_names_the_missing_setting() -> None:
    settings = Settings(_env_file=None)
    with pytest.raises(ConfigError, match=r"^SLACK_SIGNING_SECRET is not set: set it to the"):
        settings.require("slack_signing_secret")


def test_severity_lookup_is_case_insensitive() -> None:
    settings = Settings(_env_file=None)
    assert settings.severity("sev2").update_minutes == 30
    with pytest.raises(KeyError):
        settings.severity("SEV9")


def test_work_slots_follow_the_database_unless_set() -> None:
    postgres = "postgresql://u@db/firebreak"
    assert Settings(_env_file=None, database_url="sqlite:///x.db").work_slots == 8
    assert Settings(_env_file=None, database_url=postgres).work_slots == 20
    sized = Settings(_env_file=None, database_url=postgres, db_pool_size=4, db_max_overflow=2)
    assert sized.work_slots == 6
    assert Settings(_env_file=None, database_url=postgres, listener_workers=3).work_slots == 3


def test_bridge_template_accepts_known_placeholders(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("FIREBREAK_BRIDGE_URL", "https://meet.example.com/{channel}?n={number}")
    assert load_settings().bridge_url == "https://meet.example.com/{channel}?n={number}"
    monkeypatch.setenv("FIREBREAK_BRIDGE_URL", "")
    assert load_settings().bridge_url is None


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("https://meet.example.com/{room}", "unknown placeholder {room}"),
        ("https://meet.example.com/{channel", "not a valid template"),
        ("meet.example.com/{channel}", "must start with https://"),
    ],
)
def test_bad_bridge_template_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, template: str, message: str
) -> None:
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("FIREBREAK_BRIDGE_URL", template)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    text = str(raised.value)
    assert text.startswith("FIREBREAK_BRIDGE_URL is invalid:")
    assert message in text
    assert "\n" not in text


def test_archive_after_hours_defaults_to_a_day(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _clean_env(monkeypatch, tmp_path)
    assert load_settings().archive_after_hours == 24
    monkeypatch.setenv("FIREBREAK_ARCHIVE_AFTER_HOURS", "0")
    assert load_settings().archive_after_hours == 0
    monkeypatch.setenv("FIREBREAK_ARCHIVE_AFTER_HOURS", "-1")
    with pytest.raises(ConfigError, match="FIREBREAK_ARCHIVE_AFTER_HOURS"):
        load_settings()


def test_timezone_must_be_a_known_zone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("FIREBREAK_TIMEZONE", "Europe/Paris")
    assert load_settings().timezone == "Europe/Paris"
    monkeypatch.setenv("FIREBREAK_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="FIREBREAK_TIMEZONE is invalid"):
        load_settings()


def test_default_and_major_severities_are_named_settings() -> None:
    settings = Settings(_env_file=None)
    assert settings.default_severity == "SEV3"
    assert [level.name for level in settings.severities if settings.is_major(level.name)] == [
        "SEV1",
        "SEV2",
    ]
    levels = (
        '[{"name": "P1", "description": "All down", "update_minutes": 15},'
        ' {"name": "P2", "description": "Some down", "update_minutes": 30, "major": true},'
        ' {"name": "P3", "description": "Slow", "update_minutes": 0}]'
    )
    custom = Settings(_env_file=None, severities=levels, default_severity="p2")
    assert custom.default_severity == "P2"
    assert [custom.is_major(name) for name in ("P1", "P2", "P3", "P9")] == [
        False,
        True,
        False,
        False,
    ]


def test_unmarked_custom_severities_make_the_two_most_severe_major() -> None:
    levels = (
        '[{"name": "P1", "description": "Down", "update_minutes": 15},'
        ' {"name": "P2", "description": "Slow", "update_minutes": 0}]'
    )
    settings = Settings(_env_file=None, severities=levels)
    assert (settings.is_major("P1"), settings.is_major("P2")) == (True, True)
    assert settings.default_severity == "P2"


def test_an_unknown_default_severity_names_the_choices(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("FIREBREAK_DEFAULT_SEVERITY", "SEV9")
    with pytest.raises(ConfigError, match="SEV1, SEV2, SEV3, SEV4"):
        load_settings()
