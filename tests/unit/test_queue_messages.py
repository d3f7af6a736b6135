"""The resend worker's message shapes (rh_common.queue_messages): what each queue's parser takes."""

import json

import pytest

from rh_common import queue_messages
from rh_common.queue_messages import IntakeMessage, MalformedMessage

REQUEST = {"returnInventoryIdList": [1]}


@pytest.mark.parametrize(
    "key",
    ["order-€1", " order-1", "order-1 ", "order\n1", "order\t1", "", "k" * 256, "nul\x00", 7, None],
    ids=["non-ascii", "leading-space", "trailing-space", "newline", "tab", "empty", "256", "nul", "number", "null"],
)
def test_an_intake_message_with_a_key_outside_the_grammar_is_malformed(key):
    with pytest.raises(MalformedMessage, match="idempotencyKey must be 1-255 printable ASCII"):
        queue_messages.parse(json.dumps({"idempotencyKey": key, "request": REQUEST}))


@pytest.mark.parametrize("key", ["order 1001", "!", "~" * 255])
def test_an_intake_message_with_a_key_of_printable_ascii_is_taken(key):
    assert queue_messages.parse(json.dumps({"idempotencyKey": key, "request": REQUEST})) == IntakeMessage(key, REQUEST)


def test_a_batch_key_leaves_room_for_its_groups_suffix():
    message = {"idempotencyKey": "b" * 201, "batch": True, "request": REQUEST}
    with pytest.raises(MalformedMessage, match="1-200"):
        queue_messages.parse(json.dumps(message))
    message["idempotencyKey"] = "b" * 200
    assert queue_messages.parse(json.dumps(message)) == IntakeMessage("b" * 200, REQUEST, batch=True)
