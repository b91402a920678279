"""The error translator: each kind of failure, answered as its kind of request needs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_bolt import Ack, BoltContext, BoltResponse, Respond
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from app.config import DEFAULT_SEVERITIES
from app.incidents.errors import InvalidInput, NotAllowed
from app.services import Services
from app.slack.inbound.errors import ErrorTranslator, Kind, answer, answered, kind_of, reason
from app.slack.inbound.guard import delivery_key
from app.slack.inbound.payloads import MalformedPayload
from app.slack.outbound import blocks
from app.slack.outbound.gateway import SlackCallError
from app.store.idempotency import Admission, RequestLedger
from emulator import SlackEmulator, payloads
from tests.support.story import People
from tests.unit.conftest import new_ack

TEAM = "T0FIREBRK"
DATABASE_ERROR = OperationalError("SELECT 1", {}, Exception("connection refused"))


def _button(emulator: SlackEmulator, user: str, *, in_home: bool = False) -> dict[str, Any]:
    """A button on a message (the card), or in the App Home, which has no response_url."""
    action = {"action_id": blocks.RESOLVE_ACTION, "value": "1"}
    if in_home:
        return payloads.block_actions(
            team_id=TEAM,
            user_id=user,
            actions=[action],
            trigger_id=emulator.new_trigger_id(),
            view={"id": "VHOME", "type": "home"},
        )
    return payloads.block_actions(
        team_id=TEAM,
        user_id=user,
        actions=[action],
        trigger_id=emulator.new_trigger_id(),
        response_url=emulator.new_response_url(),
        channel_id="C1",
        message={"ts": "1.1"},
    )


def _submission(user: str, *, with_blocks: bool = True) -> dict[str, Any]:
    view = blocks.declare_modal(DEFAULT_SEVERITIES, "SEV3")
    if not with_blocks:
        view["blocks"] = []
    return payloads.view_submission(team_id=TEAM, user_id=user, view=view, values={})


def _command(emulator: SlackEmulator, user: str, text: str) -> dict[str, Any]:
    return payloads.slash_command(
        team_id=TEAM,
        user_id=user,
        channel_id="C1",
        text=text,
        trigger_id=emulator.new_trigger_id(),
        response_url=emulator.new_response_url(),
    )


def _respond(body: dict[str, Any]) -> Respond:
    """What Bolt gives a listener: a Respond for the request's response_url, if any."""
    return Respond(response_url=body.get("response_url") or None)


def _replies(emulator: SlackEmulator) -> list[dict[str, Any]]:
    return [response.payload for response in emulator.responses]


def _dm(emulator: SlackEmulator, user: str) -> list[str]:
    try:
        channel = emulator.dm_with(user)
    except KeyError:  # the bot never wrote to them
        return []
    return [str(m.get("text")) for m in emulator.messages(channel)]


def _form_errors(ack: Ack) -> Any:
    assert ack.response is not None
    return json.loads(ack.response.body)


# --- what the person is told -------------------------------------------------------------


def test_a_users_mistake_is_told_in_its_own_words() -> None:
    assert reason(InvalidInput("Type `/incident role`."), {}) == "Type `/incident role`."


@pytest.mark.parametrize("error", [DATABASE_ERROR, SQLAlchemyError("pool exhausted")])
def test_a_database_failure_says_nothing_was_saved(error: SQLAlchemyError) -> None:
    assert reason(error, {}) == blocks.DATABASE_DOWN


def test_a_slack_failure_names_slacks_error_and_never_a_traceback() -> None:
    text = reason(SlackCallError("chat.postMessage", "channel_not_found", "detail"), {})
    assert text.startswith("Slack did not accept that just now (channel_not_found).")
    assert "Traceback" not in text and "detail" not in text


def test_a_form_slack_did_not_open_is_named_and_the_declare_command_offered() -> None:
    failed = SlackCallError("views.open", "expired_trigger_id")
    assert reason(failed, {"type": "block_actions"}) == (
        "Slack did not open the form (expired_trigger_id); try again in a moment."
    )
    declaring = {"command": "/incident", "text": ""}
    assert "Type `/incident declare <title>`" in reason(failed, declaring)


def test_an_unexpected_error_has_no_user_words() -> None:
    with pytest.raises(TypeError):
        reason(KeyError("user"), {})


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"command": "/incident"}, Kind.COMMAND),
        ({"type": "block_actions"}, Kind.ACTION),
        ({"type": "view_submission"}, Kind.VIEW),
        ({"type": "shortcut"}, Kind.SHORTCUT),
        ({"type": "message_action"}, Kind.SHORTCUT),
        ({"type": "event_callback"}, Kind.EVENT),
        ({"type": ["block_actions"]}, Kind.OTHER),
        ({}, Kind.OTHER),
    ],
)
def test_the_kind_of_request(body: dict[str, Any], kind: Kind) -> None:
    assert kind_of(body) is kind


# --- how, by kind of request -------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "shown"),
    [(InvalidInput("Not that."), "Not that."), (DATABASE_ERROR, blocks.DATABASE_DOWN)],
)
def test_a_form_not_yet_acked_shows_the_error_on_its_first_input(
    services: Services,
    emulator: SlackEmulator,
    people: People,
    error: Exception,
    shown: str,
) -> None:
    body, ack = _submission(people.alice), new_ack()
    answer(error, body, ack, _respond(body), services)
    assert _form_errors(ack) == {"response_action": "errors", "errors": {"title": shown}}
    assert _dm(emulator, people.alice) == []


def test_a_form_without_inputs_closes_and_the_person_is_told_in_their_dm(
    services: Services, emulator: SlackEmulator, people: People
) -> None:
    body, ack = _submission(people.alice, with_blocks=False), new_ack()
    answer(NotAllowed("Only members can."), body, ack, _respond(body), services)
    assert ack.response is not None and ack.response.body == ""
    assert _dm(emulator, people.alice) == ["Only members can."]


def test_a_form_that_failed_after_its_ack_is_explained_in_a_dm(
    services: Services, emulator: SlackEmulator, people: People
) -> None:
    body, ack = _submission(people.alice), new_ack()
    ack(response_action="update", view={"type": "modal"})
    before = ack.response
    answer(SlackCallError("chat.postMessage", "is_archived"), body, ack, _respond(body), services)
    assert ack.response is before
    [told] = _dm(emulator, people.alice)
    assert "(is_archived)" in told


def test_a_button_pressed_and_refused_before_its_ack_is_acked_then_told_ephemerally(
    services: Services, emulator: SlackEmulator, people: People
) -> None:
    body, ack = _button(emulator, people.bob), new_ack()
    answer(NotAllowed("Ask the commander."), body, ack, _respond(body), services)
    assert ack.response is not None and (ack.response.status, ack.response.body) == (200, "")
    assert _replies(emulator) == [
        {"text": "Ask the commander.", "response_type": "ephemeral", "replace_original": False}
    ]


def test_a_button_that_failed_after_its_ack_is_acked_once(
    services: Services, emulator: SlackEmulator, people: People
) -> None:
    body, ack = _button(emulator, people.bob), new_ack()
    first = ack()
    answer(DATABASE_ERROR, body, ack, _respond(body), services)
    assert ack.response is first
    assert [reply["text"] for reply in _replies(emulator)] == [blocks.DATABASE_DOWN]


def test_an_app_home_button_without_a_response_url_is_answered_in_a_dm(
    services: Services, emulator: SlackEmulator, people: People
) -> None:
    body, ack = _button(emulator, people.bob, in_home=True), new_ack()
    answer(SlackCallError("views.open", "expired_trigger_id"), body, ack, _respond(body), services)
    assert _replies(emulator) == []
    [told] = _dm(emulator, people.bob)
    assert told.startswith("Slack did not open the form (expired_trigger_id)")


def test_a_command_is_answered_ephemerally(
    services: Services, emulator: SlackEmulator, people: People
) -> None:
    body, ack = _command(emulator, people.carol, "severity"), new_ack()
    answer(InvalidInput("Type `/incident severity <level>`."), body, ack, _respond(body), services)
    assert ack.response is not None
    [reply] = _replies(emulator)
    assert (reply["text"], reply["response_type"]) == (
        "Type `/incident severity <level>`.",
        "ephemeral",
    )


def test_a_global_shortcut_is_answered_in_a_dm(
    services: Services, emulator: SlackEmulator, people: People
) -> None:
    body = payloads.global_shortcut(
        team_id=TEAM,
        user_id=people.dave,
        callback_id=blocks.DECLARE_SHORTCUT,
        trigger_id=emulator.new_trigger_id(),
    )
    ack = new_ack()
    answer(SlackCallError("views.open", "invalid_trigger"), body, ack, _respond(body), services)
    assert ack.response is not None
    [told] = _dm(emulator, people.dave)
    assert "(invalid_trigger)" in told


def test_an_event_is_logged_only(
    services: Services, emulator: SlackEmulator, people: People
) -> None:
    body = payloads.event_callback({"type": "pin_added", "user": people.alice}, team_id=TEAM)
    ack = new_ack()
    answer(DATABASE_ERROR, body, ack, _respond(body), services)
    assert ack.response is None
    assert _replies(emulator) == [] and _dm(emulator, people.alice) == []


# --- the translator: claims, counts, and what Bolt still answers --------------------------


@pytest.fixture
def ledger(services: Services) -> RequestLedger:
    return RequestLedger(services.db)


@pytest.fixture
def translator(ledger: RequestLedger, services: Services) -> ErrorTranslator:
    return ErrorTranslator(ledger, services.metrics)


def _context(body: dict[str, Any], services: Services, translator: ErrorTranslator) -> BoltContext:
    context = BoltContext({"ack": new_ack(), "services": services, "errors": translator})
    context["respond"] = _respond(body)
    return context


def _claimed(ledger: RequestLedger, body: dict[str, Any]) -> dict[str, Any]:
    delivery = delivery_key(body)
    assert delivery is not None and ledger.admit(None, delivery) is Admission.NEW
    return body


def _still_claimed(ledger: RequestLedger, body: dict[str, Any]) -> bool:
    delivery = delivery_key(body)
    assert delivery is not None
    return ledger.admit(None, delivery) is Admission.DUPLICATE


def _listener_errors(services: Services) -> float:
    return float(services.metrics.listener_errors._value.get())


def test_a_request_refused_before_its_ack_gives_back_its_delivery_claim(
    services: Services,
    emulator: SlackEmulator,
    people: People,
    ledger: RequestLedger,
    translator: ErrorTranslator,
) -> None:
    # So the same form, submitted again once the database is back, is not a "duplicate".
    body = _claimed(ledger, _submission(people.alice))
    context = _context(body, services, translator)
    assert translator.listener_failed(DATABASE_ERROR, body, context)
    assert _form_errors(context.ack)["errors"] == {"title": blocks.DATABASE_DOWN}
    assert not _still_claimed(ledger, body)
    assert _listener_errors(services) == 0


def test_a_request_that_failed_after_its_ack_keeps_its_claim(
    services: Services,
    emulator: SlackEmulator,
    people: People,
    ledger: RequestLedger,
    translator: ErrorTranslator,
) -> None:
    body = _claimed(ledger, _button(emulator, people.bob))
    context = _context(body, services, translator)
    context.ack()
    assert translator.listener_failed(NotAllowed("No."), body, context)
    assert _still_claimed(ledger, body)


def test_a_bug_before_the_ack_is_left_to_bolt_which_answers_400(
    services: Services,
    emulator: SlackEmulator,
    people: People,
    ledger: RequestLedger,
    translator: ErrorTranslator,
) -> None:
    body = _claimed(ledger, _button(emulator, people.bob))
    context = _context(body, services, translator)
    bug = KeyError("user")
    assert not translator.listener_failed(bug, body, context)
    assert context.ack.response is None and _replies(emulator) == []

    answered_by_bolt = translator.bolt_error(bug, body, BoltResponse(status=500))
    assert answered_by_bolt is not None and answered_by_bolt.status == 400
    assert _listener_errors(services) == 1
    assert not _still_claimed(ledger, body)


def test_a_bug_after_the_ack_is_logged_and_counted_never_shown(
    services: Services,
    emulator: SlackEmulator,
    people: People,
    ledger: RequestLedger,
    translator: ErrorTranslator,
) -> None:
    body = _button(emulator, people.bob)
    context = _context(body, services, translator)
    context.ack()
    assert translator.listener_failed(ZeroDivisionError(), body, context)
    assert _listener_errors(services) == 1
    assert _replies(emulator) == [] and _dm(emulator, people.bob) == []
    # Bolt offers no response to fill for an acknowledged request.
    assert translator.bolt_error(ZeroDivisionError(), body, None) is None


def test_a_malformed_payload_is_not_counted_as_a_bug(
    services: Services, emulator: SlackEmulator, people: People, translator: ErrorTranslator
) -> None:
    body = _button(emulator, people.bob)
    context = _context(body, services, translator)
    assert not translator.listener_failed(MalformedPayload("no user.id"), body, context)
    response = translator.bolt_error(MalformedPayload("no user.id"), body, BoltResponse(status=500))
    assert response is not None and response.status == 400
    assert _listener_errors(services) == 0


# --- answered(listener): how Bolt runs a listener ---------------------------------------


def test_a_listener_is_given_only_what_it_names(
    services: Services, emulator: SlackEmulator, people: People, translator: ErrorTranslator
) -> None:
    seen: dict[str, Any] = {}

    def listener(body: dict[str, Any], services: Services) -> None:
        seen.update(body=body, services=services)

    body = _button(emulator, people.bob)
    run = answered(listener)
    run(ack=new_ack(), body=body, context=_context(body, services, translator))
    assert seen == {"body": body, "services": services}
    assert run.__name__ == "listener"


def test_a_listener_naming_what_it_cannot_be_given_is_refused_at_registration() -> None:
    def listener(ack: Ack, say: Any) -> None:
        """Bolt could give `say`; `answered` cannot."""

    with pytest.raises(TypeError, match="say"):
        answered(listener)


def test_what_a_listener_raises_before_its_ack_is_acked_and_answered(
    services: Services, emulator: SlackEmulator, people: People, translator: ErrorTranslator
) -> None:
    def records_then_acks(ack: Ack) -> None:
        raise NotAllowed("Only members of the channel can change INC-1.")

    body = _button(emulator, people.bob)
    context = _context(body, services, translator)
    answered(records_then_acks)(ack=context.ack, body=body, context=context)
    assert context.ack.response is not None and context.ack.response.status == 200
    assert [r["text"] for r in _replies(emulator)] == [
        "Only members of the channel can change INC-1."
    ]


def test_a_bug_in_a_listener_before_its_ack_reaches_bolts_error_handler(
    services: Services, emulator: SlackEmulator, people: People, translator: ErrorTranslator
) -> None:
    def broken(body: dict[str, Any]) -> None:
        raise LookupError("a bug")

    body = _button(emulator, people.bob)
    context = _context(body, services, translator)
    with pytest.raises(LookupError):
        answered(broken)(ack=context.ack, body=body, context=context)
