"""Pure rules behind the timeline and the exports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.export.delivery import parse_format
from app.export.markdown import cell
from app.export.people import duration, iso, plain_text
from app.incidents.actions import parse_action, parse_when
from app.incidents.errors import InvalidInput
from app.incidents.timeline import ts_to_datetime


def test_an_action_takes_its_owner_and_due_date_from_anywhere_in_the_text() -> None:
    item = parse_action("due 2026-12-01 rotate the <@U0BOB|bob> keys   for prod", THURSDAY)

    assert (item.text, item.owner_id, item.due_date) == (
        "rotate the keys for prod",
        "U0BOB",
        date(2026, 12, 1),
    )


def test_an_action_without_owner_or_date_is_just_text() -> None:
    item = parse_action("write the runbook", THURSDAY)

    assert (item.text, item.owner_id, item.due_date) == ("write the runbook", None, None)


@pytest.mark.parametrize(
    "args", ["", "<@U0BOB>", "fix it due 2026-02-30", "fix it due someday", "fix it due in 3 moons"]
)
def test_an_action_without_text_or_with_a_bad_date_is_refused(args: str) -> None:
    with pytest.raises(InvalidInput):
        parse_action(args, THURSDAY)


THURSDAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("today", date(2026, 12, 3)),
        ("tomorrow", date(2026, 12, 4)),
        ("Friday", date(2026, 12, 4)),
        ("thursday", date(2026, 12, 10)),
        ("monday", date(2026, 12, 7)),
        ("next friday", date(2026, 12, 11)),
        ("in 3 days", date(2026, 12, 6)),
        ("in 1 day", date(2026, 12, 4)),
        ("in 2 weeks", date(2026, 12, 17)),
        ("2026-12-31", date(2026, 12, 31)),
    ],
)
def test_due_dates_as_people_type_them(when: str, expected: date) -> None:
    assert parse_when(when, THURSDAY) == expected
    assert parse_action(f"rotate keys due {when}", THURSDAY).due_date == expected
    assert parse_action(f"rotate keys due {when}", THURSDAY).text == "rotate keys"


def test_slack_timestamps_become_utc_times() -> None:
    assert ts_to_datetime("1773480360.000100") == datetime(2026, 3, 14, 9, 26, 0, 100, tzinfo=UTC)


@pytest.mark.parametrize(
    ("minutes", "shown"), [(0, "0m"), (34, "34m"), (71, "1h 11m"), (60 * 26 + 5, "1d 2h 05m")]
)
def test_durations_read_like_a_person_writes_them(minutes: int, shown: str) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)

    assert duration(start, start + timedelta(minutes=minutes)) == shown


def test_slack_markup_becomes_plain_text_with_names() -> None:
    text = "<@U1> asked <#C1|inc-1> to see <https://x.test/a|the graph> &amp; &lt;logs&gt;"

    assert plain_text(text, {"U1": "Alice"}.__getitem__) == (
        "@Alice asked #inc-1 to see the graph & <logs>"
    )


def test_table_cells_stay_on_one_line_and_keep_pipes() -> None:
    assert cell("a | b\nc") == "a \\| b c"


def test_iso_times_are_utc_with_z() -> None:
    assert iso(datetime(2026, 3, 14, 9, 26, tzinfo=UTC)) == "2026-03-14T09:26:00Z"


@pytest.mark.parametrize(("text", "fmt"), [("", "markdown"), ("md", "markdown"), ("JSON", "json")])
def test_export_formats(text: str, fmt: str) -> None:
    assert parse_format(text) == fmt


def test_an_unknown_export_format_is_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_format("pdf")
