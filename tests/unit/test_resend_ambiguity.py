"""Ambiguity never orphans (contract section 3): the resend path over the in-memory ports.

An attempt whose outcome is unknown may have created the resend: its request keeps its items and stays
PENDING past the retry budget until Return Helper answers; only attempts that certainly were not processed
count toward DEAD. One attempt at a time (a lease); a PENDING request nothing can have reached is cancellable.
"""

from __future__ import annotations

import time

import pytest

from rh_common.adapters.returnhelper.answers import classify_exception, classify_response
from rh_common.domain.idempotency_keys import request_id_for
from rh_common.domain.resend_lifecycle import Status, view
from rh_common.domain.results import Outcome
from rh_common.domain.webhook_events import ResendUpdate
from rh_common.services.resend_tracking import ResendTracker
from tests.support.fakes import FakeInventories, refused, unreachable
from tests.unit.test_resend_service import World


def timed_out():
    """What the client answers when the read timed out: Return Helper may have created it."""
    import requests

    return classify_exception("createResend", requests.ReadTimeout("read timed out"))


def credentials_refused():
    return classify_response("createResend", 401, {}, b"")


@pytest.fixture
def world() -> World:
    return World(max_attempts=3)


def record_of(world: World, key: str) -> dict:
    return world.records.get(request_id_for(key))


def pending_after_a_503(world: World, inventory_id: int, key: str) -> str:
    """A PENDING request whose first attempt was certainly not processed: its id."""
    world.items(inventory_id)
    world.upstream.script("createResend", unreachable("createResend"))
    return world.create([inventory_id], key).body["resendRequestId"]


def test_unknown_attempts_past_the_budget_keep_the_items_and_stay_pending(world):
    # GIVEN Return Helper timing out on every attempt (each may have created the resend)
    world.items(101)
    world.upstream.script("createResend", timed_out(), timed_out(), timed_out())
    first = world.create([101], "amb-1")
    request_id = first.body["resendRequestId"]
    # WHEN every retry of the budget times out too
    answers = [world.service.retry(request_id) for _ in range(2)]
    # THEN the request is PENDING past RETRY_MAX_ATTEMPTS with attemptUnknown, never DEAD; its items stay held
    assert [a.outcome for a in (first, *answers)] == [Outcome.PENDING] * 3
    record = record_of(world, "amb-1")
    assert (record["status"], record["attempts"], record["attemptUnknown"]) == ("PENDING", 3, True)
    assert "may have created the resend" in view(record)["lastError"]["detail"]
    assert world.inventories.get(101).active_resend_request_id == request_id
    # AND past the budget no retry of its own is queued: the reconciler asks again on every run
    assert len(world.retries.scheduled) == 2


def test_a_later_certain_failure_does_not_clear_the_unknown_and_a_late_success_submits(world):
    world.items(102)
    world.upstream.script("createResend", timed_out(), unreachable("createResend"), unreachable("createResend"))
    request_id = world.create([102], "amb-2").body["resendRequestId"]
    world.service.retry(request_id)
    world.service.retry(request_id)
    assert record_of(world, "amb-2")["status"] == "PENDING"  # 3 attempts, the first unknown: not DEAD
    # WHEN the reconciler's next retry gets Return Helper's answer (the same key: the resend the first made)
    late = world.service.retry(request_id)
    # THEN SUBMITTED with that resend id; the unknown and the stale error are cleared
    record = record_of(world, "amb-2")
    assert late.outcome == Outcome.SUBMITTED and record["resendId"] == world.upstream.created["amb-2"]
    assert "attemptUnknown" not in record and view(record)["lastError"] is None and record["attempts"] == 4
    assert {key for _, key in world.upstream.calls_of("createResend")} == {"amb-2"}


def test_a_definite_refusal_ends_a_request_with_an_unknown_attempt(world):
    world.items(103)
    world.upstream.script("createResend", timed_out(), refused("createResend", "VALIDATION_FAILED"))
    request_id = world.create([103], "amb-3").body["resendRequestId"]
    assert world.service.retry(request_id).outcome == Outcome.REJECTED
    assert world.inventories.get(103).active_resend_request_id is None


@pytest.mark.parametrize("failure", [unreachable("createResend"), credentials_refused()], ids=["503", "401"])
def test_certainly_unprocessed_attempts_give_up_dead_and_release(world, failure):
    # GIVEN attempts that certainly were not processed (503; 401: our credentials, never a refusal)
    world.items(104)
    world.upstream.script("createResend", failure, failure, failure)
    request_id = world.create([104], "amb-4").body["resendRequestId"]
    answers = [world.service.retry(request_id) for _ in range(2)]
    # THEN retried, counted, and DEAD after the budget: the items released
    assert [a.outcome for a in answers] == [Outcome.PENDING, Outcome.DEAD]
    assert record_of(world, "amb-4")["attempts"] == 3
    assert world.inventories.get(104).active_resend_request_id is None


def test_an_attempt_that_died_holding_the_lease_counts_as_unknown(world):
    # GIVEN a request whose attempt took the lease and died before recording its outcome
    request_id = pending_after_a_503(world, 105, "amb-5")
    world.records.records[request_id]["attemptLeaseUntil"] = int(time.time()) - 1
    # WHEN the next attempt runs (and fails certainly)
    world.upstream.script("createResend", unreachable("createResend"), unreachable("createResend"))
    world.service.retry(request_id)
    world.service.retry(request_id)
    # THEN the dead attempt's outcome stays unknown: not DEAD
    record = record_of(world, "amb-5")
    assert (record["status"], record["attemptUnknown"]) == ("PENDING", True)


def test_a_retry_that_finds_the_lease_held_calls_nobody(world):
    request_id = pending_after_a_503(world, 106, "amb-6")
    world.records.records[request_id]["attemptLeaseUntil"] = int(time.time()) + 60
    assert world.service.retry(request_id).outcome == Outcome.SETTLED
    assert len(world.upstream.calls_of("createResend")) == 1


def test_two_submits_at_once_make_one_upstream_call(world):
    # GIVEN a PENDING request, and a second retry message arriving while the first attempt is under way
    request_id = pending_after_a_503(world, 107, "amb-7")
    inner = []

    def meanwhile(body, key):
        inner.append(world.service.retry(request_id))
        return world.upstream._create(body, key)

    world.upstream.script("createResend", meanwhile)
    # WHEN both run
    outer = world.service.retry(request_id)
    # THEN one upstream call: the second found the attempt running and did nothing
    assert len(world.upstream.calls_of("createResend")) == 2  # the first 503, then one attempt
    assert [r.outcome for r in inner] == [Outcome.SETTLED] and outer.outcome == Outcome.SUBMITTED


def test_a_pending_request_nothing_reached_is_cancelled_and_never_sent_after(world):
    world.items(108, handlingCode="tbc")
    world.upstream.script("createResend", unreachable("createResend"))
    request_id = world.create([108], "amb-8").body["resendRequestId"]
    canceled = world.service.cancel(request_id)
    assert canceled.outcome == Outcome.CANCELED and canceled.body["status"] == "CANCELED"
    item = world.inventories.get(108)
    assert item.active_resend_request_id is None and item.values["handlingCode"] == "tbc"
    assert world.service.retry(request_id).outcome == Outcome.SETTLED
    assert len(world.upstream.calls_of("createResend")) == 1


def test_a_pending_request_with_an_unknown_attempt_is_not_cancellable(world):
    world.items(109)
    world.upstream.script("createResend", timed_out())
    request_id = world.create([109], "amb-9").body["resendRequestId"]
    answer = world.service.cancel(request_id)
    assert answer.outcome == Outcome.NOT_CANCELLABLE and "once it resolves" in answer.message
    assert record_of(world, "amb-9")["status"] == "PENDING"
    assert world.inventories.get(109).active_resend_request_id == request_id


def test_a_pending_request_with_an_attempt_running_is_not_cancellable(world):
    request_id = pending_after_a_503(world, 110, "amb-10")
    world.records.records[request_id]["attemptLeaseUntil"] = int(time.time()) + 60
    assert world.service.cancel(request_id).outcome == Outcome.NOT_CANCELLABLE


def test_an_attempt_that_succeeds_after_its_request_was_canceled_is_cancelled_upstream_at_once(world):
    # GIVEN an attempt under way when its request is canceled (its lease had run out)
    request_id = pending_after_a_503(world, 111, "amb-11")

    def canceled_meanwhile(body, key):
        world.records.records[request_id]["status"] = "CANCELED"
        return world.upstream._create(body, key)

    world.upstream.script("createResend", canceled_meanwhile)
    # WHEN that attempt succeeds
    world.service.retry(request_id)
    # THEN the resend it created is cancelled upstream at once, and recorded
    resend_id = world.upstream.created["amb-11"]
    assert world.upstream.calls_of("cancelResend") == [(resend_id, f"cancel-{request_id}")]
    record = record_of(world, "amb-11")
    assert (record["status"], record["resendId"]) == ("CANCELED", resend_id)


def test_last_error_is_null_once_the_resend_succeeded(world):
    # GIVEN a request that failed transiently (HTTP 429) before succeeding
    world.items(112)
    world.upstream.script("createResend", classify_response("createResend", 429, {}, b""))
    request_id = world.create([112], "amb-12").body["resendRequestId"]
    assert view(record_of(world, "amb-12"))["lastError"]["detail"] == "HTTP 429"
    world.service.retry(request_id)
    assert view(record_of(world, "amb-12"))["lastError"] is None
    # AND an old record still carrying a stale error shows none once COMPLETED
    stale = {**record_of(world, "amb-12"), "status": "COMPLETED", "lastError": {"detail": "HTTP 429"}}
    assert view(stale)["lastError"] is None


# ------------------------------------------------------------------ status reports


def tracker(world: World, inventories=None, told: list[Status] | None = None) -> ResendTracker:
    """A tracker over the world's stores; each status it records is appended to `told`."""
    return ResendTracker(world.records, (told if told is not None else []).append, inventories or world.inventories)


def submitted(world: World, key: str, *ids: int) -> dict:
    world.items(*ids)
    return world.create(list(ids), key).body


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["in-order", "newest-first"])
def test_the_tracking_number_is_the_newest_reports_by_event_time(world, order):
    created = submitted(world, f"trk-{order[0]}", 120 + order[0])
    reports = [
        ("2025-03-03T08:00:00.1000000Z", ResendUpdate(created["resendId"], 2, "OLD-TRACK")),
        ("2025-03-03T09:00:00.1000000Z", ResendUpdate(created["resendId"], 2, "NEW-TRACK")),
    ]
    track = tracker(world)
    for index in order:
        event_time, update = reports[index]
        track.apply_to(world.records.get(created["resendRequestId"]), update, event_time, f"d-{index}")
    assert world.records.get(created["resendRequestId"])["trackingNumber"] == "NEW-TRACK"


class FailingOnce(FakeInventories):
    """The first restore write fails (DynamoDB throttled), later ones succeed."""

    def __init__(self, inner: FakeInventories) -> None:
        self.records = inner.records
        self.failures = 1

    def apply(self, facts, version, event_time):
        if "#release" in version and self.failures:
            self.failures -= 1
            raise RuntimeError("throttled")
        return super().apply(facts, version, event_time)


def test_the_handling_restore_after_failed_is_retried_with_the_report(world):
    # GIVEN a SUBMITTED request for an item that was tbc, and a restore write that fails once
    world.items(130, handlingCode="tbc")
    created = world.create([130], "rst-1").body
    flaky = FailingOnce(world.inventories)
    failed = ResendUpdate(created["resendId"], 4, None, "bad address")
    told: list[Status] = []
    # WHEN the FAILED report is applied (the webhook answers 5xx) and then redelivered
    with pytest.raises(RuntimeError):
        tracker(world, flaky, told).apply_to(
            world.records.get(created["resendRequestId"]), failed, "2099-01-01T00:00:00Z", "d1"
        )
    assert told == []  # nothing recorded yet: nothing counted
    tracker(world, flaky, told).apply_to(
        world.records.get(created["resendRequestId"]), failed, "2099-01-01T00:00:00Z", "d1"
    )
    # THEN the request is FAILED and the item has its handling back, released; FAILED was counted once
    item = world.inventories.get(130)
    assert world.records.get(created["resendRequestId"])["status"] == "FAILED"
    assert (item.values["handlingCode"], item.active_resend_request_id) == ("tbc", None)
    assert told == [Status.FAILED]


def test_a_report_for_an_unrecorded_resend_with_exactly_the_items_is_adopted(world):
    # GIVEN a PENDING request whose attempt timed out (Return Helper did create it)
    world.items(140, 141)
    world.upstream.script("createResend", lambda body, key: (world.upstream._create(body, key), timed_out())[1])
    request_id = world.create([140, 141], "adopt-1").body["resendRequestId"]
    resend_id = world.upstream.created["adopt-1"]
    track = tracker(world)
    # WHEN reports for that resend arrive: one about other items is not its, one about exactly its items is
    assert track.adopt(resend_id, [140]) is None
    adopted = track.adopt(resend_id, [141, 140])
    assert track.apply_to(adopted, ResendUpdate(resend_id, 2), "2099-01-01T00:00:00Z", "d1") is True
    # THEN the request records the resend id and its status; the unknown is answered
    record = world.records.get(request_id)
    assert (record["status"], record["resendId"]) == ("IN_PROGRESS", resend_id)
    assert "attemptUnknown" not in record


def test_a_request_without_an_unknown_attempt_adopts_nothing(world):
    request_id = pending_after_a_503(world, 142, "adopt-2")
    assert tracker(world).adopt(777, [142]) is None
    assert world.records.get(request_id).get("resendId") is None


def test_the_status_changed_event_carries_no_stale_error():
    from rh_common.domain.published_events import resend_status_changed

    old = {"resendRequestId": "r-1", "status": "IN_PROGRESS", "lastError": {"detail": "HTTP 429"}}
    event = resend_status_changed(old, {**old, "status": "COMPLETED"}, "e-1")
    assert event.detail["lastError"] is None
    failed = resend_status_changed(old, {**old, "status": "FAILED"}, "e-2")
    assert failed.detail["lastError"] == {"errorCode": None, "detail": "HTTP 429", "reason": "upstreamUnavailable"}
