"""Every setting Firebreak reads, in one place.

Slack and database settings keep their conventional names (`SLACK_BOT_TOKEN`,
`DATABASE_URL`, ...); everything else is prefixed `FIREBREAK_`. A `.env` file in the
working directory is read too.
"""

from __future__ import annotations

import json
import string
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

from app.alerts.catalog import Catalog, load_catalog


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
    # An escalation to a major severity is broadcast to the announcement channel. When no
    # level says, the two most severe are major.
    major: bool | None = None


class AutoDeclareRule(BaseModel):
    """Alerts whose `label` equals `value` declare an incident of `severity`."""

    label: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,80}$")
    value: str = Field(min_length=1, max_length=200)
    severity: str

    def matches(self, labels: dict[str, str]) -> bool:
        return labels.get(self.label) == self.value


def _parse_rules(value: Any) -> Any:
    """`severity=critical:SEV1,team=db:SEV2`, or the same as a JSON list of objects."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    rules = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        match, _, severity = item.rpartition(":")
        label, _, wanted = match.partition("=")
        if not (label and wanted and severity):
            raise ValueError(f"rule {item!r} must look like label=value:SEVERITY")
        rules.append({"label": label.strip(), "value": wanted.strip(), "severity": severity})
    return rules


# Work after acks at one time on SQLite: one writer, and every listener thread running
# competes with the acks for the interpreter.
SQLITE_WORK_SLOTS = 8

# Each role is a select on the incident card, five to a row; Slack allows 50 blocks.
MAX_ROLES = 20

DEFAULT_SEVERITIES = [
    SeverityLevel(
        name="SEV1",
        description="Critical: customers cannot use the product",
        update_minutes=15,
        major=True,
    ),
    SeverityLevel(
        name="SEV2",
        description="Major: a core feature is down or badly degraded",
        update_minutes=30,
        major=True,
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
    "FIREBREAK_STATUS_PAGE": "on or off",
    "FIREBREAK_STATUS_URL": "the page's public address, e.g. https://status.example.com/status",
    "FIREBREAK_AUTO_DECLARE": "rules such as severity=critical:SEV1,team=db:SEV2",
    "FIREBREAK_CATALOG": "the path of a services catalog YAML file (see docs/alerts.md)",
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
    # `/incident declare <title>` and alerts without a severity use this one; unset, the
    # third most severe (or the least severe of fewer).
    default_severity: str = ""
    roles: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["commander", "comms", "scribe"]
    )
    postmortem_nudge_days: int = Field(default=2, ge=0, le=60)
    snooze_minutes: int = Field(default=10, ge=1, le=24 * 60)

    # Unfinished declarations (a crash, a Slack outage) are retried this often; a replica
    # setting one up holds a lease that lapses this long after its last step.
    resume_interval_seconds: float = Field(default=60, gt=0, le=3600)
    setup_lease_seconds: float = Field(default=30, gt=0, le=3600)
    # A channel's member list is trusted this long to let a member act without asking
    # Slack before the ack; a non-member is always checked afresh. 0 asks every time.
    membership_cache_seconds: float = Field(default=10, ge=0, le=300)
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
    # Open connections waitress accepts (its default, 100, is what 101 slow clients take):
    # each costs a file descriptor and a few KiB, so keep it under `ulimit -n`.
    http_connection_limit: int = Field(default=1000, ge=10, le=100_000)
    # A connection that sends nothing this long is closed (waitress: 120 s). Slack sends a
    # whole request at once; only a stalled or hostile client waits this long.
    http_channel_timeout: float = Field(default=30, ge=1, le=600)
    # /healthz, /readyz and /metrics listen here, apart from Slack's port, on loopback
    # unless told otherwise (a Kubernetes probe needs 0.0.0.0; keep it off the internet).
    admin_host: str = "127.0.0.1"
    admin_port: int = Field(default=3001, ge=1, le=65535)
    # /readyz answers from a probe at most this old (0: probe on every request).
    readiness_cache_seconds: float = Field(default=5, ge=0, le=300)
    # Socket Mode pings Slack this often; a dropped connection is re-opened within it.
    socket_mode_ping_seconds: float = Field(default=10, ge=0.5, le=300)
    # A meeting link per incident, e.g. https://meet.example.com/{channel}.
    bridge_url: str | None = Field(default=None, max_length=500)
    # Hours after closing before the channel is archived (0: never).
    archive_after_hours: float = Field(default=24, ge=0, le=24 * 365)

    @field_validator("bridge_url")
    @classmethod
    def _check_bridge_url(cls, template: str | None) -> str | None:
        if not template:
            return None
        return check_bridge_template(template)

    # The public status page (/status), off unless asked for.
    status_page: bool = False
    status_title: str = Field(default="Service status", min_length=1, max_length=100)
    # Where readers find the page; stakeholder updates published to it link there.
    status_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    # The page is rebuilt from the database at most this often, and only re-rendered when
    # what it shows changed (0: check on every request).
    status_cache_seconds: float = Field(default=2, ge=0, le=300)
    # Alerts: without a token the /alerts/ endpoints do not exist (404).
    alerts_token: SecretStr | None = Field(default=None, min_length=16)
    alerts_channel: str = Field(default="alerts", pattern=r"^[a-z0-9_-]{1,80}$")
    alerts_service_label: str = Field(default="service", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    # Slack allows about one message per second per channel; edits are coalesced to this.
    alerts_channel_interval_seconds: float = Field(default=1.0, ge=0, le=60)
    auto_declare: Annotated[list[AutoDeclareRule], NoDecode] = Field(default_factory=list)
    catalog: Annotated[Catalog | None, NoDecode] = None

    @field_validator("auto_declare", mode="before")
    @classmethod
    def _split_rules(cls, value: Any) -> Any:
        return _parse_rules(value)

    @field_validator("catalog", mode="before")
    @classmethod
    def _load_catalog(cls, value: Any) -> Any:
        if isinstance(value, str):
            return load_catalog(value) if value.strip() else None
        return value

    # Where "outside working hours" (08:00-20:00) is judged in the insight report.
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone name such as Europe/Paris") from None
        return name

    # Listeners (each acks, then does its work) run on at most `listener_threads`
    # threads, and at most `listener_workers` of them work after their ack at a time
    # (default: the PostgreSQL pool, pool size + overflow; 8 on SQLite, whose single
    # writer serves one transaction at a time). Requests beyond the threads wait in a
    # queue of `listener_queue`; when that is full the HTTP threads wait too (see
    # docs/scaling.md).
    listener_threads: int = Field(default=256, ge=1, le=4096)
    listener_workers: int | None = Field(default=None, ge=1, le=1024)
    listener_queue: int = Field(default=1024, ge=1, le=100_000)
    # PostgreSQL connections per replica: the pool the listeners, provisioning and the
    # scheduler share, and a small one of its own for admitting requests before their ack
    # (one statement each, so it never waits behind background work). Three replicas with
    # the defaults hold at most 3 x (10 + 10 + 4 + 1) = 75 connections.
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    admission_pool_size: int = Field(default=4, ge=1, le=64)

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
        if all(level.major is None for level in levels):
            return [
                level.model_copy(update={"major": index < 2}) for index, level in enumerate(levels)
            ]
        return [level.model_copy(update={"major": bool(level.major)}) for level in levels]

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

    @model_validator(mode="after")
    def _resolve_default_severity(self) -> Settings:
        if not self.default_severity:
            names = self.severity_names
            self.default_severity = names[min(2, len(names) - 1)]
            return self
        try:
            self.default_severity = self.severity(self.default_severity).name
        except KeyError:
            names_text = ", ".join(self.severity_names)
            raise ValueError(
                f"FIREBREAK_DEFAULT_SEVERITY is {self.default_severity!r}; use one of {names_text}"
            ) from None
        return self

    @model_validator(mode="after")
    def _check_rule_severities(self) -> Settings:
        for rule in self.auto_declare:
            try:
                rule.severity = self.severity(rule.severity).name
            except KeyError:
                names = ", ".join(self.severity_names)
                raise ValueError(
                    f"FIREBREAK_AUTO_DECLARE names severity {rule.severity!r}; use one of {names}"
                ) from None
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

    def is_major(self, severity: str) -> bool:
        try:
            return bool(self.severity(severity).major)
        except KeyError:
            return False

    @property
    def work_slots(self) -> int:
        """Listeners working after their ack at one time (see `listener_workers`)."""
        if self.listener_workers is not None:
            return self.listener_workers
        if self.database_url.startswith("sqlite"):
            return SQLITE_WORK_SLOTS
        return self.db_pool_size + self.db_max_overflow

    @property
    def pagerduty_enabled(self) -> bool:
        """A routing key in the settings, or one for a service in the catalog."""
        return self.pagerduty_routing_key is not None or bool(
            self.catalog and self.catalog.routing_keys
        )

    @property
    def jira_enabled(self) -> bool:
        return self.jira_api_token is not None

    @property
    def statuspage_enabled(self) -> bool:
        return self.statuspage_api_key is not None

    @property
    def publishes_updates(self) -> bool:
        """A public update has somewhere to go: Firebreak's status page or Statuspage."""
        return self.status_page or self.statuspage_enabled

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
            self.alerts_token,
            self.pagerduty_routing_key,
            self.pagerduty_webhook_secret,
            self.jira_api_token,
            self.statuspage_api_key,
            *(self.catalog.routing_keys if self.catalog else []),
        ]
        return [value.get_secret_value() for value in values if value is not None]

    def require(self, *names: str) -> None:
        """Fail with a ConfigError naming the first of `names` (field names) that is unset."""
        for name in names:
            if getattr(self, name) is None:
                env = env_name(name)
                raise ConfigError(f"{env} is not set: set it to {_HINTS[env]}")


BRIDGE_PLACEHOLDERS = ("channel", "number", "reference")


def check_bridge_template(template: str) -> str:
    """An http(s) URL whose only placeholders are {channel}, {number} and {reference}."""
    if not template.startswith(("https://", "http://")):
        raise ValueError("must start with https:// or http://")
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as error:
        raise ValueError(f"not a valid template ({error})") from None
    allowed = ", ".join("{" + name + "}" for name in BRIDGE_PLACEHOLDERS)
    for name in fields:
        if name not in BRIDGE_PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}}; use {allowed}")
    return template


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
