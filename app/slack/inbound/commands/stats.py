"""`/incident stats [30d|90d|quarter]`: the requester's headline numbers, charts by DM."""

from __future__ import annotations

from app.export.delivery import slack_people
from app.insight.slack import headline, period_named, requester_insight
from app.logging import get_logger
from app.slack.inbound.commands.router import CommandContext, subcommand

log = get_logger(__name__)


@subcommand("stats", "stats [30d|90d|quarter]", "incident numbers privately, charts by DM")
def stats(context: CommandContext) -> None:
    services = context.services
    span, period = period_named(context.args, services.clock())
    insight = requester_insight(services, context.team_id, context.user_id, period)
    context.reply(headline(insight, span))
    from app.insight.charts import render_charts  # matplotlib loads on first use only

    charts = render_charts(insight, slack_people(services.slack))
    dm = services.slack.open_dm(context.user_id)
    for name, png in charts.items():
        services.slack.upload_file(dm, name, png, f"Incident insight, {span}: {name}")
    log.info("insight_stats_sent", incidents=insight.incident_count, charts=len(charts))
