"""Hold, quote and batch over the in-memory ports: they decide on the resend service's results, not status codes."""

from __future__ import annotations

from rh_common.contract.resend_request import CreateResendRequest
from rh_common.contract.workflow_requests import BatchRequest, QuoteRequest
from rh_common.domain.errors import Conflict, ServiceTypesUnavailable
from rh_common.domain.idempotency_keys import group_key, request_id_for
from rh_common.domain.results import Outcome, reservation_conflict
from rh_common.services.batch_service import BatchService, BatchSettings
from rh_common.services.hold_service import HoldService
from rh_common.services.quote_service import QuoteService, QuoteSettings
from tests.support.fakes import FakeBatches, refused, unreachable
from tests.support.resend import resend_body
from tests.unit.test_resend_service import SERVICE_TYPES, World

NJ, HAMBURG = 2, 5
CODES = frozenset({"ohd", "tbc"})


class Workflow(World):
    def __init__(self, service_types=None) -> None:
        super().__init__(service_types or {NJ: SERVICE_TYPES, HAMBURG: SERVICE_TYPES})
        self.holds = HoldService(self.inventories, self.upstream, CODES)
        self.quotes = QuoteService(
            self.inventories,
            self.service_types,
            self.upstream,
            self.quote_cache,
            self.address_rules,
            QuoteSettings(CODES),
        )
        self.batch_records = FakeBatches()
        self.batches = BatchService(
            self.batch_records,
            self.inventories,
            self.records,
            self.service,
            self.quotes,
            self.holds,
            self.upstream,
            BatchSettings(CODES, max_items=5, in_flight_seconds=60),
            clock=lambda: 1_000_000.0,
        )


def batch(ids: list[int]) -> BatchRequest:
    return BatchRequest.model_validate(resend_body(ids))


def test_a_quote_for_a_reserved_item_is_the_same_conflict_as_post_resends():
    world = Workflow()
    world.items(1, 2)
    holder = world.create([1], "holder").body["resendRequestId"]
    result = world.quotes.quote(
        QuoteRequest(returnInventoryIdList=[1, 2], shipmentCountryCode="usa", shipmentPostalCode="10001")
    )
    assert result.outcome == Outcome.CONFLICT
    assert result.body == reservation_conflict([Conflict(1, holder)]).body


def test_a_quote_refused_or_unreachable_upstream():
    world = Workflow()
    world.items(3)
    request = QuoteRequest(returnInventoryIdList=[3], shipmentCountryCode="usa", shipmentPostalCode="10001")
    world.upstream.script("getShippingFeeListByToShippingOption", unreachable("fees"), refused("fees", "NO_FEES"))
    assert world.quotes.quote(request).outcome == Outcome.UNAVAILABLE
    rejected = world.quotes.quote(request)
    assert rejected.outcome == Outcome.REJECTED and rejected.body["upstream"]["errorCode"] == "NO_FEES"


def test_a_hold_is_sent_once_and_recorded_and_an_item_that_cannot_be_held_calls_nobody():
    world = Workflow()
    world.items(4, handlingCode="tbc")
    world.items(5, handlingCode="tbc", inStock=False)
    held = world.holds.hold(4)
    assert held.outcome == Outcome.HELD and world.inventories.get(4).values["handlingCode"] == "ohd"
    assert world.holds.hold(4).outcome == Outcome.ALREADY_HELD
    assert world.holds.hold(5).outcome == Outcome.NOT_HOLDABLE
    assert world.holds.hold(6).outcome == Outcome.NOT_FOUND
    assert [call[0] for call in world.upstream.calls_of("updateReturnInventoryHandling")] == [4]


def test_a_group_whose_items_were_taken_meanwhile_is_a_conflict_and_the_others_go_through():
    # GIVEN a batch whose first call planned and died, and an item of one group reserved since
    world = Workflow()
    ids = world.items(11, 12) + world.items(21, warehouseId=HAMBURG)
    request = batch(ids)
    plan = world.batches.plan(request).body
    world.batch_records.create(
        {"batchKey": "b-1", "fingerprint": request.fingerprint(), "answerBefore": 0, "plan": plan}
    )
    world.create([21], "meanwhile")
    # WHEN the batch is sent again with its key
    result = world.batches.run(request, "b-1")
    # THEN the untouched group is submitted and the taken one is a conflict naming why
    assert result.outcome == Outcome.BATCHED
    by_warehouse = {entry["warehouseId"]: entry for entry in result.body["resends"]}
    assert by_warehouse[NJ]["status"] == "SUBMITTED"
    assert by_warehouse[HAMBURG]["status"] == "CONFLICT" and by_warehouse[HAMBURG]["resendRequestId"] is None
    assert "reserved" in by_warehouse[HAMBURG]["errors"][0]["message"]


def test_a_batch_again_replays_and_a_group_created_by_a_dead_call_is_answered_from_its_record():
    world = Workflow()
    ids = world.items(31, 32)
    request = batch(ids)
    first = world.batches.run(request, "b-2")
    assert world.batches.run(request, "b-2").decision == Outcome.BATCHED  # replayed, nothing new
    # GIVEN the first call's result lost (it died after creating the group)
    record = world.batch_records.records["b-2"]
    del record["entries"]
    record["answerBefore"] = 0
    # WHEN the batch runs again THEN the group's create replays its stored answer: SUBMITTED, created once
    again = world.batches.run(request, "b-2")
    assert again.outcome == Outcome.BATCHED and again.body["resends"] == first.body["resends"]
    assert again.body["resends"][0]["resendRequestId"] == request_id_for(group_key("b-2", 0))
    assert len(world.upstream.calls_of("createResend")) == 1


def test_a_group_without_an_answer_makes_the_batch_undecided():
    world = Workflow(service_types={NJ: ServiceTypesUnavailable("HTTP 503")})
    world.items(41)
    result = world.batches.run(batch([41]), "b-3")
    assert result.outcome == Outcome.UNAVAILABLE and result.undecided
    assert world.batch_records.records["b-3"]["answerBefore"] == 0  # a retry may carry on at once
    assert world.inventories.get(41).active_resend_request_id is None


def test_the_batch_path_creates_each_group_through_the_resend_path():
    world = Workflow()
    ids = world.items(51)
    result = world.batches.run(batch(ids), "b-4")
    [entry] = result.body["resends"]
    assert entry["status"] == "SUBMITTED"
    created = world.records.get(entry["resendRequestId"])
    assert created["request"] == CreateResendRequest.model_validate(resend_body(ids)).upstream_body()
