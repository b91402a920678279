"""The App Home's last 30 days and the person's own overdue action items."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.runtime import Runtime
from app.store.models import ActionItem
from emulator import SlackEmulator
from tests.support.driver import SlackDriver
from tests.support.story import People, declare, incidents


def _home_text(slack: SlackDriver, emulator: SlackEmulator, user: str) -> str:
    slack.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"})
    home = emulator.home_view(user)
    assert home is not None
    return "\n".join(
        str(block.get("text", {}).get("text", "")) + str(block.get("elements", ""))
        for block in home["blocks"]
    )


def test_home_counts_what_the_person_may_see_and_lists_their_overdue_items(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    declare(slack, emulator, people.alice, "Public outage")
    declare(slack, emulator, people.alice, "Secret breach", private=True)
    public, private = incidents(runtime.db)
    today = datetime.now(UTC).date()
    with runtime.db.session() as session:
        for incident_id, owner, text, due, state in [
            (
                public.id,
                people.dave,
                "Add a <b>retry</b> budget",
                today - timedelta(days=3),
                "open",
            ),
            (private.id, people.dave, "Rotate keys", today - timedelta(days=1), "open"),
            (public.id, people.dave, "Already done", today - timedelta(days=9), "done"),
            (public.id, people.dave, "Not due yet", today + timedelta(days=2), "open"),
            (public.id, people.alice, "Alice's own", today - timedelta(days=5), "open"),
        ]:
            assert incident_id is not None
            session.add(
                ActionItem(
                    incident_id=incident_id,
                    text=text,
                    owner_id=owner,
                    due_date=due,
                    state=state,
                    created_by=people.alice,
                )
            )

    outsider = _home_text(slack, emulator, people.dave)
    member = _home_text(slack, emulator, people.alice)

    assert "*Last 30 days*\n*1* incidents, 1 still open" in outsider
    assert "*Last 30 days*\n*2* incidents, 2 still open" in member
    assert "Time to resolve: not measured, 1 not recorded" in outsider
    assert "Time to mitigate: not measured, 2 not recorded" in member
    # Dave's own overdue items, most overdue first, including one on an incident he cannot
    # see (it is his to do); nobody else's, nothing done or not yet due.
    assert (
        f"• *INC-1* Add a &lt;b&gt;retry&lt;/b&gt; budget (due {_day(today, 3)}, 3 days overdue)\n"
        f"• *INC-2* Rotate keys (due {_day(today, 1)}, 1 day overdue)"
    ) in outsider
    assert "Already done" not in outsider and "Not due yet" not in outsider
    assert "Alice's own" not in outsider and "Alice's own" in member
    assert "Rotate keys" not in member


def test_home_with_nothing_to_show_says_so(
    slack: SlackDriver, emulator: SlackEmulator, people: People
) -> None:
    home = _home_text(slack, emulator, people.bob)

    assert "*Last 30 days*\n*0* incidents, 0 still open" in home
    assert "Time to resolve: not measured, 0 not recorded" in home
    assert "None overdue." in home


def _day(today: date, days_before: int) -> str:
    return (today - timedelta(days=days_before)).isoformat()
