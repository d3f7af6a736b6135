"""The resend worker's message shapes (rh_common.contract.queue_messages): what each queue's parser takes."""

import json

import pytest

from rh_common.contract import queue_messages
from rh_common.contract.queue_messages import IntakeMessage, MalformedMessage

REQUEST = {"returnInventoryIdList": [1]}


@pytest.mark.parametrize(
    "key",
    ["order-€1", " order-1", "order-1 ", "order\n1", "order\t1", "", "k" * 256, "nul\x00", 7, None],
    ids=["non-ascii", "leading-space", "trailing-space", "newline", "tab", "empty", "256", "nul", "number", "null"],
)
def test_an_intake_message_with_a_key_outside_the_grammar_is_malformed(key):
    with pytest.raises(MalformedMessage, match="idempotencyKey must be 1-255 printable ASCII"):
        queue_messages.intake(json.dumps({"idempotencyKey": key, "request": REQUEST}))


@pytest.mark.parametrize("key", ["order 1001", "!", "~" * 255])
def test_an_intake_message_with_a_key_of_printable_ascii_is_taken(key):
    assert queue_messages.intake(json.dumps({"idempotencyKey": key, "request": REQUEST})) == IntakeMessage(key, REQUEST)


def test_a_batch_key_leaves_room_for_its_groups_suffix():
    message = {"idempotencyKey": "b" * 201, "batch": True, "request": REQUEST}
    with pytest.raises(MalformedMessage, match="1-200"):
        queue_messages.intake(json.dumps(message))
    message["idempotencyKey"] = "b" * 200
    assert queue_messages.intake(json.dumps(message)) == IntakeMessage("b" * 200, REQUEST, batch=True)


# ------------------------------------------------------------------ one shape per queue

RETRY = {"resendRequestId": "r-1"}
SYNC_PAGE = {"kind": "inventorySyncPage", "syncId": "s-1", "from": "a", "to": "b", "offset": 0}
INTAKE = {"idempotencyKey": "order-1", "request": REQUEST}


@pytest.mark.parametrize(
    "message",
    [
        RETRY,
        SYNC_PAGE,
        {"kind": "inventoryReread", "syncId": "s-1", "ids": [1], "page": "r0"},
        {**INTAKE, "resendRequestId": "r-1"},
        {**INTAKE, "kind": "inventorySyncPage"},
        {"idempotencyKey": "order-1"},
        {},
    ],
    ids=["retry", "sync-page", "reread-page", "plus-retry-key", "plus-kind", "no-request", "empty"],
)
def test_the_automation_door_takes_the_intake_shapes_only(message):
    with pytest.raises(MalformedMessage, match="not an automation resend request"):
        queue_messages.intake(json.dumps(message))


def test_a_fulfilment_message_carries_its_body_and_nothing_else():
    parsed = queue_messages.intake(json.dumps({"idempotencyKey": "order-1", "fulfilment": {"orderReference": "o"}}))
    assert (parsed.idempotency_key, parsed.request, parsed.fulfilment, parsed.batch) == (
        "order-1",
        {"orderReference": "o"},
        True,
        False,
    )
    for extra in ({"request": {}}, {"batch": True}, {"resendRequestId": "r-1"}):
        with pytest.raises(MalformedMessage, match="not an automation fulfilment"):
            queue_messages.intake(json.dumps({"idempotencyKey": "order-1", "fulfilment": {}, **extra}))
    with pytest.raises(MalformedMessage, match="idempotencyKey"):
        queue_messages.intake(json.dumps({"idempotencyKey": "k" * 201, "fulfilment": {}}))


@pytest.mark.parametrize(
    ("body", "reason"),
    [("not json", "not JSON"), ("[1]", "not a JSON object"), ("null", "not a JSON object"), ('"x"', "object")],
)
def test_a_body_that_is_not_a_json_object_is_malformed_on_every_queue(body, reason):
    for parse in (queue_messages.intake, queue_messages.retry, queue_messages.sync_page):
        with pytest.raises(MalformedMessage, match=reason):
            parse(body)


@pytest.mark.parametrize(
    "message",
    [INTAKE, SYNC_PAGE, {**RETRY, "idempotencyKey": "k"}, {"resendRequestId": ""}, {"resendRequestId": 7}],
    ids=["intake", "sync-page", "plus-key", "empty-id", "number-id"],
)
def test_the_retry_queue_takes_retries_only(message):
    with pytest.raises(MalformedMessage, match="not a retry"):
        queue_messages.retry(json.dumps(message))
    assert queue_messages.retry(json.dumps(RETRY)) == queue_messages.RetryMessage("r-1")


@pytest.mark.parametrize(
    "message",
    [INTAKE, RETRY, {**SYNC_PAGE, "kind": "other"}, {**SYNC_PAGE, "syncId": 7}],
    ids=["intake", "retry", "other-kind", "number-sync-id"],
)
def test_the_sync_queue_takes_sync_pages_only(message):
    with pytest.raises(MalformedMessage, match="not an inventory sync page"):
        queue_messages.sync_page(json.dumps(message))
    assert queue_messages.sync_page(json.dumps(SYNC_PAGE)).body == SYNC_PAGE


def test_a_refused_message_is_described_by_its_key_names_only_capped():
    assert queue_messages.key_names(json.dumps({"resendRequestId": "secret-value", "b": {"c": 1}})) == [
        "b",
        "resendRequestId",
    ]
    many = {f"{index:03d}" + "k" * 100: index for index in range(50)}
    names = queue_messages.key_names(json.dumps(many))
    assert len(names) == 20 and all(len(name) == 40 for name in names)
    assert queue_messages.key_names("phone +1 555 0100") == "body is not JSON"


def test_a_body_nested_past_64_levels_is_malformed_not_a_recursion_error():
    for parse in (queue_messages.intake, queue_messages.retry, queue_messages.sync_page, queue_messages.key_names):
        try:
            answer = parse("[" * 50_000)
        except MalformedMessage as malformed:
            answer = str(malformed)
        assert answer == "body is nested deeper than 64 levels"
