"""Who the bot is, learned from `auth.test` in the background, never before an ack."""

from __future__ import annotations

import threading
from collections.abc import Callable

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from app.logging import get_logger

log = get_logger(__name__)

# auth.test retried this long apart at first, doubling up to the ceiling, until it answers.
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 60.0


class BotIdentity:
    """Bolt's `authorize` for our single workspace, without a Web API call in it.

    Bolt's default asks `auth.test` before it runs the first listener, and so before the
    first ack; while Slack is slow every request waits for it. Here a background thread
    asks at start-up (one try at a time, short timeout, backing off); until it has an
    answer, requests are authorized with the token alone, which is all listeners need.
    """

    def __init__(self, token: str | None, base_url: str, timeout: int = 5) -> None:
        self.token = token
        self._client = WebClient(token=token, base_url=base_url, timeout=timeout)
        self._client.retry_handlers = []
        self._known: AuthorizeResult | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._identify, name="bot-identity", daemon=True)

    def start(self) -> None:
        if self.token:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    @property
    def known(self) -> bool:
        return self._known is not None

    def wait(self, timeout: float) -> bool:
        """Wait until auth.test has answered (or `timeout` seconds)."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        return self.known

    def authorizer(self) -> Callable[..., AuthorizeResult]:
        """A plain function: Bolt passes arguments by parameter name (a method's `self`
        would collide)."""

        def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            if self._known is not None:
                return self._known
            return AuthorizeResult(
                enterprise_id=enterprise_id, team_id=team_id, bot_token=self.token
            )

        return authorize

    def _identify(self) -> None:
        delay = FIRST_RETRY_SECONDS
        while not self._stop.is_set():
            try:
                response = self._client.auth_test()
            except (SlackClientError, OSError) as error:
                log.warning("auth_test_unavailable", error=type(error).__name__, retry_in=delay)
            else:
                self._known = AuthorizeResult.from_auth_test_response(
                    auth_test_response=response, bot_token=self.token
                )
                log.info("bot_identified", bot_user_id=self._known.bot_user_id)
                return
            self._stop.wait(delay)
            delay = min(delay * 2, MAX_RETRY_SECONDS)
