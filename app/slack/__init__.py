"""Everything that knows about Slack: the Bolt app, its listeners, Block Kit and the Web API."""
