"""The timeline's exactly-once rules on PostgreSQL (processed_request and the unique index)."""

from __future__ import annotations

import pytest

from tests.integration.test_timeline import (  # noqa: F401  (collected here against PostgreSQL)
    test_a_duplicate_pin_gives_one_event,
    test_an_action_item_from_add_to_done,
    test_editing_a_marked_message_keeps_the_original,
    test_pin_events_arriving_together_give_one_event,
    test_unpinning_marks_the_event_removed_and_repinning_restores_it,
)


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url
