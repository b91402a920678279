"""The services catalog (`FIREBREAK_CATALOG`): who owns what, and where its alerts go.

```yaml
services:
  checkout:
    channel: alerts-checkout
    owners: [U0123ABCD, U0456EFGH]   # Slack user ids, or one user group id (S...)
    runbook: https://runbooks.example.com/checkout
    escalation: Page the payments on-call after 15 minutes
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator

_CHANNEL = r"^[a-z0-9_-]{1,80}$"
_OWNER = re.compile(r"^[UWS][A-Z0-9]{2,30}$")


class CatalogService(BaseModel):
    model_config = {"extra": "forbid"}

    channel: str | None = Field(default=None, pattern=_CHANNEL)
    owners: list[str] = Field(default_factory=list)
    runbook: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=500)
    escalation: str | None = Field(default=None, max_length=300)
    # Pages for this service's incidents go here (PagerDuty Events API v2 routing key);
    # without one, FIREBREAK_PAGERDUTY_ROUTING_KEY.
    pagerduty_routing_key: SecretStr | None = Field(default=None, min_length=1)
    # This service's component on the Atlassian Statuspage page, set while it has an incident.
    statuspage_component: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,64}$")

    @field_validator("owners", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("owners")
    @classmethod
    def _check_owners(cls, owners: list[str]) -> list[str]:
        for owner in owners:
            if not _OWNER.match(owner):
                raise ValueError(f"owner {owner!r} is not a Slack user id (U...) or group (S...)")
        return owners

    @property
    def owner_users(self) -> list[str]:
        return [owner for owner in self.owners if not owner.startswith("S")]


class Catalog(BaseModel):
    services: dict[str, CatalogService] = Field(default_factory=dict)

    def get(self, name: str | None) -> CatalogService | None:
        return self.services.get(name) if name else None

    @property
    def names(self) -> list[str]:
        return sorted(self.services)

    @property
    def routing_keys(self) -> list[SecretStr]:
        return [s.pagerduty_routing_key for s in self.services.values() if s.pagerduty_routing_key]


def load_catalog(path: str | Path) -> Catalog:
    """Read and check the catalog; ValueError naming the entry that is wrong."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"{path} is not valid YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("services"), dict):
        raise ValueError(f"{path} must hold a `services:` mapping")
    services = {}
    for name, entry in raw["services"].items():
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_.-]{1,80}$", name):
            raise ValueError(f"service name {name!r} must be letters, digits, _ . or -")
        try:
            services[name] = CatalogService.model_validate(entry or {})
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "entry"
            message = str(first["msg"]).removeprefix("Value error, ")
            raise ValueError(f"service {name!r}: {where}: {message}") from None
    return Catalog(services=services)
