"""The Slack emulator, driven by the real slack_sdk WebClient over HTTP."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from emulator import ALL_BOT_SCOPES, SlackEmulator

JsonDict = dict[str, Any]


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emu:
        yield emu


@pytest.fixture
def client(emulator: SlackEmulator) -> WebClient:
    return WebClient(token=emulator.bot_token, base_url=emulator.api_url)


@pytest.fixture
def clock(emulator: SlackEmulator) -> list[float]:
    """emulator.clock reads now[0]; tests move time by changing it."""
    now = [1_700_000_000.0]
    emulator.clock = lambda: now[0]
    return now


@pytest.fixture
def incident_channel(client: WebClient) -> str:
    channel_id: str = client.conversations_create(name="inc-1-db-down")["channel"]["id"]
    return channel_id


def slack_error(call: Callable[[], object]) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value


def error_code(call: Callable[[], object]) -> str:
    return str(slack_error(call).response["error"])


def section(text: str) -> JsonDict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def modal(blocks: list[JsonDict] | None = None) -> JsonDict:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Declare"},
        "blocks": blocks or [],
    }


# ---------------------------------------------------------------- auth and transport


def test_auth_test_names_the_bot(emulator: SlackEmulator, client: WebClient) -> None:
    answer = client.auth_test()
    assert (answer["user_id"], answer["bot_id"], answer["team_id"]) == (
        emulator.bot_user_id,
        emulator.bot_id,
        emulator.team_id,
    )
    assert emulator.bot_token.startswith("xoxb-")


def test_missing_and_wrong_tokens_and_unknown_methods(emulator: SlackEmulator) -> None:
    assert error_code(WebClient(base_url=emulator.api_url).auth_test) == "not_authed"
    stranger = WebClient(token="xoxb-0-not-ours", base_url=emulator.api_url)
    assert error_code(stranger.auth_test) == "invalid_auth"
    ours = WebClient(token=emulator.bot_token, base_url=emulator.api_url)
    assert error_code(lambda: ours.api_call("incidents.declare")) == "unknown_method"


def test_get_query_form_and_json_bodies_are_all_accepted(
    client: WebClient, incident_channel: str
) -> None:
    by_get = client.api_call(
        "conversations.info", http_verb="GET", params={"channel": incident_channel}
    )
    by_form = client.api_call("conversations.info", data={"channel": incident_channel})
    by_json = client.api_call("conversations.info", json={"channel": incident_channel})
    assert {by_get["channel"]["name"], by_form["channel"]["name"], by_json["channel"]["name"]} == {
        "inc-1-db-down"
    }


def test_json_body_without_charset_gets_slacks_warning(
    emulator: SlackEmulator, incident_channel: str
) -> None:
    request = urllib.request.Request(  # noqa: S310 - the emulator listens on 127.0.0.1
        emulator.api_url + "chat.postMessage",
        data=json.dumps({"channel": incident_channel, "text": "hi"}).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {emulator.bot_token}",
        },
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        answer = json.loads(response.read())
    assert answer["ok"] is True
    assert answer["warning"] == "missing_charset"
    assert answer["response_metadata"]["warnings"] == ["missing_charset"]


def test_malformed_argument_names_are_rejected(client: WebClient) -> None:
    assert (
        error_code(lambda: client.api_call("auth.test", data={"bad-name": "x"}))
        == "invalid_arg_name"
    )
    assert (
        error_code(lambda: client.api_call("auth.test", data={"users[0]": "x"}))
        == "invalid_array_arg"
    )


# ---------------------------------------------------------------- conversations


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("x" * 81, "invalid_name_maxlength"),
        ("Incident 1", "invalid_name_specials"),
        ("inc.1", "invalid_name_specials"),
        ("---", "invalid_name_punctuation"),
    ],
)
def test_channel_names_follow_slack_rules(client: WebClient, name: str, error: str) -> None:
    assert error_code(lambda: client.conversations_create(name=name)) == error


def test_longest_valid_name_is_accepted_and_taken_names_are_refused(
    client: WebClient, emulator: SlackEmulator
) -> None:
    name = "inc-" + "a" * 76
    created = client.conversations_create(name=name, is_private=True)["channel"]
    assert (created["name"], created["is_private"], created["is_member"]) == (name, True, True)
    assert emulator.channel_by_name(name).creator == emulator.bot_user_id
    assert error_code(lambda: client.conversations_create(name=name)) == "name_taken"
    assert error_code(lambda: client.conversations_create(name="general")) == "name_taken"


def test_invite_takes_a_comma_separated_list(
    client: WebClient, emulator: SlackEmulator, incident_channel: str
) -> None:
    alice, bob = emulator.user_by_name("alice").id, emulator.user_by_name("bob").id
    client.conversations_invite(channel=incident_channel, users=f"{alice},{bob}")
    members = client.conversations_members(channel=incident_channel)["members"]
    assert members == [emulator.bot_user_id, alice, bob]


def test_invite_failures_invite_nobody_unless_forced(
    client: WebClient, emulator: SlackEmulator, incident_channel: str
) -> None:
    alice, erin = emulator.user_by_name("alice").id, emulator.user_by_name("erin").id
    failed = slack_error(
        lambda: client.conversations_invite(
            channel=incident_channel, users=[alice, "U0NOBODY", emulator.bot_user_id]
        )
    )
    assert failed.response["error"] == "user_not_found"
    assert [item["error"] for item in failed.response["errors"]] == [
        "user_not_found",
        "cant_invite_self",
    ]
    assert alice not in emulator.channel(incident_channel).members
    forced = client.conversations_invite(channel=incident_channel, users=[alice, erin], force=True)
    assert forced["errors"] == [{"user": erin, "ok": False, "error": "cant_invite"}]
    assert (
        error_code(lambda: client.conversations_invite(channel=incident_channel, users=alice))
        == "already_in_channel"
    )
    assert (
        error_code(lambda: client.conversations_invite(channel="C0MISSING", users=alice))
        == "channel_not_found"
    )


def test_topic_purpose_archive_and_join(
    client: WebClient, emulator: SlackEmulator, incident_channel: str
) -> None:
    client.conversations_setTopic(channel=incident_channel, topic="SEV1 | investigating")
    client.conversations_setPurpose(channel=incident_channel, purpose="INC-1: db down")
    assert (
        error_code(lambda: client.conversations_setTopic(channel=incident_channel, topic="x" * 251))
        == "too_long"
    )
    joined = client.conversations_join(channel=incident_channel)
    assert joined["warning"] == "already_in_channel"
    client.conversations_archive(channel=incident_channel)
    channel = emulator.channel(incident_channel)
    assert (channel.topic.value, channel.purpose.value, channel.is_archived) == (
        "SEV1 | investigating",
        "INC-1: db down",
        True,
    )
    assert (
        error_code(lambda: client.chat_postMessage(channel=incident_channel, text="late"))
        == "is_archived"
    )
    assert (
        error_code(lambda: client.conversations_archive(channel=incident_channel))
        == "already_archived"
    )
    general = emulator.channel_by_name("general").id
    assert (
        error_code(lambda: client.conversations_archive(channel=general)) == "cant_archive_general"
    )


def test_unarchive_follows_the_reference(
    client: WebClient, emulator: SlackEmulator, incident_channel: str
) -> None:
    assert (
        error_code(lambda: client.conversations_unarchive(channel=incident_channel))
        == "not_archived"
    )
    client.conversations_archive(channel=incident_channel)
    # "Bot tokens (xoxb-...) cannot currently be used to unarchive conversations."
    assert (
        error_code(lambda: client.conversations_unarchive(channel=incident_channel))
        == "not_allowed_token_type"
    )
    assert emulator.channel(incident_channel).is_archived
    emulator.allow_bot_unarchive()
    assert client.conversations_unarchive(channel=incident_channel)["ok"] is True
    assert client.chat_postMessage(channel=incident_channel, text="back")["ok"] is True
    assert (
        error_code(lambda: client.conversations_unarchive(channel="C0MISSING"))
        == "channel_not_found"
    )


def test_archive_needs_the_scope_of_the_channel_type() -> None:
    with SlackEmulator(scopes={"channels:manage"}) as emu:
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        public = client.conversations_create(name="q")["channel"]["id"]
        assert client.conversations_archive(channel=public)["ok"] is True
        bob = emu.user_by_name("bob").id
        private = emu.add_channel("secret", is_private=True, members=[bob, emu.bot_user_id])
        failed = slack_error(lambda: client.conversations_archive(channel=private))
        assert (failed.response["error"], failed.response["needed"]) == (
            "missing_scope",
            "groups:write",
        )
        failed = slack_error(lambda: client.conversations_unarchive(channel=private))
        assert failed.response["error"] == "missing_scope"


def test_list_hides_private_channels_the_bot_is_not_in(
    client: WebClient, emulator: SlackEmulator
) -> None:
    emulator.add_channel("secret", is_private=True, members=[emulator.user_by_name("bob").id])
    emulator.add_channel("war-room", is_private=True, members=[emulator.bot_user_id])
    listed = client.conversations_list(types="public_channel,private_channel")["channels"]
    assert {channel["name"] for channel in listed} == {"general", "random", "war-room"}
    first = client.conversations_list(limit=1)
    rest = client.conversations_list(limit=1, cursor=first["response_metadata"]["next_cursor"])
    assert [first["channels"][0]["name"], rest["channels"][0]["name"]] == ["general", "random"]
    assert rest["response_metadata"]["next_cursor"] == ""


# ---------------------------------------------------------------- scopes and membership


def test_posting_to_a_public_channel_needs_membership_or_chat_write_public(
    emulator: SlackEmulator,
) -> None:
    channel = emulator.add_channel("announcements", members=[emulator.user_by_name("bob").id])
    hidden = emulator.add_channel("hr", is_private=True)
    with SlackEmulator(scopes=ALL_BOT_SCOPES - {"chat:write.public"}) as narrow:
        narrow_channel = narrow.add_channel("announcements")
        narrow_client = WebClient(token=narrow.bot_token, base_url=narrow.api_url)
        assert (
            error_code(lambda: narrow_client.chat_postMessage(channel=narrow_channel, text="hi"))
            == "not_in_channel"
        )
    client = WebClient(token=emulator.bot_token, base_url=emulator.api_url)
    assert client.chat_postMessage(channel=channel, text="hi")["channel"] == channel
    assert (
        error_code(lambda: client.chat_postMessage(channel=hidden, text="hi"))
        == "channel_not_found"
    )


def test_missing_scope_reports_needed_and_provided() -> None:
    with SlackEmulator(scopes={"chat:write", "channels:manage"}) as emu:
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        failed = slack_error(client.users_list)
        assert (
            failed.response["error"],
            failed.response["needed"],
            failed.response["provided"],
        ) == ("missing_scope", "users:read", "channels:manage,chat:write")
        private = slack_error(lambda: client.conversations_create(name="x", is_private=True))
        assert (private.response["error"], private.response["needed"]) == (
            "missing_scope",
            "groups:write",
        )
        assert client.conversations_create(name="x")["ok"] is True


# ---------------------------------------------------------------- messages


def test_bot_messages_record_bot_identity_and_increasing_ts(
    client: WebClient, emulator: SlackEmulator, incident_channel: str
) -> None:
    first = client.chat_postMessage(channel=incident_channel, text="one")
    second = client.chat_postMessage(channel="#inc-1-db-down", text="two")
    assert float(second["ts"]) > float(first["ts"])
    stored = emulator.messages(incident_channel)
    assert [(message["text"], message["user"], message["bot_id"]) for message in stored] == [
        ("one", emulator.bot_user_id, emulator.bot_id),
        ("two", emulator.bot_user_id, emulator.bot_id),
    ]


def test_thread_replies_and_broadcasts(
    client: WebClient, emulator: SlackEmulator, incident_channel: str
) -> None:
    parent = client.chat_postMessage(channel=incident_channel, text="INC-1 declared")["ts"]
    client.chat_postMessage(channel=incident_channel, text="update 1", thread_ts=parent)
    broadcast = client.chat_postMessage(
        channel=incident_channel, text="resolved", thread_ts=parent, reply_broadcast=True
    )
    assert [reply["text"] for reply in emulator.replies(incident_channel, parent)] == [
        "update 1",
        "resolved",
    ]
    top_level = emulator.messages(incident_channel)
    assert [message["text"] for message in top_level] == ["INC-1 declared", "resolved"]
    assert top_level[0]["reply_count"] == 2
    assert top_level[1]["subtype"] == "thread_broadcast"
    link = client.chat_getPermalink(channel=incident_channel, message_ts=broadcast["ts"])
    assert f"thread_ts={parent}" in link["permalink"]


@pytest.mark.parametrize(
    ("blocks", "error"),
    [
        ([section(f"item {index}") for index in range(51)], "invalid_blocks"),
        ([section("x" * 3001)], "invalid_blocks"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "invalid_blocks"),
        ([{"text": {"type": "mrkdwn", "text": "no type"}}], "invalid_blocks"),
        ([{"type": "carousel"}], "invalid_blocks"),
    ],
)
def test_block_kit_limits(
    client: WebClient, incident_channel: str, blocks: list[JsonDict], error: str
) -> None:
    failed = slack_error(
        lambda: client.chat_postMessage(channel=incident_channel, text="fallback", blocks=blocks)
    )
    assert failed.response["error"] == error
    assert failed.response["response_metadata"]["messages"][0].startswith("[ERROR]")


def test_blocks_at_the_limits_are_accepted(client: WebClient, incident_channel: str) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        *[section("x" * 3000) for _ in range(49)],
    ]
    assert client.chat_postMessage(channel=incident_channel, text="t", blocks=blocks)["ok"]


def test_text_rules(client: WebClient, incident_channel: str) -> None:
    no_content = {"channel": incident_channel}
    assert error_code(lambda: client.api_call("chat.postMessage", json=no_content)) == "no_text"
    assert (
        error_code(lambda: client.chat_postMessage(channel=incident_channel, text="x" * 40_001))
        == "msg_too_long"
    )
    assert (
        error_code(
            lambda: client.api_call(
                "chat.postMessage", data={"channel": incident_channel, "blocks": "[{not json"}
            )
        )
        == "invalid_blocks_format"
    )
    form_blocks = json.dumps([section("from a form")])
    assert (
        client.api_call(
            "chat.postMessage", data={"channel": incident_channel, "blocks": form_blocks}
        )["message"]["blocks"][0]["text"]["text"]
        == "from a form"
    )


def test_update_only_the_bots_own_messages(
    client: WebClient, emulator: SlackEmulator, incident_channel: str
) -> None:
    card = client.chat_postMessage(channel=incident_channel, text="SEV2", blocks=[section("SEV2")])[
        "ts"
    ]
    client.chat_update(channel=incident_channel, ts=card, text="SEV1")
    updated = emulator.messages(incident_channel)[0]
    assert (updated["text"], updated["blocks"], "edited" in updated) == (
        "SEV1",
        [section("SEV2")],
        True,
    )
    human = emulator.add_message(incident_channel, emulator.user_by_name("alice").id, "hello")
    assert (
        error_code(lambda: client.chat_update(channel=incident_channel, ts=human, text="edited"))
        == "cant_update_message"
    )
    assert (
        error_code(lambda: client.chat_update(channel=incident_channel, ts="1.000001", text="x"))
        == "message_not_found"
    )


def test_ephemeral_messages_need_the_user_in_the_channel(
    client: WebClient, emulator: SlackEmulator, incident_channel: str
) -> None:
    alice = emulator.user_by_name("alice").id
    assert (
        error_code(
            lambda: client.chat_postEphemeral(channel=incident_channel, user=alice, text="psst")
        )
        == "user_not_in_channel"
    )
    client.conversations_invite(channel=incident_channel, users=alice)
    client.chat_postEphemeral(channel=incident_channel, user=alice, text="psst")
    assert [
        (message["text"], message["recipient"])
        for message in emulator.ephemeral_messages(incident_channel)
    ] == [("psst", alice)]


def test_pins_reactions_and_bookmarks(
    client: WebClient, emulator: SlackEmulator, incident_channel: str
) -> None:
    card = client.chat_postMessage(channel=incident_channel, text="card")["ts"]
    client.pins_add(channel=incident_channel, timestamp=card)
    assert (
        error_code(lambda: client.pins_add(channel=incident_channel, timestamp=card))
        == "already_pinned"
    )
    assert [
        item["message"]["ts"] for item in client.pins_list(channel=incident_channel)["items"]
    ] == [card]
    assert [message["ts"] for message in emulator.pins(incident_channel)] == [card]
    client.pins_remove(channel=incident_channel, timestamp=card)
    assert (
        error_code(lambda: client.pins_remove(channel=incident_channel, timestamp=card)) == "no_pin"
    )
    client.reactions_add(channel=incident_channel, timestamp=card, name="eyes")
    assert (
        error_code(
            lambda: client.reactions_add(channel=incident_channel, timestamp=card, name="eyes")
        )
        == "already_reacted"
    )
    assert emulator.messages(incident_channel)[0]["reactions"][0]["count"] == 1
    assert (
        error_code(
            lambda: client.bookmarks_add(
                channel_id=incident_channel, title="Runbook", type="link", link="ftp://runbooks"
            )
        )
        == "invalid_link"
    )
    client.bookmarks_add(
        channel_id=incident_channel,
        title="Runbook",
        type="link",
        link="https://runbooks.example/db",
    )
    assert [mark["title"] for mark in emulator.bookmarks(incident_channel)] == ["Runbook"]


# ---------------------------------------------------------------- views


def test_trigger_ids_expire_after_three_seconds_and_work_once(
    client: WebClient, emulator: SlackEmulator, clock: list[float]
) -> None:
    stale = emulator.new_trigger_id()
    clock[0] += 3.5
    assert (
        error_code(lambda: client.views_open(trigger_id=stale, view=modal()))
        == "expired_trigger_id"
    )
    fresh = emulator.new_trigger_id()
    clock[0] += 2.9
    opened = client.views_open(trigger_id=fresh, view=modal())["view"]
    assert emulator.views[opened["id"]]["title"]["text"] == "Declare"
    assert (
        error_code(lambda: client.views_open(trigger_id=fresh, view=modal()))
        == "exchanged_trigger_id"
    )
    assert (
        error_code(lambda: client.views_open(trigger_id="12345.98765.abcd2358fdea", view=modal()))
        == "invalid_trigger_id"
    )


def test_modals_are_validated_like_slack(client: WebClient, emulator: SlackEmulator) -> None:
    too_many = modal([section(str(index)) for index in range(101)])
    failed = slack_error(
        lambda: client.views_open(trigger_id=emulator.new_trigger_id(), view=too_many)
    )
    assert failed.response["error"] == "invalid_arguments"
    assert "no more than 100 items" in failed.response["response_metadata"]["messages"][0]
    long_title = {**modal(), "title": {"type": "plain_text", "text": "t" * 25}}
    assert (
        error_code(lambda: client.views_open(trigger_id=emulator.new_trigger_id(), view=long_title))
        == "invalid_arguments"
    )


def test_stale_hash_is_a_conflict(client: WebClient, emulator: SlackEmulator) -> None:
    opened = client.views_open(trigger_id=emulator.new_trigger_id(), view=modal())["view"]
    updated = client.views_update(
        view_id=opened["id"], hash=opened["hash"], view=modal([section("step 2")])
    )["view"]
    assert updated["hash"] != opened["hash"]
    assert (
        error_code(
            lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal())
        )
        == "hash_conflict"
    )
    assert error_code(lambda: client.views_update(view_id="V0MISSING", view=modal())) == "not_found"


def test_push_stacks_at_most_three_views(client: WebClient, emulator: SlackEmulator) -> None:
    alice = emulator.user_by_name("alice").id
    root = client.views_open(trigger_id=emulator.new_trigger_id(alice), view=modal())["view"]
    pushed = client.views_push(trigger_id=emulator.new_trigger_id(alice), view=modal())["view"]
    assert (pushed["root_view_id"], pushed["previous_view_id"]) == (root["id"], root["id"])
    client.views_push(trigger_id=emulator.new_trigger_id(alice), view=modal())
    assert (
        error_code(
            lambda: client.views_push(trigger_id=emulator.new_trigger_id(alice), view=modal())
        )
        == "push_limit_reached"
    )


def test_home_tab_publish(client: WebClient, emulator: SlackEmulator) -> None:
    alice = emulator.user_by_name("alice").id
    home = {"type": "home", "blocks": [section("Open incidents: 1")]}
    client.views_publish(user_id=alice, view=home)
    view = emulator.home_view(alice)
    assert view is not None
    assert view["blocks"] == [section("Open incidents: 1")]
    assert error_code(lambda: client.views_publish(user_id=alice, view=modal())) == (
        "invalid_arguments"
    )


# ---------------------------------------------------------------- users and files


def test_users_include_deactivated_people_and_other_bots(
    client: WebClient, emulator: SlackEmulator
) -> None:
    members = {member["name"]: member for member in client.users_list()["members"]}
    assert members["erin"]["deleted"] is True
    assert members["pagerbot"]["is_bot"] is True
    assert members["firebreak"]["id"] == emulator.bot_user_id
    added = emulator.add_user("frank", real_name="Frank Fox")
    assert client.users_info(user=added)["user"]["real_name"] == "Frank Fox"
    assert error_code(lambda: client.users_info(user="U0NOBODY")) == "user_not_found"


def test_file_upload_flow_keeps_the_bytes(
    client: WebClient, emulator: SlackEmulator, incident_channel: str
) -> None:
    content = b"# INC-1 postmortem\n\nThe database ran out of disk.\n"
    uploaded = client.files_upload_v2(
        channel=incident_channel,
        content=content,
        filename="inc-1.md",
        title="INC-1 postmortem",
        initial_comment="Postmortem draft",
    )
    stored = emulator.files[uploaded["file"]["id"]]
    assert (stored.content, stored.title, stored.channels) == (
        content,
        "INC-1 postmortem",
        [incident_channel],
    )
    message = emulator.messages(incident_channel)[-1]
    assert (message["text"], message["files"][0]["id"]) == ("Postmortem draft", stored.id)
    assert [call.method for call in emulator.calls] == [
        "conversations.create",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


def test_completing_an_upload_that_never_arrived_fails(
    client: WebClient, emulator: SlackEmulator, incident_channel: str
) -> None:
    ticket = client.files_getUploadURLExternal(filename="a.txt", length=3)
    assert ticket["upload_url"].startswith(emulator.base_url)
    assert (
        error_code(
            lambda: client.files_completeUploadExternal(
                files=[{"id": ticket["file_id"]}], channel_id=incident_channel
            )
        )
        == "file_not_found"
    )


# ---------------------------------------------------------------- failures and limits


def test_injected_429_raises_without_retry_handler_and_is_retried_with_one(
    emulator: SlackEmulator, client: WebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.fail_next("auth.test", retry_after=7)
    failed = slack_error(client.auth_test)
    assert (failed.response.status_code, failed.response["error"]) == (429, "ratelimited")
    assert failed.response.headers["Retry-After"] == "7"
    slept: list[float] = []
    monkeypatch.setattr(
        builtin_handlers, "time", type("FakeTime", (), {"sleep": staticmethod(slept.append)})
    )
    patient = WebClient(
        token=emulator.bot_token,
        base_url=emulator.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    emulator.fail_next("auth.test", retry_after=2)
    assert patient.auth_test()["ok"] is True
    assert len(slept) == 1
    assert 2 <= slept[0] < 3
    assert [(call.status, call.error) for call in emulator.calls_to("auth.test")] == [
        (429, "ratelimited"),
        (429, "ratelimited"),
        (200, None),
    ]


def test_injected_errors_and_outages(emulator: SlackEmulator, client: WebClient) -> None:
    emulator.fail_next("chat.postMessage", "http_503")
    emulator.fail_next("auth.test", "account_inactive", times=2)
    assert (
        slack_error(
            lambda: client.chat_postMessage(channel="general", text="x")
        ).response.status_code
        == 503
    )
    assert error_code(client.auth_test) == "account_inactive"
    assert error_code(client.auth_test) == "account_inactive"
    assert client.auth_test()["ok"] is True
    emulator.down = True
    assert slack_error(client.auth_test).response.status_code == 503
    emulator.down = False
    assert client.auth_test()["ok"] is True


def test_rate_limit_window_slides_and_retry_after_is_accurate(
    emulator: SlackEmulator, client: WebClient, clock: list[float]
) -> None:
    emulator.rate_limits["users.list"] = 2
    client.users_list()
    clock[0] += 10
    client.users_list()
    clock[0] += 10
    failed = slack_error(client.users_list)
    assert (failed.response.status_code, failed.response.headers["Retry-After"]) == (429, "40")
    clock[0] += 41
    assert client.users_list()["ok"] is True


def test_slack_tiers_and_per_channel_posting_limit(
    emulator: SlackEmulator, client: WebClient, incident_channel: str
) -> None:
    emulator.enforce_slack_tiers()
    assert (
        emulator.rate_limits["conversations.create"],
        emulator.rate_limits["chat.update"],
        emulator.rate_limits["views.open"],
    ) == (20, 50, 100)
    emulator.rate_limits["chat.postMessage"] = 1
    client.chat_postMessage(channel=incident_channel, text="one")
    assert (
        error_code(lambda: client.chat_postMessage(channel=incident_channel, text="two"))
        == "ratelimited"
    )
    assert client.chat_postMessage(channel="general", text="elsewhere")["ok"] is True


def test_latency_delays_each_answer(emulator: SlackEmulator, client: WebClient) -> None:
    emulator.latency = 0.05
    started = time.perf_counter()
    client.auth_test()
    assert time.perf_counter() - started >= 0.05


# ---------------------------------------------------------------- recording and response_url


def test_calls_record_parsed_arguments(
    emulator: SlackEmulator, client: WebClient, incident_channel: str
) -> None:
    emulator.reset_calls()
    client.api_call(
        "chat.postMessage",
        data={"channel": incident_channel, "text": "t", "blocks": json.dumps([section("b")])},
    )
    slack_error(lambda: client.chat_postMessage(channel="C0MISSING", text="t"))
    posted, failed = emulator.calls_to("chat.postMessage")
    assert posted.args["blocks"] == [section("b")]
    assert "token" not in posted.args
    assert (posted.ok, failed.ok, failed.error, failed.status) == (
        True,
        False,
        "channel_not_found",
        200,
    )
    emulator.reset_calls()
    assert emulator.calls == []


def test_response_url_posts_in_channel_and_wears_out(
    emulator: SlackEmulator, incident_channel: str
) -> None:
    url = emulator.new_response_url(
        channel_id=incident_channel, user_id=emulator.user_by_name("alice").id
    )

    def respond(payload: JsonDict) -> int:
        request = urllib.request.Request(  # noqa: S310 - the emulator listens on 127.0.0.1
            url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code

    assert respond({"response_type": "in_channel", "text": "Declared INC-1"}) == 200
    assert [message["text"] for message in emulator.messages(incident_channel)] == [
        "Declared INC-1"
    ]
    assert [respond({"text": "only you"}) for _ in range(5)] == [200, 200, 200, 200, 404]
    assert emulator.responses[-1].status == 404


# ---------------------------------------------------------------- history, replies, open


def test_history_is_newest_first_and_bounds_are_inclusive_only_when_asked(
    client: WebClient, emulator: SlackEmulator, incident_channel: str
) -> None:
    alice = emulator.user_by_name("alice").id
    first, second, third = (
        emulator.add_message(incident_channel, alice, text) for text in ("one", "two", "three")
    )

    everything = client.conversations_history(channel=incident_channel)["messages"]
    exact = client.conversations_history(
        channel=incident_channel, oldest=second, latest=second, inclusive=True, limit=1
    )["messages"]
    exclusive = client.conversations_history(channel=incident_channel, oldest=first, latest=third)[
        "messages"
    ]

    assert [m["text"] for m in everything] == ["three", "two", "one"]
    assert [m["ts"] for m in exact] == [second]
    assert [m["ts"] for m in exclusive] == [second]


def test_history_needs_the_bot_in_the_channel(client: WebClient, emulator: SlackEmulator) -> None:
    alice = emulator.user_by_name("alice").id
    channel = emulator.add_channel("outside", members=[alice])

    assert error_code(lambda: client.conversations_history(channel=channel)) == "not_in_channel"


def test_replies_return_the_whole_thread_from_any_message_in_it(
    client: WebClient, emulator: SlackEmulator, incident_channel: str
) -> None:
    alice = emulator.user_by_name("alice").id
    root = emulator.add_message(incident_channel, alice, "root")
    reply = emulator.add_message(incident_channel, alice, "reply", thread_ts=root)

    thread = client.conversations_replies(channel=incident_channel, ts=reply)["messages"]

    assert [m["text"] for m in thread] == ["root", "reply"]
    assert (
        error_code(lambda: client.conversations_replies(channel=incident_channel, ts="1.000001"))
        == "thread_not_found"
    )


def test_open_gives_the_bots_direct_message_with_a_person(
    client: WebClient, emulator: SlackEmulator
) -> None:
    alice = emulator.user_by_name("alice").id

    opened = client.conversations_open(users=alice)["channel"]["id"]

    assert opened == emulator.dm_with(alice)
    assert client.conversations_open(users=alice)["channel"]["id"] == opened
    assert error_code(lambda: client.conversations_open(users="U0NOBODY")) == "user_not_found"
