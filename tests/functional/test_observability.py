"""Observability as deployed: the metrics the alarms and dashboard read are the ones the code emits,
logs carry the Lambda context and a correlation id, and no address, name, phone, e-mail, API
credential or signing key ever reaches a log.

The flows run through the real handlers (moto, the Return Helper emulator); what they print
(EMF documents, JSON log lines) is captured and compared with template.yaml.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import logging
import os
import re
import sys
import typing
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from local.template import LocalTemplate
from rh_common.adapters.returnhelper import credentials
from rh_common.domain import signature, timestamps
from rh_common.runtime import observability
from rh_common.services.resend_service import request_id_for
from tests.events.loader import load_event, load_event_bytes
from tests.support.resend import SHIPMENT, fault, resend_body
from tests.support.streams import BusCapture, StreamReader

URL = "https://hooks.example.com/v1/webhooks/returnhelper"
OTHER_KEY = base64.b64encode(b"not-the-signing-key-at-all").decode()
SEARCH_METRIC = re.compile(r"\{(?P<namespace>[^,}]+),(?P<dimensions>[^}]*)\}\s+MetricName=\"(?P<name>\w+)\"")

# Shipment values nobody could find in a log by accident (each must survive our validation).
PII = {
    "shipmentName": "Zelda Quixotic-Pii",
    "shipmentPhone": "+1 555 0142 9931",
    "shipmentEmail": "zelda.pii@example.net",
    "shipmentFax": "+1 555 0177 3141",
    "shipmentStreet1": "742 Evergreen Pii Terrace",
    "shipmentStreet2": "Flat Q-Pii-9",
    "shipmentStreet3": "Care of Pii Lodge",
    "shipmentState": "Wyoming",  # a state and a ZIP code of it: the address check lets it through
    "shipmentCity": "Piiville Springs",
    "shipmentPostalCode": "82001-9931",
}
REFUSED_POSTAL_CODE = "PII-90210"  # refused by the address check: its field error does not quote it either
API_KEY, API_TOKEN = "rh-api-key-must-stay-secret-7f3a", "rh-api-token-must-stay-secret-91bc"


# ------------------------------------------------------------------ capture


class Captured:
    """Everything the functions print: log lines through the Powertools handler, EMF on stdout."""

    def __init__(self, capsys) -> None:
        self._capsys = capsys
        self.logs = io.StringIO()
        self.stdout = ""
        self.stderr = ""

    def read(self) -> None:
        out, err = self._capsys.readouterr()
        self.stdout += out
        self.stderr += err

    @property
    def text(self) -> str:
        self.read()
        return self.logs.getvalue() + self.stdout + self.stderr

    def documents(self) -> list[dict]:
        found = []
        for line in self.text.splitlines():
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if isinstance(document, dict):
                found.append(document)
        return found

    def emf(self) -> list[dict]:
        return [d for d in self.documents() if "_aws" in d]

    def log_lines(self) -> list[dict]:
        return [d for d in self.documents() if "level" in d and "_aws" not in d]


@pytest.fixture
def captured(capsys, caplog):
    """Routes the functions' Powertools log handler(s) into a buffer for the test.

    The handler is shared by every function (same service name) and was bound to whatever
    stdout was when the first one was created, so it is pointed at the buffer here and at the
    real stdout afterwards. Library loggers (root) are captured at WARNING, Lambda's default.
    """
    capture = Captured(capsys)
    caplog.set_level(logging.WARNING)
    handlers = []
    levels = {}  # the loggers are shared by the whole test session: put their levels back

    def attach(module, level: str | None) -> None:
        for handler in module.logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler not in handlers:
                handler.setStream(capture.logs)
                handlers.append(handler)
        for name in (module.logger.name, "rh_common"):
            levels.setdefault(name, logging.getLogger(name).level)
        if level:
            # A Logger of a service that already has one keeps the first one's level (as in a
            # Lambda environment, where there is only one): set it as the environment says.
            module.logger.setLevel(level)
            observability.route_library_logs(module.logger)

    capture.attach = attach
    yield capture
    for handler in handlers:
        handler.setStream(sys.__stdout__)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    capture.logs.write(caplog.text)


# ------------------------------------------------------------------ the functions


@pytest.fixture
def functions(load_function, emulator, retry_queue, captured, monkeypatch):
    """The four handlers, wired to moto and the emulator, their logs captured."""

    def load(logical_id, **overrides):
        module = load_function(
            logical_id, RH_API_BASE_URL=emulator.api_base, RESEND_RETRY_QUEUE_URL=retry_queue, **overrides
        )
        captured.attach(module, overrides.get("POWERTOOLS_LOG_LEVEL"))
        return module

    return load


def webhook_event(raw: bytes, headers: dict) -> dict:
    event = copy.deepcopy(load_event("apigw_webhook_post"))
    event["headers"] = headers
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    return event


def api_event(method: str, path: str, body=None, headers=None) -> dict:
    event = copy.deepcopy(load_event("apigw_get_inventory"))
    headers = {"x-api-key": "key", **(headers or {})}
    event.update(
        httpMethod=method,
        path=path,
        resource=path,
        pathParameters=None,
        headers=headers,
        multiValueHeaders={k: [v] for k, v in headers.items()},
        queryStringParameters=None,
        multiValueQueryStringParameters=None,
        body=json.dumps(body) if body is not None else None,
        isBase64Encoded=False,
    )
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    return event


def sqs_event(*bodies) -> dict:
    template = load_event("sqs_resend_request")["Records"][0]
    records = []
    for body in bodies:
        record = copy.deepcopy(template)
        record["messageId"] = str(uuid.uuid4())
        record["body"] = json.dumps(body)
        records.append(record)
    return {"Records": records}


def status_report(resend_id: int, code: int, ids: list[int], *, shipment: dict | None = None) -> bytes:
    """A resend/updateResendStatus webhook for our request, with the address upstream echoes back."""
    payload = load_event("resend_updateResendStatus_completed")
    payload["eventTime"] = timestamps.upstream_iso(datetime.now(UTC) + timedelta(minutes=1))
    payload["resend"].update(resendId=resend_id, resendStatusCode=code)
    payload["resendShipmentList"][0].update({**(shipment or {}), "resendId": resend_id})
    payload["returnInventoryList"] = [{**payload["returnInventoryList"][0], "returnInventoryId": i} for i in ids]
    return json.dumps(payload).encode()


class Flows:
    """The main flows through the real handlers; each returns what the handler answered."""

    def __init__(self, functions, lambda_context, signing_key, items, **env) -> None:
        self._functions, self._env = functions, env
        self.webhook = functions("WebhookFunction", WEBHOOK_PUBLIC_URL=URL, **env)
        self.api = functions("MerchantApiFunction", **env)
        self.worker = functions("ResendWorkerFunction", **env)
        self.context = lambda_context
        self.key = signing_key
        self.items = items
        self._publisher = None
        self._streams: list[StreamReader] = []

    def deliver(self, raw: bytes, *, key=None, timestamp=None, drop=(), headers=None) -> dict:
        signed = signature.signed_headers(key or self.key, URL, raw, timestamp)
        signed = {name: value for name, value in {**signed, **(headers or {})}.items() if name not in drop}
        return self.webhook.lambda_handler(webhook_event(raw, signed), self.context)

    def call(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
        response = self.api.lambda_handler(api_event(method, path, body, headers), self.context)
        return response["statusCode"], json.loads(response["body"])

    def create(self, ids: list[int], **shipment) -> dict:
        status, body = self.call("POST", "/resends", resend_body(ids, **shipment))
        assert status == 201, body
        return body

    def automation(self, *bodies, worker=None) -> dict:
        return (worker or self.worker).lambda_handler(sqs_event(*bodies), self.context)

    def load(self, logical_id: str, **overrides):
        return self._functions(logical_id, **{**self._env, **overrides})

    def bus(self) -> BusCapture:
        """The bus the event publisher puts on, captured from now on."""
        if self._publisher is None:
            self._publisher = self.load("EventPublisherFunction")
            self._streams = [StreamReader(name) for name in (self._env_table("RESEND"), self._env_table("INVENTORY"))]
        return BusCapture(self._publisher.publisher._bus)

    def publish_changes(self) -> list[dict]:
        """The outbox: what the resend and inventory tables' streams hold since the last call, published."""
        if self._publisher is None:
            self.bus()
        return [self._publisher.lambda_handler(stream.read(), self.context) for stream in self._streams]

    def _env_table(self, kind: str) -> str:
        return os.environ[f"{kind}_TABLE"]  # as load_function set it from template.yaml


@pytest.fixture
def flows(functions, lambda_context, signing_key, items):
    return lambda **env: Flows(functions, lambda_context, signing_key, items, **env)


# ------------------------------------------------------------------ metrics vs template.yaml


def referenced_metrics(template: LocalTemplate) -> set[tuple[str, str, tuple]]:
    """(namespace, metric, ((dimension, value or None), ...)) of every custom metric the alarms
    and the dashboard read; None: any value (a SEARCH expression)."""
    namespace = template.functions()["WebhookFunction"].environment["POWERTOOLS_METRICS_NAMESPACE"]
    found = set()
    for alarm in template.resources("AWS::CloudWatch::Alarm").values():
        props = template.resolver.resolve(alarm["Properties"])
        dimensions = tuple(sorted((d["Name"], d["Value"]) for d in props.get("Dimensions", [])))
        found.add((props["Namespace"], props["MetricName"], dimensions))
    for row in dashboard_metric_rows(template):
        if isinstance(row[0], dict):  # an expression
            for match in SEARCH_METRIC.finditer(row[0].get("expression", "")):
                keys = sorted(match["dimensions"].split(","))
                found.add((match["namespace"], match["name"], tuple((key, None) for key in keys)))
            continue
        names = [item for item in row if not isinstance(item, dict)]
        dimensions = tuple(sorted(zip(names[2::2], names[3::2], strict=True)))
        found.add((names[0], names[1], dimensions))
    return {metric for metric in found if metric[0] == namespace}


def dashboard_metric_rows(template: LocalTemplate) -> list[list]:
    [dashboard] = template.resources("AWS::CloudWatch::Dashboard").values()
    body = json.loads(template.resolver.resolve(dashboard["Properties"]["DashboardBody"]))
    return [row for widget in body["widgets"] for row in widget.get("properties", {}).get("metrics", [])]


def emitted_metrics(documents: list[dict]) -> set[tuple[str, str, tuple]]:
    """(namespace, metric, ((dimension, value), ...)) for every metric and dimension set in EMF output."""
    found = set()
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = tuple(sorted((name, document[name]) for name in dimension_set))
                for metric in directive["Metrics"]:
                    found.add((directive["Namespace"], metric["Name"], dimensions))
    return found


def covered(reference: tuple, emitted: set[tuple]) -> bool:
    namespace, name, dimensions = reference
    for e_namespace, e_name, e_dimensions in emitted:
        if (e_namespace, e_name) != (namespace, name) or [d for d, _ in e_dimensions] != [d for d, _ in dimensions]:
            continue
        if all(value is None or (d, value) in e_dimensions for d, value in dimensions):
            return True
    return False


def run_every_flow(flows, emulator) -> None:
    """Every outcome the dashboard and the alarms count."""
    f = flows()
    raw = load_event_bytes("newInventoryCreated")
    assert json.loads(f.deliver(raw)["body"])["status"] == "applied"
    assert json.loads(f.deliver(raw)["body"])["status"] == "duplicate"
    assert json.loads(f.deliver(load_event_bytes("labelGenerated"))["body"])["status"] == "ignored"
    now = datetime.now(UTC)
    rejected = [
        f.deliver(raw, key=OTHER_KEY),
        f.deliver(raw, timestamp=timestamps.upstream_iso(now - timedelta(hours=2))),
        f.deliver(raw, timestamp=timestamps.upstream_iso(now + timedelta(hours=2))),
        f.deliver(raw, headers={"timestamp": "yesterday"}),
        f.deliver(raw, drop=("returnhelper-signature",)),
        f.deliver(raw, drop=("timestamp",)),
    ]
    assert [r["statusCode"] for r in rejected] == [401] * 6
    assert f.deliver(b"{" + b" " * 300_000 + b"}")["statusCode"] == 413

    # resends through the API: submitted, replayed, conflicted, invalid, rejected, retried, canceled
    submitted = f.create(f.items(601))
    key = {"Idempotency-Key": "observability-1"}
    assert f.call("POST", "/resends", resend_body(f.items(602)), key)[0] == 201
    assert f.call("POST", "/resends", resend_body([602]), key)[0] == 201  # replayed
    assert f.call("POST", "/resends", resend_body([601]))[0] == 409
    assert f.call("POST", "/resends", resend_body([99999]))[0] == 422
    fault(emulator, "createResend", kind="softError", errorCode="VALIDATION_FAILED", error={"x": "no"})
    assert f.call("POST", "/resends", resend_body(f.items(603)))[1]["status"] == "REJECTED"
    fault(emulator, "createResend", kind="http5xx", status=503)
    assert f.call("POST", "/resends", resend_body(f.items(604)))[0] == 202
    # Return Helper refusing our credentials (UpstreamCredentialsRefusedAlarm): never a 5xx here
    fault(emulator, "createResend", kind="http5xx", status=401)
    assert f.call("POST", "/resends", resend_body(f.items(605)))[0] in (202, 422)
    assert f.call("POST", f"/resends/{submitted['resendRequestId']}/cancel")[0] == 200

    # upstream says how they ended (webhooks): completed, failed
    completed, failed = f.create(f.items(611)), f.create(f.items(612))
    assert f.deliver(status_report(completed["resendId"], 3, [611]))["statusCode"] == 200
    assert f.deliver(status_report(failed["resendId"], 4, [612]))["statusCode"] == 200

    # a stored delivery that cannot be applied (500), one that cannot be stored (503)
    fresh = load_event_bytes("userUpdateReturnInventorySku")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(f.webhook.ingestor._inventories, "apply_together", _unreachable)
        assert f.deliver(fresh)["statusCode"] == 500
        patch.setattr(f.webhook.ingestor._deliveries, "record", _boom)
        assert f.deliver(load_event_bytes("rrliv_vasUpdated"))["statusCode"] == 503

    # automation: a request given up after its last attempt (dead)
    fault(emulator, "createResend", kind="http5xx", status=503)  # certainly not processed: 502 would keep it PENDING
    request = {"idempotencyKey": "observability-dead", "request": resend_body(f.items(621))}
    assert f.automation(request, worker=f.load("ResendWorkerFunction", RETRY_MAX_ATTEMPTS="1")) == {
        "batchItemFailures": []
    }

    # the reconciler, with every submission counting as quiet, polls them (GetResend)
    reconciler = f.load("ReconcilerFunction", RECONCILE_SUBMITTED_AFTER_SECONDS="0")
    assert reconciler.lambda_handler(load_event("eventbridge_scheduled_event"), f.context)["polled"] >= 1

    # every change above goes out through the outbox
    assert f.publish_changes() == [{"batchItemFailures": []}] * 2


def _boom(*args, **kwargs):
    raise RuntimeError("DynamoDB is unavailable")


def _unreachable(*args, **kwargs):  # a failure a retry can cure: the only apply failure answered 5xx
    raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


def test_the_metrics_the_alarms_and_dashboard_read_are_the_metrics_the_code_emits(flows, emulator, captured, template):
    # WHEN every flow the dashboard counts runs through the real handlers
    run_every_flow(flows, emulator)
    # THEN every custom metric an alarm or a dashboard graph reads was emitted, with those dimensions
    emitted = emitted_metrics(captured.emf())
    referenced = referenced_metrics(template)
    assert len(referenced) >= 30, referenced
    missing = sorted((r for r in referenced if not covered(r, emitted)), key=str)
    assert not missing, f"referenced by template.yaml but never emitted: {missing}"
    # AND every EMF document is in the template's namespace with its service dimension
    service = template.parameters["ServiceName"]
    assert {ns for ns, _, _ in emitted} == {"ReturnHelperResends"}
    assert all(("service", service) in dims for _, name, dims in emitted if name != "ColdStart")


def test_the_dashboard_graphs_every_rejection_reason_and_upstream_operation(template):
    rows = [row for row in dashboard_metric_rows(template) if not isinstance(row[0], dict)]
    reasons = {row[row.index("reason") + 1] for row in rows if "reason" in row}
    assert reasons == {*typing.get_args(signature.Reason), "body_too_large"}
    operations = {row[row.index("operation") + 1] for row in rows if "operation" in row}
    assert operations == {"createResend", "getResend", "cancelResend", "getAvailableShipmentServiceType"}


def test_every_alarm_publishes_to_the_alarm_topic_and_back_when_it_clears(template):
    alarms = template.resources("AWS::CloudWatch::Alarm")
    assert {"ResendRequestDLQAlarm", "ResendRetryDLQAlarm", "DeadResendsAlarm", "RejectedDeliveriesAlarm"} <= set(
        alarms
    )
    assert "Api5xxAlarm" in alarms and {f"{f}ErrorsAlarm" for f in ("Webhook", "MerchantApi")} <= set(alarms)
    for logical_id, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == props["OKActions"] == [{"Ref": "AlarmTopic"}], logical_id
        assert "Runbook: README" in props["AlarmDescription"], logical_id
    errors = {
        a["Properties"]["Dimensions"][0]["Value"]["Ref"]
        for a in alarms.values()
        if a["Properties"]["MetricName"] == "Errors"
    }
    assert errors == set(template.functions())


# ------------------------------------------------------------------ logs: context, correlation


def test_logs_are_json_with_the_lambda_context_and_a_correlation_id_per_request_and_per_message(
    flows, emulator, captured
):
    f = flows()
    # GIVEN a webhook delivery, two automation messages in one batch, and an upstream failure
    event = webhook_event(load_event_bytes("newInventoryCreated"), {})
    event["headers"] = signature.signed_headers(f.key, URL, load_event_bytes("newInventoryCreated"))
    f.webhook.lambda_handler(event, f.context)
    ids = f.items(631, 632)
    fault(emulator, "createResend", kind="http5xx", status=503)
    batch = sqs_event(
        {"idempotencyKey": "corr-1", "request": resend_body(ids[:1])},
        {"idempotencyKey": "corr-2", "request": resend_body(ids[1:])},
    )
    f.worker.lambda_handler(batch, f.context)
    lines = captured.log_lines()
    # THEN every line has the Lambda context
    assert lines and all({"cold_start", "function_name", "function_request_id", "service"} <= set(d) for d in lines)
    # AND the webhook's lines carry the API Gateway request id and, once known, the delivery id
    [delivery] = [d for d in lines if d["message"] == "webhook delivery"]
    assert delivery["correlation_id"] == event["requestContext"]["requestId"]
    assert delivery["deliveryId"]
    # AND each SQS message is its own correlation id, with only its own keys
    handled = [d for d in lines if d["message"] == "resend message handled"]
    assert [(d["correlation_id"], d["idempotencyKey"]) for d in handled] == [
        (record["messageId"], json.loads(record["body"])["idempotencyKey"]) for record in batch["Records"]
    ]
    # AND the Return Helper client's own warning (standard library logger) is JSON in the same context
    [upstream] = [d for d in lines if d["message"].startswith("Return Helper createResend -> transient")]
    assert upstream["correlation_id"] == batch["Records"][0]["messageId"] and upstream["level"] == "WARNING"


# ------------------------------------------------------------------ logs: no PII, no secrets


@pytest.fixture
def distinct_credentials(aws, secret, emulator, signing_key):
    """The secret and the emulator with credentials nobody could find in a log by accident."""
    value = {"apiKey": API_KEY, "apiToken": API_TOKEN, "signingKeys": [signing_key]}
    boto3.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=json.dumps(value))
    emulator.api_key, emulator.api_token = API_KEY, API_TOKEN
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    return value


def test_no_shipment_value_api_credential_or_signing_key_reaches_any_log(
    flows, emulator, captured, distinct_credentials, signing_key
):
    # GIVEN every function at DEBUG, where payloads are logged (masked), and a subscriber on the bus
    f = flows(POWERTOOLS_LOG_LEVEL="DEBUG")
    bus = f.bus()
    # WHEN webhooks arrive (an arrival, an unknown type, a resend status echoing the address) ...
    arrivals = ("newInventoryCreated", "rsl_markShipmentArrive_v1", "rsl_assignUnknown", "labelGenerated")
    for name in arrivals:
        assert f.deliver(load_event_bytes(name))["statusCode"] == 200
    created = f.create(f.items(641), **PII)
    assert f.deliver(status_report(created["resendId"], 3, [641], shipment=PII))["statusCode"] == 200
    # ... POST /resends is valid, invalid, refused upstream, transiently failing ...
    assert f.call("POST", "/resends", resend_body([99999], **PII))[0] == 422
    refused_address = {**PII, "shipmentPostalCode": REFUSED_POSTAL_CODE}
    assert f.call("POST", "/resends", resend_body(f.items(646), **refused_address))[0] == 422
    fault(emulator, "createResend", kind="softError", errorCode="VALIDATION_FAILED", error={"x": "no"})
    assert f.call("POST", "/resends", resend_body(f.items(642), **PII))[0] == 422
    fault(emulator, "createResend", kind="http5xx", status=503)
    assert f.call("POST", "/resends", resend_body(f.items(643), **PII))[0] == 202
    # ... and automation sends valid, invalid and refused requests
    fault(emulator, "createResend", kind="softError", errorCode="VALIDATION_FAILED", error={"x": "no"})
    f.automation(
        {"idempotencyKey": "pii-1", "request": resend_body(f.items(644), **PII)},
        {"idempotencyKey": "pii-2", "request": resend_body([99998], **PII)},
        {"idempotencyKey": "pii-3", "request": resend_body(f.items(645), **PII)},
    )
    # ... and every change is published (the resend images hold the shipment)
    assert f.publish_changes() == [{"batchItemFailures": []}] * 2
    events = bus.drain()
    mine = [e["detail"] for e in events if e["detail"].get("resendRequestId") == created["resendRequestId"]]
    lifecycle = [detail["status"] for detail in mine]
    assert lifecycle == ["PENDING", "SUBMITTED", "COMPLETED"]
    assert {e["detail-type"] for e in events} == {"ResendStatusChanged", "InventoryChanged"}
    text = captured.text + json.dumps(events)
    # THEN payloads were logged, masked
    assert "*****" in text and '"payload"' in text
    # AND no shipment value, credential or signing key appears anywhere, in a log or an event
    shipment_values = {
        *PII.values(),
        REFUSED_POSTAL_CODE,
        *(value for name in arrivals for value in _pii_values(load_event(name))),
    }
    assert len(shipment_values) > len(PII)  # the arrivals' sender addresses and the label link count too
    secrets = {API_KEY, API_TOKEN, signing_key, base64.b64decode(signing_key).decode()}
    leaked = sorted(value for value in shipment_values | secrets if value and value in text)
    assert not leaked, f"found in the logs: {leaked}"


# Where Return Helper's samples and our requests put a person (the test's own list: the code masks
# everything not known safe, so it keeps no such list).
PERSONAL_FIELDS = {
    *(
        prefix + suffix
        for prefix in ("shipment", "from", "to", "shipTo")
        for suffix in ("Name", "ContactName", "Phone", "Fax", "Email", "Street1", "Street2", "Street3", "City")
    ),
    *(prefix + suffix for prefix in ("shipment", "from", "to", "shipTo") for suffix in ("State", "PostalCode")),
    "labelUrl",
    "qrcodeUrl",
}


def _pii_values(payload) -> set[str]:
    found = set()
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in PERSONAL_FIELDS and _distinctive(value):
                found.add(value)
            else:
                found |= _pii_values(value)
    elif isinstance(payload, list):
        for item in payload:
            found |= _pii_values(item)
    return found


def _distinctive(value) -> bool:
    """Worth searching a log for: not a placeholder word ("name") or a bare number ("00000")."""
    return (
        isinstance(value, str) and len(value) >= 6 and not value.isdigit() and not (value.isalpha() and value.islower())
    )


def test_masking_erases_names_addresses_phones_and_emails_at_any_depth_and_keeps_the_rest():
    payload = {
        "category": "resend",
        "resendShipmentList": [{**SHIPMENT, "trackingNumber": "9400"}],
        "returnShipment": {"fromName": "A", "toEmail": "b@example.com", "toPostalCode": "1", "weight": 2},
    }
    masked = observability.masked(payload)
    shipment = masked["resendShipmentList"][0]
    assert {shipment[k] for k in SHIPMENT if k in PERSONAL_FIELDS} == {"*****"}
    assert (shipment["shipmentServiceType"], shipment["trackingNumber"]) == (SHIPMENT["shipmentServiceType"], "9400")
    assert masked["returnShipment"] == "*****"  # not a structure known to hold nothing personal: masked whole
    assert payload["resendShipmentList"][0]["shipmentName"] == SHIPMENT["shipmentName"]  # not mutated
    assert observability.masked("Jane Doe, 1 Main St") == "*****"


def test_a_payload_that_cannot_be_masked_is_not_logged_and_the_request_goes_on(monkeypatch, caplog):
    logger = logging.getLogger("masking-test")
    monkeypatch.setattr(observability, "masked", _boom)
    with caplog.at_level(logging.DEBUG, logger="masking-test"):
        observability.log_payload(logger, logging.INFO, "webhook payload", {"shipmentName": PII["shipmentName"]})
    assert [r.getMessage() for r in caplog.records] == ["webhook payload: not logged, masking failed"]
    assert PII["shipmentName"] not in caplog.text


def test_credentials_never_print_themselves():
    loaded = credentials.ReturnHelperCredentials(API_KEY, API_TOKEN, ("c2VjcmV0",))
    assert API_KEY not in repr(loaded) and "c2VjcmV0" not in str(loaded)


# ------------------------------------------------------------------ request size


def test_oversized_bodies_are_refused_with_413_before_any_aws_call(flows, tables, monkeypatch):
    f = flows()
    monkeypatch.setattr(credentials, "load", _boom)  # not even the secret is read
    assert f.deliver(b"[" + b"0," * 140_000 + b"0]")["statusCode"] == 413
    assert boto3.client("dynamodb").scan(TableName=tables["DeliveryTable"])["Count"] == 0
    status, body = f.call("POST", "/resends", {"description": "x" * 70_000})
    assert status == 413 and body["message"].startswith("body larger than")


# ------------------------------------------------------------------ masking by allow-list


def _strings(payload) -> set[str]:
    """Every string value in a payload, at any depth."""
    if isinstance(payload, dict):
        return set().union(*map(_strings, payload.values())) if payload else set()
    if isinstance(payload, list):
        return set().union(*map(_strings, payload)) if payload else set()
    return {payload} if isinstance(payload, str) else set()


def test_an_unhandled_event_type_is_logged_by_category_action_and_key_names_only(flows, captured):
    # GIVEN a type this system does not handle, carrying a consignee's address under shipTo* names
    name = "consolidateShippingOrderShippingFeeUpdated"
    payload = load_event(name)
    f = flows()  # INFO: Lambda's level
    # WHEN it is delivered
    response = f.deliver(load_event_bytes(name))
    assert (response["statusCode"], json.loads(response["body"])["status"]) == (200, "ignored")
    # THEN one line names it by category, action and its top-level keys ...
    [line] = [d for d in captured.documents() if d.get("message") == "webhook event type not handled"]
    assert (line["category"], line["action"]) == (name, name)
    assert line["keys"] == sorted(payload)
    # ... and not one value of the payload appears in any log line (the address least of all)
    values = _strings(payload) - {name, "", payload["notificationId"]}  # the delivery id is logged on purpose
    assert {"consignee@example.com", "555-0142", "7 Sample Road", "Test Consignee"} <= values
    leaked = sorted(value for value in values if value in captured.text)
    assert not leaked, f"found in the logs: {leaked}"


def test_an_automation_request_is_logged_with_every_field_not_known_safe_masked(flows, captured):
    # GIVEN an automation message whose request carries a person under names nobody listed
    f = flows(POWERTOOLS_LOG_LEVEL="DEBUG")
    unlisted = {
        "recipientAlias": "Quentin Unlisted-Pii",
        "contactNumber": "+44 20 7946 0321",
        "mailTo": "quentin.pii@example.org",
        "deliverTo": {"line": "221B Hidden Pii Street"},
        "notes": ["Flat 9, Pii Mews"],
    }
    request = resend_body(f.items(651), **unlisted)
    request["buyer"] = {"phoneNumber": "+1 555 0199 2718", "addr": "9 Unlisted Pii Way"}
    # WHEN the worker handles it (logged at DEBUG, and again at WARNING if refused)
    f.automation({"idempotencyKey": "pii-unlisted-1", "request": request})
    text = captured.text
    # THEN the request was logged ...
    [logged] = [d["payload"] for d in captured.documents() if d.get("message") == "automation resend request"]
    assert logged["returnInventoryIdList"] == [651]  # ids are known safe
    # ... with every value not known safe masked, whatever its name
    hidden = {*_strings(unlisted), *_strings(request["buyer"]), *SHIPMENT.values()}
    hidden -= {"", "usa", "NJ", SHIPMENT["shipmentPostalCode"]}  # short codes a log may hold by chance
    leaked = sorted(value for value in hidden if value in text and value != SHIPMENT["shipmentServiceType"])
    assert not leaked, f"found in the logs: {leaked}"


def test_a_merchant_resend_request_is_logged_masked_with_the_requests_correlation_id(flows, captured):
    # GIVEN the merchant API at DEBUG, where the resend request is logged
    f = flows(POWERTOOLS_LOG_LEVEL="DEBUG")
    # WHEN a merchant creates a resend
    created = f.create(f.items(661), **PII)
    # THEN one line holds the request, its ids as they are and the person masked, under the request's id
    [line] = [d for d in captured.documents() if d.get("message") == "resend request"]
    assert line["payload"]["returnInventoryIdList"] == [661]
    assert line["correlation_id"] and line["level"] == "DEBUG"
    leaked = sorted(value for value in PII.values() if value in json.dumps(line))
    assert not leaked and created["status"] == "SUBMITTED"


def test_masking_keeps_only_the_allow_listed_fields():
    payload = {
        "category": "resend",
        "resend": {"resendId": 3601, "resendStatusCode": 3, "note": "Jane Doe"},
        "returnInventoryList": [{"returnInventoryId": 20251, "warehouseId": 2, "surprise": {"x": "1 Main St"}}],
        "customFieldMap": {"returnInventoryId": "not an id here"},
        "weight": {"value": "inside a safe name, but not a number"},
    }
    masked = observability.masked(payload)
    assert masked == {
        "category": "resend",
        "resend": {"resendId": 3601, "resendStatusCode": 3, "note": "*****"},
        "returnInventoryList": [{"returnInventoryId": 20251, "warehouseId": 2, "surprise": "*****"}],
        "customFieldMap": "*****",
        "weight": "*****",
    }
    assert payload["resend"]["note"] == "Jane Doe"  # not mutated
    assert observability.masked("Jane Doe, 1 Main St") == "*****"
    assert observability.masked(["Jane Doe"]) == "*****"


def test_a_failed_or_refused_resend_s_words_quoting_the_address_reach_the_merchant_never_an_event_or_a_log(
    flows, emulator, captured
):
    # GIVEN every function at DEBUG and a subscriber on the bus
    f = flows(POWERTOOLS_LOG_LEVEL="DEBUG")
    bus = f.bus()
    quoted = f"{PII['shipmentStreet1']}, {PII['shipmentCity']} {PII['shipmentPostalCode']}"
    # WHEN Return Helper reports a resend failed, its shipment's error quoting the address, phone and e-mail ...
    failed = f.create(f.items(651), **PII)
    error = json.dumps({"message": f"Invalid address: {quoted}; {PII['shipmentPhone']} / {PII['shipmentEmail']}"})
    report = status_report(failed["resendId"], 4, [651], shipment={**PII, "error": error})
    assert f.deliver(report)["statusCode"] == 200
    # ... and refuses another, its field messages quoting them
    texts = {
        "resendShipment.shipmentStreet1": f"'{quoted}' is not deliverable",
        "resendShipment.shipmentEmail": f"{PII['shipmentEmail']} bounced",
    }
    fault(emulator, "createResend", kind="softError", errorCode="VALIDATION_FAILED", error=texts)
    keyed = {"Idempotency-Key": "pii-refused-upstream"}
    status, refusal = f.call("POST", "/resends", resend_body(f.items(652), **PII), headers=keyed)
    assert status == 422 and refusal["status"] == "REJECTED"
    # THEN the merchant reads Return Helper's words back, with the reason
    status, view = f.call("GET", f"/resends/{failed['resendRequestId']}")
    assert status == 200 and view["status"] == "FAILED"
    assert view["lastError"]["reason"] == "addressInvalid" and quoted in view["lastError"]["detail"]
    assert [s["error"] for s in view["shipments"]] == [error]
    status, rejected = f.call("GET", f"/resends/{request_id_for('pii-refused-upstream')}")
    assert status == 200 and rejected["lastError"]["reason"] == "addressInvalid"
    # AND the events carry the reason and the code, never the words
    assert f.publish_changes() == [{"batchItemFailures": []}] * 2
    events = bus.drain()
    ends = {
        e["detail"]["status"]: e["detail"]["lastError"]
        for e in events
        if e["detail-type"] == "ResendStatusChanged" and e["detail"]["status"] in ("FAILED", "REJECTED")
    }
    assert ends == {
        "FAILED": {"errorCode": None, "reason": "addressInvalid", "detail": "Return Helper reported the resend failed"},
        "REJECTED": {
            "errorCode": "VALIDATION_FAILED",
            "reason": "addressInvalid",
            "detail": "Return Helper refused the resend: soft error VALIDATION_FAILED",
            "fields": ["resendShipment.shipmentEmail", "resendShipment.shipmentStreet1"],
        },
    }
    # AND no address, phone or e-mail is in any log line or event
    text = captured.text + json.dumps(events)
    leaked = sorted(value for value in PII.values() if value in text)
    assert not leaked, f"found in the logs or events: {leaked}"
