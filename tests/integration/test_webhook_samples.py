"""Every Return Helper payload in events/ (every event type Return Helper documents), signed, into the
running local stack: each is answered 200 and applied, ignored (a type not handled) or a duplicate
(another test sent it first); never unprocessable, never a 5xx (contract sections 4 and 8)."""

import pytest

from local import settings as local_settings
from local.sign import post_signed
from tests.events.loader import load_event_bytes, webhook_payload_names

pytestmark = pytest.mark.integration

WEBHOOK_EVENTS = webhook_payload_names()


@pytest.mark.parametrize("name", WEBHOOK_EVENTS)
def test_each_published_sample_is_answered_200_and_kept(stack, name):
    answer = post_signed(
        stack["webhookUrl"],
        local_settings.DEV_RH_SIGNING_KEY,
        load_event_bytes(name),
        signed_url=stack["webhookSignedUrl"],
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] in ("applied", "ignored", "duplicate"), answer.text


def test_the_published_recalibrate_sample_is_applied_not_refused_for_its_floats(stack):
    # "weight": 620.0 answered 500 "stored but not applied" on every redelivery before (boto3 refuses floats)
    raw = load_event_bytes("completeRecalibrate").replace(b'"weight": 620.0', b'"weight": 612.5')
    answer = post_signed(
        stack["webhookUrl"], local_settings.DEV_RH_SIGNING_KEY, raw, signed_url=stack["webhookSignedUrl"]
    )
    assert (answer.status_code, answer.json()["status"]) == (200, "applied"), answer.text
