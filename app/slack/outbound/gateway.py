"""The one place that calls Slack's Web API.

Wraps `slack_sdk.WebClient`: rate-limited calls are retried after `Retry-After`, server
errors and dropped connections with bounded backoff (slack_sdk's retry handlers), and
Slack's error answers become `SlackCallError`, so services never see slack_sdk types.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.jitter import RandomJitter
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient

from app.incidents.ports import Person, WorkspaceError
from app.logging import get_logger

log = get_logger(__name__)

Blocks = Sequence[dict[str, Any]]


class SlackCallError(WorkspaceError):
    """Slack answered `ok: false` (or could not be reached at all: error `unavailable`)."""


@dataclass(frozen=True)
class PostedMessage:
    channel: str
    ts: str


CallObserver = Callable[[str, str | None, float], None]


def retry_handlers(max_retries: int = 3) -> list[RetryHandler]:
    backoff = BackoffRetryIntervalCalculator(backoff_factor=0.5, jitter=RandomJitter())
    return [
        RateLimitErrorRetryHandler(max_retry_count=max_retries),
        ServerErrorRetryHandler(max_retry_count=max_retries, interval_calculator=backoff),
        ConnectionErrorRetryHandler(max_retry_count=max_retries, interval_calculator=backoff),
    ]


def create_web_client(token: str | None, base_url: str, timeout: int = 10) -> WebClient:
    client = WebClient(token=token, base_url=base_url, timeout=timeout)
    client.retry_handlers = retry_handlers()
    return client


def _next_cursor(page: SlackResponse) -> str | None:
    metadata: dict[str, Any] = page.get("response_metadata") or {}
    return metadata.get("next_cursor") or None


# A marked post whose answer was a 5xx or a dropped connection may have been made: look
# for it before posting again, this many times.
MARKED_POST_TRIES = 3


def _is_transient(error: SlackCallError) -> bool:
    return (
        error.unavailable
        or error.error.startswith("http_5")
        or error.error
        in (
            "internal_error",
            "fatal_error",
            "service_unavailable",
            "request_timeout",
        )
    )


class SlackGateway:
    def __init__(self, client: WebClient, observer: CallObserver | None = None) -> None:
        self.client = client
        # For marked posts: retried on 429 only (Slack did not post), never blindly on a
        # 5xx or a lost connection, after which the message may already be there.
        self._marked_client = WebClient(
            token=client.token, base_url=client.base_url, timeout=client.timeout
        )
        self._marked_client.retry_handlers = [RateLimitErrorRetryHandler(max_retry_count=3)]
        self._observer = observer
        self._bot_user_id: str | None = None

    @contextmanager
    def _calling(self, method: str) -> Iterator[None]:
        started = time.perf_counter()
        error: str | None = None
        try:
            yield
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
            raise SlackCallError(method, error, str(exc.response.get("needed") or "")) from exc
        except (SlackClientError, OSError) as exc:
            error = "unavailable"
            raise SlackCallError(method, error, type(exc).__name__) from exc
        finally:
            if error:
                log.warning("slack_call_failed", method=method, error=error)
            if self._observer is not None:
                self._observer(method, error, time.perf_counter() - started)

    # --- identity and users -------------------------------------------------------------

    def auth_test(self) -> dict[str, Any]:
        with self._calling("auth.test"):
            return dict(self.client.auth_test().data)  # type: ignore[arg-type]

    def bot_user_id(self) -> str:
        """The bot's own user id (asked once)."""
        if self._bot_user_id is None:
            self._bot_user_id = str(self.auth_test()["user_id"])
        return self._bot_user_id

    def user(self, user_id: str) -> Person:
        with self._calling("users.info"):
            data = self.client.users_info(user=user_id)["user"]
        return Person(
            id=data["id"],
            name=data.get("name", ""),
            real_name=data.get("real_name") or data.get("profile", {}).get("real_name", ""),
            is_bot=bool(data.get("is_bot")) or data["id"] == "USLACKBOT",
            deleted=bool(data.get("deleted")),
            tz=data.get("tz"),
        )

    # --- channels -----------------------------------------------------------------------

    def create_channel(self, name: str, *, private: bool) -> tuple[str, str]:
        """Create a channel; return (id, name). Raises SlackCallError('name_taken')."""
        with self._calling("conversations.create"):
            channel = self.client.conversations_create(name=name, is_private=private)["channel"]
        return channel["id"], channel["name"]

    def find_channel(self, name: str) -> str | None:
        """The id of a channel the bot can see by name, or None."""
        cursor: str | None = None
        with self._calling("conversations.list"):
            while True:
                page = self.client.conversations_list(
                    types="public_channel,private_channel",
                    limit=200,
                    cursor=cursor,
                    exclude_archived=True,
                )
                for channel in page["channels"]:
                    if channel["name"] == name:
                        return str(channel["id"])
                cursor = _next_cursor(page)
                if not cursor:
                    return None

    def join(self, channel: str) -> None:
        with self._calling("conversations.join"):
            self.client.conversations_join(channel=channel)

    def invite(self, channel: str, users: Sequence[str]) -> None:
        if not users:
            return
        try:
            with self._calling("conversations.invite"):
                self.client.conversations_invite(channel=channel, users=",".join(users))
        except SlackCallError as error:
            # Inviting is idempotent for us: a member already there is the goal reached.
            if error.error not in ("already_in_channel", "cant_invite_self"):
                raise

    def members(self, channel: str) -> list[str]:
        members: list[str] = []
        cursor: str | None = None
        with self._calling("conversations.members"):
            while True:
                page = self.client.conversations_members(channel=channel, limit=1000, cursor=cursor)
                members.extend(page["members"])
                cursor = _next_cursor(page)
                if not cursor:
                    return members

    def topic(self, channel: str) -> str:
        with self._calling("conversations.info"):
            info = self.client.conversations_info(channel=channel)["channel"]
        return str((info.get("topic") or {}).get("value") or "")

    def set_topic(self, channel: str, topic: str) -> None:
        with self._calling("conversations.setTopic"):
            self.client.conversations_setTopic(channel=channel, topic=topic[:250])

    def archive(self, channel: str) -> None:
        """Archive a channel; one already archived counts as done."""
        try:
            with self._calling("conversations.archive"):
                self.client.conversations_archive(channel=channel)
        except SlackCallError as error:
            if error.error != "already_archived":
                raise

    def unarchive(self, channel: str) -> None:
        """Unarchive a channel; one not archived counts as done."""
        try:
            with self._calling("conversations.unarchive"):
                self.client.conversations_unarchive(channel=channel)
        except SlackCallError as error:
            if error.error != "not_archived":
                raise

    # --- messages -----------------------------------------------------------------------

    def post(
        self,
        channel: str,
        text: str,
        blocks: Blocks | None = None,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> PostedMessage:
        """Post a message. With `metadata` ({event_type, event_payload}) the message is
        marked: a failed attempt that Slack may have carried out is looked up before the
        next, so a marked post appears at most once."""
        arguments: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "blocks": list(blocks) if blocks else None,
            "thread_ts": thread_ts,
            "reply_broadcast": broadcast or None,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if metadata is None:
            with self._calling("chat.postMessage"):
                response: SlackResponse = self.client.chat_postMessage(**arguments)
            return PostedMessage(channel=response["channel"], ts=response["ts"])
        return self._post_marked(arguments, metadata)

    def _post_marked(self, arguments: dict[str, Any], metadata: dict[str, Any]) -> PostedMessage:
        channel, thread_ts = arguments["channel"], arguments["thread_ts"]
        for attempt in range(1, MARKED_POST_TRIES + 1):
            try:
                with self._calling("chat.postMessage"):
                    response = self._marked_client.chat_postMessage(**arguments, metadata=metadata)
                return PostedMessage(channel=response["channel"], ts=response["ts"])
            except SlackCallError as error:
                if not _is_transient(error) or attempt == MARKED_POST_TRIES:
                    raise
            time.sleep(0.5 * attempt)
            found = self.find_marked(channel, metadata, thread_ts=thread_ts)
            if found:
                return PostedMessage(channel=channel, ts=found)
        raise AssertionError("unreachable")

    def find_marked(
        self,
        channel: str,
        metadata: dict[str, Any],
        limit: int = 100,
        *,
        thread_ts: str | None = None,
    ) -> str | None:
        """The ts of a recent message carrying exactly this metadata, or None: among the
        channel's top-level messages, or among the replies of `thread_ts`."""
        if thread_ts:
            with self._calling("conversations.replies"):
                page = self.client.conversations_replies(
                    channel=channel, ts=thread_ts, limit=1000, include_all_metadata=True
                )
        else:
            with self._calling("conversations.history"):
                page = self.client.conversations_history(
                    channel=channel, limit=limit, include_all_metadata=True
                )
        wanted = (metadata.get("event_type"), metadata.get("event_payload"))
        for message in page["messages"]:
            found = message.get("metadata") or {}
            if (found.get("event_type"), found.get("event_payload")) == wanted:
                return str(message["ts"])
        return None

    def update(self, channel: str, ts: str, text: str, blocks: Blocks | None = None) -> None:
        with self._calling("chat.update"):
            self.client.chat_update(
                channel=channel, ts=ts, text=text, blocks=list(blocks) if blocks else []
            )

    def post_ephemeral(
        self, channel: str, user: str, text: str, blocks: Blocks | None = None
    ) -> None:
        with self._calling("chat.postEphemeral"):
            self.client.chat_postEphemeral(
                channel=channel, user=user, text=text, blocks=list(blocks) if blocks else None
            )

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One message by its ts: a top-level message, else a reply in a thread."""
        with self._calling("conversations.history"):
            page = self.client.conversations_history(
                channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
            )
        for message in page["messages"]:
            if message.get("ts") == ts:
                return dict(message)
        try:
            with self._calling("conversations.replies"):
                thread = self.client.conversations_replies(channel=channel, ts=ts, limit=1000)
        except SlackCallError as error:
            if error.error == "thread_not_found":
                return None
            raise
        return next((dict(m) for m in thread["messages"] if m.get("ts") == ts), None)

    def open_dm(self, user: str) -> str:
        with self._calling("conversations.open"):
            return str(self.client.conversations_open(users=user)["channel"]["id"])

    def permalink(self, channel: str, ts: str) -> str:
        with self._calling("chat.getPermalink"):
            return str(self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])

    def pin(self, channel: str, ts: str) -> None:
        try:
            with self._calling("pins.add"):
                self.client.pins_add(channel=channel, timestamp=ts)
        except SlackCallError as error:
            if error.error != "already_pinned":
                raise

    def bookmark_links(self, channel: str) -> set[str]:
        with self._calling("bookmarks.list"):
            found = self.client.bookmarks_list(channel_id=channel)["bookmarks"]
        return {str(item.get("link")) for item in found}

    def bookmark(self, channel: str, title: str, link: str) -> None:
        with self._calling("bookmarks.add"):
            self.client.bookmarks_add(channel_id=channel, title=title, type="link", link=link)

    def respond(self, response_url: str, text: str) -> bool:
        """An ephemeral reply through an interaction's response_url; False if it was refused."""
        try:
            response = WebhookClient(response_url, timeout=10).send(
                text=text, response_type="ephemeral"
            )
        except (SlackClientError, OSError) as error:
            log.warning("response_url_failed", error=type(error).__name__)
            return False
        return response.status_code == 200

    # --- views --------------------------------------------------------------------------

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> str:
        with self._calling("views.open"):
            return str(self.client.views_open(trigger_id=trigger_id, view=view)["view"]["id"])

    def publish_home(self, user: str, view: dict[str, Any]) -> None:
        with self._calling("views.publish"):
            self.client.views_publish(user_id=user, view=view)

    # --- files --------------------------------------------------------------------------

    def upload_file(
        self, channel: str, filename: str, content: bytes, title: str, comment: str = ""
    ) -> None:
        """Slack's external upload flow: get an upload URL, send the bytes, complete."""
        with self._calling("files.uploadV2"):
            self.client.files_upload_v2(
                channel=channel,
                filename=filename,
                content=content,
                title=title,
                initial_comment=comment or None,
            )
