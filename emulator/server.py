"""The emulator's HTTP side: routing, request parsing, auth, scopes, rate limits and faults."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import random
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from emulator.methods import (
    ALL_BOT_SCOPES,
    METHODS,
    RESPONSE_PATH,
    UPLOAD_PATH,
    ApiRequest,
    MethodSpec,
    SlackError,
    missing_scope,
    new_response_url,
    post_to_response_url,
)
from emulator.socket_mode import SocketModeServer
from emulator.state import (
    Channel,
    JsonDict,
    Trigger,
    UploadedFile,
    User,
    channel_name_error,
    seeded_workspace,
)

API_PATH = "/api/"
# Methods that take the app-level token (xapp-) instead of the bot token.
CONNECTIONS_OPEN = "apps.connections.open"
APP_TOKEN_SCOPE = "connections:write"  # noqa: S105 - a scope name
# Form-encoded requests carry these as JSON strings; they are decoded before recording.
JSON_ARGS = frozenset({"blocks", "attachments", "view", "files", "metadata"})
_ARG_NAME = re.compile(r"[A-Za-z0-9_]{1,100}")
_HTTP_FAILURE = re.compile(r"http_(\d{3})")
_HTTP_FAILURE_ERRORS = {500: "internal_error", 503: "service_unavailable"}
RATE_WINDOW_SECONDS = 60.0
# A fault that lets the call happen and then answers HTTP 500: the caller cannot tell.
LOST_ANSWER = "lost_answer"
CHAOS_ERRORS = ("http_500", "internal_error", "ratelimited", LOST_ANSWER)
# How often the server loop notices stop(); short so tests do not wait on teardown.
SHUTDOWN_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class Call:
    """One Web API request as the emulator saw and answered it."""

    method: str
    args: JsonDict
    ok: bool
    error: str | None
    status: int
    at: float


@dataclass
class Hold:
    """A Web API call held in flight: `arrived` is set when it comes in; the emulator
    answers (and changes its state) only after `release()`, even if the caller is gone."""

    method: str
    when: Callable[[JsonDict], bool] | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()

    def matches(self, method: str, args: JsonDict) -> bool:
        return method == self.method and (self.when is None or self.when(args))


@dataclass(frozen=True)
class ResponsePost:
    """One POST to a response_url."""

    url: str
    payload: Any
    status: int
    at: float


@dataclass
class Reply:
    status: int
    body: JsonDict | str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("ok") is True

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None


@dataclass
class _Fault:
    error: str
    retry_after: int
    remaining: int


@dataclass(frozen=True)
class Incoming:
    command: str
    path: str
    query: str
    headers: Message
    body: bytes


@dataclass
class ParsedRequest:
    args: JsonDict
    token: str | None
    warnings: list[str]
    error: str | None = None


class _BadRequestError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


# ---------------------------------------------------------------- replies


def error_reply(error: str, **details: Any) -> Reply:
    """Slack answers API errors with HTTP 200 and `ok: false`."""
    return Reply(200, {"ok": False, "error": error, **details})


def rate_limited_reply(retry_after: int) -> Reply:
    return Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})


def http_failure_reply(status: int) -> Reply:
    error = _HTTP_FAILURE_ERRORS.get(status, "fatal_error")
    return Reply(status, {"ok": False, "error": error})


def _fault_reply(fault: _Fault) -> Reply:
    if fault.error == "ratelimited":
        return rate_limited_reply(fault.retry_after)
    http_failure = _HTTP_FAILURE.fullmatch(fault.error)
    if http_failure:
        return http_failure_reply(int(http_failure.group(1)))
    return error_reply(fault.error)


def _with_warnings(reply: Reply, warnings: list[str]) -> Reply:
    if warnings and isinstance(reply.body, dict):
        metadata = reply.body.setdefault("response_metadata", {})
        metadata["warnings"] = [*metadata.get("warnings", []), *warnings]
        reply.body["warning"] = ",".join(metadata["warnings"])
    return reply


# ---------------------------------------------------------------- request parsing


def parse_api_request(headers: Message, query: str, body: bytes) -> ParsedRequest:
    """Query string and body (JSON, form or multipart) merged into one argument dict."""
    args: JsonDict = dict(parse_qsl(query, keep_blank_values=True))
    warnings: list[str] = []
    try:
        args.update(_body_args(headers, body, warnings))
    except _BadRequestError as bad:
        return ParsedRequest(args, None, warnings, bad.error)
    token = _bearer_token(headers) or args.pop("token", None)
    args.pop("token", None)
    _decode_json_args(args)
    return ParsedRequest(args, token, warnings, _arg_name_error(args))


def _bearer_token(headers: Message) -> str | None:
    scheme, _, token = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _body_args(headers: Message, body: bytes, warnings: list[str]) -> JsonDict:
    if not body:
        return {}
    content_type = headers.get("Content-Type")
    if content_type is None:
        raise _BadRequestError("missing_post_type")
    media_type, charset = headers.get_content_type(), headers.get_content_charset()
    if media_type == "application/json":
        if charset is None:
            warnings.append("missing_charset")
        return _json_args(_decode(body, charset))
    if media_type in {"application/x-www-form-urlencoded", "text/plain"}:
        return dict(parse_qsl(_decode(body, charset), keep_blank_values=True))
    if media_type == "multipart/form-data":
        return _multipart_args(content_type, body)
    raise _BadRequestError("invalid_post_type")


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError) as error:
        raise _BadRequestError("invalid_charset") from error


def _json_args(text: str) -> JsonDict:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise _BadRequestError("invalid_json") from error
    if not isinstance(data, dict):
        raise _BadRequestError("invalid_json")
    # Slack reads the token of a JSON request only from the Authorization header.
    data.pop("token", None)
    return data


def _multipart_parts(content_type: str, body: bytes) -> list[Message]:
    envelope = f"Content-Type: {content_type}\r\n\r\n".encode() + body
    message = BytesParser().parsebytes(envelope)
    if not message.is_multipart():
        raise _BadRequestError("invalid_form_data")
    return [part for part in message.get_payload() if isinstance(part, Message)]


def _multipart_args(content_type: str, body: bytes) -> JsonDict:
    args: JsonDict = {}
    for part in _multipart_parts(content_type, body):
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes) and not part.get_filename():
            args[name] = payload.decode(part.get_content_charset() or "utf-8")
    return args


def _decode_json_args(args: JsonDict) -> None:
    for name in JSON_ARGS & args.keys():
        if isinstance(args[name], str) and args[name]:
            with contextlib.suppress(ValueError):
                args[name] = json.loads(args[name])


def _arg_name_error(args: JsonDict) -> str | None:
    for name in args:
        if "[" in name:
            return "invalid_array_arg"
        if not _ARG_NAME.fullmatch(name):
            return "invalid_arg_name"
    return None


def _uploaded_bytes(headers: Message, body: bytes) -> bytes:
    """Slack's upload URL takes the raw bytes, or a multipart form with one file part."""
    content_type = headers.get("Content-Type") or ""
    if not content_type.startswith("multipart/form-data"):
        return body
    for part in _multipart_parts(content_type, body):
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and part.get_filename():
            return payload
    raise _BadRequestError("invalid_form_data")


# ---------------------------------------------------------------- HTTP plumbing


def _request_handler(emulator: SlackEmulator) -> type[BaseHTTPRequestHandler]:
    class SlackRequestHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            url = urlsplit(self.path)
            incoming = Incoming(
                self.command, url.path, url.query, self.headers, self.rfile.read(length)
            )
            _send(self, emulator.handle(incoming))

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: calls are recorded in `emulator.calls` instead."""

    return SlackRequestHandler


def _send(http: BaseHTTPRequestHandler, reply: Reply) -> None:
    if isinstance(reply.body, dict):
        data, content_type = json.dumps(reply.body).encode(), "application/json; charset=utf-8"
    else:
        data, content_type = reply.body.encode(), "text/plain; charset=utf-8"
    http.send_response(reply.status)
    http.send_header("Content-Type", content_type)
    http.send_header("Content-Length", str(len(data)))
    for name, value in reply.headers.items():
        http.send_header(name, value)
    http.end_headers()
    with contextlib.suppress(OSError):  # the caller hung up (a held call, its client killed)
        http.wfile.write(data)


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog of 5 resets connections under a benchmark's
    # load, which Slack's front end never does.
    request_queue_size = 1024


# ---------------------------------------------------------------- the emulator


class SlackEmulator:
    """A local Slack Web API: a real HTTP server over an in-memory workspace.

    Everything a test reads (users, channels, messages, calls...) is a snapshot copy taken
    under the emulator's lock, so reading while the app is calling the API is safe.
    """

    def __init__(
        self,
        scopes: Iterable[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app_token_scopes: Iterable[str] = (APP_TOKEN_SCOPE,),
    ) -> None:
        self.clock: Callable[[], float] = time.time
        self.latency: float = 0.0
        self.down: bool = False
        self.rate_limits: dict[str, int] = {}
        self.bot_token = f"xoxb-{secrets.randbelow(10**12):012d}-{secrets.token_hex(12)}"
        self._scopes = ALL_BOT_SCOPES if scopes is None else frozenset(scopes)
        self._workspace = seeded_workspace(time.time())
        self.app_token = (
            f"xapp-1-{self._workspace.app_id}-{secrets.randbelow(10**13):013d}-"
            f"{secrets.token_hex(32)}"
        )
        self.app_token_scopes = frozenset(app_token_scopes)
        self.socket_mode = SocketModeServer(self._workspace.app_id, host=host)
        self._lock = threading.RLock()
        self._calls: list[Call] = []
        self._responses: list[ResponsePost] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._chaos_rate = 0.0
        self._chaos_methods: frozenset[str] = frozenset()
        self._chaos = random.Random(0)
        self._holds: list[Hold] = []
        self._windows: dict[str, deque[float]] = {}
        self._address = (host, port)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = _Server(self._address, _request_handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(SHUTDOWN_POLL_SECONDS,),
            name="slack-emulator",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self.socket_mode.stop()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server, self._thread = None, None

    def __enter__(self) -> SlackEmulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Slack emulator is not running; call start() first")
        return f"http://{self._address[0]}:{self._server.server_port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PATH

    # ------------------------------------------------------------ identity

    @property
    def team_id(self) -> str:
        return self._workspace.team_id

    @property
    def bot_user_id(self) -> str:
        return self._workspace.bot_user_id

    @property
    def bot_id(self) -> str:
        return self._workspace.bot_id

    @property
    def scopes(self) -> frozenset[str]:
        return self._scopes

    # ------------------------------------------------------------ seeding

    def add_user(
        self,
        name: str,
        *,
        is_bot: bool = False,
        deleted: bool = False,
        real_name: str | None = None,
        tz: str = "Etc/UTC",
    ) -> str:
        with self._lock:
            user = self._workspace.add_user(
                name, real_name=real_name, is_bot=is_bot, deleted=deleted, tz=tz
            )
            return user.id

    def add_channel(
        self, name: str, *, is_private: bool = False, members: Iterable[str] = ()
    ) -> str:
        """A channel made outside the app; include `bot_user_id` in members to add the bot."""
        members = list(members)
        with self._lock:
            problem = channel_name_error(name) or (
                "name_taken" if self._workspace.channel_named(name) else None
            )
            unknown = [member for member in members if member not in self._workspace.users]
            if problem or unknown:
                raise ValueError(f"cannot add channel {name!r}: {problem or unknown}")
            creator = members[0] if members else self.bot_user_id
            channel = self._workspace.add_channel(
                name, now=self.clock(), creator=creator, is_private=is_private, members=members
            )
            return channel.id

    def add_message(
        self, channel_id: str, user_id: str, text: str, *, thread_ts: str | None = None
    ) -> str:
        """A message someone else posted (not through the API); returns its ts."""
        with self._lock:
            workspace = self._workspace
            channel = workspace.channels[channel_id]
            message = {
                "type": "message",
                "user": user_id,
                "text": text,
                "team": workspace.team_id,
                "ts": workspace.new_ts(self.clock()),
            }
            if thread_ts:
                channel.add_reply(thread_ts, message)
            else:
                channel.messages.append(message)
            return str(message["ts"])

    def edit_message(self, channel_id: str, ts: str, text: str, *, user_id: str) -> None:
        """Someone edited their message in Slack's client (Slack then sends message_changed)."""
        with self._lock:
            workspace = self._workspace
            message = workspace.channels[channel_id].find_message(ts)
            if message is None:
                raise ValueError(f"no message {ts} in {channel_id}")
            message["text"] = text
            message["edited"] = {"user": user_id, "ts": workspace.new_ts(self.clock())}

    def allow_bot_unarchive(self, allowed: bool = True) -> None:
        """Let bot tokens unarchive (Slack's reference says they cannot, for now)."""
        with self._lock:
            self._workspace.bot_can_unarchive = allowed

    def set_archived(self, channel_id: str, archived: bool) -> None:
        """Someone archived or unarchived a channel in Slack's client."""
        with self._lock:
            self._workspace.channels[channel_id].is_archived = archived

    def join(self, channel_id: str, user_id: str) -> None:
        """Someone joined a channel in Slack's client (Slack then sends member_joined_channel)."""
        with self._lock:
            members = self._workspace.channels[channel_id].members
            if user_id not in members:
                members.append(user_id)

    def leave(self, channel_id: str, user_id: str) -> None:
        """Someone left a channel in Slack's client (Slack then sends member_left_channel)."""
        with self._lock:
            members = self._workspace.channels[channel_id].members
            if user_id in members:
                members.remove(user_id)

    def pin_message(self, channel_id: str, ts: str, *, user_id: str) -> None:
        """Someone pinned a message in Slack's client (Slack then sends pin_added)."""
        with self._lock:
            channel = self._workspace.channels[channel_id]
            message = channel.find_message(ts)
            if message is None:
                raise ValueError(f"no message {ts} in {channel_id}")
            channel.pins[ts] = {"created": int(self.clock()), "created_by": user_id}
            message.setdefault("pinned_to", []).append(channel_id)

    def react(self, channel_id: str, ts: str, name: str, *, user_id: str) -> None:
        """Someone added a reaction in Slack's client (Slack then sends reaction_added)."""
        with self._lock:
            message = self._workspace.channels[channel_id].find_message(ts)
            if message is None:
                raise ValueError(f"no message {ts} in {channel_id}")
            reactions = message.setdefault("reactions", [])
            reaction = next((r for r in reactions if r["name"] == name), None)
            if reaction is None:
                reaction = {"name": name, "users": [], "count": 0}
                reactions.append(reaction)
            if user_id not in reaction["users"]:
                reaction["users"].append(user_id)
                reaction["count"] += 1

    def unreact(self, channel_id: str, ts: str, name: str, *, user_id: str) -> None:
        """Someone took their reaction back (Slack then sends reaction_removed)."""
        with self._lock:
            message = self._workspace.channels[channel_id].find_message(ts) or {}
            for reaction in message.get("reactions", []):
                if reaction["name"] == name and user_id in reaction["users"]:
                    reaction["users"].remove(user_id)
                    reaction["count"] -= 1
            message["reactions"] = [r for r in message.get("reactions", []) if r["count"]]
            if not message["reactions"]:
                del message["reactions"]

    def new_trigger_id(self, user_id: str | None = None, *, issued_at: float | None = None) -> str:
        """A trigger_id as Slack puts in interaction payloads; views.* accept it for 3 s.

        `issued_at` (default now): when the user acted, for a payload built ahead of time.
        """
        with self._lock:
            now = self.clock() if issued_at is None else issued_at
            trigger_id = f"{int(now)}.{secrets.randbelow(10**13)}.{secrets.token_hex(16)}"
            self._workspace.triggers[trigger_id] = Trigger(now, user_id or "")
            return trigger_id

    def new_response_url(
        self,
        *,
        channel_id: str | None = None,
        user_id: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """A response_url as Slack puts in command and interaction payloads."""
        with self._lock:
            return new_response_url(
                self._workspace,
                self.base_url,
                self.clock(),
                channel_id=channel_id,
                user_id=user_id,
                message_ts=message_ts,
            )

    # ------------------------------------------------------------ reading state

    def _snapshot(self, read: Callable[[], Any]) -> Any:
        with self._lock:
            return copy.deepcopy(read())

    @property
    def users(self) -> dict[str, User]:
        result: dict[str, User] = self._snapshot(lambda: self._workspace.users)
        return result

    def user_by_name(self, name: str) -> User:
        matches = [user for user in self.users.values() if user.name == name]
        if not matches:
            raise KeyError(name)
        return matches[0]

    @property
    def channels(self) -> dict[str, Channel]:
        result: dict[str, Channel] = self._snapshot(lambda: self._workspace.channels)
        return result

    def channel(self, channel_id: str) -> Channel:
        result: Channel = self._snapshot(lambda: self._workspace.channels[channel_id])
        return result

    def channel_by_name(self, name: str) -> Channel:
        with self._lock:
            channel = self._workspace.channel_named(name)
            if channel is None:
                raise KeyError(name)
            return copy.deepcopy(channel)

    def messages(self, channel_id: str) -> list[JsonDict]:
        """Top-level messages (including thread replies broadcast to the channel), in order."""
        return self.channel(channel_id).messages

    def replies(self, channel_id: str, thread_ts: str) -> list[JsonDict]:
        return self.channel(channel_id).threads.get(thread_ts, [])

    def ephemeral_messages(self, channel_id: str) -> list[JsonDict]:
        return self.channel(channel_id).ephemeral

    def pins(self, channel_id: str) -> list[JsonDict]:
        """The pinned messages, in the order they were pinned."""
        channel = self.channel(channel_id)
        pinned = (channel.find_message(ts) for ts in channel.pins)
        return [message for message in pinned if message is not None]

    def bookmarks(self, channel_id: str) -> list[JsonDict]:
        return self.channel(channel_id).bookmarks

    @property
    def views(self) -> dict[str, JsonDict]:
        """Modals opened or pushed, by view id, as views.* returned them last."""
        with self._lock:
            return {view_id: view.to_api() for view_id, view in self._workspace.views.items()}

    def dm_with(self, user_id: str) -> str:
        """The id of the bot's direct message with this person (opened by a post or upload)."""
        with self._lock:
            for channel in self._workspace.channels.values():
                if channel.is_im and channel.im_user == user_id:
                    return channel.id
        raise KeyError(f"no direct message with {user_id}")

    def home_view(self, user_id: str) -> JsonDict | None:
        with self._lock:
            view = self._workspace.home_views.get(user_id)
            return view.to_api() if view else None

    @property
    def files(self) -> dict[str, UploadedFile]:
        result: dict[str, UploadedFile] = self._snapshot(lambda: self._workspace.files)
        return result

    @property
    def responses(self) -> list[ResponsePost]:
        with self._lock:
            return list(self._responses)

    # ------------------------------------------------------------ recorded calls

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()
            self._responses.clear()

    # ------------------------------------------------------------ failures and limits

    def fail_next(
        self, method: str, error: str = "ratelimited", *, retry_after: int = 1, times: int = 1
    ) -> None:
        """The next `times` calls to `method` fail: "ratelimited" is HTTP 429 with
        Retry-After, "http_503" (any http_NNN) that HTTP status, `LOST_ANSWER` carries the
        call out and then answers HTTP 500 (as when Slack's answer is lost), anything else
        `ok: false`."""
        with self._lock:
            self._faults.setdefault(method, deque()).append(_Fault(error, retry_after, times))

    def chaos(self, rate: float, methods: Iterable[str], *, seed: int = 0) -> None:
        """Fail a share `rate` of the calls to `methods`, each with one of CHAOS_ERRORS."""
        with self._lock:
            self._chaos_rate = rate
            self._chaos_methods = frozenset(methods)
            self._chaos = random.Random(seed)

    def enforce_slack_tiers(self) -> None:
        """Limit every method to its published Slack tier (chat.postMessage: per channel)."""
        with self._lock:
            self.rate_limits.update(
                {
                    name: spec.per_minute
                    for name, spec in METHODS.items()
                    if spec.per_minute is not None
                }
            )

    # ------------------------------------------------------------ answering

    def handle(self, incoming: Incoming) -> Reply:
        started = self.clock()
        if self.latency > 0:
            time.sleep(self.latency)
        if incoming.path.startswith(API_PATH):
            return self._api_call(incoming, started)
        if self.down:
            return http_failure_reply(503)
        if incoming.path.startswith(UPLOAD_PATH):
            return self._receive_upload(incoming)
        if incoming.path.startswith(RESPONSE_PATH):
            return self._receive_response(incoming, started)
        return Reply(404, "Not Found")

    def hold(self, method: str, when: Callable[[JsonDict], bool] | None = None) -> Hold:
        """Hold the next call to `method` (whose args satisfy `when`) until released."""
        held = Hold(method, when)
        with self._lock:
            self._holds.append(held)
        return held

    def _wait_if_held(self, method: str, args: JsonDict) -> None:
        with self._lock:
            held = next((h for h in self._holds if h.matches(method, args)), None)
            if held is not None:
                self._holds.remove(held)
        if held is not None:
            held.arrived.set()
            held.released.wait(timeout=120)

    def _api_call(self, incoming: Incoming, started: float) -> Reply:
        method = incoming.path.removeprefix(API_PATH)
        parsed = parse_api_request(incoming.headers, incoming.query, incoming.body)
        self._wait_if_held(method, parsed.args)
        reply = http_failure_reply(503) if self.down else self._api_reply(method, parsed)
        with self._lock:
            self._calls.append(
                Call(method, parsed.args, reply.ok, reply.error, reply.status, started)
            )
        return reply

    def _api_reply(self, method: str, parsed: ParsedRequest) -> Reply:
        if method == CONNECTIONS_OPEN:
            return self._connections_open(parsed)
        spec = METHODS.get(method)
        if spec is None:
            return error_reply("unknown_method", req_method=method)
        if parsed.error:
            return error_reply(parsed.error)
        with self._lock:
            fault = self._next_fault(method)
            reply = (
                (_fault_reply(fault) if fault and fault.error != LOST_ANSWER else None)
                or self._auth_failure(parsed.token)
                or self._scope_failure(spec)
                or self._rate_limited(method, spec, parsed.args)
                or self._run(spec, parsed)
            )
            if fault and fault.error == LOST_ANSWER and reply.ok:
                reply = http_failure_reply(500)
        reply.headers.update(
            {
                "X-OAuth-Scopes": ",".join(sorted(self._scopes)),
                "X-Accepted-OAuth-Scopes": ",".join(spec.scopes),
            }
        )
        return _with_warnings(reply, parsed.warnings)

    def _connections_open(self, parsed: ParsedRequest) -> Reply:
        """apps.connections.open: an app-level token with connections:write gets a URL."""
        if parsed.error:
            return error_reply(parsed.error)
        with self._lock:
            fault = self._next_fault(CONNECTIONS_OPEN)
            failure = _fault_reply(fault) if fault else self._app_token_failure(parsed.token)
        if failure is not None:
            return failure
        reply = Reply(200, {"ok": True, "url": self.socket_mode.new_url()})
        reply.headers["X-OAuth-Scopes"] = ",".join(sorted(self.app_token_scopes))
        reply.headers["X-Accepted-OAuth-Scopes"] = APP_TOKEN_SCOPE
        return reply

    def _app_token_failure(self, token: str | None) -> Reply | None:
        if not token:
            return error_reply("not_authed")
        if token == self.bot_token:
            return error_reply("not_allowed_token_type")
        if token != self.app_token:
            return error_reply("invalid_auth")
        if APP_TOKEN_SCOPE not in self.app_token_scopes:
            error = missing_scope((APP_TOKEN_SCOPE,), self.app_token_scopes)
            return error_reply(error.error, **error.details)
        return None

    def _next_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if queue:
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.popleft()
            return fault
        if method in self._chaos_methods and self._chaos.random() < self._chaos_rate:
            return _Fault(self._chaos.choice(CHAOS_ERRORS), 1, 1)
        return None

    def _auth_failure(self, token: str | None) -> Reply | None:
        if not token:
            return error_reply("not_authed")
        if token != self.bot_token:
            return error_reply("invalid_auth")
        return None

    def _scope_failure(self, spec: MethodSpec) -> Reply | None:
        if not spec.scopes or self._scopes.intersection(spec.scopes):
            return None
        error = missing_scope(spec.scopes, self._scopes)
        return error_reply(error.error, **error.details)

    def _rate_limited(self, method: str, spec: MethodSpec, args: JsonDict) -> Reply | None:
        """A sliding one-minute window per method (per channel for chat.postMessage)."""
        limit = self.rate_limits.get(method)
        if limit is None:
            return None
        key = f"{method}:{args.get('channel', '')}" if spec.per_channel else method
        now = self.clock()
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - RATE_WINDOW_SECONDS:
            window.popleft()
        if len(window) >= limit:
            oldest = window[0] if window else now
            return rate_limited_reply(max(1, math.ceil(oldest + RATE_WINDOW_SECONDS - now)))
        window.append(now)
        return None

    def _run(self, spec: MethodSpec, parsed: ParsedRequest) -> Reply:
        request = ApiRequest(copy.deepcopy(parsed.args), self._scopes, self.clock(), self.base_url)
        try:
            fields = spec.handler(self._workspace, request)
        except SlackError as error:
            return _with_warnings(error_reply(error.error, **error.details), request.warnings)
        return _with_warnings(Reply(200, {"ok": True, **fields}), request.warnings)

    def _receive_upload(self, incoming: Incoming) -> Reply:
        file_id = incoming.path.removeprefix(UPLOAD_PATH)
        with self._lock:
            upload = self._workspace.files.get(file_id)
            if upload is None or incoming.command != "POST":
                return Reply(404, "Not Found")
            try:
                upload.content = _uploaded_bytes(incoming.headers, incoming.body)
            except _BadRequestError as bad:
                return Reply(400, bad.error)
            return Reply(200, f"OK - {len(upload.content)}")

    def _receive_response(self, incoming: Incoming, started: float) -> Reply:
        url_id = incoming.path.removeprefix(RESPONSE_PATH)
        try:
            payload = json.loads(incoming.body or b"null")
        except ValueError:
            payload = None
        with self._lock:
            status, answer = post_to_response_url(self._workspace, url_id, payload, self.clock())
            self._responses.append(
                ResponsePost(self.base_url + incoming.path, payload, status, started)
            )
        return Reply(status, answer)
