"""The fields Firebreak reads from Slack's payloads, parsed once into small typed records.

Slack documents every field read here; a signed payload that lacks one a listener cannot
do without (who sent it, which workspace, which view) raises `MalformedPayload`, which the
error handler answers with a 400 and a log line, never a traceback. Optional fields of the
wrong type read as empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class MalformedPayload(ValueError):
    """A payload without a field its listener needs; `str(error)` names the field."""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _required(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"the payload has no {name}")
    return value


def _user_id(body: Mapping[str, Any]) -> str:
    return _required(_dict(body.get("user")).get("id"), "user.id")


def _team_id(body: Mapping[str, Any]) -> str:
    team = _dict(body.get("team")).get("id") or _dict(body.get("user")).get("team_id")
    return _required(team, "team.id")


def sender(body: Mapping[str, Any]) -> str:
    """Who sent a request (interactions name a user, commands a user_id); empty if neither."""
    user = body.get("user")
    return _text(_dict(user).get("id") if isinstance(user, dict) else body.get("user_id"))


def input_blocks(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The block ids of a submitted view's input blocks, in order: where errors can show."""
    blocks = _dict(body.get("view")).get("blocks")
    return tuple(
        _text(block.get("block_id"))
        for block in (blocks if isinstance(blocks, list) else [])
        if isinstance(block, dict) and block.get("type") == "input" and _text(block.get("block_id"))
    )


def on_message(body: Mapping[str, Any]) -> bool:
    """Whether an interaction happened on a message (its response_url answers in that
    conversation), not in a view such as the App Home."""
    container = _dict(body.get("container"))
    if container:
        return container.get("type") == "message"
    return bool(_dict(body.get("message")) or _dict(body.get("channel")))


def trailing_number(text: str) -> int | None:
    """The number after the last colon (or the whole text): `controls:12` -> 12."""
    tail = text.rsplit(":", 1)[-1]
    return int(tail) if tail.isascii() and tail.isdigit() else None


def number_in(text: str, name: str) -> int:
    """`trailing_number`, required: a payload naming no number is malformed."""
    number = trailing_number(text)
    if number is None:
        raise MalformedPayload(f"the payload's {name} names no incident or item")
    return number


@dataclass(frozen=True)
class Action:
    """The first action of a `block_actions` payload, and who pressed it where."""

    user_id: str
    team_id: str
    action_id: str
    trigger_id: str = ""
    block_id: str = ""
    value: str = ""
    # The value of the option a select was set to, or the user a user select was set to.
    selected: str = ""
    selected_user: str = ""
    action_ts: str = ""

    @property
    def incident_id(self) -> int:
        """The incident a card control belongs to: its block id ends in `:<incident id>`."""
        return number_in(self.block_id, "block_id")

    @property
    def value_id(self) -> int:
        """The incident or item a button names in its value."""
        return number_in(self.value, "value")


def action(body: Mapping[str, Any]) -> Action:
    actions = body.get("actions")
    first = _dict(actions[0]) if isinstance(actions, list) and actions else {}
    return Action(
        user_id=_user_id(body),
        team_id=_team_id(body),
        action_id=_required(first.get("action_id"), "actions[0].action_id"),
        trigger_id=_text(body.get("trigger_id")),
        block_id=_text(first.get("block_id")),
        value=_text(first.get("value")),
        selected=_text(_dict(first.get("selected_option")).get("value")),
        selected_user=_text(first.get("selected_user")),
        action_ts=_text(first.get("action_ts")),
    )


@dataclass(frozen=True)
class Submission:
    """A `view_submission`: the modal's identity and what was entered in each input block.

    Every input element in Firebreak's modals has the action id `value`, so a block id
    names one element.
    """

    user_id: str
    team_id: str
    view_id: str
    hash: str = ""
    callback_id: str = ""
    private_metadata: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def request_key(self) -> str:
        """What the change claims, so a modal submitted twice changes things once."""
        return f"view:{self.view_id}:{self.hash}"

    @property
    def metadata_id(self) -> int | None:
        """The incident or alert group the modal was opened for."""
        return trailing_number(self.private_metadata)

    def _element(self, block_id: str) -> dict[str, Any]:
        return _dict(_dict(self.values.get(block_id)).get("value"))

    def text(self, block_id: str) -> str:
        return _text(self._element(block_id).get("value"))

    def selected(self, block_id: str) -> str:
        return _text(_dict(self._element(block_id).get("selected_option")).get("value"))

    def checked(self, block_id: str) -> frozenset[str]:
        chosen = self._element(block_id).get("selected_options")
        items = chosen if isinstance(chosen, list) else []
        return frozenset(
            _text(_dict(item).get("value")) for item in items if isinstance(item, dict)
        )

    def user(self, block_id: str) -> str:
        return _text(self._element(block_id).get("selected_user"))

    def date(self, block_id: str) -> str:
        return _text(self._element(block_id).get("selected_date"))

    def date_time(self, block_id: str) -> int | None:
        moment = self._element(block_id).get("selected_date_time")
        return moment if isinstance(moment, int) and not isinstance(moment, bool) else None


def submission(body: Mapping[str, Any]) -> Submission:
    view = _dict(body.get("view"))
    return Submission(
        user_id=_user_id(body),
        team_id=_team_id(body),
        view_id=_required(view.get("id"), "view.id"),
        hash=_text(view.get("hash")),
        callback_id=_text(view.get("callback_id")),
        private_metadata=_text(view.get("private_metadata")),
        values=_dict(_dict(view.get("state")).get("values")),
    )


@dataclass(frozen=True)
class Command:
    """A slash command: `/incident <name> <args>`."""

    user_id: str
    team_id: str
    trigger_id: str
    text: str = ""
    channel_id: str = ""
    response_url: str | None = None

    @property
    def name(self) -> str:
        return self.text.partition(" ")[0]

    @property
    def args(self) -> str:
        return self.text.partition(" ")[2].strip()


def command(body: Mapping[str, Any]) -> Command:
    return Command(
        user_id=_required(body.get("user_id"), "user_id"),
        team_id=_required(body.get("team_id"), "team_id"),
        trigger_id=_required(body.get("trigger_id"), "trigger_id"),
        text=_text(body.get("text")).strip(),
        channel_id=_text(body.get("channel_id")),
        response_url=_text(body.get("response_url")) or None,
    )


@dataclass(frozen=True)
class Shortcut:
    """A global shortcut, or a message shortcut with the message it was used on."""

    user_id: str
    team_id: str
    trigger_id: str = ""
    action_ts: str = ""
    channel_id: str = ""
    message_ts: str = ""
    message: Mapping[str, Any] = field(default_factory=dict)
    response_url: str | None = None

    @property
    def request_key(self) -> str:
        return f"shortcut:{self.trigger_id or self.action_ts}"


def shortcut(body: Mapping[str, Any]) -> Shortcut:
    message = _dict(body.get("message"))
    return Shortcut(
        user_id=_user_id(body),
        team_id=_team_id(body),
        trigger_id=_text(body.get("trigger_id")),
        action_ts=_text(body.get("action_ts")),
        channel_id=_text(_dict(body.get("channel")).get("id")),
        message_ts=_text(body.get("message_ts")) or _text(message.get("ts")),
        message=message,
        response_url=_text(body.get("response_url")) or None,
    )


@dataclass(frozen=True)
class Event:
    """An Events API delivery: its id, workspace, and the event's own fields."""

    event_id: str
    team_id: str
    type: str
    user_id: str = ""
    channel_id: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def request_key(self) -> str:
        return f"event:{self.event_id}"


def event(body: Mapping[str, Any]) -> Event:
    fields = _dict(body.get("event"))
    return Event(
        event_id=_text(body.get("event_id")),
        team_id=_required(body.get("team_id"), "team_id"),
        type=_text(fields.get("type")),
        user_id=_text(fields.get("user")),
        channel_id=_text(fields.get("channel")),
        fields=fields,
    )


@dataclass(frozen=True)
class MessageRef:
    """A message an event is about: where it is and, when Slack sent it, the message."""

    channel_id: str
    ts: str
    message: Mapping[str, Any] = field(default_factory=dict)


def pinned_message(pin: Event) -> MessageRef | None:
    """The message a `pin_added` / `pin_removed` event is about; None for pinned files."""
    item = _dict(pin.fields.get("item"))
    if item.get("type") != "message":
        return None
    message = _dict(item.get("message"))
    channel = _text(item.get("channel")) or _text(pin.fields.get("channel_id"))
    ts = _text(message.get("ts")) or _text(item.get("ts"))
    return MessageRef(channel, ts, message) if channel and ts else None


def reacted_message(reaction: Event, emoji: str) -> MessageRef | None:
    """The message a `reaction_added` / `reaction_removed` event put `emoji` on, if any."""
    item = _dict(reaction.fields.get("item"))
    if reaction.fields.get("reaction") != emoji or item.get("type") != "message":
        return None
    channel, ts = _text(item.get("channel")), _text(item.get("ts"))
    return MessageRef(channel, ts) if channel and ts else None


@dataclass(frozen=True)
class Edit:
    channel_id: str
    ts: str
    text: str
    edited_ts: str | None


def edited_message(change: Event) -> Edit | None:
    """What a `message_changed` event says the message now reads."""
    message = _dict(change.fields.get("message"))
    ts = _text(message.get("ts"))
    if not change.channel_id or not ts:
        return None
    edited = _text(_dict(message.get("edited")).get("ts")) or None
    return Edit(change.channel_id, ts, _text(message.get("text")), edited)
