"""A small JSON-over-HTTP client for the integrations, on the standard library.

Every outside call goes through `request`: one timeout, and one error type that says
whether trying again may help (5xx, 429, timeouts, a dropped connection) or not (401,
400, 404 ...). Credentials travel in headers only and never reach an error or a log line.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


class CallError(Exception):
    """An outside service did not do what was asked."""

    def __init__(
        self, service: str, status: int | None, detail: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{service}: {status or 'no answer'} {detail}")
        self.service = service
        self.status = status
        self.detail = detail[:150]
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500

    @property
    def short(self) -> str:
        return f"HTTP {self.status}" if self.status else self.detail


@dataclass(frozen=True)
class Response:
    status: int
    body: Any


def request(
    service: str,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: Any = None,
    timeout: float = 10.0,
) -> Response:
    data = None if body is None else json.dumps(body).encode()
    sent = {"Accept": "application/json", "User-Agent": "firebreak", **(headers or {})}
    if data is not None:
        sent["Content-Type"] = "application/json"
    prepared = urllib.request.Request(url, data=data, method=method, headers=sent)  # noqa: S310
    try:
        with urllib.request.urlopen(prepared, timeout=timeout) as answer:  # noqa: S310
            return Response(answer.status, _json(answer.read()))
    except urllib.error.HTTPError as error:
        retry_after = _seconds(error.headers.get("Retry-After"))
        detail = _detail(error.read())
        raise CallError(service, error.code, detail, retry_after) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise CallError(service, None, type(reason).__name__) from None


def _json(raw: bytes) -> Any:
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return {}


def _detail(raw: bytes) -> str:
    """A short reason from an error body (services echo no credentials in them)."""
    body = _json(raw)
    if isinstance(body, dict):
        for key in ("message", "error", "errorMessages", "errors"):
            if body.get(key):
                return str(body[key])[:150]
    return ""


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
