"""Drives an app the way Slack does: what Slack sends, over HTTP or Socket Mode.

`Driver` builds what Slack sends (slash commands, button presses, shortcuts, modal
submissions, events) with trigger IDs and response URLs from the emulator; `HttpDriver`
posts each as a signed request to the app's events URL, `SocketModeDriver` sends it as an
envelope on the app's Socket Mode connection. Given `idle` (the app's "wait until the work
after the ack is done"), each delivery also waits for that work. The tests, the benchmarks
and `firebreak demo` all send Slack's side through here.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from emulator import payloads
from emulator.server import SlackEmulator
from emulator.signing import signed_headers
from emulator.socket_mode import Envelope
from emulator.state import JsonDict

FORM = "application/x-www-form-urlencoded"
IDLE_SECONDS = 15.0

R = TypeVar("R")


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
    """One request to a local server; an HTTP error status is a result, not an exception."""
    request = urllib.request.Request(  # noqa: S310 - only ever a local server
        url, data=body, headers=headers or {}, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return HttpResult(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return HttpResult(error.code, error.read(), dict(error.headers))


class Driver(ABC, Generic[R]):
    """What Slack would send the app; `deliver` is how it travels, `R` what comes back."""

    def __init__(
        self, emulator: SlackEmulator, idle: Callable[[float], bool] | None = None
    ) -> None:
        self.emulator = emulator
        self.team_id = emulator.team_id
        self.idle = idle
        self.last_trigger_id = ""

    @abstractmethod
    def deliver(self, kind: str, payload: JsonDict) -> R:
        """Send one `slash_commands`, `interactive` or `events_api` payload."""

    @abstractmethod
    def answered(self, result: R) -> bool:
        """Whether the app acknowledged the delivery the way Slack expects."""

    def wait(self) -> None:
        """Until the app has done the work it does after its ack (with `idle` only)."""
        if self.idle is not None and not self.idle(IDLE_SECONDS):
            raise TimeoutError(f"the app was still busy {IDLE_SECONDS:g} s after a request")

    def _send(self, kind: str, payload: JsonDict, wait: bool) -> R:
        result = self.deliver(kind, payload)
        if wait:
            self.wait()
        return result

    def command(self, text: str = "", *, user: str, channel: str, wait: bool = True) -> R:
        self.last_trigger_id = self.emulator.new_trigger_id()
        fields = payloads.slash_command(
            team_id=self.team_id,
            user_id=user,
            channel_id=channel,
            text=text,
            trigger_id=self.last_trigger_id,
            response_url=self.emulator.new_response_url(),
        )
        return self._send("slash_commands", dict(fields), wait)

    def action(
        self,
        action: JsonDict,
        *,
        user: str,
        channel: str | None = None,
        message: JsonDict | None = None,
        view: JsonDict | None = None,
        wait: bool = True,
    ) -> R:
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
        return self._send("interactive", payload, wait)

    def shortcut(self, callback_id: str, *, user: str, wait: bool = True) -> R:
        """A global shortcut, chosen from Slack's shortcut menu."""
        self.last_trigger_id = self.emulator.new_trigger_id(user)
        payload = payloads.global_shortcut(
            team_id=self.team_id,
            user_id=user,
            callback_id=callback_id,
            trigger_id=self.last_trigger_id,
        )
        return self._send("interactive", payload, wait)

    def message_action(
        self,
        callback_id: str,
        *,
        user: str,
        channel: str,
        message: JsonDict,
        trigger_id: str | None = None,
        wait: bool = True,
    ) -> R:
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
        return self._send("interactive", payload, wait)

    def submit(
        self,
        view: JsonDict,
        values: dict[str, dict[str, Any]],
        *,
        user: str,
        view_hash: str | None = None,
        wait: bool = True,
    ) -> R:
        payload = payloads.view_submission(
            team_id=self.team_id,
            user_id=user,
            view=view,
            values=values,
            view_id=view.get("id"),
            view_hash=view_hash or view.get("hash"),
        )
        return self._send("interactive", payload, wait)

    def event(self, event: JsonDict, *, event_id: str | None = None, wait: bool = True) -> R:
        envelope = payloads.event_callback(event, team_id=self.team_id, event_id=event_id)
        return self._send("events_api", envelope, wait)


class HttpDriver(Driver[HttpResult]):
    """Signed HTTP requests to the app's events URL, as Slack sends them."""

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        emulator: SlackEmulator,
        idle: Callable[[float], bool] | None = None,
    ) -> None:
        super().__init__(emulator, idle)
        self.url = base_url + "/slack/events"
        self.secret = signing_secret

    def post(self, body: bytes, content_type: str, *, wait: bool = True) -> HttpResult:
        """A body as it is, signed."""
        result = http_request(self.url, body, signed_headers(self.secret, body, content_type))
        if wait:
            self.wait()
        return result

    def deliver(self, kind: str, payload: JsonDict) -> HttpResult:
        if kind == "events_api":
            return self.post(payloads.event_body(payload), "application/json", wait=False)
        if kind == "interactive":
            return self.post(payloads.interactive_body(payload), FORM, wait=False)
        return self.post(payloads.form_body(payload), FORM, wait=False)

    def answered(self, result: HttpResult) -> bool:
        return result.status == 200


class SocketModeDriver(Driver[Envelope]):
    """Envelopes on the app's Socket Mode connection; each returns with the app's ack."""

    def __init__(
        self, emulator: SlackEmulator, idle: Callable[[float], bool] | None = None
    ) -> None:
        super().__init__(emulator, idle)
        self.socket = emulator.socket_mode

    def deliver(self, kind: str, payload: JsonDict) -> Envelope:
        return self.socket.deliver(kind, payload)

    def answered(self, result: Envelope) -> bool:
        return result.acked.is_set()

    def eventually(self, condition: Callable[[], bool], timeout: float = 15) -> None:
        """The app acks first and works after; wait until the work shows."""
        self.socket.wait_for(condition, timeout)
