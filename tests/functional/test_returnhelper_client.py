"""ReturnHelperClient against the real emulator over real HTTP: headers, idempotency, every fault classified."""

from __future__ import annotations

import base64
import re
import socket
import uuid

import pytest
import requests

from local.emulator import EmulatorServer
from rh_common.adapters.returnhelper.client import IDEMPOTENCY_HEADER, ReturnHelperClient, resend_id_of
from rh_common.adapters.returnhelper.credentials import ReturnHelperCredentials
from rh_common.domain.upstream_outcome import OutcomeKind, UpstreamOutcome
from tests.support.resend import SHIPMENT

SIGNING_KEY = base64.b64encode(b"client-test-signing-key-32bytes!").decode()
API_KEY, API_TOKEN = "client-test-key", "client-test-token"
CREDENTIALS = ReturnHelperCredentials(api_key=API_KEY, api_token=API_TOKEN, signing_keys=(SIGNING_KEY,))
SHORT_TIMEOUT = 0.5  # seconds; every timeout fault below holds the answer for longer
USER_AGENT_RE = re.compile(
    r"^ReturnHelperResends/\d+\.\d+\.\d+\S* \(Platform=[^/;]+/[^;]*; Runtime=3\.\d+\.\d+\S*; Language=Python3\.\d+\)$"
)


def uncounted(outcome: UpstreamOutcome) -> None:
    """The client's on_call where a test does not look at the metrics."""


def closed_port_url() -> str:
    """A local URL nobody listens on: webhooks the emulator sends there fail fast (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/webhooks/returnhelper"


@pytest.fixture(scope="module")
def server():
    with EmulatorServer("127.0.0.1", 0, closed_port_url(), SIGNING_KEY, API_KEY, API_TOKEN) as server:
        yield server


def control(server, method: str, path: str, body: dict | None = None) -> dict:
    response = requests.request(method, f"{server.url}/_emulator{path}", json=body, timeout=5)
    assert response.status_code < 300, response.text
    return response.json()


@pytest.fixture
def emu(server):
    control(server, "POST", "/reset")
    control(server, "DELETE", "/faults")
    return server


@pytest.fixture
def client(emu):
    return ReturnHelperClient(emu.api_base, lambda: CREDENTIALS, timeout_seconds=SHORT_TIMEOUT, on_call=uncounted)


def arrive(server, warehouse_id: int = 2) -> int:
    created = control(server, "POST", "/inventories", {"warehouseId": warehouse_id, "deliver": False})
    assert created["webhook"] is None
    return created["inventory"]["returnInventoryId"]


def resend_body(*inventory_ids: int) -> dict:
    return {"returnInventoryIdList": list(inventory_ids), "description": "ORDER-1", "resendShipment": SHIPMENT}


def push_fault(server, operation: str, **fault) -> None:
    control(server, "POST", "/faults", {"operation": operation, "faults": [fault]})


def new_key() -> str:
    return str(uuid.uuid4())


# -- headers and credentials -------------------------------------------------------------------------


def test_headers_on_the_wire(emu):
    # GIVEN a client whose session records what each request carried
    sent: list[requests.PreparedRequest] = []
    session = requests.Session()
    session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.request))
    client = ReturnHelperClient(
        emu.api_base + "/", lambda: CREDENTIALS, timeout_seconds=2, session=session, on_call=uncounted
    )
    # WHEN a create is sent
    key = new_key()
    outcome = client.create_resend(resend_body(arrive(emu)), key)
    # THEN the emulator accepted the credentials, and every documented header went out
    assert outcome.ok, outcome
    (request,) = sent
    assert request.url == emu.api_base + "/Resend/createResend"  # the trailing slash was dropped
    headers = request.headers
    assert (headers["x-rr-apikey"], headers["x-rr-apitoken"]) == (API_KEY, API_TOKEN)
    assert (headers["Content-Type"], headers["Accept"]) == ("application/json", "application/json")
    assert headers[IDEMPOTENCY_HEADER] == key
    assert USER_AGENT_RE.match(headers["User-Agent"]), headers["User-Agent"]
    assert headers["User-Agent"] == client.user_agent


def test_user_agent_format():
    client = ReturnHelperClient(
        "http://127.0.0.1:9/uat/user/api", lambda: CREDENTIALS, 1, app_version="1.4.0", on_call=uncounted
    )
    assert USER_AGENT_RE.match(client.user_agent), client.user_agent
    assert client.user_agent.startswith("ReturnHelperResends/1.4.0 (Platform=")


def test_wrong_token_is_a_transient_401_that_was_not_processed(emu):
    # GIVEN credentials the emulator does not accept
    wrong = ReturnHelperCredentials(api_key=API_KEY, api_token="wrong", signing_keys=())
    told: list[UpstreamOutcome] = []
    client = ReturnHelperClient(emu.api_base, lambda: wrong, timeout_seconds=2, on_call=told.append)
    # WHEN any operation is called
    outcome = client.available_shipment_service_types(2)
    assert told == [outcome] and outcome.elapsed_seconds > 0  # what the metrics count, with its latency
    # THEN it is HTTP 401 (no envelope): our credentials, not the request; retried, certainly not processed
    assert (outcome.kind, outcome.http_status, outcome.error_code, outcome.payload, outcome.maybe_processed) == (
        OutcomeKind.TRANSIENT,
        401,
        None,
        {},
        False,
    )


def test_credentials_are_read_on_every_call(emu):
    # GIVEN a secret that is rotated between two calls
    current = [CREDENTIALS]
    client = ReturnHelperClient(emu.api_base, lambda: current[0], timeout_seconds=2, on_call=uncounted)
    first = client.available_shipment_service_types(2)
    current[0] = ReturnHelperCredentials(api_key="rotated", api_token="rotated", signing_keys=())
    # WHEN the next call is made / THEN it used the new (here: unknown) credentials
    second = client.available_shipment_service_types(2)
    assert (first.ok, second.http_status) == (True, 401)


# -- operations ------------------------------------------------------------------------------------


def test_create_then_get_then_cancel(emu, client):
    # GIVEN an item in stock
    inventory_id = arrive(emu)
    # WHEN a resend is created, read and cancelled
    created = client.create_resend(resend_body(inventory_id), new_key())
    resend_id = resend_id_of(created)
    fetched = client.get_resend(resend_id)
    canceled = client.cancel_resend(resend_id, new_key())
    after = client.get_resend(resend_id)
    # THEN each call succeeds with the business fields in the payload
    assert created.ok and isinstance(resend_id, int) and created.payload["resendNumber"].startswith("RSD")
    assert created.correlation_id and created.elapsed_seconds > 0
    assert fetched.ok and (fetched.payload["resendId"], fetched.payload["resendStatusCode"]) == (resend_id, 0)
    assert canceled.ok and resend_id_of(canceled) == resend_id
    assert after.payload["resendStatusCode"] == 1
    # AND cancelling again is refused upstream: permanent, with the errorCode
    again = client.cancel_resend(resend_id, new_key())
    assert (again.kind, again.error_code) == (OutcomeKind.PERMANENT, "RESEND_CANNOT_BE_CANCELED")
    assert "resendId" in again.errors


def test_get_unknown_resend_is_a_permanent_soft_error(client):
    outcome = client.get_resend(999999)
    assert (outcome.kind, outcome.http_status, outcome.error_code) == (OutcomeKind.PERMANENT, 200, "VALIDATION_FAILED")
    assert outcome.detail == "soft error VALIDATION_FAILED"


def test_service_types_are_the_data_list(client):
    outcome = client.available_shipment_service_types(2)
    assert outcome.ok
    codes = {entry["serviceTypeCode"] for entry in outcome.payload["data"]}
    assert "SHIPMENT_USPS_GA_SIG_NJ" in codes


def test_same_idempotency_key_twice_creates_once(emu, client):
    # GIVEN one request and one key
    body, key = resend_body(arrive(emu)), new_key()
    # WHEN it is sent twice
    first = client.create_resend(body, key)
    second = client.create_resend(body, key)
    # THEN both answers name the same resend and upstream created only one
    assert first.ok and second.ok
    assert resend_id_of(first) == resend_id_of(second) is not None
    state = control(emu, "GET", "/state")
    assert state["createResendCalls"][key] == 2
    assert state["createdPerIdempotencyKey"] == {key: 1}
    assert len(state["resends"]) == 1


def test_validation_refusal_is_permanent_and_keeps_the_errors(emu, client):
    # GIVEN a return service type code, which createResend refuses
    body = resend_body(arrive(emu))
    body["resendShipment"] = {**SHIPMENT, "shipmentServiceType": "RETURN_USPS_GA_NJ"}
    # WHEN it is sent / THEN the soft error comes back as PERMANENT with the field-keyed messages
    outcome = client.create_resend(body, new_key())
    assert (outcome.kind, outcome.error_code) == (OutcomeKind.PERMANENT, "VALIDATION_FAILED")
    assert "return service type" in outcome.errors["resendShipment.shipmentServiceType"]


# -- faults through the real HTTP path ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "http_status", "detail", "retry_after"),
    [
        pytest.param({"kind": "http5xx", "status": 502}, 502, "HTTP 502", None, id="http5xx-502"),
        pytest.param({"kind": "http5xx"}, 503, "HTTP 503", None, id="http5xx-503"),
        pytest.param({"kind": "http429", "retryAfter": 7}, 429, "HTTP 429", 7.0, id="http429"),
        pytest.param({"kind": "reset"}, None, "connection reset", None, id="reset"),
        pytest.param({"kind": "latency", "seconds": 1.0}, None, "read timeout", None, id="latency"),
    ],
)
def test_transient_faults_then_the_retry_creates_once(emu, client, fault, http_status, detail, retry_after):
    # GIVEN the next createResend call fails
    push_fault(emu, "createResend", **fault)
    body, key = resend_body(arrive(emu)), new_key()
    # WHEN it is sent, and then sent again with the same key
    failed = client.create_resend(body, key)
    retried = client.create_resend(body, key)
    # THEN the failure is transient, with its reason, and the retry creates the resend once
    assert (failed.kind, failed.http_status, failed.detail) == (OutcomeKind.TRANSIENT, http_status, detail)
    assert failed.retry_after_seconds == retry_after
    assert retried.ok and resend_id_of(retried) is not None
    state = control(emu, "GET", "/state")
    assert state["createResendCalls"][key] == 2  # the client itself never retried
    assert state["createdPerIdempotencyKey"] == {key: 1}


def test_latency_beyond_the_timeout_is_a_read_timeout(emu, client):
    push_fault(emu, "getAvailableShipmentServiceType", kind="latency", seconds=2.0)
    outcome = client.available_shipment_service_types(2)
    assert (outcome.kind, outcome.detail) == (OutcomeKind.TRANSIENT, "read timeout")
    assert SHORT_TIMEOUT <= outcome.elapsed_seconds < 1.5


def test_latency_within_the_timeout_succeeds(emu, client):
    push_fault(emu, "getAvailableShipmentServiceType", kind="latency", seconds=0.1)
    outcome = client.available_shipment_service_types(2)
    assert outcome.ok and outcome.elapsed_seconds >= 0.1


def test_timeout_after_commit_then_retry_returns_the_first_resend(emu, client):
    # GIVEN upstream commits the create but its answer never arrives in time
    push_fault(emu, "createResend", kind="timeoutAfterCommit", seconds=1.0)
    body, key = resend_body(arrive(emu)), new_key()
    # WHEN the call times out and is retried with the same key
    lost = client.create_resend(body, key)
    state = control(emu, "GET", "/state")
    retried = client.create_resend(body, key)
    # THEN the first attempt is transient although upstream created the resend,
    # and the retry answers with that same resend instead of creating another
    assert (lost.kind, lost.detail, lost.http_status) == (OutcomeKind.TRANSIENT, "read timeout", None)
    (created,) = state["resends"]
    assert retried.ok and resend_id_of(retried) == created["resendId"]
    after = control(emu, "GET", "/state")
    assert after["createdPerIdempotencyKey"] == {key: 1} and len(after["resends"]) == 1


def test_soft_error_fault_is_permanent(emu, client):
    push_fault(
        emu,
        "createResend",
        kind="softError",
        errorCode="INVENTORY_NOT_AVAILABLE",
        error={"returnInventoryIdList": "Item is in another workflow."},
    )
    outcome = client.create_resend(resend_body(arrive(emu)), new_key())
    assert (outcome.kind, outcome.http_status, outcome.error_code) == (
        OutcomeKind.PERMANENT,
        200,
        "INVENTORY_NOT_AVAILABLE",
    )
    assert outcome.errors == {"returnInventoryIdList": "Item is in another workflow."}
    assert control(emu, "GET", "/state")["resends"] == []


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        pytest.param("getResend", lambda client: client.get_resend(1), id="getResend"),
        pytest.param("cancelResend", lambda client: client.cancel_resend(1, new_key()), id="cancelResend"),
        pytest.param(
            "getAvailableShipmentServiceType",
            lambda client: client.available_shipment_service_types(2),
            id="getAvailableShipmentServiceType",
        ),
    ],
)
def test_faults_on_the_other_operations(emu, client, operation, call):
    push_fault(emu, operation, kind="http5xx", status=500)
    push_fault(emu, operation, kind="softError", errorCode="SOMETHING", status=503)
    first, second = call(client), call(client)
    assert (first.kind, first.http_status, first.operation) == (OutcomeKind.TRANSIENT, 500, operation)
    # meta.status 5xx inside an HTTP 200 is upstream trouble, not a refusal
    assert (second.kind, second.http_status, second.error_code) == (OutcomeKind.TRANSIENT, 200, "SOMETHING")


def test_idempotency_key_is_required_for_state_changes(client):
    with pytest.raises(ValueError, match="idempotency key"):
        client.create_resend(resend_body(1), "")
    with pytest.raises(ValueError, match="idempotency key"):
        client.cancel_resend(1, "  ")
