"""Drives a running Firebreak the way Slack does: signed HTTP requests to /slack/events."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from app.emulator import SlackEmulator
from app.emulator.signing import signed_headers
from app.runtime import Runtime
from tests.support import payloads

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class HttpResult:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def http_request(
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
    timeout: float = 15,
) -> HttpResult:
    request = urllib.request.Request(  # noqa: S310 - tests only talk to 127.0.0.1
        url, data=body, headers=headers or {}, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return HttpResult(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return HttpResult(error.code, error.read(), dict(error.headers))


class SlackDriver:
    """What Slack would send, signed with the app's signing secret."""

    def __init__(
        self, base_url: str, signing_secret: str, emulator: SlackEmulator, runtime: Runtime
    ) -> None:
        self.url = base_url + "/slack/events"
        self.secret = signing_secret
        self.emulator = emulator
        self.runtime = runtime
        self.team_id = emulator.team_id
        self.last_trigger_id = ""

    def post(self, body: bytes, content_type: str, *, wait: bool = True) -> HttpResult:
        result = http_request(self.url, body, signed_headers(self.secret, body, content_type))
        if wait:
            self.wait()
        return result

    def wait(self) -> None:
        assert self.runtime.wait_idle(15), "listeners still busy after 15 s"

    def command(self, text: str = "", *, user: str, channel: str, wait: bool = True) -> HttpResult:
        self.last_trigger_id = self.emulator.new_trigger_id()
        fields = payloads.slash_command(
            team_id=self.team_id,
            user_id=user,
            channel_id=channel,
            text=text,
            trigger_id=self.last_trigger_id,
            response_url=self.emulator.new_response_url(),
        )
        return self.post(payloads.form_body(fields), FORM, wait=wait)

    def action(
        self,
        action: dict[str, Any],
        *,
        user: str,
        channel: str | None = None,
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> HttpResult:
        payload = payloads.block_actions(
            team_id=self.team_id,
            user_id=user,
            actions=[action],
            trigger_id=self.emulator.new_trigger_id(),
            response_url=self.emulator.new_response_url(),
            channel_id=channel,
            message=message,
            view=view,
        )
        return self.post(payloads.interactive_body(payload), FORM, wait=wait)

    def shortcut(self, callback_id: str, *, user: str, wait: bool = True) -> HttpResult:
        """A global shortcut, chosen from Slack's shortcut menu."""
        self.last_trigger_id = self.emulator.new_trigger_id(user)
        payload = payloads.global_shortcut(
            team_id=self.team_id,
            user_id=user,
            callback_id=callback_id,
            trigger_id=self.last_trigger_id,
        )
        return self.post(payloads.interactive_body(payload), FORM, wait=wait)

    def message_action(
        self,
        callback_id: str,
        *,
        user: str,
        channel: str,
        message: dict[str, Any],
        trigger_id: str | None = None,
        wait: bool = True,
    ) -> HttpResult:
        """A message shortcut, chosen from a message's "More actions" menu."""
        self.last_trigger_id = trigger_id or self.emulator.new_trigger_id(user)
        payload = payloads.message_action(
            team_id=self.team_id,
            user_id=user,
            callback_id=callback_id,
            trigger_id=self.last_trigger_id,
            response_url=self.emulator.new_response_url(channel_id=channel, user_id=user),
            channel_id=channel,
            message=message,
        )
        return self.post(payloads.interactive_body(payload), FORM, wait=wait)

    def submit(
        self,
        view: dict[str, Any],
        values: dict[str, dict[str, Any]],
        *,
        user: str,
        view_hash: str | None = None,
        wait: bool = True,
    ) -> HttpResult:
        payload = payloads.view_submission(
            team_id=self.team_id,
            user_id=user,
            view=view,
            values=values,
            view_id=view.get("id"),
            view_hash=view_hash or view.get("hash"),
        )
        return self.post(payloads.interactive_body(payload), FORM, wait=wait)

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, wait: bool = True
    ) -> HttpResult:
        envelope = payloads.event_callback(event, team_id=self.team_id, event_id=event_id)
        return self.post(payloads.event_body(envelope), "application/json", wait=wait)
