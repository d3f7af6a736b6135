"""The Return Helper sandbox emulator, over real HTTP: user API, idempotency, faults, signed webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from local.emulator import EmulatorServer
from rh_common.domain import timestamps
from rh_common.domain.webhook_events import normalise
from tests.support.resend import SHIPMENT

SIGNING_KEY = base64.b64encode(b"emulator-test-signing-key-32byte").decode()
API_KEY, API_TOKEN = "test-api-key", "test-api-token"
AUTH = {"x-rr-apikey": API_KEY, "x-rr-apitoken": API_TOKEN}


def expected_signature(url: str, timestamp: str, raw_body: bytes) -> str:
    """Return Helper's algorithm, recomputed independently of the code under test."""
    message = b"POST" + url.encode() + timestamp.encode() + raw_body
    return base64.b64encode(hmac.new(base64.b64decode(SIGNING_KEY), message, hashlib.sha256).digest()).decode()


class Receiver:
    """A tiny webhook endpoint that records every delivery's headers and exact bytes."""

    def __init__(self) -> None:
        deliveries: queue.Queue = queue.Queue()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                deliveries.put({"headers": {k.lower(): v for k, v in self.headers.items()}, "raw": raw})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.deliveries = deliveries
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks/returnhelper"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def next(self, action: str, timeout: float = 5.0) -> dict:
        """The next delivery of ``action`` (others are skipped), with its body parsed."""
        deadline = time.monotonic() + timeout
        while True:
            delivery = self.deliveries.get(timeout=max(0.01, deadline - time.monotonic()))
            delivery["json"] = json.loads(delivery["raw"])
            if delivery["json"]["action"] == action:
                return delivery


@pytest.fixture(scope="module")
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.httpd.shutdown()
    receiver.httpd.server_close()


@pytest.fixture(scope="module")
def server(receiver):
    with EmulatorServer("127.0.0.1", 0, receiver.url, SIGNING_KEY, API_KEY, API_TOKEN) as server:
        yield server


DEFAULT_CONFIG = {
    "autoProgress": False,
    "inProgressAfterSeconds": 2.0,
    "completeAfterSeconds": 3.0,
    "outcome": "completed",
}


@pytest.fixture
def emu(server, receiver):
    requests.post(f"{server.url}/_emulator/config", json=DEFAULT_CONFIG, timeout=5).raise_for_status()
    requests.post(f"{server.url}/_emulator/reset", timeout=5).raise_for_status()
    requests.delete(f"{server.url}/_emulator/faults", timeout=5).raise_for_status()
    while not receiver.deliveries.empty():
        receiver.deliveries.get_nowait()
    return server


def call(server, method: str, path: str, timeout: float = 5.0, **kwargs) -> requests.Response:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    return requests.request(method, server.api_base + path, headers=headers, timeout=timeout, **kwargs)


def control(server, method: str, path: str, body: dict | None = None) -> dict:
    response = requests.request(method, f"{server.url}/_emulator{path}", json=body, timeout=15)
    assert response.status_code < 300, response.text
    return response.json()


def arrive(server, warehouse_id: int = 2, **extra) -> int:
    return control(server, "POST", "/inventories", {"warehouseId": warehouse_id, **extra})["inventory"][
        "returnInventoryId"
    ]


def resend_body(*inventory_ids: int, **shipment) -> dict:
    return {
        "returnInventoryIdList": list(inventory_ids),
        "description": "ORDER-1",
        "remarks": "",
        "resendShipment": {**SHIPMENT, **shipment},
    }


def create(server, body: dict, key: str | None = None, **kwargs) -> requests.Response:
    headers = {"x-returnhelper-idempotency-key": key} if key else {}
    return call(server, "POST", "/Resend/createResend", json=body, headers=headers, **kwargs)


def assert_ok(response: requests.Response) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"] == {"status": 200, "data": {}, "errorCode": None, "error": {}}
    assert body["correlationId"].startswith("EMU")
    return body


def assert_soft_error(response: requests.Response, error_code: str, key: str) -> str:
    assert response.status_code == 200, response.text
    meta = response.json()["meta"]
    assert (meta["status"], meta["errorCode"]) == (400, error_code)
    assert isinstance(meta["error"][key], str)
    return meta["error"][key]


def push_fault(server, operation: str, **fault) -> None:
    control(server, "POST", "/faults", {"operation": operation, "faults": [fault]})


# -- auth, routing, reference data ------------------------------------------------------------------


def test_user_api_without_valid_credentials_is_a_bare_401(emu):
    # GIVEN no credentials, or a wrong token
    # WHEN the user API is called
    bare = requests.get(emu.api_base + "/Shipment/getAvailableShipmentServiceType?warehouseId=2", timeout=5)
    wrong = call(
        emu, "GET", "/Shipment/getAvailableShipmentServiceType?warehouseId=2", headers={"x-rr-apitoken": "nope"}
    )
    # THEN both are a real HTTP 401 without the envelope
    assert (bare.status_code, bare.content) == (401, b"")
    assert (wrong.status_code, wrong.content) == (401, b"")


def test_unknown_path_is_404_and_paths_are_case_insensitive(emu):
    # GIVEN valid credentials
    # WHEN an unknown path and a differently-cased known path are called
    unknown = call(emu, "GET", "/Resend/nope")
    lower = call(emu, "GET", "/shipment/getavailableshipmentservicetype?WAREHOUSEID=5")
    # THEN the unknown one is a 404 and the known one answers
    assert unknown.status_code == 404
    assert {t["serviceTypeCode"] for t in assert_ok(lower)["data"]} >= {"SHIPMENT_DHL_PAKET_DE"}


def test_a_wrong_method_is_405_with_allow_and_an_unknown_control_route_is_404_json(emu):
    # GIVEN valid credentials
    # WHEN an operation is called with the wrong method, and the control API at a route it lacks
    wrong = call(emu, "GET", "/Resend/createResend")
    unknown = requests.put(f"{emu.url}/_emulator/faults", timeout=5)
    # THEN the first is a bare 405 naming the method, the second a JSON 404; neither counts as a call
    assert (wrong.status_code, wrong.headers["Allow"], wrong.content) == (405, "POST", b"")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "no control route PUT /_emulator/faults"})
    assert control(emu, "GET", "/state")["createResendCalls"] == {}


def test_a_chunked_body_reaches_the_operation_whole(emu):
    # GIVEN / WHEN a createResend body sent chunked (a generator body makes requests chunk it)
    raw = json.dumps(resend_body(arrive(emu))).encode()
    response = create(emu, None, key="k-chunked", data=(raw[i : i + 7] for i in range(0, len(raw), 7)))
    # THEN it was read whole: the resend exists
    assert_ok(response)
    assert control(emu, "GET", "/state")["createdPerIdempotencyKey"] == {"k-chunked": 1}


def test_service_types_envelope_lists_only_shipment_codes(emu):
    # GIVEN warehouse 2 (US, NJ)
    # WHEN its shipment service types are listed
    body = assert_ok(call(emu, "GET", "/Shipment/getAvailableShipmentServiceType?warehouseId=2"))
    # THEN they sit under data with country pairs from usa, and no return-type code is among them
    codes = {entry["serviceTypeCode"]: entry for entry in body["data"]}
    assert "SHIPMENT_USPS_GA_SIG_NJ" in codes and "RETURN_DHL_PARCEL_GROUND_WA" not in codes
    pair = codes["SHIPMENT_UPS_GROUND_NJ"]["countryCodePairList"][0]
    assert set(pair) == {"warehouseId", "description", "fromCountryCode", "toCountryCode"}
    assert (pair["warehouseId"], pair["fromCountryCode"]) == (2, "usa")
    assert {p["toCountryCode"] for p in codes["SHIPMENT_UPS_GROUND_NJ"]["countryCodePairList"]} == {"usa", "can"}
    assert isinstance(codes["SHIPMENT_UPS_GROUND_NJ"]["serviceType"], str)


def test_unknown_warehouse_is_a_soft_error(emu):
    # GIVEN / WHEN a warehouse the emulator does not know is asked for
    response = call(emu, "GET", "/Shipment/getAvailableShipmentServiceType?warehouseId=99")
    # THEN it is a soft error keyed by the property
    assert_soft_error(response, "VALIDATION_FAILED", "warehouseId")


def test_resend_statuses_are_listed_without_auth_on_the_public_api(emu):
    # GIVEN / WHEN the public reference list is read without credentials
    response = requests.get(f"{emu.url}/uat/public/api/resendstatus/getAllResendStatus", timeout=5)
    # THEN it carries codes 0..4 with their labels
    statuses = {s["resendStatusCode"]: s["resendStatus"] for s in assert_ok(response)["resendStatusList"]}
    assert statuses == {"0": "pending", "1": "canceled", "2": "inProgress", "3": "completed", "4": "failed"}


# -- arrivals ------------------------------------------------------------------------------------


def test_webhooks_are_signed_for_the_signed_url_and_posted_to_the_local_one(receiver):
    public = "https://hooks.example.test/rh/notify"
    with EmulatorServer(
        "127.0.0.1", 0, receiver.url, SIGNING_KEY, API_KEY, API_TOKEN, webhook_signed_url=public
    ) as tunnelled:
        result = control(tunnelled, "POST", "/inventories", {"warehouseId": 2})
    delivery = receiver.next("newInventoryCreated")
    assert result["webhook"]["url"] == receiver.url and result["webhook"]["status"] == 200
    headers = delivery["headers"]
    assert headers["returnhelper-signature"] == expected_signature(public, headers["timestamp"], delivery["raw"])
    assert headers["returnhelper-signature"] != expected_signature(receiver.url, headers["timestamp"], delivery["raw"])


def test_arrival_sends_a_signed_new_inventory_created_webhook(emu, receiver):
    # GIVEN the emulator is told an item arrived in warehouse 2
    result = control(emu, "POST", "/inventories", {"warehouseId": 2, "sku": "SKU-1", "rma": "RMA-1"})
    # WHEN the webhook reaches the receiver
    delivery = receiver.next("newInventoryCreated")
    # THEN its signature verifies over the exact received bytes, and the shape follows the sample
    headers = delivery["headers"]
    assert headers["returnhelper-signature"] == expected_signature(receiver.url, headers["timestamp"], delivery["raw"])
    assert len(headers["timestamp"].split(".")[1]) == 8 and headers["timestamp"].endswith("Z")
    payload = delivery["json"]
    inventory = payload["returnInventory"]
    assert payload["category"] == payload["action"] == "newInventoryCreated"
    assert payload["eventTime"].endswith("Z") and len(payload["eventTime"].split(".")[1]) == 8
    assert inventory["returnInventoryId"] == str(result["inventory"]["returnInventoryId"])
    assert result["inventory"]["returnInventoryId"] >= 30001
    assert (inventory["warehouseId"], inventory["sku"], inventory["rma"]) == (2, "SKU-1", "RMA-1")
    assert (inventory["handlingCode"], inventory["handlingStatusCode"]) == ("tbc", "pending")
    assert payload["shipment"]["shipToWarehouseId"] == 2
    assert (result["webhook"]["status"], result["webhook"]["body"]) == (200, "ok")


def test_arrival_without_delivery_registers_only(emu, receiver):
    # GIVEN / WHEN an item is registered with deliver false and an explicit id
    result = control(emu, "POST", "/inventories", {"warehouseId": 5, "returnInventoryId": 123, "deliver": False})
    # THEN it is known to the emulator and nothing was sent
    assert result["webhook"] is None
    assert [i["returnInventoryId"] for i in control(emu, "GET", "/state")["inventories"]] == [123]
    assert receiver.deliveries.empty()


# -- createResend, getResend, idempotency -------------------------------------------------------------


def test_create_resend_succeeds_and_get_resend_reads_it_back(emu):
    # GIVEN two arrived items in warehouse 2
    first, second = arrive(emu), arrive(emu)
    # WHEN a resend is created for both
    created = assert_ok(create(emu, resend_body(first, second), key="k-create"))
    # THEN it has int ids and an RSD number, and getResend shows it pending with no tracking yet
    assert isinstance(created["resendId"], int) and isinstance(created["resendShipmentId"], int)
    assert created["resendNumber"].startswith("RSD") and len(created["resendNumber"]) == len("RSD240430-0000055")
    resend = assert_ok(call(emu, "GET", f"/Resend/getResend?resendId={created['resendId']}"))
    assert (resend["resendId"], resend["resendStatusCode"], resend["warehouseId"]) == (created["resendId"], 0, 2)
    assert resend["description"] == "ORDER-1"
    shipment = resend["resendShipmentList"][0]
    assert (shipment["resendShipmentId"], shipment["trackingNumber"]) == (created["resendShipmentId"], None)
    # AND the items now read rsd/pending
    handling = {i["returnInventoryId"]: i["handlingCode"] for i in control(emu, "GET", "/state")["inventories"]}
    assert handling == {first: "rsd", second: "rsd"}


def test_idempotent_replay_returns_the_original_response_and_creates_once(emu):
    # GIVEN a resend created with an idempotency key
    body = resend_body(arrive(emu))
    original = assert_ok(create(emu, body, key="k-replay"))
    # WHEN the same request is sent again with the same key
    replay = assert_ok(create(emu, body, key="k-replay"))
    # THEN the original response comes back and only one resend exists, from two calls
    assert replay == original
    state = control(emu, "GET", "/state")
    assert state["createResendCalls"]["k-replay"] == 2
    assert state["createdPerIdempotencyKey"] == {"k-replay": 1}
    assert len(state["resends"]) == 1 and state["resends"][0]["idempotencyKey"] == "k-replay"


def test_same_key_with_a_different_body_is_409(emu):
    # GIVEN a resend created with a key
    first, second = arrive(emu), arrive(emu)
    assert_ok(create(emu, resend_body(first), key="k-reused"))
    # WHEN the key is reused for another body
    response = create(emu, resend_body(second), key="k-reused")
    # THEN it is a real 409 with the soft-error envelope, and nothing new was created
    assert response.status_code == 409
    assert response.json()["meta"]["errorCode"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(control(emu, "GET", "/state")["resends"]) == 1


@pytest.mark.parametrize(
    ("make_body", "error_key", "fragment"),
    [
        (lambda ids: resend_body(999999), "returnInventoryIdList", "does not exist"),
        (lambda ids: resend_body(), "returnInventoryIdList", "must not be empty"),
        (
            lambda ids: resend_body(ids[0], shipmentServiceType="RETURN_DHL_PARCEL_GROUND_WA"),
            "resendShipment.shipmentServiceType",
            "return service type",
        ),
        (
            lambda ids: resend_body(ids[0], shipmentServiceType="SHIPMENT_DHL_PAKET_DE"),
            "resendShipment.shipmentServiceType",
            "not available for warehouse 2",
        ),
        (
            lambda ids: resend_body(ids[0], shipmentCountryCode="fra"),
            "resendShipment.shipmentServiceType",
            "does not ship to 'fra'",
        ),
        (lambda ids: resend_body(ids[0], shipmentName=""), "resendShipment.shipmentName", "must not be empty"),
        (lambda ids: resend_body(ids[0], ids[1]), "returnInventoryIdList", "same warehouse"),
        (lambda ids: resend_body(*([ids[0]] * 2)), "returnInventoryIdList", "distinct"),
    ],
    ids=[
        "unknown-inventory",
        "empty-list",
        "return-service-type",
        "other-warehouse-code",
        "country-not-served",
        "name-missing",
        "mixed-warehouses",
        "duplicate-ids",
    ],
)
def test_create_resend_refusals_are_soft_errors(emu, make_body, error_key, fragment):
    # GIVEN one item in warehouse 2 and one in warehouse 5
    ids = [arrive(emu, 2, deliver=False), arrive(emu, 5, deliver=False)]
    # WHEN an invalid resend is requested
    response = create(emu, make_body(ids), key="k-invalid")
    # THEN it is a soft error keyed by the property, and nothing was created or remembered for the key
    assert fragment in assert_soft_error(response, "VALIDATION_FAILED", error_key)
    state = control(emu, "GET", "/state")
    assert state["resends"] == [] and state["createdPerIdempotencyKey"] == {}


def test_an_item_in_an_active_resend_cannot_be_resent_again(emu):
    # GIVEN an item already in a pending resend
    item = arrive(emu)
    assert_ok(create(emu, resend_body(item), key="k-a"))
    # WHEN another resend asks for it under a new key
    response = create(emu, resend_body(item), key="k-b")
    # THEN it is refused
    assert "already in resend" in assert_soft_error(response, "VALIDATION_FAILED", "returnInventoryIdList")


# -- faults ----------------------------------------------------------------------------------------


def test_latency_fault_delays_the_answer(emu):
    # GIVEN a 0.3 s latency fault on the service-type list
    push_fault(emu, "getAvailableShipmentServiceType", kind="latency", seconds=0.3)
    # WHEN it is called twice
    started = time.monotonic()
    assert_ok(call(emu, "GET", "/Shipment/getAvailableShipmentServiceType?warehouseId=2"))
    slow = time.monotonic() - started
    started = time.monotonic()
    assert_ok(call(emu, "GET", "/Shipment/getAvailableShipmentServiceType?warehouseId=2"))
    # THEN only the first call was slow (faults are one-shot)
    assert slow >= 0.3 and time.monotonic() - started < 0.3


def test_http5xx_and_http429_faults_then_success_with_the_same_key(emu):
    # GIVEN a 502 then a 429 queued for createResend
    body = resend_body(arrive(emu))
    control(
        emu,
        "POST",
        "/faults",
        {
            "operation": "createResend",
            "faults": [{"kind": "http5xx", "status": 502}, {"kind": "http429", "retryAfter": 7}],
        },
    )
    # WHEN the client retries with the same key
    first, second, third = (create(emu, body, key="k-retry") for _ in range(3))
    # THEN it sees 502, then 429 with Retry-After, then success; one resend from three calls
    assert first.status_code == 502
    assert (second.status_code, second.headers["Retry-After"]) == (429, "7")
    assert_ok(third)
    state = control(emu, "GET", "/state")
    assert (state["createResendCalls"]["k-retry"], state["createdPerIdempotencyKey"]["k-retry"]) == (3, 1)


def test_reset_fault_closes_the_connection_without_an_answer(emu):
    # GIVEN a reset fault on getResend
    push_fault(emu, "getResend", kind="reset")
    # WHEN it is called
    # THEN the client sees a connection error
    with pytest.raises(requests.ConnectionError):
        call(emu, "GET", "/Resend/getResend?resendId=1")


def test_timeout_after_commit_creates_the_resend_although_the_client_timed_out(emu):
    # GIVEN the answer to the next createResend is held back for 1 s
    body = resend_body(arrive(emu))
    push_fault(emu, "createResend", kind="timeoutAfterCommit", seconds=1.0)
    # WHEN the client gives up after 0.3 s
    with pytest.raises(requests.ReadTimeout):
        create(emu, body, key="k-commit", timeout=0.3)
    # THEN the resend exists, and the retry with the same key gets it without creating another
    state = control(emu, "GET", "/state")
    assert state["createdPerIdempotencyKey"] == {"k-commit": 1}
    retried = assert_ok(create(emu, body, key="k-commit"))
    assert retried["resendId"] == state["resends"][0]["resendId"]
    assert control(emu, "GET", "/state")["createdPerIdempotencyKey"] == {"k-commit": 1}


def test_soft_error_fault_and_clearing_faults(emu):
    # GIVEN a soft-error fault and then a second fault that gets cleared
    push_fault(emu, "createResend", kind="softError", errorCode="WAREHOUSE_BUSY", error={"": "try later"})
    push_fault(emu, "createResend", kind="http5xx")
    # WHEN createResend is called, the faults are cleared, and it is called again
    faulted = create(emu, resend_body(arrive(emu)), key="k-soft")
    control(emu, "DELETE", "/faults")
    # THEN the first answer is the scripted soft error and the next call is not faulted
    assert assert_soft_error(faulted, "WAREHOUSE_BUSY", "") == "try later"
    assert_ok(create(emu, resend_body(arrive(emu)), key="k-soft-2"))


def test_bad_fault_script_is_refused(emu):
    # GIVEN / WHEN an unknown fault kind is posted
    response = requests.post(
        f"{emu.url}/_emulator/faults", timeout=5, json={"operation": "createResend", "faults": [{"kind": "explode"}]}
    )
    # THEN the control API answers 400
    assert response.status_code == 400


# -- cancel and progress ------------------------------------------------------------------------------


def test_cancel_is_allowed_while_pending_and_releases_the_items(emu, receiver):
    # GIVEN a pending resend
    item = arrive(emu)
    resend_id = assert_ok(create(emu, resend_body(item), key="k-cancel"))["resendId"]
    # WHEN it is canceled, twice with the same idempotency key
    headers = {"x-returnhelper-idempotency-key": "k-cancel-1"}
    canceled = assert_ok(call(emu, "POST", "/Resend/cancelResend", json={"resendId": resend_id}, headers=headers))
    again = assert_ok(call(emu, "POST", "/Resend/cancelResend", json={"resendId": resend_id}, headers=headers))
    # THEN both answers are the same success, the resend reads canceled and a webhook says so
    assert canceled == again and canceled["resendId"] == resend_id
    assert assert_ok(call(emu, "GET", f"/Resend/getResend?resendId={resend_id}"))["resendStatusCode"] == 1
    assert receiver.next("updateResendStatus")["json"]["resend"]["resendStatusCode"] == 1
    # AND the item can go into a new resend
    assert_ok(create(emu, resend_body(item), key="k-cancel-new"))


def test_cancel_is_refused_once_the_warehouse_started(emu, receiver):
    # GIVEN a resend the warehouse has started working on
    resend_id = assert_ok(create(emu, resend_body(arrive(emu)), key="k-started"))["resendId"]
    control(emu, "POST", f"/resends/{resend_id}/advance", {"to": "inProgress"})
    # WHEN it is canceled
    response = call(emu, "POST", "/Resend/cancelResend", json={"resendId": resend_id})
    # THEN the soft error says it can no longer be canceled
    assert "inProgress" in assert_soft_error(response, "RESEND_CANNOT_BE_CANCELED", "resendId")


def test_advance_to_completed_sends_a_signed_update_resend_status_webhook(emu, receiver):
    # GIVEN a pending resend of one item
    item = arrive(emu)
    created = assert_ok(create(emu, resend_body(item), key="k-complete"))
    # WHEN the warehouse completes it with a tracking number
    result = control(
        emu,
        "POST",
        f"/resends/{created['resendId']}/advance",
        {"to": "completed", "trackingNumber": "9400111899563826265813"},
    )
    delivery = receiver.next("updateResendStatus")
    # THEN a signed v2 webhook carries status 3, the tracking number, and the item as rsd/completed (ints)
    headers, payload = delivery["headers"], delivery["json"]
    assert headers["returnhelper-signature"] == expected_signature(receiver.url, headers["timestamp"], delivery["raw"])
    assert (payload["category"], result["status"], result["webhook"]["status"]) == ("resend", "completed", 200)
    assert payload["resend"]["resendId"] == created["resendId"] and payload["resend"]["resendStatusCode"] == 3
    shipment = payload["resendShipmentList"][0]
    assert (shipment["trackingNumber"], shipment["error"]) == ("9400111899563826265813", "")
    row = payload["returnInventoryList"][0]
    assert (row["returnInventoryId"], row["handlingCode"], row["handlingStatusCode"]) == (item, 3, 2)
    # AND a finished resend does not move again
    response = requests.post(
        f"{emu.url}/_emulator/resends/{created['resendId']}/advance", json={"to": "failed"}, timeout=5
    )
    assert response.status_code == 409


def test_advance_to_failed_carries_the_error_as_a_json_string(emu, receiver):
    # GIVEN a pending resend
    resend_id = assert_ok(create(emu, resend_body(arrive(emu)), key="k-fail"))["resendId"]
    # WHEN the warehouse fails it
    control(emu, "POST", f"/resends/{resend_id}/advance", {"to": "failed", "error": "Invalid address."})
    # THEN the webhook's shipment error is a JSON-encoded string and the items are back to tbc/pending
    payload = receiver.next("updateResendStatus")["json"]
    assert payload["resend"]["resendStatusCode"] == 4
    assert json.loads(payload["resendShipmentList"][0]["error"]) == {"message": "Invalid address."}
    row = payload["returnInventoryList"][0]
    assert (row["handlingCode"], row["handlingStatusCode"]) == (0, 0)


# -- auto-progress -------------------------------------------------------------------------------


def fast_progress(server, **config) -> dict:
    return control(
        server,
        "POST",
        "/config",
        {"autoProgress": True, "inProgressAfterSeconds": 0.05, "completeAfterSeconds": 0.05, **config},
    )


def status_code(server, resend_id: int) -> int:
    return assert_ok(call(server, "GET", f"/Resend/getResend?resendId={resend_id}"))["resendStatusCode"]


def assert_signed(receiver, delivery: dict) -> None:
    headers = delivery["headers"]
    assert headers["returnhelper-signature"] == expected_signature(receiver.url, headers["timestamp"], delivery["raw"])


def test_config_is_off_for_direct_construction_and_readable(emu):
    # GIVEN a server constructed directly (no auto_progress keyword)
    # WHEN its config is read
    config = control(emu, "GET", "/config")
    # THEN auto-progress is off, with the default timings and outcome; the state shows the same
    assert config == DEFAULT_CONFIG
    assert control(emu, "GET", "/state")["config"] == DEFAULT_CONFIG


def test_without_auto_progress_a_resend_stays_pending(emu, receiver):
    # GIVEN auto-progress off and timings that would fire at once
    control(emu, "POST", "/config", {"inProgressAfterSeconds": 0, "completeAfterSeconds": 0})
    # WHEN a resend is created
    resend_id = assert_ok(create(emu, resend_body(arrive(emu)), key="k-still"))["resendId"]
    time.sleep(0.3)
    # THEN nothing moves and no resend webhook is sent
    assert status_code(emu, resend_id) == 0
    assert emu.progress.pending_steps == 0
    receiver.next("newInventoryCreated")
    assert receiver.deliveries.empty()


def test_auto_progress_walks_a_resend_to_completed_with_signed_webhooks(emu, receiver):
    # GIVEN auto-progress on with short steps, and two arrived items
    fast_progress(emu)
    first, second = arrive(emu), arrive(emu)
    # WHEN a resend is created for both
    created = assert_ok(create(emu, resend_body(first, second), key="k-auto"))
    # THEN a signed webhook says inProgress (items rsd/inProgress), then another says completed
    in_progress = receiver.next("updateResendStatus")
    completed = receiver.next("updateResendStatus")
    for delivery in (in_progress, completed):
        assert_signed(receiver, delivery)
        assert delivery["json"]["resend"]["resendId"] == created["resendId"]
    assert in_progress["json"]["resend"]["resendStatusCode"] == 2
    assert {(r["handlingCode"], r["handlingStatusCode"]) for r in in_progress["json"]["returnInventoryList"]} == {
        (3, 1)
    }
    assert in_progress["json"]["resendShipmentList"][0]["trackingNumber"] is None
    payload = completed["json"]
    assert payload["resend"]["resendStatusCode"] == 3
    shipment = payload["resendShipmentList"][0]
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,50}", shipment["trackingNumber"]) and shipment["error"] == ""
    assert {
        (r["returnInventoryId"], r["handlingCode"], r["handlingStatusCode"]) for r in payload["returnInventoryList"]
    } == {
        (first, 3, 2),
        (second, 3, 2),
    }
    # AND upstream reads completed with the same tracking number; the items are out of stock
    resend = assert_ok(call(emu, "GET", f"/Resend/getResend?resendId={created['resendId']}"))
    assert resend["resendStatusCode"] == 3
    assert resend["resendShipmentList"][0]["trackingNumber"] == shipment["trackingNumber"]
    assert not any(i["inStock"] for i in control(emu, "GET", "/state")["inventories"])
    # AND the webhook log shows both deliveries accepted
    logged = [w for w in control(emu, "GET", "/state")["webhooks"] if w["action"] == "updateResendStatus"]
    assert [w["status"] for w in logged] == [200, 200]


def test_auto_progress_to_failed_sends_the_upstream_error(emu, receiver):
    # GIVEN auto-progress configured to fail
    fast_progress(emu, outcome="failed")
    item = arrive(emu)
    # WHEN a resend is created
    resend_id = assert_ok(create(emu, resend_body(item), key="k-auto-fail"))["resendId"]
    # THEN it goes inProgress, then failed with the JSON-encoded error, and the item is released
    assert receiver.next("updateResendStatus")["json"]["resend"]["resendStatusCode"] == 2
    payload = receiver.next("updateResendStatus")["json"]
    assert payload["resend"]["resendStatusCode"] == 4
    assert payload["resendShipmentList"][0]["error"] == '{"message":"Invalid address."}'
    assert payload["resendShipmentList"][0]["trackingNumber"] is None
    assert (
        payload["returnInventoryList"][0]["handlingCode"],
        payload["returnInventoryList"][0]["handlingStatusCode"],
    ) == (
        0,
        0,
    )
    assert status_code(emu, resend_id) == 4


def test_idempotent_replay_does_not_schedule_a_second_progress(emu, receiver):
    # GIVEN auto-progress on
    fast_progress(emu)
    body = resend_body(arrive(emu))
    # WHEN the same create arrives twice with one key
    assert_ok(create(emu, body, key="k-auto-replay"))
    assert_ok(create(emu, body, key="k-auto-replay"))
    # THEN the resend is walked through once: exactly two status webhooks
    codes = [receiver.next("updateResendStatus")["json"]["resend"]["resendStatusCode"] for _ in range(2)]
    assert codes == [2, 3]
    time.sleep(0.3)
    assert [w for w in control(emu, "GET", "/state")["webhooks"] if w["action"] == "updateResendStatus"][2:] == []


def test_a_canceled_resend_does_not_progress(emu, receiver):
    # GIVEN auto-progress on, with the first step far enough away to cancel before it
    fast_progress(emu, inProgressAfterSeconds=0.3)
    resend_id = assert_ok(create(emu, resend_body(arrive(emu)), key="k-auto-cancel"))["resendId"]
    # WHEN the resend is canceled while still pending
    assert_ok(call(emu, "POST", "/Resend/cancelResend", json={"resendId": resend_id}))
    time.sleep(0.6)
    # THEN it stays canceled: the only status webhook is the cancel's
    assert status_code(emu, resend_id) == 1
    webhooks = [w for w in control(emu, "GET", "/state")["webhooks"] if w["action"] == "updateResendStatus"]
    assert len(webhooks) == 1
    assert receiver.next("updateResendStatus")["json"]["resend"]["resendStatusCode"] == 1
    assert emu.progress.pending_steps == 0


def test_a_resend_finished_by_hand_is_never_moved_backwards(emu, receiver):
    # GIVEN auto-progress on, and a resend completed by hand before the first timer fires
    fast_progress(emu, inProgressAfterSeconds=0.3)
    resend_id = assert_ok(create(emu, resend_body(arrive(emu)), key="k-auto-manual"))["resendId"]
    control(emu, "POST", f"/resends/{resend_id}/advance", {"to": "completed", "trackingNumber": "MANUAL-1"})
    # WHEN the timer fires
    time.sleep(0.6)
    # THEN nothing moved back to inProgress: one webhook, still completed with the manual number
    resend = assert_ok(call(emu, "GET", f"/Resend/getResend?resendId={resend_id}"))
    assert (resend["resendStatusCode"], resend["resendShipmentList"][0]["trackingNumber"]) == (3, "MANUAL-1")
    webhooks = [w for w in control(emu, "GET", "/state")["webhooks"] if w["action"] == "updateResendStatus"]
    assert len(webhooks) == 1


def test_a_resend_moved_in_progress_by_hand_is_still_completed(emu, receiver):
    # GIVEN auto-progress on, and a resend moved to inProgress by hand before the first timer
    fast_progress(emu, inProgressAfterSeconds=0.3, completeAfterSeconds=0.05)
    resend_id = assert_ok(create(emu, resend_body(arrive(emu)), key="k-auto-half"))["resendId"]
    control(emu, "POST", f"/resends/{resend_id}/advance", {"to": "inProgress"})
    # WHEN the timers run
    codes = [receiver.next("updateResendStatus")["json"]["resend"]["resendStatusCode"] for _ in range(2)]
    # THEN inProgress is not sent twice, and the resend completes
    assert codes == [2, 3]
    assert status_code(emu, resend_id) == 3


def test_turning_auto_progress_off_stops_pending_steps(emu, receiver):
    # GIVEN a resend created with auto-progress on
    fast_progress(emu, inProgressAfterSeconds=0.3)
    resend_id = assert_ok(create(emu, resend_body(arrive(emu)), key="k-auto-off"))["resendId"]
    # WHEN auto-progress is turned off before the step fires
    control(emu, "POST", "/config", {"autoProgress": False})
    time.sleep(0.6)
    # THEN the resend stays pending
    assert status_code(emu, resend_id) == 0


def test_reset_drops_scheduled_steps(emu):
    # GIVEN a scheduled first step
    fast_progress(emu, inProgressAfterSeconds=5)
    assert_ok(create(emu, resend_body(arrive(emu)), key="k-auto-reset"))
    assert emu.progress.pending_steps == 1
    # WHEN the emulator is reset
    control(emu, "POST", "/reset")
    # THEN nothing is scheduled any more
    assert emu.progress.pending_steps == 0


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "lost"},
        {"inProgressAfterSeconds": -1},
        {"completeAfterSeconds": "3"},
        {"completeAfterSeconds": True},
        {"autoProgress": "yes"},
        {"speed": 2},
    ],
    ids=["outcome", "negative", "string-seconds", "bool-seconds", "string-flag", "unknown-field"],
)
def test_bad_config_is_refused_and_changes_nothing(emu, body):
    # GIVEN / WHEN a bad config change is posted
    response = requests.post(f"{emu.url}/_emulator/config", json=body, timeout=5)
    # THEN it is a 400 naming the problem, and the config is unchanged
    assert response.status_code == 400 and response.json()["error"]
    assert control(emu, "GET", "/config") == DEFAULT_CONFIG


def test_constructor_keywords_set_the_config_and_are_validated(receiver):
    # GIVEN / WHEN servers are built with the keyword-only progress options
    with EmulatorServer(
        "127.0.0.1",
        0,
        receiver.url,
        SIGNING_KEY,
        API_KEY,
        API_TOKEN,
        auto_progress=True,
        in_progress_after_seconds=1,
        complete_after_seconds=4,
        outcome="failed",
    ) as server:
        config = requests.get(f"{server.url}/_emulator/config", timeout=5).json()
    # THEN the config reflects them, and a bad outcome is refused at construction
    assert config == {
        "autoProgress": True,
        "inProgressAfterSeconds": 1.0,
        "completeAfterSeconds": 4.0,
        "outcome": "failed",
    }
    with pytest.raises(ValueError, match="outcome"):
        EmulatorServer("127.0.0.1", 0, receiver.url, SIGNING_KEY, API_KEY, API_TOKEN, outcome="lost")


# -- section 11: photos, seller reference, RMA swap, consolidation ----------------------------------------

PHOTOS = [
    "https://files.example.com/images/returns/202612/EMU-front.jpg",
    "https://files.example.com/images/returns/202612/EMU-box.jpg",
]
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")  # Crockford base32, as upstream's consolidation ids


def facts_of(delivery: dict) -> dict[int, dict]:
    """What the webhook function reads from a delivery (the domain's own reader): inventory id -> facts."""
    event = normalise(delivery["json"])
    assert event.handled, (event.category, event.action)
    return {facts.inventory_id: dict(facts.values) for facts in event.inventories}


def test_an_arrival_with_photos_carries_them_in_the_image_list(emu, receiver):
    # GIVEN / WHEN an item arrives with two photos
    inventory_id = arrive(emu, imageUrls=PHOTOS)
    # THEN newInventoryCreated lists them as the sample does (URL and S3 key), and they are read as its photos
    delivery = receiver.next("newInventoryCreated")
    assert_signed(receiver, delivery)
    assert delivery["json"]["returnInventory"]["imageList"] == [
        {"imageUrl": url, "imageKey": url.removeprefix("https://files.example.com/")} for url in PHOTOS
    ]
    assert facts_of(delivery)[inventory_id]["imageUrls"] == PHOTOS


def test_an_assign_unknown_arrival_carries_the_seller_reference_photos_and_creation(emu, receiver):
    # GIVEN / WHEN a parcel with the order reference the customer wrote on it is assigned to us
    result = control(
        emu,
        "POST",
        "/inventories",
        {"warehouseId": 2, "event": "assignUnknown", "sellerReferenceNumber": "ORDER-7", "imageUrls": PHOTOS[:1]},
    )
    inventory = result["inventory"]
    # THEN rsl/assignUnknown is sent, shaped like the sample: int ids and codes, the return request's seller
    # reference, the line item with the photo; and it reads as the item's seller reference, photos and log time
    delivery = receiver.next("assignUnknown")
    assert_signed(receiver, delivery)
    payload = delivery["json"]
    assert (payload["category"], result["webhook"]["status"]) == ("rsl", 200)
    assert payload["returnRequest"]["sellerReferenceNumber"] == "ORDER-7"
    [row] = payload["returnInventoryList"]
    assert (row["returnInventoryId"], row["warehouseId"]) == (inventory["returnInventoryId"], 2)
    assert (row["handlingCode"], row["handlingStatusCode"], row["createOn"]) == (0, 0, inventory["createOn"])
    [entry] = payload["returnRequestLineItemIncludeImageList"]
    assert entry["imageUrlList"] == PHOTOS[:1]
    assert entry["returnRequestLineItem"]["returnRequestLineItemId"] == row["returnRequestLineItemId"]
    assert entry["returnRequestLineItem"]["isFraudulent"] is False
    facts = facts_of(delivery)[inventory["returnInventoryId"]]
    assert (facts["sellerReferenceNumber"], facts["imageUrls"]) == ("ORDER-7", PHOTOS[:1])
    assert facts["arrivalCreateOn"] == timestamps.sortable(inventory["createOn"])
    assert facts["inboundTrackingNumber"] == f"EMU-IN-{inventory['shipmentId']}"
    assert (facts["inStock"], facts["handlingCode"]) == (True, "tbc")
    # and GetReturnInventory answers the same seller reference
    answer = assert_ok(
        call(emu, "GET", f"/ReturnInventory/GetReturnInventory?returnInventoryId={row['returnInventoryId']}")
    )
    assert answer["sellerReferenceNumber"] == "ORDER-7"


def test_an_arrival_carries_the_tracking_number_the_merchant_knew_before(emu, receiver):
    # GIVEN / WHEN the parcel of a failed delivery comes back under its known tracking number
    inventory_id = arrive(emu, trackingNumber="1Z999AA10123456784")
    # THEN newInventoryCreated carries it as the parcel's, read as the item's inbound tracking number
    delivery = receiver.next("newInventoryCreated")
    assert delivery["json"]["shipment"]["trackingNumber"] == "1Z999AA10123456784"
    assert facts_of(delivery)[inventory_id]["inboundTrackingNumber"] == "1Z999AA10123456784"


def test_an_assign_unknown_arrival_carries_the_fraud_flag_on_its_line_item(emu, receiver):
    # GIVEN / WHEN the warehouse assigns us a parcel it flagged as fraudulent
    flag = {"isFraudulent": True, "reasonCode": "FR01"}
    body = {"warehouseId": 2, "event": "assignUnknown", "sellerReferenceNumber": "ORDER-8", "fraudFlag": flag}
    inventory_id = control(emu, "POST", "/inventories", body)["inventory"]["returnInventoryId"]
    # THEN the line item says so, as the sample's fields, and it reads as the item's fraud flag
    delivery = receiver.next("assignUnknown")
    [entry] = delivery["json"]["returnRequestLineItemIncludeImageList"]
    line_item = entry["returnRequestLineItem"]
    assert (line_item["isFraudulent"], line_item["fraudReasonCode"]) == (True, "FR01")
    assert facts_of(delivery)[inventory_id]["fraudFlag"] == flag


@pytest.mark.parametrize(
    "body",
    [
        {"warehouseId": 2, "event": "markShipmentArrive"},
        {"warehouseId": 2, "imageUrls": "https://files.example.com/a.jpg"},
        {"warehouseId": 2, "imageUrls": [""]},
        {"warehouseId": 2, "sellerReferenceNumber": 1001},
        {"warehouseId": 2, "trackingNumber": ""},
        {"warehouseId": 2, "event": "assignUnknown", "fraudFlag": {"isFraudulent": "yes"}},
        {"warehouseId": 2, "fraudFlag": {"isFraudulent": True}},
    ],
    ids=[
        "unknown-event",
        "photos-not-a-list",
        "empty-url",
        "reference-not-text",
        "empty-tracking-number",
        "fraud-flag-not-a-bool",
        "fraud-flag-without-a-line-item",
    ],
)
def test_a_bad_arrival_is_refused_and_registers_nothing(emu, receiver, body):
    response = requests.post(f"{emu.url}/_emulator/inventories", json=body, timeout=5)
    assert response.status_code == 400 and response.json()["error"]
    assert control(emu, "GET", "/state")["inventories"] == [] and receiver.deliveries.empty()


def test_an_rma_swap_sends_notify_user_rma_swapped_with_the_id_as_a_string(emu, receiver):
    # GIVEN an item labelled RMA-OLD
    inventory_id = arrive(emu, rma="RMA-OLD", deliver=False)
    # WHEN the warehouse relabels it
    result = control(emu, "POST", f"/inventories/{inventory_id}/rma-swap", {"newRma": "RMA-NEW"})
    # THEN notifyUserRmaSwapped goes out as published, the new RMA is read as the item's, and upstream answers it
    delivery = receiver.next("notifyUserRmaSwapped")
    assert_signed(receiver, delivery)
    assert delivery["json"]["payload"] == {
        "userApiId": 21,
        "clientCode": "RH21",
        "returnInventoryId": str(inventory_id),
        "oldRma": "RMA-OLD",
        "newRma": "RMA-NEW",
    }
    assert delivery["json"]["category"] == "notifyUserRmaSwapped" and result["webhook"]["status"] == 200
    assert facts_of(delivery) == {inventory_id: {"rma": "RMA-NEW"}}
    answer = assert_ok(call(emu, "GET", f"/ReturnInventory/GetReturnInventory?returnInventoryId={inventory_id}"))
    assert answer["rma"] == "RMA-NEW"
    # and without a newRma the emulator makes one up, never the same
    again = control(emu, "POST", f"/inventories/{inventory_id}/rma-swap")
    assert again["inventory"]["rma"] not in ("RMA-OLD", "RMA-NEW")
    assert receiver.next("notifyUserRmaSwapped")["json"]["payload"]["oldRma"] == "RMA-NEW"


def test_an_rma_swap_of_an_unknown_item_or_to_the_same_rma_is_refused(emu, receiver):
    inventory_id = arrive(emu, rma="RMA-1", deliver=False)
    unknown = requests.post(f"{emu.url}/_emulator/inventories/99999/rma-swap", json={}, timeout=5)
    same = requests.post(
        f"{emu.url}/_emulator/inventories/{inventory_id}/rma-swap", json={"newRma": "RMA-1"}, timeout=5
    )
    assert (unknown.status_code, same.status_code) == (404, 400)
    assert receiver.deliveries.empty()


def test_a_consolidation_makes_its_items_unavailable_until_it_is_cancelled(emu, receiver):
    # GIVEN two items of warehouse 2
    ids = [arrive(emu, deliver=False), arrive(emu, deliver=False)]
    # WHEN they are packed into a consolidation order
    result = control(emu, "POST", "/consolidations", {"returnInventoryIdList": ids})
    # THEN consolidateShippingOrderInventoryAllPacked goes out shaped like the sample (ULID string ids, int
    # inventory ids, a float fee), and reads as both items under the consolidation workflow
    delivery = receiver.next("consolidateShippingOrderInventoryAllPacked")
    assert_signed(receiver, delivery)
    payload = delivery["json"]
    order = payload["order"]
    order_id = order["consolidateShippingOrderId"]
    assert ULID.match(order_id) and ULID.match(payload["notificationId"]) and payload["version"] == "202410"
    assert (order["outboundWarehouseId"], order["shippingFee"], result["order"]["consolidateShippingOrderId"]) == (
        2,
        0.0,
        order_id,
    )
    [shipment] = order["shipmentList"]
    [box] = shipment["boxList"]
    rows = box["consolidateShippingInventoryList"]
    assert [row["returnInventoryId"] for row in rows] == ids
    assert {row["consolidateShippingInventoryStatus"] for row in rows} == {"PACKED"}
    assert all(ULID.match(row["consolidateShippingInventoryId"]) for row in rows)
    expected = {"otherWorkflow": "consolidation", "consolidationOrderId": order_id}
    assert facts_of(delivery) == dict.fromkeys(ids, expected)
    # and Return Helper refuses to resend them or change their handling
    refusal = assert_soft_error(
        create(emu, resend_body(ids[0]), key="k-cns"), "VALIDATION_FAILED", "returnInventoryIdList"
    )
    assert "consolidation order" in refusal
    handling = call(
        emu,
        "POST",
        "/ReturnInventory/UpdateReturnInventoryHandling",
        json={"returnInventoryId": ids[1], "handlingCode": "ohd"},
    )
    assert_soft_error(handling, "VALIDATION_FAILED", "returnInventoryId")
    # WHEN the order is cancelled (the id read case-insensitively, like every path)
    control(emu, "POST", f"/consolidations/{order_id.lower()}/cancel")
    # THEN consolidateShippingOrderCancelled names only the order, as published, and the items are free again
    cancelled = receiver.next("consolidateShippingOrderCancelled")
    assert_signed(receiver, cancelled)
    assert "shipmentList" not in cancelled["json"]["order"]
    assert cancelled["json"]["order"]["consolidateShippingOrderStatus"] == "CANCELED"
    assert normalise(cancelled["json"]).cancelled_order == order_id
    assert_ok(create(emu, resend_body(*ids), key="k-free"))


def test_consolidation_refusals(emu, receiver):
    here, there = arrive(emu, 2, deliver=False), arrive(emu, 5, deliver=False)
    assert_ok(create(emu, resend_body(here), key="k-busy"))  # `here` is taken by a resend
    free = arrive(emu, 2, deliver=False)

    def status(body: dict | None) -> int:
        return requests.post(f"{emu.url}/_emulator/consolidations", json=body, timeout=5).status_code

    assert status({}) == status({"returnInventoryIdList": []}) == status({"returnInventoryIdList": ["x"]}) == 400
    assert status({"returnInventoryIdList": [free, free]}) == status({"returnInventoryIdList": [free, there]}) == 400
    assert status({"returnInventoryIdList": [99999]}) == 404
    assert status({"returnInventoryIdList": [here, free]}) == 409
    order_id = control(emu, "POST", "/consolidations", {"returnInventoryIdList": [free]})["order"][
        "consolidateShippingOrderId"
    ]
    assert status({"returnInventoryIdList": [free]}) == 409  # already in an order
    control(emu, "POST", f"/consolidations/{order_id}/cancel")
    cancel = requests.post(f"{emu.url}/_emulator/consolidations/{order_id}/cancel", timeout=5)
    unknown = requests.post(f"{emu.url}/_emulator/consolidations/01JNQ6R054VARA55P0C7G2W6DC/cancel", timeout=5)
    assert (cancel.status_code, unknown.status_code) == (409, 404)
