"""Optional connections to the tools a team already runs: PagerDuty, Jira, Statuspage."""
