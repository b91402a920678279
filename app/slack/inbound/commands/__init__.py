"""`/incident` subcommands. Each module registers its own with `@subcommand`."""

from app.slack.inbound.commands import (
    incident,  # noqa: F401  (registers declare, list, role, ...)
    stats,  # noqa: F401  (registers stats)
    timeline,  # noqa: F401  (registers note, action, actions, export)
    updates,  # noqa: F401  (registers update)
)
from app.slack.inbound.commands.router import (
    SUBCOMMANDS,
    CommandContext,
    dispatch,
    records_before_ack,
    subcommand,
)

__all__ = ["SUBCOMMANDS", "CommandContext", "dispatch", "records_before_ack", "subcommand"]
