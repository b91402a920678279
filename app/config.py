"""Every setting Firebreak reads, in one place.

Slack and database settings keep their conventional names (`SLACK_BOT_TOKEN`,
`DATABASE_URL`, ...); everything else is prefixed `FIREBREAK_`. A `.env` file in the
working directory is read too.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


class LogFormat(StrEnum):
    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


class SeverityLevel(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,20}$")
    description: str = Field(max_length=150)
    update_minutes: int = Field(ge=0, le=24 * 60)


# Each role is a select on the incident card, five to a row; Slack allows 50 blocks.
MAX_ROLES = 20

DEFAULT_SEVERITIES = [
    SeverityLevel(
        name="SEV1", description="Critical: customers cannot use the product", update_minutes=15
    ),
    SeverityLevel(
        name="SEV2",
        description="Major: a core feature is down or badly degraded",
        update_minutes=30,
    ),
    SeverityLevel(
        name="SEV3", description="Minor: partial degradation with a workaround", update_minutes=60
    ),
    SeverityLevel(name="SEV4", description="Low: little or no customer impact", update_minutes=0),
]

# Settings whose environment names do not follow the FIREBREAK_ prefix.
_PLAIN_NAMES = {
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_api_url": "SLACK_API_URL",
    "database_url": "DATABASE_URL",
}

_HINTS = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token from your Slack app's OAuth & Permissions page "
    "(starts with xoxb-)",
    "SLACK_SIGNING_SECRET": "the Signing Secret from your Slack app's Basic Information page",
    "SLACK_APP_TOKEN": "an app-level token with the connections:write scope (starts with xapp-)",
    "SLACK_API_URL": "the Web API base URL ending in /, e.g. https://slack.com/api/",
    "DATABASE_URL": "an SQLAlchemy URL such as sqlite:///firebreak.db or "
    "postgresql+psycopg://user:password@host:5432/firebreak",
    "FIREBREAK_SEVERITIES": 'a JSON list such as [{"name": "SEV1", "description": "Critical", '
    '"update_minutes": 15}]',
    "FIREBREAK_ROLES": "a comma-separated list of role names, e.g. commander,comms,scribe",
}


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FIREBREAK_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret")
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token")
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        validation_alias=AliasChoices("SLACK_API_URL", "slack_api_url"),
        pattern=r"^https?://[^\s]+/$",
    )
    # How long one Web API call may take before it counts as failed (and is retried).
    slack_timeout_seconds: int = Field(default=10, ge=1, le=60)
    database_url: str = Field(
        default="sqlite:///firebreak.db",
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
        min_length=1,
    )

    announce_channel: str = Field(default="incidents", pattern=r"^[a-z0-9_-]{1,80}$")
    severities: Annotated[list[SeverityLevel], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_SEVERITIES)
    )
    roles: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["commander", "comms", "scribe"]
    )
    postmortem_nudge_days: int = Field(default=2, ge=0, le=60)
    snooze_minutes: int = Field(default=10, ge=1, le=24 * 60)

    # Unfinished declarations (a crash, a Slack outage) are retried this often; a replica
    # setting one up holds a lease that lapses this long after its last step.
    resume_interval_seconds: float = Field(default=60, gt=0, le=3600)
    setup_lease_seconds: float = Field(default=30, gt=0, le=3600)
    # How often pending Slack effects (retries, and work a killed replica left) are swept.
    effects_interval_seconds: float = Field(default=2, gt=0, le=600)
    # A replica carrying out an effect renews its lease every third of this; if it dies,
    # another replica takes the effect over after at most this long.
    effects_lease_seconds: float = Field(default=15, ge=0.3, le=3600)
    # How often open incidents' card, topic and announcement are compared with Slack.
    reconcile_interval_seconds: float = Field(default=300, gt=0, le=86400)

    log_format: LogFormat = LogFormat.AUTO
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    http_host: str = "0.0.0.0"  # noqa: S104 - the container listens on all interfaces
    http_port: int = Field(default=3000, ge=1, le=65535)
    http_threads: int = Field(default=8, ge=1, le=256)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # /readyz answers from a probe at most this old (0: probe on every request).
    readiness_cache_seconds: float = Field(default=5, ge=0, le=300)

    # Integrations (docs/integrations.md): each is off until its settings are given.
    pagerduty_routing_key: SecretStr | None = None
    pagerduty_webhook_secret: SecretStr | None = None
    pagerduty_events_url: str = Field(
        default="https://events.pagerduty.com/v2/enqueue", pattern=r"^https?://\S+$"
    )
    paging_severities: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["SEV1", "SEV2"]
    )
    jira_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    jira_project: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]{0,19}$")
    jira_email: str | None = None
    jira_api_token: SecretStr | None = None
    jira_issue_type: str = Field(default="Task", min_length=1, max_length=60)
    # File every new action item in Jira, not only those someone files from Slack.
    jira_auto_file: bool = False
    # How often open action items filed in Jira are checked for a done status there.
    jira_poll_seconds: float = Field(default=60, gt=0, le=86400)
    statuspage_api_key: SecretStr | None = None
    statuspage_page_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,40}$")
    statuspage_url: str = Field(default="https://api.statuspage.io/v1/", pattern=r"^https?://\S+/$")
    # One call to an outside service may take this long before it counts as failed.
    integrations_timeout_seconds: float = Field(default=10, gt=0, le=60)
    # A page waits this long for the incident channel (to link to it), then goes anyway.
    pagerduty_link_wait_seconds: float = Field(default=30, ge=0, le=600)

    @field_validator("roles", mode="before")
    @classmethod
    def _split_roles(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("roles")
    @classmethod
    def _check_roles(cls, roles: list[str]) -> list[str]:
        if "commander" not in roles:
            raise ValueError("the roles must include commander")
        for role in roles:
            if not role.replace("_", "").isalnum() or role.lower() != role:
                raise ValueError(f"role {role!r} must be lowercase letters, digits or _")
        if len(set(roles)) != len(roles):
            raise ValueError("role names must be unique")
        if len(roles) > MAX_ROLES:
            raise ValueError(f"at most {MAX_ROLES} roles fit on the incident card")
        return roles

    @field_validator("paging_severities", mode="before")
    @classmethod
    def _split_paging(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("severities", mode="before")
    @classmethod
    def _parse_severities(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ValueError("not valid JSON") from None
        return value

    @field_validator("severities")
    @classmethod
    def _check_severities(cls, levels: list[SeverityLevel]) -> list[SeverityLevel]:
        names = [level.name.upper() for level in levels]
        if not levels:
            raise ValueError("at least one severity is needed")
        if len(set(names)) != len(names):
            raise ValueError("severity names must be unique")
        return levels

    @field_validator("database_url")
    @classmethod
    def _normalise_postgres_url(cls, url: str) -> str:
        # Hosted PostgreSQL often hands out postgres:// URLs; SQLAlchemy needs a driver name.
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url.removeprefix(prefix)
        if not url.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("only sqlite:// and postgresql:// URLs are supported")
        return url

    @model_validator(mode="after")
    def _check_token_shapes(self) -> Settings:
        _check_prefix(self.slack_bot_token, "xoxb-", "SLACK_BOT_TOKEN")
        _check_prefix(self.slack_app_token, "xapp-", "SLACK_APP_TOKEN")
        jira = [self.jira_url, self.jira_project, self.jira_email, self.jira_api_token]
        if any(value is not None for value in jira) and not all(
            value is not None for value in jira
        ):
            raise ValueError(
                "Jira needs all of FIREBREAK_JIRA_URL, FIREBREAK_JIRA_PROJECT, "
                "FIREBREAK_JIRA_EMAIL and FIREBREAK_JIRA_API_TOKEN"
            )
        if (self.statuspage_api_key is None) != (self.statuspage_page_id is None):
            raise ValueError(
                "Statuspage needs both FIREBREAK_STATUSPAGE_API_KEY and "
                "FIREBREAK_STATUSPAGE_PAGE_ID"
            )
        return self

    # --- derived values ---------------------------------------------------------------

    @property
    def severity_names(self) -> list[str]:
        return [level.name for level in self.severities]

    def severity(self, name: str) -> SeverityLevel:
        for level in self.severities:
            if level.name.upper() == name.upper():
                return level
        raise KeyError(name)

    @property
    def pagerduty_enabled(self) -> bool:
        return self.pagerduty_routing_key is not None

    @property
    def jira_enabled(self) -> bool:
        return self.jira_api_token is not None

    @property
    def statuspage_enabled(self) -> bool:
        return self.statuspage_api_key is not None

    def pages_on_declare(self, severity: str) -> bool:
        return severity.upper() in {name.upper() for name in self.paging_severities}

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def secrets(self) -> list[str]:
        """Every secret value, so log redaction can mask it wherever it appears."""
        values = [
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.pagerduty_routing_key,
            self.pagerduty_webhook_secret,
            self.jira_api_token,
            self.statuspage_api_key,
        ]
        return [value.get_secret_value() for value in values if value is not None]

    def require(self, *names: str) -> None:
        """Fail with a ConfigError naming the first of `names` (field names) that is unset."""
        for name in names:
            if getattr(self, name) is None:
                env = env_name(name)
                raise ConfigError(f"{env} is not set: set it to {_HINTS[env]}")


def _check_prefix(value: SecretStr | None, prefix: str, env: str) -> None:
    if value is not None and not value.get_secret_value().startswith(prefix):
        raise ValueError(f"{env} must start with {prefix}")


def env_name(field: str) -> str:
    return _PLAIN_NAMES.get(field, f"FIREBREAK_{field.upper()}")


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each bad setting and what a good value looks like."""
    parts = []
    for item in error.errors():
        message = str(item["msg"]).removeprefix("Value error, ")
        if not item["loc"]:
            parts.append(message)
            continue
        env = env_name(str(item["loc"][0]))
        hint = _HINTS.get(env)
        parts.append(f"{env} is invalid: {message}" + (f" (expected {hint})" if hint else ""))
    return "; ".join(parts)


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (and .env); raise ConfigError with one readable line."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None
