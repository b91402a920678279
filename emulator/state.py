"""Workspace state kept by the Slack emulator, and the pure checks Slack applies to it."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

JsonDict = dict[str, Any]

# Limits from Slack's method and Block Kit reference pages.
MAX_CHANNEL_NAME_LENGTH = 80
MAX_TEXT_LENGTH = 40_000
MAX_ATTACHMENTS = 100
MAX_TOPIC_LENGTH = 250
MAX_PURPOSE_LENGTH = 250
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_VIEW_BYTES = 250_000
MAX_VIEW_STACK = 3
TRIGGER_TTL_SECONDS = 3.0
RESPONSE_URL_TTL_SECONDS = 30 * 60
RESPONSE_URL_MAX_USES = 5

TEXT_OBJECT_TYPES = frozenset({"plain_text", "mrkdwn"})


@dataclass
class User:
    id: str
    name: str
    real_name: str
    team_id: str
    is_bot: bool = False
    deleted: bool = False
    bot_id: str | None = None
    tz: str = "Etc/UTC"

    def to_api(self) -> JsonDict:
        profile: JsonDict = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "team": self.team_id,
        }
        if self.bot_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "tz": self.tz,
            "tz_offset": _utc_offset_seconds(self.tz),
            "profile": profile,
        }


def _utc_offset_seconds(zone: str) -> int:
    offset = datetime.now(ZoneInfo(zone)).utcoffset()
    return int(offset.total_seconds()) if offset else 0


@dataclass
class ChannelText:
    """A channel's topic or purpose."""

    value: str = ""
    creator: str = ""
    last_set: int = 0

    def to_api(self) -> JsonDict:
        return {"value": self.value, "creator": self.creator, "last_set": self.last_set}


@dataclass
class Channel:
    id: str
    name: str
    created: int
    creator: str
    is_private: bool = False
    is_im: bool = False
    is_general: bool = False
    is_archived: bool = False
    im_user: str | None = None
    members: list[str] = field(default_factory=list)
    topic: ChannelText = field(default_factory=ChannelText)
    purpose: ChannelText = field(default_factory=ChannelText)
    messages: list[JsonDict] = field(default_factory=list)
    threads: dict[str, list[JsonDict]] = field(default_factory=dict)
    pins: dict[str, JsonDict] = field(default_factory=dict)
    bookmarks: list[JsonDict] = field(default_factory=list)
    ephemeral: list[JsonDict] = field(default_factory=list)

    def to_api(self, viewer_id: str, *, include_num_members: bool = False) -> JsonDict:
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_user_deleted": False,
            }
        data: JsonDict = {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "created": self.created,
            "creator": self.creator,
            "is_archived": self.is_archived,
            "is_general": self.is_general,
            "unlinked": 0,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "pending_shared": [],
            "is_pending_ext_shared": False,
            "is_member": viewer_id in self.members,
            "topic": self.topic.to_api(),
            "purpose": self.purpose.to_api(),
            "previous_names": [],
        }
        if include_num_members:
            data["num_members"] = len(self.members)
        return data

    def top_level_message(self, ts: str) -> JsonDict | None:
        return next((message for message in self.messages if message["ts"] == ts), None)

    def find_message(self, ts: str) -> JsonDict | None:
        """A top-level message or a thread reply with this ts."""
        found = self.top_level_message(ts)
        if found is not None:
            return found
        replies = (reply for thread in self.threads.values() for reply in thread)
        return next((reply for reply in replies if reply["ts"] == ts), None)

    def remove_message(self, message: JsonDict) -> None:
        self.messages = [kept for kept in self.messages if kept is not message]
        for thread_ts, replies in self.threads.items():
            self.threads[thread_ts] = [kept for kept in replies if kept is not message]

    def add_reply(self, thread_ts: str, reply: JsonDict, *, broadcast: bool = False) -> None:
        """Thread a reply under its root; a reply's ts is resolved to the root's."""
        target = self.find_message(thread_ts)
        root_ts = str(target.get("thread_ts", target["ts"])) if target else thread_ts
        reply["thread_ts"] = root_ts
        root = self.top_level_message(root_ts)
        if root is not None:
            reply["parent_user_id"] = root.get("user")
            _note_reply(root, reply)
        self.threads.setdefault(root_ts, []).append(reply)
        if broadcast:
            reply["subtype"] = "thread_broadcast"
            self.messages.append(reply)


def _note_reply(root: JsonDict, reply: JsonDict) -> None:
    root["thread_ts"] = root["ts"]
    root["reply_count"] = root.get("reply_count", 0) + 1
    reply_users = root.setdefault("reply_users", [])
    if reply.get("user") not in reply_users:
        reply_users.append(reply.get("user"))
    root["reply_users_count"] = len(reply_users)
    root["latest_reply"] = reply["ts"]


@dataclass
class View:
    id: str
    team_id: str
    user_id: str
    app_id: str
    bot_id: str
    definition: JsonDict
    hash: str
    root_view_id: str
    previous_view_id: str | None = None

    @property
    def type(self) -> str:
        return str(self.definition.get("type", ""))

    @property
    def external_id(self) -> str:
        return str(self.definition.get("external_id", ""))

    def to_api(self) -> JsonDict:
        spec = self.definition
        return {
            "id": self.id,
            "team_id": self.team_id,
            "type": self.type,
            "title": spec.get("title"),
            "submit": spec.get("submit"),
            "close": spec.get("close"),
            "blocks": spec.get("blocks", []),
            "private_metadata": spec.get("private_metadata", ""),
            "callback_id": spec.get("callback_id", ""),
            "external_id": self.external_id,
            "state": {"values": {}},
            "hash": self.hash,
            "clear_on_close": bool(spec.get("clear_on_close", False)),
            "notify_on_close": bool(spec.get("notify_on_close", False)),
            "root_view_id": self.root_view_id,
            "previous_view_id": self.previous_view_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }


@dataclass
class UploadedFile:
    id: str
    name: str
    length: int
    user: str
    created: int
    title: str = ""
    alt_txt: str | None = None
    snippet_type: str | None = None
    content: bytes | None = None
    channels: list[str] = field(default_factory=list)

    def to_api(self, base_url: str) -> JsonDict:
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title or self.name,
            "user": self.user,
            "size": len(self.content or b""),
            "url_private": f"{base_url}/files/{self.id}/{self.name}",
            "channels": list(self.channels),
            "is_external": False,
        }


@dataclass
class Trigger:
    issued_at: float
    user_id: str
    exchanged: bool = False


@dataclass
class ResponseUrl:
    issued_at: float
    channel_id: str | None
    user_id: str | None
    message_ts: str | None
    uses: int = 0


@dataclass
class Workspace:
    team_id: str
    team_name: str
    domain: str
    app_id: str
    bot_id: str
    bot_user_id: str = ""
    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    views: dict[str, View] = field(default_factory=dict)
    view_stacks: dict[str, list[str]] = field(default_factory=dict)
    home_views: dict[str, View] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    response_urls: dict[str, ResponseUrl] = field(default_factory=dict)
    # Slack's reference says bot tokens cannot unarchive conversations "currently"; a test
    # can lift that to see the path where Slack allows it.
    bot_can_unarchive: bool = False
    _counters: dict[str, int] = field(default_factory=dict)
    _last_ts_micros: int = 0

    @property
    def url(self) -> str:
        return f"https://{self.domain}.slack.com/"

    def new_id(self, prefix: str) -> str:
        count = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = count
        return f"{prefix}{count:08X}"

    def new_ts(self, now: float) -> str:
        """Message timestamps are unique and increase within the workspace."""
        micros = max(int(now * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def new_hash(self, now: float) -> str:
        return f"{int(now)}.{secrets.token_hex(4)}"

    def add_user(
        self,
        name: str,
        *,
        real_name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        tz: str = "Etc/UTC",
    ) -> User:
        user_id = self.new_id("U")
        bot_id = self.new_id("B") if is_bot else None
        user = User(
            user_id, name, real_name or name.title(), self.team_id, is_bot, deleted, bot_id, tz
        )
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        name: str,
        *,
        now: float,
        creator: str,
        is_private: bool = False,
        members: Iterable[str] = (),
        is_general: bool = False,
    ) -> Channel:
        channel = Channel(
            self.new_id("C"),
            name,
            int(now),
            creator,
            is_private=is_private,
            is_general=is_general,
            members=list(dict.fromkeys(members)),
        )
        self.channels[channel.id] = channel
        return channel

    def channel_named(self, name: str) -> Channel | None:
        return next(
            (
                channel
                for channel in self.channels.values()
                if channel.name == name and not channel.is_im
            ),
            None,
        )

    def visible_channel(self, channel_id: str) -> Channel | None:
        """Slack hides private conversations from tokens that are not members."""
        channel = self.channels.get(channel_id)
        if channel is None or (channel.is_private and self.bot_user_id not in channel.members):
            return None
        return channel

    def open_im(self, user_id: str, now: float) -> Channel:
        for channel in self.channels.values():
            if channel.is_im and channel.im_user == user_id:
                return channel
        channel = Channel(
            self.new_id("D"),
            "",
            int(now),
            self.bot_user_id,
            is_private=True,
            is_im=True,
            im_user=user_id,
            members=[self.bot_user_id, user_id],
        )
        self.channels[channel.id] = channel
        return channel

    def all_views(self) -> list[View]:
        return [*self.views.values(), *self.home_views.values()]

    def bot_message(self, text: str, ts: str) -> JsonDict:
        return {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": text,
            "ts": ts,
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "team_id": self.team_id,
                "name": self.users[self.bot_user_id].name,
                "deleted": False,
            },
        }

    def permalink(self, channel: Channel, message: JsonDict) -> str:
        link = f"{self.url}archives/{channel.id}/p{message['ts'].replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            link += f"?thread_ts={thread_ts}&cid={channel.id}"
        return link


def seeded_workspace(now: float, *, app_id: str = "A0FIREBREAK") -> Workspace:
    """A workspace with the app's bot, a few people, a deactivated person and another bot."""
    workspace = Workspace(
        team_id="T0FIREBRK",
        team_name="Firebreak Emulated",
        domain="firebreak-emulated",
        app_id=app_id,
        bot_id="",
    )
    bot = workspace.add_user("firebreak", real_name="Firebreak", is_bot=True)
    workspace.bot_user_id, workspace.bot_id = bot.id, bot.bot_id or ""
    humans = [
        workspace.add_user(name, real_name=real_name)
        for name, real_name in (
            ("alice", "Alice Adams"),
            ("bob", "Bob Brown"),
            ("carol", "Carol Chen"),
            ("dave", "Dave Diaz"),
        )
    ]
    workspace.add_user("erin", real_name="Erin Ex-Employee", deleted=True)
    workspace.add_user("pagerbot", real_name="Pager Bot", is_bot=True)
    member_ids = [human.id for human in humans]
    workspace.add_channel(
        "general", now=now, creator=humans[0].id, members=member_ids, is_general=True
    )
    workspace.add_channel("random", now=now, creator=humans[0].id, members=member_ids)
    return workspace


# ---------------------------------------------------------------- channel names


def channel_name_error(name: str) -> str | None:
    """Slack's rules: lowercase letters, numbers, hyphens and underscores; at most 80 chars."""
    if not name:
        return "invalid_name_required"
    if len(name) > MAX_CHANNEL_NAME_LENGTH:
        return "invalid_name_maxlength"
    if not all(_allowed_in_channel_name(char) for char in name):
        return "invalid_name_specials"
    if all(char in "-_" for char in name):
        return "invalid_name_punctuation"
    return None


def _allowed_in_channel_name(char: str) -> bool:
    return (char.isalnum() and not char.isupper()) or char in "-_"


# ---------------------------------------------------------------- Block Kit

Problems = list[str]


def _problem(text: str, pointer: str) -> str:
    """Slack reports each schema problem in response_metadata.messages in this shape."""
    return f"[ERROR] {text} [json-pointer:{pointer}]"


def _too_long(value: Any, limit: int, pointer: str) -> Problems:
    if isinstance(value, str) and len(value) > limit:
        return [_problem(f"must be less than {limit + 1} characters", pointer)]
    return []


def _missing(block: JsonDict, names: Iterable[str], pointer: str) -> Problems:
    return [
        _problem(f"missing required field: {name}", pointer)
        for name in names
        if block.get(name) in (None, "", [])
    ]


def text_object_problems(
    value: Any, pointer: str, *, limit: int, plain_only: bool = False
) -> Problems:
    if value is None:
        return []
    allowed = {"plain_text"} if plain_only else TEXT_OBJECT_TYPES
    if not isinstance(value, dict) or value.get("type") not in allowed:
        return [_problem("must be a valid text object", pointer)]
    text = value.get("text")
    if not isinstance(text, str) or not text:
        return [_problem("must be more than 0 characters", f"{pointer}/text")]
    return _too_long(text, limit, f"{pointer}/text")


def element_problems(element: Any, pointer: str) -> Problems:
    if not isinstance(element, dict) or not element.get("type"):
        return [_problem("missing required field: type", pointer)]
    if element["type"] in TEXT_OBJECT_TYPES:
        return text_object_problems(element, pointer, limit=3000)
    problems = _too_long(element.get("action_id"), 255, f"{pointer}/action_id")
    if element["type"] == "button":
        problems += _missing(element, ["text"], pointer)
        problems += text_object_problems(
            element.get("text"), f"{pointer}/text", limit=75, plain_only=True
        )
        problems += _too_long(element.get("value"), 2000, f"{pointer}/value")
        problems += _too_long(element.get("url"), 3000, f"{pointer}/url")
    return problems


def _elements_problems(block: JsonDict, pointer: str, limit: int) -> Problems:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [_problem("missing required field: elements", pointer)]
    if len(elements) > limit:
        return [_problem(f"no more than {limit} items allowed", f"{pointer}/elements")]
    return [
        problem
        for index, element in enumerate(elements)
        for problem in element_problems(element, f"{pointer}/elements/{index}")
    ]


def _section_problems(block: JsonDict, pointer: str) -> Problems:
    fields = block.get("fields")
    if block.get("text") is None and not fields:
        return [_problem("failed to match all allowed schemas", pointer)]
    problems = text_object_problems(block.get("text"), f"{pointer}/text", limit=3000)
    if isinstance(fields, list):
        if len(fields) > 10:
            problems.append(_problem("no more than 10 items allowed", f"{pointer}/fields"))
        for index, item in enumerate(fields):
            problems += text_object_problems(item, f"{pointer}/fields/{index}", limit=2000)
    if block.get("accessory") is not None:
        problems += element_problems(block["accessory"], f"{pointer}/accessory")
    return problems


def _header_problems(block: JsonDict, pointer: str) -> Problems:
    return _missing(block, ["text"], pointer) + text_object_problems(
        block.get("text"), f"{pointer}/text", limit=150, plain_only=True
    )


def _input_problems(block: JsonDict, pointer: str) -> Problems:
    problems = _missing(block, ["label", "element"], pointer)
    problems += text_object_problems(
        block.get("label"), f"{pointer}/label", limit=2000, plain_only=True
    )
    problems += text_object_problems(
        block.get("hint"), f"{pointer}/hint", limit=2000, plain_only=True
    )
    if block.get("element") is not None:
        problems += element_problems(block["element"], f"{pointer}/element")
    return problems


def _image_problems(block: JsonDict, pointer: str) -> Problems:
    problems = _missing(block, ["alt_text"], pointer)
    if not block.get("image_url") and not block.get("slack_file"):
        problems.append(_problem("missing required field: image_url", pointer))
    return problems + _too_long(block.get("alt_text"), 2000, f"{pointer}/alt_text")


def _markdown_problems(block: JsonDict, pointer: str) -> Problems:
    return _missing(block, ["text"], pointer) + _too_long(
        block.get("text"), 12_000, f"{pointer}/text"
    )


def _required(*names: str) -> Callable[[JsonDict, str], Problems]:
    return lambda block, pointer: _missing(block, names, pointer)


BLOCK_RULES: dict[str, Callable[[JsonDict, str], Problems]] = {
    "section": _section_problems,
    "header": _header_problems,
    "divider": _required(),
    "context": lambda block, pointer: _elements_problems(block, pointer, 10),
    "actions": lambda block, pointer: _elements_problems(block, pointer, 25),
    "input": _input_problems,
    "image": _image_problems,
    "markdown": _markdown_problems,
    "rich_text": _required("elements"),
    "video": _required("alt_text", "title", "thumbnail_url", "video_url"),
    "file": _required("external_id", "source"),
    "table": _required("rows"),
    "context_actions": _required("elements"),
}


def block_problems(block: Any, pointer: str) -> Problems:
    if not isinstance(block, dict):
        return [_problem("must be an object", pointer)]
    block_type = block.get("type")
    if not block_type:
        return [_problem("missing required field: type", pointer)]
    rule = BLOCK_RULES.get(str(block_type))
    if rule is None:
        return [_problem(f"unsupported type: {block_type}", f"{pointer}/type")]
    return _too_long(block.get("block_id"), 255, f"{pointer}/block_id") + rule(block, pointer)


def blocks_problems(blocks: list[Any], *, limit: int, pointer: str = "/blocks") -> Problems:
    if len(blocks) > limit:
        return [_problem(f"no more than {limit} items allowed", pointer)]
    problems = [
        problem
        for index, block in enumerate(blocks)
        for problem in block_problems(block, f"{pointer}/{index}")
    ]
    return problems + _duplicate_block_id_problems(blocks, pointer)


def _duplicate_block_id_problems(blocks: list[Any], pointer: str) -> Problems:
    seen: set[str] = set()
    problems: Problems = []
    for index, block in enumerate(blocks):
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id in seen:
            problems.append(
                _problem(f"duplicate block_id: {block_id}", f"{pointer}/{index}/block_id")
            )
        if block_id:
            seen.add(block_id)
    return problems


def view_problems(view: JsonDict, allowed_types: Iterable[str]) -> Problems:
    """The view rules from Slack's view reference (modal and home surfaces)."""
    allowed = set(allowed_types)
    if view.get("type") not in allowed:
        return [_problem("must be a valid enum value", "/view/type")]
    problems = _modal_problems(view) if view["type"] == "modal" else []
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        problems.append(_problem("missing required field: blocks", "/view"))
    else:
        problems += blocks_problems(blocks, limit=MAX_VIEW_BLOCKS, pointer="/view/blocks")
    problems += _too_long(view.get("private_metadata"), 3000, "/view/private_metadata")
    problems += _too_long(view.get("callback_id"), 255, "/view/callback_id")
    problems += _too_long(view.get("external_id"), 255, "/view/external_id")
    return problems


def _modal_problems(view: JsonDict) -> Problems:
    problems = _missing(view, ["title"], "/view")
    for name in ("title", "submit", "close"):
        problems += text_object_problems(view.get(name), f"/view/{name}", limit=24, plain_only=True)
    blocks = view.get("blocks")
    has_input = isinstance(blocks, list) and any(
        isinstance(block, dict) and block.get("type") == "input" for block in blocks
    )
    if has_input and view.get("submit") is None:
        problems.append(_problem("missing required field: submit", "/view"))
    return problems
