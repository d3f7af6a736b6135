"""The README's Demo as a test: one resend told end to end, then hold -> quote -> batch.

`make test` runs it against the session's stack. `make demo` runs it against the stack `make run`
started (DEMO_STACK names that stack's stack.json) with pytest -s, so each step is printed: two
parcels arrive through signed webhooks from the emulator and are listed as eligible; Return Helper
is made to refuse createResend three times; POST /resends answers 202 PENDING and the retry worker
and the emulated warehouse take it to COMPLETED, created once upstream; then a hold, a quote and a
batch at two warehouses, created once per group even when repeated. Last, what Return Helper says about an
item (contract section 11): a parcel arrives with photos and the customer's order reference and is found by it;
the warehouse relabels it (RMA swap); a consolidation order takes it (not eligible) until it is cancelled.
Then the README's walk-throughs (contract section 12): an order filled from returned stock at two warehouses, the
cheaper one chosen; an instruction registered before its parcel comes back and resent when it arrives; and an
instruction whose parcel arrives fraud-flagged, which waits for approval (AWAITING_APPROVAL, nothing upstream) until
it is approved. The stack has no APPROVAL_FEE_THRESHOLD (off by default): the fraud flag makes a resend wait whatever
the threshold, so the demo needs no setting of the stack it is shown on.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.integration

WAREHOUSE_ID, OTHER_WAREHOUSE_ID = 2, 5
COMPLETED_WITHIN_SECONDS = 90
HTTP_TIMEOUT_SECONDS = 35  # one inline upstream call (UPSTREAM_TIMEOUT_SECONDS) plus bookkeeping
# What Return Helper answers the first three createResend calls with.
CREATE_FAULTS = [
    {"kind": "http5xx", "status": 503},
    {"kind": "http5xx", "status": 502},
    {"kind": "http429", "retryAfter": 1},
]
# A made-up recipient: the shape CreateResend wants, nothing real.
DEMO_SHIPMENT = {
    "shipmentCountryCode": "usa",
    "shipmentName": "Demo Recipient",
    "shipmentPhone": "5550100",
    "shipmentEmail": "demo@example.com",
    "shipmentStreet1": "1 Demo Street",
    "shipmentStreet2": "",
    "shipmentState": "NJ",
    "shipmentCity": "Edison",
    "shipmentPostalCode": "08817",
}
# The batch's destination: both emulated warehouses ship there, each with two services.
BATCH_SHIPMENT = {**DEMO_SHIPMENT, "shipmentServiceType": "cheapest", "shipmentCountryCode": "gbr"}
BATCH_SHIPMENT.update(shipmentState="NA", shipmentCity="London", shipmentPostalCode="SW1A 1AA")
ORDER = ["PENDING", "SUBMITTED", "IN_PROGRESS", "COMPLETED"]
MATCHED_WITHIN_SECONDS = 60  # the inventory stream read by InventoryReferenceFunction, then the resend
FRAUD_FLAG = {"isFraudulent": True, "reasonCode": "FR01"}


@pytest.fixture
def demo_stack(request) -> dict:
    """The stack `make run` started (DEMO_STACK: its stack.json), else the session's."""
    path = os.environ.get("DEMO_STACK")
    if not path:
        return request.getfixturevalue("stack")
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        pytest.exit(f"{path} not found: start the local stack first (`make run` in another terminal)", returncode=1)


def test_the_demo_story(demo_stack):
    Demo(demo_stack).run()


def _item(item: dict) -> str:
    return (
        f"    {item['returnInventoryId']}: {item['handlingCode']}/{item['handlingStatusCode']}, "
        f"in stock {item['inStock']}, eligible {item['eligibleForResend']}"
    )


def until(read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 10.0) -> Any:
    """read() until done(answer) or the time is up; the last answer either way."""
    deadline = time.monotonic() + seconds
    while not done(answer := read()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return answer


class Demo:
    """The story's steps against one running stack, each printed (pytest -s shows them)."""

    def __init__(self, stack: dict, say: Callable[[str], None] = print) -> None:
        if not stack.get("emulator"):
            pytest.skip("the stack runs without the emulator (RH_API_BASE_URL is set)")
        self.api_url, self.emulator = stack["api"].rstrip("/"), stack["emulator"].rstrip("/")
        self.api_key, self.say, self.http = stack["apiKey"], say, requests.Session()

    def api(self, method: str, path: str, expect: int | None = 200, **kwargs: Any) -> Any:
        """The merchant API's answer (JSON); with expect=None the response itself."""
        kwargs["headers"] = {"x-api-key": self.api_key, **kwargs.get("headers", {})}
        kwargs.setdefault("timeout", HTTP_TIMEOUT_SECONDS)
        response = self.http.request(method, self.api_url + path, **kwargs)
        if expect is None:
            return response
        assert response.status_code == expect, f"{method} {path} -> {response.status_code}: {response.text}"
        return response.json()

    def control(self, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
        url = f"{self.emulator}/_emulator{path}"
        response = self.http.request(method, url, json=body, params=params, timeout=HTTP_TIMEOUT_SECONDS)
        assert response.status_code < 300, f"emulator {method} {path} -> {response.status_code}: {response.text}"
        return response.json()

    def step(self, number: int, title: str) -> None:
        self.say(f"\n[{number}] {title}")

    def run(self) -> None:
        self.api("GET", "/health")
        self.say(f"stack: API {self.api_url}, Return Helper emulator {self.emulator}")
        self.step(1, f"2 parcels arrive at warehouse {WAREHOUSE_ID} (signed newInventoryCreated webhooks)")
        ids = self.arrive_parcels(2)
        self.show_eligible(ids)
        service_type = self.pick_service_type()
        self.inject_faults()
        request_id, key = self.create_resend(ids, service_type)
        view = self.follow(request_id)
        self.check_upstream_once(key)
        self.check_shipped(ids)
        held = self.hold()
        self.quote(held)
        batch = self.batch(held)
        parcel = self.arrive_with_photos_and_reference()
        self.swap_rma(parcel)
        self.consolidate(parcel)
        fulfilment = self.fill_an_order()
        instructed = self.resend_when_it_comes_back(service_type)
        approved = self.wait_for_approval(service_type)
        self.say(f"\ndone: resend {request_id} COMPLETED, tracking number {view['trackingNumber']}")
        self.say(f"      batch {batch['batchKey']}: {len(batch['resends'])} resends, each created once")
        self.say(f"      fulfilment {fulfilment}, instruction {instructed} and approved {approved}: COMPLETED")

    def view(self, inventory_id: int) -> dict[str, Any]:
        return self.api("GET", f"/inventories/{inventory_id}")

    def view_until(self, inventory_id: int, done: Callable[[dict], bool], what: str) -> dict[str, Any]:
        view = until(lambda: self.view(inventory_id), done, seconds=20.0)
        assert done(view), f"{inventory_id} did not come to {what}: {json.dumps(view)}"
        return view

    def arrive(self, warehouse_id: int, sku: str, **more: Any) -> int:
        """One parcel announced by the emulator's signed webhook (`more`: the control API's other fields)."""
        result = self.control("POST", "/inventories", {"warehouseId": warehouse_id, "sku": sku, **more})
        inventory_id, webhook = result["inventory"]["returnInventoryId"], result["webhook"] or {}
        assert webhook.get("status") == 200, f"the webhook for parcel {inventory_id} was refused: {webhook}"
        self.say(f"    parcel {inventory_id} (sku {sku}) arrived at {warehouse_id}: {webhook['action']} webhook 200")
        return inventory_id

    def arrive_parcels(self, count: int, warehouse_id: int = WAREHOUSE_ID) -> list[int]:
        run = uuid.uuid4().hex[:6].upper()
        return [self.arrive(warehouse_id, f"DEMO-{run}-{n}") for n in range(1, count + 1)]

    def eligible(self) -> list[dict]:
        items, token = [], None
        while True:
            params = {"warehouseId": WAREHOUSE_ID, "eligible": "true", **({"nextToken": token} if token else {})}
            page = self.api("GET", "/inventories", params=params)
            items += page["items"]
            if not (token := page.get("nextToken")):
                return items

    def show_eligible(self, ids: list[int]) -> None:
        self.step(2, f"GET /inventories?warehouseId={WAREHOUSE_ID}&eligible=true")
        listed = until(self.eligible, lambda items: set(ids) <= {item["returnInventoryId"] for item in items})
        ours = sorted((i for i in listed if i["returnInventoryId"] in ids), key=lambda i: i["returnInventoryId"])
        assert [i["returnInventoryId"] for i in ours] == sorted(ids), "the parcels are not listed as eligible"
        for item in ours:
            self.say(_item(item))
        self.say(f"    ({len(listed)} eligible in warehouse {WAREHOUSE_ID} in all)")

    def pick_service_type(self) -> str:
        self.step(3, f"GET /service-types?warehouseId={WAREHOUSE_ID}: a shipment service that ships to 'usa'")
        types = self.api("GET", "/service-types", params={"warehouseId": WAREHOUSE_ID})["items"]
        ships_to_usa = [t for t in types if "usa" in {p["toCountryCode"].lower() for p in t["countryCodePairList"]}]
        assert ships_to_usa, f"no service type of warehouse {WAREHOUSE_ID} ships to the USA: {types}"
        chosen = ships_to_usa[0]
        self.say(f"    {len(types)} service types; picked {chosen['serviceTypeCode']} ({chosen['serviceType']})")
        return chosen["serviceTypeCode"]

    def inject_faults(self) -> None:
        self.step(4, "Return Helper will refuse the next createResend calls: 503, 502, then 429 (Retry-After 1)")
        self.control("DELETE", "/faults", params={"operation": "createResend"})
        self.control("POST", "/faults", {"operation": "createResend", "faults": CREATE_FAULTS})
        config = self.control("POST", "/config", {"autoProgress": True, "outcome": "completed"})
        self.say(
            f"    the emulated warehouse starts {config['inProgressAfterSeconds']:g} s after acceptance "
            f"and ships {config['completeAfterSeconds']:g} s later"
        )

    def create_resend(self, ids: list[int], service_type: str) -> tuple[str, str]:
        key = f"demo-{uuid.uuid4()}"
        self.step(5, f"POST /resends for {ids} with Idempotency-Key {key}")
        shipment = {"shipmentServiceType": service_type, **DEMO_SHIPMENT}
        body = {"returnInventoryIdList": ids, "description": "make demo", "remarks": "", "resendShipment": shipment}
        answer = self.api("POST", "/resends", 202, json=body, headers={"Idempotency-Key": key})
        assert answer["status"] == "PENDING", answer
        self.say(f"    202 PENDING, resendRequestId {answer['resendRequestId']} (the inline call got a 503)")
        return answer["resendRequestId"], key

    def follow(self, request_id: str, step: int = 6) -> dict[str, Any]:
        self.step(step, f"GET /resends/{request_id} until COMPLETED (within {COMPLETED_WITHIN_SECONDS} s)")
        started, last = time.monotonic(), None
        while True:
            view = self.api("GET", f"/resends/{request_id}")
            status, seen = view["status"], (view["status"], view.get("attempts"), view.get("trackingNumber"))
            if seen != last:
                self.say(f"    +{time.monotonic() - started:5.1f} s  {self._describe(view)}")
                assert status in ORDER, f"the resend ended {status}: {json.dumps(view.get('lastError'))}"
                assert not last or ORDER.index(status) >= ORDER.index(last[0]), f"{last[0]} moved back to {status}"
                last = seen
            if status == "COMPLETED" and view.get("trackingNumber"):
                return view
            elapsed = time.monotonic() - started
            assert elapsed < COMPLETED_WITHIN_SECONDS, f"still {status} after {view.get('attempts')} attempt(s)"
            time.sleep(0.5)

    @staticmethod
    def _describe(view: dict[str, Any]) -> str:
        line = f"{view['status']}, attempts {view.get('attempts')}"
        if view.get("resendNumber"):
            line += f", Return Helper {view['resendNumber']}"
        if view.get("trackingNumber"):
            line += f", tracking {view['trackingNumber']}"
        if view["status"] == "PENDING" and isinstance(error := view.get("lastError"), dict):
            line += f" (last error: {error.get('detail') or error.get('errorCode') or json.dumps(error)})"
        return line

    def check_upstream_once(self, key: str) -> None:
        calls, created = self.upstream_creations(key)
        self.say(f"    Return Helper saw {calls} createResend calls with the key and created {created} resend")
        assert created == 1, f"Return Helper created {created} resends for one request"

    def upstream_creations(self, key: str) -> tuple[int, int]:
        """The createResend calls Return Helper saw with this idempotency key, and the resends it created."""
        state = self.control("GET", "/state")
        return state["createResendCalls"].get(key, 0), state["createdPerIdempotencyKey"].get(key, 0)

    def check_shipped(self, ids: list[int]) -> None:
        self.step(7, "GET /inventories/{id}: the items were resent")

        def shipped(items: list[dict]) -> bool:
            resent = ("rsd", "completed", False)
            return all((i["handlingCode"], i["handlingStatusCode"], i["inStock"]) == resent for i in items)

        items = until(lambda: [self.api("GET", f"/inventories/{i}") for i in ids], shipped)
        for item in items:
            self.say(_item(item))
        assert shipped(items), "the items should read rsd/completed and not in stock after COMPLETED"

    def hold(self) -> int:
        self.step(8, "a parcel arrives tbc; POST /inventories/{id}/hold puts it on hold (ohd)")
        [inventory_id] = self.arrive_parcels(1)
        before = self.api("GET", f"/inventories/{inventory_id}")
        view = self.api("POST", f"/inventories/{inventory_id}/hold")
        self.say(
            f"    {inventory_id}: {before['handlingCode']}/{before['handlingStatusCode']} -> "
            f"{view['handlingCode']}/{view['handlingStatusCode']}, eligible {view['eligibleForResend']}"
        )
        assert view["handlingCode"] == "ohd", view
        return inventory_id

    def quote(self, inventory_id: int) -> None:
        self.step(9, f"POST /resends/quote for [{inventory_id}] to gbr")
        body = {"returnInventoryIdList": [inventory_id], "shipmentCountryCode": "gbr", "shipmentPostalCode": "SW1A 1AA"}
        quote = self.api("POST", "/resends/quote", json=body)
        for item in quote["items"]:
            fee = f"{item['fee']:7.2f} {item['currencyCode']}"
            self.say(f"    {fee}  {item['serviceTypeCode']} ({item['serviceTypeName']})")
        assert not any(item["serviceTypeCode"].startswith("RETURN_") for item in quote["items"]), quote
        self.say(f"    cheapest: {quote['cheapestServiceTypeCode']}")

    def batch(self, held: int) -> dict[str, Any]:
        self.step(10, "POST /resends/batch: parcels at warehouses 2 and 5, holdFirst, the cheapest service per group")
        ids = [held, *self.arrive_parcels(2), *self.arrive_parcels(1, OTHER_WAREHOUSE_ID)]
        key = f"demo-batch-{uuid.uuid4()}"
        body = {"returnInventoryIdList": ids, "holdFirst": True, "resendShipment": BATCH_SHIPMENT}
        result = self.api("POST", "/resends/batch", json=body, headers={"Idempotency-Key": key})
        for entry in result["resends"]:
            self.say(
                f"    warehouse {entry['warehouseId']}: {entry['returnInventoryIdList']} -> {entry['status']} "
                f"via {entry['shipmentServiceType']} (resendRequestId {entry['resendRequestId']})"
            )
        again = self.api("POST", "/resends/batch", json=body, headers={"Idempotency-Key": key})
        same = [e["resendRequestId"] for e in again["resends"]] == [e["resendRequestId"] for e in result["resends"]]
        calls = self.control("GET", "/state")["createResendCalls"]
        per_group = {k: v for k, v in calls.items() if k.startswith(key + "#")}
        self.say(f"    the same call again: same resends {same}; createResend calls per group {per_group}")
        assert same and len(per_group) == len(result["resends"]) == 2 and set(per_group.values()) == {1}, per_group
        # Submitted, or already further: the emulator's progress webhook can land before the batch answers.
        assert {e["status"] for e in result["resends"]} <= {"SUBMITTED", "IN_PROGRESS", "COMPLETED"}, result
        return result

    def arrive_with_photos_and_reference(self) -> int:
        reference = f"ORDER-DEMO-{uuid.uuid4().hex[:6].upper()}"
        self.step(11, f"a parcel with two photos and the order reference {reference} (signed rsl/assignUnknown)")
        photos = [f"https://files.example.com/images/returns/demo/{reference}-{side}.jpg" for side in ("front", "box")]
        body = {"warehouseId": WAREHOUSE_ID, "event": "assignUnknown", "sellerReferenceNumber": reference}
        result = self.control("POST", "/inventories", {**body, "imageUrls": photos})
        inventory, webhook = result["inventory"], result["webhook"] or {}
        inventory_id = inventory["returnInventoryId"]
        assert webhook.get("status") == 200, f"the webhook for parcel {inventory_id} was refused: {webhook}"
        view = self.view(inventory_id)
        self.say(
            f"    GET /inventories/{inventory_id}: sellerReferenceNumber {view['sellerReferenceNumber']}, "
            f"loggedAt {view['loggedAt']}"
        )
        for url in view["imageUrls"] or ():
            self.say(f"      photo {url}")
        assert (view["sellerReferenceNumber"], view["imageUrls"]) == (reference, photos), view
        # loggedAt is when Return Helper logged the item (its createOn), not when this stack heard of it
        assert (view["loggedAt"] or "").startswith(inventory["createOn"]), (view["loggedAt"], inventory["createOn"])
        found = until(
            lambda: self.api("GET", "/inventories", params={"sellerReferenceNumber": reference})["items"],
            lambda items: inventory_id in {item["returnInventoryId"] for item in items},
        )
        assert [item["returnInventoryId"] for item in found] == [inventory_id], found
        self.say(f"    GET /inventories?sellerReferenceNumber={reference}: [{inventory_id}] (the look-up is indexed)")
        return inventory_id

    def swap_rma(self, inventory_id: int) -> None:
        self.step(12, f"the warehouse relabels {inventory_id} (signed notifyUserRmaSwapped)")
        before = self.view(inventory_id)["rma"]
        result = self.control("POST", f"/inventories/{inventory_id}/rma-swap")
        new_rma = result["inventory"]["rma"]
        assert (result["webhook"] or {}).get("status") == 200, result["webhook"]
        view = self.view_until(inventory_id, lambda view: view["rma"] == new_rma, f"rma {new_rma}")
        self.say(f"    rma {before} -> {view['rma']}")

    def consolidate(self, inventory_id: int) -> None:
        self.step(13, f"a consolidation order packs {inventory_id} (consolidateShippingOrderInventoryAllPacked)")
        result = self.control("POST", "/consolidations", {"returnInventoryIdList": [inventory_id]})
        order_id = result["order"]["consolidateShippingOrderId"]
        assert (result["webhook"] or {}).get("status") == 200, result["webhook"]
        packed = self.view_until(
            inventory_id,
            lambda view: (view["workflow"], view["eligibleForResend"]) == ("consolidation", False),
            "the consolidation workflow",
        )
        self.say(f"    order {order_id}: workflow {packed['workflow']}, eligible {packed['eligibleForResend']}")
        self.step(14, f"the order is cancelled (consolidateShippingOrderCancelled names only {order_id})")
        result = self.control("POST", f"/consolidations/{order_id}/cancel")
        assert (result["webhook"] or {}).get("status") == 200, result["webhook"]
        freed = self.view_until(
            inventory_id, lambda view: (view["workflow"], view["eligibleForResend"]) == (None, True), "free again"
        )
        self.say(f"    {inventory_id}: workflow {freed['workflow']}, eligible {freed['eligibleForResend']}")

    # ------------------------------------------------------------------ the README's walk-throughs (section 12)
    def chapter(self, title: str) -> None:
        self.say(f"\n=== {title} ===")

    def stock(self, sku: str, ship_to: str) -> dict[int, dict]:
        units = self.api("GET", "/stock", params={"sku": sku, "shipTo": ship_to})["units"]
        return {unit["warehouseId"]: unit for unit in units}

    def cheapest_fee(self, ids: list[int]) -> float:
        body = {"returnInventoryIdList": ids, "shipmentCountryCode": "gbr", "shipmentPostalCode": "SW1A 1AA"}
        quote = self.api("POST", "/resends/quote", json=body)
        [cheapest] = [item for item in quote["items"] if item["serviceTypeCode"] == quote["cheapestServiceTypeCode"]]
        self.say(
            f"    warehouse {quote['warehouseId']}: {cheapest['fee']:.2f} {cheapest['currencyCode']} "
            f"via {cheapest['serviceTypeCode']} for {ids}"
        )
        return float(cheapest["fee"])

    def fill_an_order(self) -> str:
        self.chapter("Fill an order from returned stock")
        sku = f"DEMO-HOODIE-{uuid.uuid4().hex[:6].upper()}"
        self.step(15, f"2 units of {sku} come back to each of warehouses {WAREHOUSE_ID} and {OTHER_WAREHOUSE_ID}")
        arrived = {w: [self.arrive(w, sku), self.arrive(w, sku)] for w in (WAREHOUSE_ID, OTHER_WAREHOUSE_ID)}
        self.step(16, f"GET /stock?sku={sku}&shipTo=gbr: eligible units per warehouse (both ship to Great Britain)")
        two_each = {warehouse_id: 2 for warehouse_id in arrived}
        units = until(
            lambda: self.stock(sku, "gbr"), lambda u: {w: unit["eligible"] for w, unit in u.items()} == two_each
        )
        for warehouse_id, unit in sorted(units.items()):
            self.say(
                f"    warehouse {warehouse_id}: eligible {unit['eligible']} (on hold {unit['onHold']}, "
                f"to be confirmed {unit['toBeConfirmed']}), oldest logged {unit['oldestLoggedAt']}"
            )
        assert {w: unit["eligible"] for w, unit in units.items()} == two_each, units
        self.step(17, "POST /resends/quote: what 2 units cost to London from each warehouse")
        fees = {w: self.cheapest_fee(ids) for w, ids in arrived.items()}
        cheaper = min(fees, key=fees.__getitem__)
        assert len(set(fees.values())) == 2, f"the warehouses' fees should differ: {fees}"
        key = f"demo-order-{uuid.uuid4()}"
        self.step(18, f'POST /fulfilments: 2 x {sku} to London, "cheapest", holdFirst (Idempotency-Key {key})')
        order = {
            "orderReference": f"ORDER-{uuid.uuid4().hex[:6].upper()}",
            "lines": [{"sku": sku, "quantity": 2}],
            "resendShipment": BATCH_SHIPMENT,
            "holdFirst": True,
        }
        fulfilment = self.api("POST", "/fulfilments", 201, json=order, headers={"Idempotency-Key": key})
        [entry] = fulfilment["resends"]
        self.say(
            f"    201 {fulfilment['status']}, fulfilmentId {fulfilment['fulfilmentId']}: warehouse "
            f"{entry['warehouseId']} {entry['returnInventoryIdList']} via {entry['shipmentServiceType']} -> "
            f"{entry['status']}, unfilled {fulfilment['unfilled']}"
        )
        assert (fulfilment["status"], fulfilment["unfilled"], entry["warehouseId"]) == ("CREATED", [], cheaper)
        assert sorted(entry["returnInventoryIdList"]) == sorted(arrived[cheaper]), entry
        nothing = {**order, "lines": [{"sku": f"{sku}-NONE", "quantity": 1}]}
        refused = self.api("POST", "/fulfilments", 409, json=nothing, headers={"Idempotency-Key": f"{key}-none"})
        self.say(f"    an order for a SKU with no returned stock: 409, unfilled {refused['unfilled']}")
        self.follow(entry["resendRequestId"], step=19)
        read = self.api("GET", f"/fulfilments/{fulfilment['fulfilmentId']}")
        self.say(
            f"    GET /fulfilments/{read['fulfilmentId']}: {read['status']}, resend {read['resends'][0]['status']}"
        )
        assert read["resends"][0]["status"] == "COMPLETED", read
        gone = until(lambda: self.stock(sku, "gbr"), lambda u: u.get(cheaper, {}).get("eligible", 0) == 0)
        left = ", ".join(f"warehouse {w}: {unit['eligible']}" for w, unit in sorted(gone.items()))
        self.say(f"    GET /stock now: {left} eligible (warehouse {cheaper}'s units are shipped)")
        assert gone.get(cheaper, {}).get("eligible", 0) == 0, gone
        return fulfilment["fulfilmentId"]

    def register(self, match: dict[str, str], service_type: str) -> dict[str, Any]:
        body = {"match": match, "resendShipment": {"shipmentServiceType": service_type, **DEMO_SHIPMENT}}
        key = f"demo-instruction-{uuid.uuid4()}"
        instruction = self.api("POST", "/instructions", 201, json=body, headers={"Idempotency-Key": key})
        self.say(f"    201 {instruction['status']}, instructionId {instruction['instructionId']}, match {match}")
        assert instruction["status"] == "WAITING", instruction
        return instruction

    def matched(self, instruction_id: str) -> dict[str, Any]:
        instruction = until(
            lambda: self.api("GET", f"/instructions/{instruction_id}"),
            lambda view: view["status"] != "WAITING",
            seconds=MATCHED_WITHIN_SECONDS,
        )
        self.say(
            f"    GET /instructions/{instruction_id}: {instruction['status']}, item "
            f"{instruction['returnInventoryId']}, resendRequestId {instruction['resendRequestId']}"
        )
        assert instruction["status"] == "MATCHED" and instruction["resendRequestId"], instruction
        return instruction

    def resend_when_it_comes_back(self, service_type: str) -> str:
        self.chapter("Resend a parcel when it comes back")
        tracking = f"1ZDEMO{uuid.uuid4().hex[:10].upper()}"
        self.step(20, f"POST /instructions: when the parcel with tracking number {tracking} comes back, resend it")
        instruction = self.register({"inboundTrackingNumber": tracking}, service_type)
        self.step(21, f"the parcel arrives at warehouse {WAREHOUSE_ID} (signed newInventoryCreated, tbc)")
        self.arrive(WAREHOUSE_ID, f"DEMO-RETURNED-{tracking[-6:]}", trackingNumber=tracking)
        self.step(22, "the instruction matches it: held, then resent under the key instruction:<instructionId>")
        matched = self.matched(instruction["instructionId"])
        self.follow(matched["resendRequestId"], step=23)
        self.check_upstream_once(f"instruction:{instruction['instructionId']}")
        return instruction["instructionId"]

    def awaiting_approval(self) -> list[str]:
        ids, token = [], None
        while True:
            params = {"status": "AWAITING_APPROVAL", "limit": 100, **({"nextToken": token} if token else {})}
            page = self.api("GET", "/resends", params=params)
            ids += [view["resendRequestId"] for view in page["items"]]
            if not (token := page.get("nextToken")):
                return ids

    def wait_for_approval(self, service_type: str) -> str:
        self.chapter("A fraud-flagged parcel's resend waits for approval")
        reference = f"ORDER-DEMO-{uuid.uuid4().hex[:6].upper()}"
        self.step(24, f"POST /instructions: resend what comes back with the order reference {reference}")
        instruction = self.register({"sellerReferenceNumber": reference}, service_type)
        self.step(25, "it arrives, and the warehouse flags it as fraudulent (signed rsl/assignUnknown, FR01)")
        body = {"event": "assignUnknown", "sellerReferenceNumber": reference, "fraudFlag": FRAUD_FLAG}
        inventory_id = self.arrive(WAREHOUSE_ID, f"DEMO-FLAGGED-{reference[-6:]}", **body)
        self.step(26, "the instruction matches it, and its resend waits: AWAITING_APPROVAL, nothing sent upstream")
        request_id = self.matched(instruction["instructionId"])["resendRequestId"]
        waiting = self.api("GET", f"/resends/{request_id}")
        flag = self.view(inventory_id)["fraudFlag"]
        self.say(
            f"    GET /resends/{request_id}: {waiting['status']}, approvalReason {waiting['approvalReason']}"
            f" (item {inventory_id}: fraudFlag {flag})"
        )
        listed = request_id in self.awaiting_approval()
        key = f"instruction:{instruction['instructionId']}"
        calls, _ = self.upstream_creations(key)
        self.say(f"    GET /resends?status=AWAITING_APPROVAL lists it: {listed}; createResend calls so far: {calls}")
        assert (waiting["status"], waiting["approvalReason"]) == ("AWAITING_APPROVAL", "fraudFlag"), waiting
        assert (listed, calls, flag) == (True, 0, FRAUD_FLAG), waiting
        self.step(27, f"POST /resends/{request_id}/approve: a person looked at it; it is sent")
        approved = self.api("POST", f"/resends/{request_id}/approve")
        self.say(f"    200 {self._describe(approved)}")
        assert approved["status"] in ORDER, approved
        again = self.api("POST", f"/resends/{request_id}/approve")
        self.api("POST", f"/resends/{request_id}/reject", 409)  # reject after an approve
        self.say(f"    approve again: 200 {again['status']}; reject now: 409")
        self.follow(request_id, step=28)
        self.check_upstream_once(key)
        return request_id
