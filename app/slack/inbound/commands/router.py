"""Parses `/incident <subcommand> <args>` and hands it to the registered handler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.incidents.errors import IncidentError
from app.incidents.snapshot import IncidentSnapshot
from app.services import Services

Reply = Callable[[str], None]


@dataclass
class CommandContext:
    services: Services
    team_id: str
    user_id: str
    channel_id: str
    args: str
    trigger_id: str
    response_url: str | None
    reply: Reply
    incident: IncidentSnapshot | None = None

    def require_incident(self) -> IncidentSnapshot:
        if self.incident is None:
            raise IncidentError(
                "Run this inside an incident channel (one named inc-…), "
                "or see `/incident list` for open incidents."
            )
        return self.incident


Handler = Callable[[CommandContext], None]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    handler: Handler
    in_incident: bool
    # Changes an incident in a few milliseconds: run before the ack, so an acknowledged
    # command is a recorded one.
    records: bool = False


SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(
    name: str, usage: str, summary: str, *, in_incident: bool = False, records: bool = False
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        SUBCOMMANDS[name] = Subcommand(name, usage, summary, handler, in_incident, records)
        return handler

    return register


def records_before_ack(name: str) -> bool:
    command = SUBCOMMANDS.get(name.lower())
    return command is not None and command.records


def help_lines() -> list[str]:
    general = [c for c in SUBCOMMANDS.values() if not c.in_incident]
    scoped = [c for c in SUBCOMMANDS.values() if c.in_incident]
    lines = ["*Firebreak commands*", "`/incident` open the form to declare an incident"]
    lines += [f"`/incident {c.usage}` {c.summary}" for c in general]
    lines.append("*In an incident channel*")
    lines += [f"`/incident {c.usage}` {c.summary}" for c in scoped]
    return lines


def dispatch(name: str, context: CommandContext) -> None:
    """Run a subcommand. What it raises is answered by `app.slack.inbound.errors`."""
    command = SUBCOMMANDS.get(name.lower())
    if command is None:
        context.reply(
            f"I don't know `/incident {name}`. Type `/incident help` to see every command."
        )
        return
    if command.in_incident:
        context.require_incident()
    command.handler(context)
