"""The resend path (validate -> check -> reserve -> submit -> record) over the in-memory ports.

No AWS, no HTTP: the domain decides in typed results, and a keyed request stores its answer as one;
rh_common.http.status_codes is the one place that turns them into status codes (here: to show a
replay answers what the first call did).
"""

from __future__ import annotations

import pytest

from rh_common.adapters.address_rules import GoogleAddressRules
from rh_common.contract.resend_request import CreateResendRequest
from rh_common.domain.errors import RetryLater, ServiceTypesUnavailable, UnknownResendRequest
from rh_common.domain.idempotency_keys import request_id_for
from rh_common.domain.results import Outcome
from rh_common.http import status_codes
from rh_common.services.hold_service import HoldService
from rh_common.services.resend_service import ResendService, ResendSettings
from tests.support.fakes import (
    FakeInventories,
    FakeQuotes,
    FakeResendRecords,
    FakeRetries,
    FakeReturnHelper,
    FakeServiceTypes,
    refused,
    unreachable,
)
from tests.support.resend import ON_HOLD, SHIPMENT, resend_body

SERVICE_TYPES = [
    {
        "serviceTypeCode": SHIPMENT["shipmentServiceType"],
        "serviceType": "USPS",
        "countryCodePairList": [{"toCountryCode": "USA"}],
    }
]


class World:
    """The service over fakes, with the fakes at hand."""

    def __init__(self, service_types=None, max_attempts: int = 3) -> None:
        self.inventories = FakeInventories()
        self.quote_cache = FakeQuotes()
        self.records = FakeResendRecords(self.inventories, self.quote_cache)
        self.upstream = FakeReturnHelper()
        self.retries = FakeRetries()
        self.service_types = FakeServiceTypes(service_types or {ON_HOLD["warehouseId"]: SERVICE_TYPES})
        self.address_rules = GoogleAddressRules()  # the real rules: Google's data, read from disk
        self.service = ResendService(
            resends=self.records,
            inventories=self.inventories,
            service_types=self.service_types,
            upstream=self.upstream,
            retries=self.retries,
            address_rules=self.address_rules,
            holds=HoldService(self.inventories, self.upstream, frozenset({"ohd", "tbc"})),
            settings=ResendSettings(frozenset({"ohd", "tbc"}), 30, max_attempts, 60, None),
        )

    def items(self, *ids: int, **values) -> list[int]:
        for inventory_id in ids:
            self.inventories.seed(inventory_id, **{**ON_HOLD, **values})
        return list(ids)

    def create(self, ids: list[int], key: str | None = None, **shipment):
        return self.service.create(CreateResendRequest.model_validate(resend_body(ids, **shipment)), key)


@pytest.fixture
def world() -> World:
    return World()


def test_a_valid_request_is_reserved_submitted_once_and_recorded(world):
    ids = world.items(1, 2)
    result = world.create(ids, "k-1")
    assert result.outcome == Outcome.SUBMITTED and result.body["status"] == "SUBMITTED"
    assert world.upstream.created == {"k-1": result.body["resendId"]}
    record = world.records.get(request_id_for("k-1"))
    assert record["status"] == "SUBMITTED" and record["answer"] == result.stored()
    for inventory_id in ids:
        item = world.inventories.get(inventory_id)
        assert item.active_resend_request_id == request_id_for("k-1") and item.values["handlingCode"] == "rsd"


def test_the_same_key_replays_the_stored_answer_without_calling_upstream(world):
    # GIVEN a keyed request that was answered
    ids = world.items(3)
    first = world.create(ids, "k-2")
    # WHEN it comes again with the same body
    again = world.create(ids, "k-2")
    # THEN the stored answer is replayed: the same HTTP answer, one upstream create
    assert again.outcome == Outcome.REPLAYED and again.decision == Outcome.SUBMITTED
    assert status_codes.answer(again) == status_codes.answer(first)
    assert len(world.upstream.calls_of("createResend")) == 1


def test_the_same_key_with_another_body_is_refused(world):
    world.items(4, 5)
    world.create([4], "k-3")
    result = world.create([5], "k-3")
    assert result.outcome == Outcome.KEY_REUSED and result.refused
    assert result.body["errors"][0]["field"] == "Idempotency-Key"


def test_items_held_by_another_request_are_a_conflict_naming_the_holder(world):
    world.items(6, 7)
    holder = world.create([6], "k-4").body["resendRequestId"]
    result = world.create([6, 7], "k-5")
    assert result.outcome == Outcome.CONFLICT
    assert result.body["conflicts"] == [{"returnInventoryId": 6, "resendRequestId": holder}]
    assert world.inventories.get(7).active_resend_request_id is None  # nothing reserved


def test_an_ineligible_item_is_invalid_and_recorded_under_the_key(world):
    world.items(8, handlingCode="rtn")
    result = world.create([8], "k-6")
    assert result.outcome == Outcome.INVALID and result.body["errors"][0]["field"] == "returnInventoryIdList.0"
    assert world.upstream.calls_of("createResend") == []
    record = world.records.get(request_id_for("k-6"))
    assert record["status"] == "REJECTED"
    # the refusal is replayed as what it was
    assert world.create([8], "k-6").decision == Outcome.INVALID


def test_service_types_unavailable_is_undecided_and_nothing_is_reserved():
    world = World(service_types={ON_HOLD["warehouseId"]: ServiceTypesUnavailable("HTTP 503")})
    world.items(9)
    result = world.create([9], "k-7")
    assert result.outcome == Outcome.UNAVAILABLE and result.undecided
    assert world.inventories.get(9).active_resend_request_id is None and world.records.records == {}


def test_a_transient_failure_is_pending_with_a_retry_scheduled_and_the_retry_submits(world):
    # GIVEN Return Helper unreachable for the first attempt
    ids = world.items(10)
    world.upstream.script("createResend", unreachable("createResend", retry_after=7))
    # WHEN the request is created, then its queued retry runs
    pending = world.create(ids, "k-8")
    [(request_id, delay)] = world.retries.scheduled
    retried = world.service.retry(request_id)
    # THEN the first answer was PENDING with the Retry-After honoured, the retry used the same key
    assert pending.outcome == Outcome.PENDING and delay >= 7
    assert retried.outcome == Outcome.SUBMITTED
    assert [key for _, key in world.upstream.calls_of("createResend")] == ["k-8", "k-8"]


def test_after_the_last_attempt_the_request_is_dead_and_its_items_released():
    world = World(max_attempts=1)
    ids = world.items(11)
    world.upstream.script("createResend", unreachable("createResend"))
    result = world.create(ids, "k-9")
    assert result.outcome == Outcome.DEAD and result.body["status"] == "DEAD"
    assert world.inventories.get(11).active_resend_request_id is None


def test_a_refusal_upstream_is_rejected_with_upstream_and_releases_the_items(world):
    ids = world.items(12)
    world.upstream.script("createResend", refused("createResend", "ADDRESS_INVALID", shipmentStreet1="bad"))
    result = world.create(ids, "k-10")
    assert result.outcome == Outcome.REJECTED and result.body["upstream"]["errorCode"] == "ADDRESS_INVALID"
    assert world.inventories.get(12).active_resend_request_id is None
    # the stored answer comes back as the same refusal
    assert world.create(ids, "k-10").decision == Outcome.REJECTED


def test_automation_intake_records_what_http_would_refuse_and_leaves_undecided_ones_on_the_queue():
    world = World(service_types={ON_HOLD["warehouseId"]: ServiceTypesUnavailable("HTTP 503")})
    invalid = world.service.intake("auto-1", {"returnInventoryIdList": [1]})
    assert invalid.outcome == Outcome.INVALID and world.records.get(request_id_for("auto-1"))["status"] == "REJECTED"
    world.items(13)
    with pytest.raises(RetryLater):
        world.service.intake("auto-2", resend_body([13]))


def test_an_automation_conflict_is_recorded_rejected_under_its_key(world):
    world.items(14)
    world.create([14], "first")
    result = world.service.intake("second", resend_body([14]))
    assert result.outcome == Outcome.CONFLICT and result.refused
    assert world.records.get(request_id_for("second"))["status"] == "REJECTED"


def test_a_retry_of_a_settled_request_calls_nobody_and_of_an_unknown_one_is_a_poison_message(world):
    world.items(15)
    request_id = world.create([15], "k-11").body["resendRequestId"]
    assert world.service.retry(request_id).outcome == Outcome.SETTLED
    assert len(world.upstream.calls_of("createResend")) == 1
    with pytest.raises(UnknownResendRequest):
        world.service.retry("no-such-request")


def test_a_store_failure_while_reserving_propagates_and_calls_nobody(world):
    # GIVEN the reservation transaction fails for a reason other than a condition (e.g. throttling)
    world.items(16)
    world.records.reserve_failure = RuntimeError("throttled")
    # WHEN a request comes in THEN the failure is not taken for an answer (the handler answers 5xx)
    with pytest.raises(RuntimeError):
        world.create([16], "k-12")
    assert world.upstream.calls_of("createResend") == []
    # and the same key afterwards goes through as new
    assert world.create([16], "k-12").outcome == Outcome.SUBMITTED


def test_cancel_gives_the_items_back_and_refusals_are_not_cancellable(world):
    world.items(17)
    created = world.create([17], "k-13").body
    assert world.service.cancel(created["resendRequestId"]).outcome == Outcome.CANCELED
    item = world.inventories.get(17)
    assert item.active_resend_request_id is None and item.values["handlingCode"] == "ohd"
    again = world.service.cancel(created["resendRequestId"])
    assert again.outcome == Outcome.NOT_CANCELLABLE and "CANCELED" in again.message
    assert world.service.cancel("nope").outcome == Outcome.NOT_FOUND


def test_cancel_unreachable_upstream_is_undecided(world):
    world.items(18)
    created = world.create([18], "k-14").body
    world.upstream.script("cancelResend", unreachable("cancelResend"))
    result = world.service.cancel(created["resendRequestId"])
    assert result.outcome == Outcome.UNAVAILABLE and result.undecided
    assert world.records.get(created["resendRequestId"])["status"] == "SUBMITTED"
