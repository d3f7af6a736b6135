"""The resend's tracking number is the newest report's by eventTime, whatever order the signed status
webhooks arrive in (contract section 4), through DynamoDB's conditional write on trackingEventTime."""

from __future__ import annotations

import pytest

from rh_common.domain.results import Outcome
from tests.support.resend import resend_body


@pytest.mark.parametrize(("first", "second"), [(10, 20), (20, 10)], ids=["in-order", "newest-first"])
def test_the_newest_report_by_event_time_sets_the_tracking_number(worker, items, report, first, second):
    ids = items(960 + first)
    answer = worker.service.intake(f"track-{first}", resend_body(ids))
    assert answer.outcome == Outcome.SUBMITTED, answer.body
    tracking = {10: "TRACK-AT-10", 20: "TRACK-AT-20"}
    for second_after_start in (first, second):
        report(answer.body["resendId"], 2, ids, second_after_start, tracking=tracking[second_after_start])
    assert worker.service.get(answer.body["resendRequestId"]).body["trackingNumber"] == "TRACK-AT-20"
