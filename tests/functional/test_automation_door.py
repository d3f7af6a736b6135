"""The automation queue is one door (contract sections 5 and 10): the worker acts on the intake shapes
only, and a message it cannot act on is refused before anything is reserved or sent."""

import copy
import json
import uuid

import boto3
import pytest

from tests.events.loader import load_event
from tests.support.resend import resend_body, upstream_state


@pytest.fixture
def worker(load_with_upstream):
    return load_with_upstream("ResendWorkerFunction", UPSTREAM_TIMEOUT_SECONDS="1")


def sqs_event(*bodies) -> dict:
    template = load_event("sqs_resend_request")["Records"][0]
    records = []
    for body in bodies:
        record = copy.deepcopy(template)
        record["messageId"] = str(uuid.uuid4())
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        records.append(record)
    return {"Records": records}


def resend_records(tables) -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=tables["ResendRequestTable"])["Items"]


@pytest.mark.parametrize(
    "key", ["order-€1", " order-1", "order-1\n"], ids=["non-ascii", "leading-space", "trailing-newline"]
)
def test_an_automation_message_with_a_key_outside_the_grammar_reserves_nothing(
    worker, lambda_context, items, tables, emulator, key
):
    ids, good = items(1201, 1202), items(1203)
    event = sqs_event(
        {"idempotencyKey": key, "request": resend_body(ids)},
        {"idempotencyKey": "order-ok", "request": resend_body(good)},
    )
    worker.lambda_handler(event, lambda_context)
    assert [items.store.get(i, consistent=True).active_resend_request_id for i in ids] == [None, None]
    assert upstream_state(emulator)["createResendCalls"] == {"order-ok": 1}  # the batch's other message went on
    assert len(resend_records(tables)) == 1
