"""A local Slack Web API emulator for tests, benchmarks and `firebreak demo`.

Point `slack_sdk.WebClient(token=emu.bot_token, base_url=emu.api_url)` at it; it answers
like Slack's Web API does (error codes, scopes, Block Kit limits, 429 with Retry-After)
and records every call for assertions. `emu.socket_mode` is Slack's Socket Mode side:
an app opens a connection with `emu.app_token` and receives what tests send through it.
`emulator.driver` sends an app what Slack sends, over HTTP or Socket Mode.

Slack's side only: nothing here imports Firebreak's `app`.
"""

from emulator.methods import ALL_BOT_SCOPES, METHODS, MethodSpec, SlackError
from emulator.server import Call, ResponsePost, SlackEmulator
from emulator.socket_mode import Envelope, SocketModeServer
from emulator.state import Channel, UploadedFile, User

__all__ = [
    "ALL_BOT_SCOPES",
    "METHODS",
    "Call",
    "Channel",
    "Envelope",
    "MethodSpec",
    "ResponsePost",
    "SlackEmulator",
    "SlackError",
    "SocketModeServer",
    "UploadedFile",
    "User",
]
