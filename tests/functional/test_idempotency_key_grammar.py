"""The Idempotency-Key grammar on the merchant API (contract section 3): 1-255 printable ASCII
characters, no leading or trailing space; anything else is 422 on the header, nothing stored,
reserved or sent.
"""

import boto3
import pytest

from tests.support.resend import resend_body, upstream_state


def stored(tables, logical_id: str) -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=tables[logical_id])["Items"]


BAD_KEYS = ["order-€1", " leading", "trailing ", "new\nline", "tab\there", "", "k" * 256, "nul\x00"]
BAD_KEY_IDS = ["non-ascii", "leading-space", "trailing-space", "newline", "tab", "empty", "256-chars", "nul"]


@pytest.mark.parametrize("key", BAD_KEYS, ids=BAD_KEY_IDS)
@pytest.mark.parametrize("path", ["/resends", "/resends/batch"])
def test_an_idempotency_key_outside_the_grammar_is_422_on_the_header_and_nothing_is_kept(
    api, calls, items, tables, emulator, path, key
):
    ids = items(1101)
    calls.reset()
    status, body = api("POST", path, resend_body(ids), headers={"Idempotency-Key": key})
    assert status == 422, body
    assert [error["field"] for error in body["errors"]] == ["Idempotency-Key"]
    assert calls.dynamodb == [] and calls.upstream == []
    assert stored(tables, "ResendRequestTable") == [] and stored(tables, "ResendBatchTable") == []
    assert items.store.get(1101, consistent=True).active_resend_request_id is None


@pytest.mark.parametrize("key", ["order 1001 replacement", "!", "~" * 255], ids=["inner-spaces", "one-char", "255"])
def test_a_key_of_printable_ascii_with_inner_spaces_is_taken(api, items, emulator, key):
    ids = items(1102)
    status, body = api("POST", "/resends", resend_body(ids), headers={"Idempotency-Key": key})
    assert status == 201, body
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {key: 1}
