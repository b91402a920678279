"""One function per Slack Web API method, and the registry the server dispatches on.

Each handler reads an `ApiRequest`, changes the `Workspace`, and returns the fields of an
`ok: true` answer or raises `SlackError` with the error code Slack documents for the case.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from emulator.state import (
    MAX_ATTACHMENTS,
    MAX_MESSAGE_BLOCKS,
    MAX_PURPOSE_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_TOPIC_LENGTH,
    MAX_VIEW_BYTES,
    MAX_VIEW_STACK,
    RESPONSE_URL_MAX_USES,
    RESPONSE_URL_TTL_SECONDS,
    TRIGGER_TTL_SECONDS,
    Channel,
    ChannelText,
    JsonDict,
    ResponseUrl,
    Trigger,
    UploadedFile,
    View,
    Workspace,
    blocks_problems,
    channel_name_error,
    view_problems,
)

UPLOAD_PATH = "/upload/v1/"
RESPONSE_PATH = "/response/"

T = TypeVar("T")


class SlackError(Exception):
    """An `ok: false` answer: the error code plus any extra top-level fields."""

    def __init__(self, error: str, **details: Any) -> None:
        super().__init__(error)
        self.error = error
        self.details = details


def invalid_arguments(*messages: str) -> SlackError:
    return SlackError("invalid_arguments", response_metadata={"messages": list(messages)})


def missing_field(name: str) -> SlackError:
    return invalid_arguments(f"[ERROR] missing required field: {name}")


def missing_scope(needed: Iterable[str], provided: Iterable[str]) -> SlackError:
    return SlackError("missing_scope", needed=",".join(needed), provided=",".join(sorted(provided)))


@dataclass
class ApiRequest:
    args: JsonDict
    scopes: frozenset[str]
    now: float
    base_url: str
    warnings: list[str] = field(default_factory=list)

    def text(self, name: str) -> str | None:
        value = self.args.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise missing_field(name)
        return value

    def flag(self, name: str) -> bool:
        value = self.args.get(name)
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in {"1", "true"}

    def id_list(self, name: str) -> list[str]:
        """Slack takes ID lists as comma-separated strings (or JSON arrays)."""
        value = self.args.get(name)
        if value is None:
            return []
        items = [str(item) for item in value] if isinstance(value, list) else str(value).split(",")
        return [item.strip() for item in items if item.strip()]

    def require_scope(self, scope: str) -> None:
        if scope not in self.scopes:
            raise missing_scope([scope], self.scopes)


Handler = Callable[[Workspace, ApiRequest], JsonDict]


# ---------------------------------------------------------------- shared checks

_SCOPE_BY_ACCESS = {
    ("read", "public"): "channels:read",
    ("read", "private"): "groups:read",
    ("read", "im"): "im:read",
    ("write", "public"): "channels:manage",
    ("write", "private"): "groups:write",
    ("write", "im"): "im:write",
    ("history", "public"): "channels:history",
    ("history", "private"): "groups:history",
    ("history", "im"): "im:history",
}


def _kind(channel: Channel) -> str:
    if channel.is_im:
        return "im"
    return "private" if channel.is_private else "public"


def _channel(ws: Workspace, req: ApiRequest, arg: str = "channel") -> Channel:
    channel = ws.visible_channel(req.text(arg) or "")
    if channel is None:
        raise SlackError("channel_not_found")
    return channel


def _conversation(ws: Workspace, req: ApiRequest, *, access: str) -> Channel:
    """Conversations methods need the scope matching the conversation's type."""
    channel = _channel(ws, req)
    req.require_scope(_SCOPE_BY_ACCESS[access, _kind(channel)])
    return channel


def _require_member(ws: Workspace, channel: Channel) -> None:
    if ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")


def _require_unarchived(channel: Channel) -> None:
    if channel.is_archived:
        raise SlackError("is_archived")


def _require_not_im(channel: Channel) -> None:
    if channel.is_im:
        raise SlackError("method_not_supported_for_channel_type")


def _message(channel: Channel, ts: str | None) -> JsonDict:
    message = channel.find_message(ts or "")
    if message is None:
        raise SlackError("message_not_found")
    return message


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
        if kind != "offset":
            raise ValueError(cursor)
        return int(offset)
    except ValueError as error:
        raise SlackError("invalid_cursor") from error


def _paginate(
    items: Sequence[T], req: ApiRequest, default_limit: int | None
) -> tuple[list[T], str]:
    """Cursor pagination: returns the page and `next_cursor` ("" on the last page)."""
    try:
        limit = int(req.text("limit") or 0) or default_limit or len(items)
    except ValueError as error:
        raise SlackError("invalid_limit") from error
    if limit < 0 or limit > 1000:
        raise SlackError("invalid_limit")
    start = _decode_cursor(req.text("cursor"))
    end = start + max(limit, 1)
    return list(items[start:end]), _encode_cursor(end) if end < len(items) else ""


# ---------------------------------------------------------------- auth


def auth_test(ws: Workspace, req: ApiRequest) -> JsonDict:
    bot = ws.users[ws.bot_user_id]
    return {
        "url": ws.url,
        "team": ws.team_name,
        "user": bot.name,
        "team_id": ws.team_id,
        "user_id": bot.id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


# ---------------------------------------------------------------- conversations


def conversations_create(ws: Workspace, req: ApiRequest) -> JsonDict:
    name = req.text("name")
    if name is None:
        raise missing_field("name")
    is_private = req.flag("is_private")
    req.require_scope(_SCOPE_BY_ACCESS["write", "private" if is_private else "public"])
    error = channel_name_error(name)
    if error:
        raise SlackError(error)
    if ws.channel_named(name) is not None:
        raise SlackError("name_taken")
    channel = ws.add_channel(
        name,
        now=req.now,
        creator=ws.bot_user_id,
        is_private=is_private,
        members=[ws.bot_user_id],
    )
    return {"channel": channel.to_api(ws.bot_user_id)}


def conversations_invite(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _conversation(ws, req, access="write")
    _require_not_im(channel)
    user_ids = list(dict.fromkeys(req.id_list("users")))
    if not user_ids:
        raise SlackError("no_user")
    _require_unarchived(channel)
    _require_member(ws, channel)
    failures = {
        user_id: error
        for user_id in user_ids
        if (error := _invite_error(ws, channel, user_id)) is not None
    }
    errors = [{"user": user, "ok": False, "error": error} for user, error in failures.items()]
    # Without `force`, one bad user fails the whole call and nobody is invited.
    if failures and not req.flag("force"):
        raise SlackError(next(iter(failures.values())), errors=errors)
    channel.members.extend(user_id for user_id in user_ids if user_id not in failures)
    answer: JsonDict = {"channel": channel.to_api(ws.bot_user_id)}
    if errors:
        answer["errors"] = errors
    return answer


def _invite_error(ws: Workspace, channel: Channel, user_id: str) -> str | None:
    user = ws.users.get(user_id)
    if user_id == ws.bot_user_id:
        return "cant_invite_self"
    if user is None:
        return "user_not_found"
    if user.deleted:
        return "cant_invite"
    if user_id in channel.members:
        return "already_in_channel"
    return None


def conversations_info(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _conversation(ws, req, access="read")
    num_members = req.flag("include_num_members")
    return {"channel": channel.to_api(ws.bot_user_id, include_num_members=num_members)}


def conversations_members(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _conversation(ws, req, access="read")
    members, next_cursor = _paginate(channel.members, req, default_limit=100)
    return {"members": members, "response_metadata": {"next_cursor": next_cursor}}


def conversations_history(ws: Workspace, req: ApiRequest) -> JsonDict:
    """Newest first; message `metadata` only with include_all_metadata (as Slack does)."""
    channel = _history_channel(ws, req)
    oldest = _ts_bound(req, "oldest", 0.0)
    latest = _ts_bound(req, "latest", float("inf"))
    inclusive = req.flag("inclusive")
    newest_first = [
        message
        for message in reversed(channel.messages)
        if (
            oldest <= float(message["ts"]) <= latest
            if inclusive
            else oldest < float(message["ts"]) < latest
        )
    ]
    page, next_cursor = _paginate(newest_first, req, default_limit=100)
    with_metadata = req.flag("include_all_metadata")
    messages = [
        {k: v for k, v in copy.deepcopy(m).items() if with_metadata or k != "metadata"}
        for m in page
    ]
    return {
        "messages": messages,
        "has_more": bool(next_cursor),
        "pin_count": len(channel.pins),
        "response_metadata": {"next_cursor": next_cursor},
    }


def _channel_text(
    ws: Workspace, req: ApiRequest, channel: Channel, arg: str, limit: int
) -> ChannelText:
    value = req.text(arg)
    if value is None:
        raise missing_field(arg)
    _require_unarchived(channel)
    _require_member(ws, channel)
    if len(value) > limit:
        raise SlackError("too_long")
    return ChannelText(value, ws.bot_user_id, int(req.now))


def conversations_set_topic(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _conversation(ws, req, access="write")
    channel.topic = _channel_text(ws, req, channel, "topic", MAX_TOPIC_LENGTH)
    return {"channel": channel.to_api(ws.bot_user_id)}


def conversations_set_purpose(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _conversation(ws, req, access="write")
    channel.purpose = _channel_text(ws, req, channel, "purpose", MAX_PURPOSE_LENGTH)
    return {"channel": channel.to_api(ws.bot_user_id)}


def conversations_archive(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _conversation(ws, req, access="write")
    _require_not_im(channel)
    if channel.is_general:
        raise SlackError("cant_archive_general")
    if channel.is_archived:
        raise SlackError("already_archived")
    _require_member(ws, channel)
    channel.is_archived = True
    return {}


def conversations_unarchive(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _conversation(ws, req, access="write")
    _require_not_im(channel)
    if not channel.is_archived:
        raise SlackError("not_archived")
    if not ws.bot_can_unarchive:
        # The reference's "bug alert": bot tokens cannot unarchive; a user token must.
        raise SlackError("not_allowed_token_type")
    channel.is_archived = False
    return {}


def conversations_join(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _channel(ws, req)
    if channel.is_private:
        raise SlackError("method_not_supported_for_channel_type")
    _require_unarchived(channel)
    if ws.bot_user_id in channel.members:
        req.warnings.append("already_in_channel")
    else:
        channel.members.append(ws.bot_user_id)
    return {"channel": channel.to_api(ws.bot_user_id)}


_LIST_TYPE_SCOPES = {
    "public_channel": "channels:read",
    "private_channel": "groups:read",
    "mpim": "mpim:read",
    "im": "im:read",
}
_LIST_TYPE_OF_KIND = {"public": "public_channel", "private": "private_channel", "im": "im"}


def _history_channel(ws: Workspace, req: ApiRequest) -> Channel:
    channel = _conversation(ws, req, access="history")
    _require_member(ws, channel)
    return channel


def _ts_bound(req: ApiRequest, name: str, default: float) -> float:
    value = req.text(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError as error:
        raise invalid_arguments(f"[ERROR] must be a timestamp [json-pointer:/{name}]") from error


def conversations_replies(ws: Workspace, req: ApiRequest) -> JsonDict:
    """The thread holding `ts` (a parent or a reply): its parent first, then the replies."""
    channel = _history_channel(ws, req)
    message = channel.find_message(req.required("ts"))
    if message is None:
        raise SlackError("thread_not_found")
    root_ts = str(message.get("thread_ts", message["ts"]))
    root = channel.top_level_message(root_ts)
    thread = [root] if root is not None else []
    thread += [reply for reply in channel.threads.get(root_ts, []) if reply is not root]
    with_metadata = req.flag("include_all_metadata")
    page, next_cursor = _paginate(
        [
            {k: v for k, v in copy.deepcopy(m).items() if with_metadata or k != "metadata"}
            for m in thread
        ],
        req,
        default_limit=1000,
    )
    return {
        "messages": page,
        "has_more": bool(next_cursor),
        "response_metadata": {"next_cursor": next_cursor},
    }


def conversations_open(ws: Workspace, req: ApiRequest) -> JsonDict:
    """Open (or find) the bot's direct message with one person."""
    users = req.id_list("users")
    if not users and not req.text("channel"):
        raise SlackError("users_list_not_supplied")
    if req.text("channel"):
        channel = _channel(ws, req)
        return {"channel": {"id": channel.id}}
    if len(users) > 1:
        raise SlackError("method_not_supported_for_channel_type")
    user = ws.users.get(users[0])
    if user is None:
        raise SlackError("user_not_found")
    if user.deleted:
        raise SlackError("user_disabled")
    if user.id == ws.bot_user_id:
        raise SlackError("cannot_dm_bot")
    # The method accepts any of four scopes, but a direct message needs im:write.
    req.require_scope("im:write")
    channel = ws.open_im(user.id, req.now)
    return {"channel": {"id": channel.id}, "no_op": True, "already_open": True}


def conversations_list(ws: Workspace, req: ApiRequest) -> JsonDict:
    types = req.id_list("types") or ["public_channel"]
    if any(kind not in _LIST_TYPE_SCOPES for kind in types):
        raise SlackError("invalid_types")
    for kind in types:
        req.require_scope(_LIST_TYPE_SCOPES[kind])
    exclude_archived = req.flag("exclude_archived")
    listed = [
        channel
        for channel in ws.channels.values()
        if _LIST_TYPE_OF_KIND[_kind(channel)] in types
        and ws.visible_channel(channel.id) is not None
        and not (exclude_archived and channel.is_archived)
    ]
    page, next_cursor = _paginate(listed, req, default_limit=100)
    return {
        "channels": [channel.to_api(ws.bot_user_id, include_num_members=True) for channel in page],
        "response_metadata": {"next_cursor": next_cursor},
    }


# ---------------------------------------------------------------- chat


def _blocks(req: ApiRequest) -> list[Any] | None:
    """Blocks arrive as a JSON array (JSON body) or a JSON string (form); None if absent."""
    value = req.args.get("blocks")
    if value is None or value == "":
        return None
    if not isinstance(value, list):
        raise SlackError("invalid_blocks_format")
    problems = blocks_problems(value, limit=MAX_MESSAGE_BLOCKS)
    if problems:
        raise SlackError(
            "invalid_blocks", errors=problems, response_metadata={"messages": problems}
        )
    return value


def _attachments(req: ApiRequest) -> list[Any] | None:
    value = req.args.get("attachments")
    if value is None or value == "":
        return None
    if not isinstance(value, list):
        raise SlackError("invalid_attachments")
    if len(value) > MAX_ATTACHMENTS:
        raise SlackError("too_many_attachments")
    return value


def _message_content(req: ApiRequest) -> JsonDict:
    """text/blocks/attachments of a new message, checked the way chat.postMessage does."""
    text = req.text("text") or ""
    blocks, attachments = _blocks(req), _attachments(req)
    if not (text or blocks or attachments):
        raise SlackError("no_text")
    if len(text) > MAX_TEXT_LENGTH:
        raise SlackError("msg_too_long")
    content: JsonDict = {"text": text}
    if blocks:
        content["blocks"] = blocks
    if attachments:
        content["attachments"] = attachments
    if isinstance(req.args.get("metadata"), dict):
        content["metadata"] = req.args["metadata"]
    return content


def _message_target(ws: Workspace, req: ApiRequest) -> Channel:
    """chat.* methods take a channel ID, a channel name, or a user ID (the bot's DM)."""
    target = req.text("channel") or ""
    channel = ws.visible_channel(target)
    if channel is None:
        named = ws.channel_named(target.removeprefix("#"))
        channel = ws.visible_channel(named.id) if named else None
    user = ws.users.get(target)
    if channel is None and user is not None and not user.deleted and user.id != ws.bot_user_id:
        channel = ws.open_im(user.id, req.now)
    if channel is None:
        raise SlackError("channel_not_found")
    return channel


def _require_can_post(ws: Workspace, req: ApiRequest, channel: Channel) -> None:
    """Members may post; `chat:write.public` lets the bot post to public channels it's not in."""
    if ws.bot_user_id in channel.members:
        return
    if not channel.is_private and "chat:write.public" in req.scopes:
        return
    raise SlackError("not_in_channel")


def _post(ws: Workspace, req: ApiRequest, channel: Channel, content: JsonDict) -> JsonDict:
    message = {**ws.bot_message(content["text"], ws.new_ts(req.now)), **content}
    thread_ts = req.text("thread_ts")
    if thread_ts:
        channel.add_reply(thread_ts, message, broadcast=req.flag("reply_broadcast"))
    else:
        channel.messages.append(message)
    return message


def chat_post_message(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _message_target(ws, req)
    _require_unarchived(channel)
    _require_can_post(ws, req, channel)
    message = _post(ws, req, channel, _message_content(req))
    return {"channel": channel.id, "ts": message["ts"], "message": copy.deepcopy(message)}


def chat_post_ephemeral(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _message_target(ws, req)
    _require_unarchived(channel)
    recipient = req.text("user") or ""
    if recipient not in channel.members:
        raise SlackError("user_not_in_channel")
    _require_can_post(ws, req, channel)
    content = _message_content(req)
    message = {
        **ws.bot_message(content["text"], ws.new_ts(req.now)),
        **content,
        "recipient": recipient,
    }
    if req.text("thread_ts"):
        message["thread_ts"] = req.text("thread_ts")
    channel.ephemeral.append(message)
    return {"message_ts": message["ts"]}


def chat_update(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _channel(ws, req)
    message = _message(channel, req.required("ts"))
    if message.get("bot_id") != ws.bot_id:
        raise SlackError("cant_update_message")
    text, blocks, attachments = req.text("text"), _blocks(req), _attachments(req)
    if not (text or blocks or attachments):
        raise SlackError("no_text")
    if text and len(text) > MAX_TEXT_LENGTH:
        raise SlackError("msg_too_long")
    message["text"] = text or ""
    # Omitted blocks/attachments are kept; an empty array removes them.
    for key, value in (("blocks", blocks), ("attachments", attachments)):
        if value is not None:
            message[key] = value
        if value == []:
            del message[key]
    message["edited"] = {"user": ws.bot_user_id, "ts": ws.new_ts(req.now)}
    return {
        "channel": channel.id,
        "ts": message["ts"],
        "text": message["text"],
        "message": copy.deepcopy(message),
    }


def chat_get_permalink(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _channel(ws, req)
    message = _message(channel, req.text("message_ts"))
    return {"channel": channel.id, "permalink": ws.permalink(channel, message)}


# ---------------------------------------------------------------- pins, reactions, bookmarks


def _pin_target(ws: Workspace, req: ApiRequest) -> tuple[Channel, JsonDict]:
    channel = _channel(ws, req)
    ts = req.text("timestamp")
    if not ts:
        raise SlackError("no_item_specified")
    return channel, _message(channel, ts)


def pins_add(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel, message = _pin_target(ws, req)
    if message["ts"] in channel.pins:
        raise SlackError("already_pinned")
    channel.pins[message["ts"]] = {"created": int(req.now), "created_by": ws.bot_user_id}
    message.setdefault("pinned_to", []).append(channel.id)
    return {}


def pins_remove(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel, message = _pin_target(ws, req)
    if channel.pins.pop(message["ts"], None) is None:
        raise SlackError("no_pin")
    message["pinned_to"] = [
        pinned for pinned in message.get("pinned_to", []) if pinned != channel.id
    ]
    if not message["pinned_to"]:
        del message["pinned_to"]
    return {}


def pins_list(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _channel(ws, req)
    items = []
    for ts, pin in reversed(channel.pins.items()):
        message = channel.find_message(ts)
        if message is not None:
            pinned = {**copy.deepcopy(message), "permalink": ws.permalink(channel, message)}
            items.append({"type": "message", "channel": channel.id, **pin, "message": pinned})
    return {"items": items}


_EMOJI_NAME = re.compile(r"[a-z0-9_+'\-]+(::skin-tone-[2-6])?")


def reactions_add(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _channel(ws, req)
    name = (req.text("name") or "").strip(":")
    if not _EMOJI_NAME.fullmatch(name):
        raise SlackError("invalid_name")
    ts = req.text("timestamp")
    if not ts:
        raise SlackError("no_item_specified")
    _require_unarchived(channel)
    reactions = _message(channel, ts).setdefault("reactions", [])
    reaction = next((item for item in reactions if item["name"] == name), None)
    if reaction is None:
        reaction = {"name": name, "users": [], "count": 0}
        reactions.append(reaction)
    if ws.bot_user_id in reaction["users"]:
        raise SlackError("already_reacted")
    reaction["users"].append(ws.bot_user_id)
    reaction["count"] += 1
    return {}


def bookmarks_add(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _channel(ws, req, "channel_id")
    title, kind = req.required("title"), req.required("type")
    if kind != "link":
        raise SlackError("invalid_bookmark_type")
    link = req.text("link") or ""
    if not link.startswith(("http://", "https://")):
        raise SlackError("invalid_link")
    emoji = req.text("emoji")
    if emoji and not re.fullmatch(r":[a-z0-9_+'\-]+:", emoji):
        raise SlackError("invalid_emoji")
    bookmark = {
        "id": ws.new_id("Bk"),
        "channel_id": channel.id,
        "title": title,
        "link": link,
        "emoji": emoji,
        "icon_url": None,
        "type": kind,
        "entity_id": None,
        "date_created": int(req.now),
        "date_updated": 0,
        "rank": "U",
        "last_updated_by_user_id": ws.bot_user_id,
        "last_updated_by_team_id": ws.team_id,
        "shortcut_id": None,
        "app_id": ws.app_id,
    }
    channel.bookmarks.append(bookmark)
    return {"bookmark": copy.deepcopy(bookmark)}


def bookmarks_list(ws: Workspace, req: ApiRequest) -> JsonDict:
    channel = _channel(ws, req, "channel_id")
    return {"bookmarks": copy.deepcopy(channel.bookmarks)}


# ---------------------------------------------------------------- views


def _view_definition(req: ApiRequest, allowed_types: Iterable[str]) -> JsonDict:
    view = req.args.get("view")
    if view is None or view == "":
        raise missing_field("view")
    if not isinstance(view, dict):
        raise invalid_arguments("[ERROR] must be an object [json-pointer:/view]")
    if len(json.dumps(view)) > MAX_VIEW_BYTES:
        raise SlackError("view_too_large")
    problems = view_problems(view, allowed_types)
    if problems:
        raise invalid_arguments(*problems)
    return view


def _require_unique_external_id(
    ws: Workspace, definition: JsonDict, own_view_id: str | None = None
) -> None:
    external_id = definition.get("external_id")
    if external_id and any(
        view.external_id == external_id and view.id != own_view_id for view in ws.all_views()
    ):
        raise SlackError("duplicate_external_id")


def _exchange_trigger(ws: Workspace, req: ApiRequest) -> Trigger:
    """A trigger_id works once, within 3 seconds of the interaction that issued it."""
    trigger_id = req.text("trigger_id") or req.text("interactivity_pointer")
    if not trigger_id:
        raise missing_field("trigger_id")
    trigger = ws.triggers.get(trigger_id)
    if trigger is None:
        raise SlackError("invalid_trigger_id")
    if trigger.exchanged:
        raise SlackError("exchanged_trigger_id")
    if req.now - trigger.issued_at > TRIGGER_TTL_SECONDS:
        raise SlackError("expired_trigger_id")
    trigger.exchanged = True
    return trigger


def _new_view(
    ws: Workspace,
    req: ApiRequest,
    definition: JsonDict,
    user_id: str,
    stack: list[str] | None = None,
) -> View:
    view_id = ws.new_id("V")
    root, previous = (stack[0], stack[-1]) if stack else (view_id, None)
    return View(
        view_id,
        ws.team_id,
        user_id,
        ws.app_id,
        ws.bot_id,
        definition,
        ws.new_hash(req.now),
        root,
        previous,
    )


def views_open(ws: Workspace, req: ApiRequest) -> JsonDict:
    definition = _view_definition(req, {"modal"})
    _require_unique_external_id(ws, definition)
    trigger = _exchange_trigger(ws, req)
    view = _new_view(ws, req, definition, trigger.user_id)
    ws.views[view.id] = view
    ws.view_stacks[trigger.user_id] = [view.id]
    return {"view": view.to_api()}


def views_push(ws: Workspace, req: ApiRequest) -> JsonDict:
    definition = _view_definition(req, {"modal"})
    _require_unique_external_id(ws, definition)
    trigger = _exchange_trigger(ws, req)
    stack = ws.view_stacks.get(trigger.user_id, [])
    if not stack:
        raise SlackError("not_found")
    if len(stack) >= MAX_VIEW_STACK:
        raise SlackError("push_limit_reached")
    view = _new_view(ws, req, definition, trigger.user_id, stack)
    ws.views[view.id] = view
    stack.append(view.id)
    return {"view": view.to_api()}


def views_update(ws: Workspace, req: ApiRequest) -> JsonDict:
    view_id, external_id = req.text("view_id"), req.text("external_id")
    if not view_id and not external_id:
        raise missing_field("view_id")
    view = next(
        (
            candidate
            for candidate in ws.all_views()
            if candidate.id == view_id or (external_id and candidate.external_id == external_id)
        ),
        None,
    )
    if view is None:
        raise SlackError("not_found")
    definition = _view_definition(req, {view.type})
    expected_hash = req.text("hash")
    if expected_hash and expected_hash != view.hash:
        raise SlackError("hash_conflict")
    _require_unique_external_id(ws, definition, view.id)
    if view.external_id:
        definition.setdefault("external_id", view.external_id)
    view.definition, view.hash = definition, ws.new_hash(req.now)
    return {"view": view.to_api()}


def views_publish(ws: Workspace, req: ApiRequest) -> JsonDict:
    user_id = req.required("user_id")
    if user_id not in ws.users:
        raise invalid_arguments("invalid `user_id`")
    definition = _view_definition(req, {"home"})
    view = ws.home_views.get(user_id)
    expected_hash = req.text("hash")
    if view is not None and expected_hash and expected_hash != view.hash:
        raise SlackError("hash_conflict")
    _require_unique_external_id(ws, definition, view.id if view else None)
    if view is None:
        view = _new_view(ws, req, definition, user_id)
        ws.home_views[user_id] = view
    else:
        view.definition, view.hash = definition, ws.new_hash(req.now)
    return {"view": view.to_api()}


# ---------------------------------------------------------------- users


def users_info(ws: Workspace, req: ApiRequest) -> JsonDict:
    user = ws.users.get(req.text("user") or "")
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user.to_api()}


def users_list(ws: Workspace, req: ApiRequest) -> JsonDict:
    members, next_cursor = _paginate(list(ws.users.values()), req, default_limit=None)
    return {
        "members": [member.to_api() for member in members],
        "cache_ts": int(req.now),
        "response_metadata": {"next_cursor": next_cursor},
    }


# ---------------------------------------------------------------- files


def files_get_upload_url_external(ws: Workspace, req: ApiRequest) -> JsonDict:
    filename, length_text = req.required("filename"), req.required("length")
    try:
        length = int(length_text)
    except ValueError as error:
        raise invalid_arguments("[ERROR] must be an integer [json-pointer:/length]") from error
    if length <= 0:
        raise SlackError("missing_argument")
    alt_txt = req.text("alt_txt")
    if alt_txt and len(alt_txt) > 1000:
        raise SlackError("alt_txt_too_large")
    upload = UploadedFile(
        ws.new_id("F"),
        filename,
        length,
        ws.bot_user_id,
        int(req.now),
        alt_txt=alt_txt,
        snippet_type=req.text("snippet_type"),
    )
    ws.files[upload.id] = upload
    return {"upload_url": f"{req.base_url}{UPLOAD_PATH}{upload.id}", "file_id": upload.id}


def _uploads_to_complete(ws: Workspace, req: ApiRequest) -> list[tuple[UploadedFile, str]]:
    entries = req.args.get("files")
    if entries is None:
        raise missing_field("files")
    if not isinstance(entries, list) or not all(
        isinstance(entry, dict) and entry.get("id") for entry in entries
    ):
        raise invalid_arguments("[ERROR] must be an array of {id, title} [json-pointer:/files]")
    uploads = []
    for entry in entries:
        upload = ws.files.get(str(entry["id"]))
        if upload is None or upload.content is None:
            raise SlackError("file_not_found")
        uploads.append((upload, str(entry.get("title") or "")))
    return uploads


def _share_targets(ws: Workspace, req: ApiRequest) -> list[Channel]:
    channel_ids = req.id_list("channels")
    if req.text("channel_id"):
        channel_ids.insert(0, req.required("channel_id"))
    channel_ids = list(dict.fromkeys(channel_ids))
    if len(channel_ids) > 100:
        raise SlackError("channels_limit_exceeded")
    channels = [ws.visible_channel(channel_id) for channel_id in channel_ids]
    found = [channel for channel in channels if channel is not None]
    if len(found) != len(channels):
        raise SlackError("channel_not_found")
    for channel in found:
        _require_member(ws, channel)
    return found


def files_complete_upload_external(ws: Workspace, req: ApiRequest) -> JsonDict:
    uploads = _uploads_to_complete(ws, req)
    channels = _share_targets(ws, req)
    blocks = _blocks(req)
    for upload, title in uploads:
        upload.title = title or upload.title or upload.name
    for channel in channels:
        _share_files(ws, req, channel, [upload for upload, _ in uploads], blocks)
    return {"files": [{"id": upload.id, "title": upload.title} for upload, _ in uploads]}


def _share_files(
    ws: Workspace,
    req: ApiRequest,
    channel: Channel,
    uploads: list[UploadedFile],
    blocks: list[Any] | None,
) -> None:
    for upload in uploads:
        upload.channels.append(channel.id)
    content: JsonDict = {
        "text": req.text("initial_comment") or "",
        "files": [upload.to_api(req.base_url) for upload in uploads],
        "upload": True,
    }
    # Slack ignores `blocks` when `initial_comment` is given.
    if blocks and not content["text"]:
        content["blocks"] = blocks
    _post(ws, req, channel, content)


# ---------------------------------------------------------------- response_url


def post_to_response_url(
    ws: Workspace, url_id: str, payload: Any, now: float
) -> tuple[int, JsonDict]:
    """A POST to an interaction's response_url: up to 5 uses within 30 minutes."""
    hook = ws.response_urls.get(url_id)
    if hook is None:
        return 404, {"ok": False, "error": "invalid_url"}
    if now - hook.issued_at > RESPONSE_URL_TTL_SECONDS:
        return 404, {"ok": False, "error": "expired_url"}
    if hook.uses >= RESPONSE_URL_MAX_USES:
        return 404, {"ok": False, "error": "used_url"}
    if not isinstance(payload, dict):
        return 400, {"ok": False, "error": "invalid_payload"}
    try:
        _apply_response(ws, hook, payload, now)
    except SlackError as error:
        return 400, {"ok": False, "error": error.error}
    hook.uses += 1
    return 200, {"ok": True}


def _apply_response(ws: Workspace, hook: ResponseUrl, payload: JsonDict, now: float) -> None:
    channel = ws.channels.get(hook.channel_id or "")
    original = channel.find_message(hook.message_ts or "") if channel else None
    if payload.get("delete_original"):
        if channel is not None and original is not None:
            channel.remove_message(original)
        return
    content = _message_content(ApiRequest(payload, frozenset(), now, ""))
    if payload.get("replace_original") and original is not None:
        original.pop("blocks", None)
        original.update(content)
        return
    if channel is None:
        return
    message = {**ws.bot_message(content["text"], ws.new_ts(now)), **content}
    if payload.get("response_type") == "in_channel":
        if payload.get("thread_ts"):
            channel.add_reply(str(payload["thread_ts"]), message)
        else:
            channel.messages.append(message)
    else:
        channel.ephemeral.append({**message, "recipient": hook.user_id})


# ---------------------------------------------------------------- registry


@dataclass(frozen=True)
class MethodSpec:
    handler: Handler
    # The token needs one of these bot scopes (from the method's reference page).
    scopes: tuple[str, ...] = ()
    # Calls per minute under Slack's published tier; None for "special" unlimited ones.
    per_minute: int | None = None
    # chat.postMessage's limit (about one message per second) applies per channel.
    per_channel: bool = False


TIER_2, TIER_3, TIER_4 = 20, 50, 100
CHANNEL_READ = ("channels:read", "groups:read", "im:read", "mpim:read")
CHANNEL_HISTORY = ("channels:history", "groups:history", "im:history", "mpim:history")
CHANNEL_WRITE = ("channels:manage", "groups:write", "im:write", "mpim:write")

METHODS: dict[str, MethodSpec] = {
    "auth.test": MethodSpec(auth_test),
    "conversations.create": MethodSpec(conversations_create, CHANNEL_WRITE, TIER_2),
    "conversations.invite": MethodSpec(conversations_invite, CHANNEL_WRITE, TIER_3),
    "conversations.info": MethodSpec(conversations_info, CHANNEL_READ, TIER_3),
    "conversations.members": MethodSpec(conversations_members, CHANNEL_READ, TIER_4),
    "conversations.setTopic": MethodSpec(conversations_set_topic, CHANNEL_WRITE, TIER_2),
    "conversations.setPurpose": MethodSpec(conversations_set_purpose, CHANNEL_WRITE, TIER_2),
    "conversations.archive": MethodSpec(conversations_archive, CHANNEL_WRITE, TIER_2),
    "conversations.unarchive": MethodSpec(conversations_unarchive, CHANNEL_WRITE, TIER_2),
    "conversations.join": MethodSpec(conversations_join, ("channels:join",), TIER_3),
    "conversations.list": MethodSpec(conversations_list, CHANNEL_READ, TIER_2),
    "conversations.history": MethodSpec(conversations_history, CHANNEL_HISTORY, TIER_3),
    "conversations.replies": MethodSpec(conversations_replies, CHANNEL_HISTORY, TIER_3),
    "conversations.open": MethodSpec(conversations_open, CHANNEL_WRITE, TIER_3),
    "chat.postMessage": MethodSpec(chat_post_message, ("chat:write",), 60, per_channel=True),
    "chat.update": MethodSpec(chat_update, ("chat:write",), TIER_3),
    "chat.postEphemeral": MethodSpec(chat_post_ephemeral, ("chat:write",), TIER_4),
    "chat.getPermalink": MethodSpec(chat_get_permalink),
    "pins.add": MethodSpec(pins_add, ("pins:write",), TIER_2),
    "pins.remove": MethodSpec(pins_remove, ("pins:write",), TIER_2),
    "pins.list": MethodSpec(pins_list, ("pins:read",), TIER_2),
    "reactions.add": MethodSpec(reactions_add, ("reactions:write",), TIER_3),
    "bookmarks.add": MethodSpec(bookmarks_add, ("bookmarks:write",), TIER_2),
    "bookmarks.list": MethodSpec(bookmarks_list, ("bookmarks:read",), TIER_3),
    "views.open": MethodSpec(views_open, (), TIER_4),
    "views.update": MethodSpec(views_update, (), TIER_4),
    "views.push": MethodSpec(views_push, (), TIER_4),
    "views.publish": MethodSpec(views_publish, (), TIER_4),
    "users.info": MethodSpec(users_info, ("users:read",), TIER_4),
    "users.list": MethodSpec(users_list, ("users:read",), TIER_2),
    "files.getUploadURLExternal": MethodSpec(
        files_get_upload_url_external, ("files:write",), TIER_4
    ),
    "files.completeUploadExternal": MethodSpec(
        files_complete_upload_external, ("files:write",), TIER_4
    ),
}

ALL_BOT_SCOPES = frozenset(
    {scope for spec in METHODS.values() for scope in spec.scopes} | {"chat:write.public"}
)


def new_response_url(
    ws: Workspace,
    base_url: str,
    now: float,
    *,
    channel_id: str | None,
    user_id: str | None,
    message_ts: str | None,
) -> str:
    url_id = ws.new_id("R")
    ws.response_urls[url_id] = ResponseUrl(now, channel_id, user_id, message_ts)
    return f"{base_url}{RESPONSE_PATH}{url_id}"
