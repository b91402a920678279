"""Work sent to Slack: the Web API gateway, the notifier that carries out effects, views."""
