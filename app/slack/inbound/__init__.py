"""Requests from Slack: the Bolt app, the delivery guard, listeners and `/incident` subcommands."""
