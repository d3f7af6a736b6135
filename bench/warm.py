"""Warm cost per operation, and the DynamoDB requests and capacity each one uses.

Runs in a child process (`python -m bench.warm CONFIG OUT`, started by bench/run.py) with its
stdout discarded: the handlers log and emit metrics there, as in Lambda. The handler modules
are imported with the environment template.yaml gives their function (as tests/functional/conftest.py
and the local stack do) and called in-process with API Gateway REST proxy events built by the
local gateway's own code, against the benchmark's DynamoDB endpoint. Return Helper is answered
instantly in-process (bench/upstream.py). Tracing is off, as in the local stack (no X-Ray daemon).

Timing: every round runs each operation once, in a shuffled order, the floor included, so
drift and noise fall on all of them alike; each call is one sample. The floor is one bare
`put_item` of an item the size of a new delivery's, on the handlers' own client.

Counting (a separate pass, so the timings carry no hooks): botocore event hooks on the handlers'
DynamoDB client count every request by API (`before-call`), inject `ReturnConsumedCapacity=TOTAL`
into every call that accepts it (`before-parameter-build`; the application itself never asks
for it) and read the `ConsumedCapacity` of every answer (`after-call`, from the raw body, so that
failed conditional writes are read too when the endpoint reports them).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
SAMPLE_EVENT = Path(__file__).resolve().parent.parent / "events" / "newInventoryCreated.json"
ITEMS_PER_RESEND = 3
UNITS_PER_FULFILMENT = 2  # of one SKU, in one warehouse (New Jersey): one quote, one resend
ON_HOLD = {"warehouseId": 2, "handlingCode": "ohd", "handlingStatusCode": "pending", "inStock": True}
SHIPMENT = {
    "shipmentServiceType": "SHIPMENT_UPS_GROUND_NJ",
    "shipmentCountryCode": "usa",
    "shipmentName": "Bench Recipient",
    "shipmentPhone": "5550100",
    "shipmentStreet1": "1 Bench Street",
    "shipmentState": "NJ",
    "shipmentCity": "Benchville",
    "shipmentPostalCode": "08817",  # a New Jersey ZIP code (the address check)
}
# name -> what it is, for the report (the floor first).
OPERATIONS = {
    "floor": "bare put_item of a same-sized item (the floor)",
    "new_delivery": "new webhook delivery (POST /webhooks/returnhelper)",
    "duplicate_delivery": "duplicate delivery (same bytes again)",
    "late_delivery": "late (out-of-order) delivery",
    "get_inventory": "GET /inventories/{id}",
    "create_resend": f"POST /resends ({ITEMS_PER_RESEND} items, upstream answered in-process)",
    "create_fulfilment": f"POST /fulfilments ({UNITS_PER_FULFILMENT} units, 1 warehouse, upstream answered in-process)",
}


class LambdaContext:
    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def load_handler(logical_id: str, path: str, env: dict[str, str]) -> ModuleType:
    """Import a handler module with its function's environment (module-level objects included)."""
    import os

    os.environ.update(env)
    code_dir = os.path.dirname(os.path.abspath(path))
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)  # a handler's sibling modules, as in Lambda (the code is on the path)
    name = f"bench_{logical_id}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _wiring_built_by(load: Callable[[], ModuleType]) -> tuple[ModuleType, Any]:
    """A handler module and the one Wiring it built as it imported (its routes hold it; the module does not)."""
    from rh_common.runtime import wiring

    built = []
    original = wiring.Wiring

    class Recorded(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    wiring.Wiring = Recorded  # type: ignore[misc]
    try:
        module = load()
    finally:
        wiring.Wiring = original  # type: ignore[misc]
    [services] = built
    return module, services


# ------------------------------------------------------------------ counting


@dataclass
class CallRecord:
    operation: str
    actions: int = 1  # items in a transaction / batch
    capacity: float | None = None  # consumed capacity units reported for this call
    started: float = 0.0
    seconds: float = 0.0  # before-call -> after-call: the HTTP round trip and parsing


@dataclass
class Recorder:
    """botocore hooks on one client; records only while `active`."""

    active: bool = False
    calls: list[CallRecord] = field(default_factory=list)
    _actions: int = 0

    def install(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-parameter-build.dynamodb", self._ask_for_capacity, unique_id="bench-capacity")
        events.register("before-call.dynamodb", self._count, unique_id="bench-count")
        events.register("after-call.dynamodb", self._capacity, unique_id="bench-after")

    def uninstall(self, client: Any) -> None:
        events = client.meta.events
        events.unregister("before-parameter-build.dynamodb", unique_id="bench-capacity")
        events.unregister("before-call.dynamodb", unique_id="bench-count")
        events.unregister("after-call.dynamodb", unique_id="bench-after")

    def _ask_for_capacity(self, params: dict, model: Any, **_: Any) -> None:
        # The API parameters (before-call only sees the serialized request).
        if self.active:
            self._actions = len(params.get("TransactItems") or ()) or sum(
                len(spec.get("Keys") or ()) for spec in (params.get("RequestItems") or {}).values()
            )
            if "ReturnConsumedCapacity" in model.input_shape.members:
                params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _count(self, model: Any, **_: Any) -> None:
        if self.active:
            self.calls.append(CallRecord(model.name, self._actions or 1, started=time.perf_counter()))

    def _capacity(self, http_response: Any, model: Any, **_: Any) -> None:
        if not self.active or not self.calls:
            return
        self.calls[-1].seconds = time.perf_counter() - self.calls[-1].started
        try:
            body = json.loads(http_response.content or b"{}")
        except ValueError:
            return
        consumed = body.get("ConsumedCapacity") if isinstance(body, dict) else None
        if isinstance(consumed, dict):
            consumed = [consumed]
        if consumed:
            self.calls[-1].capacity = sum(float(entry.get("CapacityUnits", 0)) for entry in consumed)

    def take(self) -> list[CallRecord]:
        calls, self.calls = self.calls, []
        return calls


def summarize_calls(calls: list[CallRecord]) -> dict[str, Any]:
    by_api = Counter(call.operation for call in calls)
    reads = [c for c in calls if c.operation in READS]
    writes = [c for c in calls if c.operation in WRITES]
    unreported = [c.operation for c in calls if c.capacity is None]
    first_write = next((i for i, c in enumerate(calls) if c.operation in WRITES), len(calls))
    return {
        "requests": len(calls),
        "byApi": dict(by_api),
        "sequence": [c.operation for c in calls],
        "sequenceMs": [round(c.seconds * 1000, 2) for c in calls],
        "readRequests": len(reads),
        "writeRequests": len(writes),
        "readsBeforeFirstWrite": sum(1 for c in calls[:first_write] if c.operation in READS),
        "transactions": [c.actions for c in calls if c.operation == "TransactWriteItems"],
        "rcu": sum(c.capacity or 0 for c in reads),
        "wcu": sum(c.capacity or 0 for c in writes),
        "capacityNotReported": unreported,
        "dynamodbSeconds": sum(c.seconds for c in calls),
    }


# ------------------------------------------------------------------ the operations


class Workload:
    def __init__(self, config: dict[str, Any]) -> None:
        from local.gateway import RouteTable
        from local.template import LocalTemplate

        functions = config["functions"]
        self.webhook = load_handler("WebhookFunction", **functions["WebhookFunction"])
        self.merchant, self.merchant_services = _wiring_built_by(
            lambda: load_handler("MerchantApiFunction", **functions["MerchantApiFunction"])
        )

        from bench.upstream import InstantUpstream
        from rh_common.adapters.dynamodb import base
        from rh_common.adapters.dynamodb.inventory_store import InventoryStore

        self.upstream = InstantUpstream()
        self.merchant_services.upstream._session.mount(config["upstreamBaseUrl"], self.upstream)
        self.client = base.client()
        self.tables = config["tables"]
        self.inventories = InventoryStore(self.tables["InventoryTable"], client=self.client)
        # The stock index's writer, as the inventory table's stream consumer runs it (no stream here).
        self.reference_keeper = self.merchant_services.reference_keeper
        self.routes = RouteTable(LocalTemplate.load().api_routes())
        self.signing_key, self.webhook_url, self.api_key = config["signingKey"], config["webhookUrl"], config["apiKey"]
        self.context = LambdaContext()
        self.sample = json.loads(SAMPLE_EVENT.read_text())
        self._ids = itertools.count(int(time.time() * 1000) % 10**9 * 1000)
        self._clock = datetime.now(UTC)
        self.delivered: list[tuple[bytes, int]] = []  # (raw body, inventory id) of new deliveries
        self.floor_item = self._floor_item()

    # -- inputs (never timed)

    def _event_time(self, back_days: int = 0) -> str:
        self._clock += timedelta(microseconds=1)
        moment = self._clock - timedelta(days=back_days)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"

    def _arrival(self) -> tuple[bytes, int]:
        inventory_id = next(self._ids)
        payload = json.loads(json.dumps(self.sample))
        payload["returnInventory"]["returnInventoryId"] = str(inventory_id)
        payload["eventTime"] = self._event_time()
        return json.dumps(payload, indent=2).encode(), inventory_id

    def _late_sku(self, inventory_id: int) -> bytes:
        payload = {
            "category": "userUpdateReturnInventorySku",
            "action": "userUpdateReturnInventorySku",
            "eventTime": self._event_time(back_days=30),  # older than the arrival: the merge path
            "returnInventory": {"returnInventoryId": inventory_id, "warehouseId": 2, "sku": f"SKU-{uuid.uuid4().hex}"},
        }
        return json.dumps(payload).encode()

    def _floor_item(self) -> dict[str, Any]:
        """What DeliveryLog.record writes for a new delivery, under a fresh key: the same size."""
        from rh_common.adapters.dynamodb import base
        from rh_common.services.webhook_ingest import read_delivery

        raw, _ = self._arrival()
        delivery, _ = read_delivery(raw)
        now = int(time.time())
        return base.to_item(
            {
                "deliveryId": delivery.delivery_id,
                "status": delivery.status,
                "receivedAt": now,
                "expiresAt": now + 30 * 86400,
                "body": delivery.raw_body,
                "category": delivery.category,
                "action": delivery.action,
                "eventTime": delivery.event_time,
            }
        )

    def _proxy_event(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> dict:
        from local.gateway import HttpRequest, build_proxy_event

        route, parameters = self.routes.match(method, path)
        header_list = [("Host", "bench.execute-api.invalid"), *(headers or {}).items()]
        request = HttpRequest(method, path, "", header_list, body, "127.0.0.1")
        return build_proxy_event(
            route,
            request,
            parameters,
            domain_name="bench.execute-api.invalid",
            request_id=str(uuid.uuid4()),
            request_time=datetime.now(UTC),
            api_key=self.api_key if route.api_key_required else None,
        )

    def _webhook_event(self, raw: bytes) -> dict:
        from rh_common.domain.signature import signed_headers

        return self._proxy_event(
            "POST", "/webhooks/returnhelper", raw, signed_headers(self.signing_key, self.webhook_url, raw)
        )

    def prepare(self, operation: str) -> tuple[Any, dict | None, Any]:
        """(handler, event, check): everything a call needs, made outside the timed part."""
        if operation == "floor":
            item = {**self.floor_item, "deliveryId": {"S": "floor:" + uuid.uuid4().hex.ljust(65, "0")}}
            return "floor", item, None
        if operation == "new_delivery":
            raw, inventory_id = self._arrival()
            self.delivered.append((raw, inventory_id))
            return self.webhook, self._webhook_event(raw), ("applied", 200)
        if operation == "duplicate_delivery":
            raw, _ = random.choice(self.delivered)
            return self.webhook, self._webhook_event(raw), ("duplicate", 200)
        if operation == "late_delivery":
            _, inventory_id = random.choice(self.delivered)
            return self.webhook, self._webhook_event(self._late_sku(inventory_id)), ("applied", 200)
        if operation == "get_inventory":
            _, inventory_id = random.choice(self.delivered)
            headers = {"x-api-key": self.api_key}
            return self.merchant, self._proxy_event("GET", f"/inventories/{inventory_id}", headers=headers), (None, 200)
        if operation == "create_resend":
            ids = [self._seed_eligible() for _ in range(ITEMS_PER_RESEND)]
            body = json.dumps({"returnInventoryIdList": ids, "resendShipment": SHIPMENT}).encode()
            headers = {"x-api-key": self.api_key, "content-type": "application/json"}
            return self.merchant, self._proxy_event("POST", "/resends", body, headers), ("SUBMITTED", 201)
        if operation == "create_fulfilment":
            # A SKU of its own each time: the stock index has no stream consumer here to drop reserved units.
            sku = f"BENCH-{uuid.uuid4().hex}"
            for _ in range(UNITS_PER_FULFILMENT):
                self._seed_stock(sku)
            line = {"sku": sku, "quantity": UNITS_PER_FULFILMENT}
            order = {"orderReference": "BENCH-ORDER", "lines": [line], "resendShipment": SHIPMENT}
            headers = {
                "x-api-key": self.api_key,
                "content-type": "application/json",
                "Idempotency-Key": f"bench-{uuid.uuid4().hex}",
            }
            event = self._proxy_event("POST", "/fulfilments", json.dumps(order).encode(), headers)
            return self.merchant, event, ("CREATED", 201)
        raise ValueError(operation)

    def _seed_eligible(self, **facts: Any) -> int:
        from rh_common.domain import inventory
        from rh_common.domain.webhook_events import InventoryFacts

        inventory_id = next(self._ids)
        event_time = self._event_time()
        self.inventories.apply(
            InventoryFacts(inventory_id, {**ON_HOLD, **facts}), inventory.event_version(event_time, "seed"), event_time
        )
        return inventory_id

    def _seed_stock(self, sku: str) -> int:
        """An eligible unit of `sku`, and its `stock#<sku>` row written by the reference keeper from the item
        as the inventory table's stream would carry it (a new image, no old one)."""
        from rh_common.domain import inventory
        from rh_common.domain.references import ItemChanged

        inventory_id = self._seed_eligible(sku=sku, arrivalCreateOn=self._event_time())
        record = self.inventories.get(inventory_id, consistent=True)
        self.reference_keeper.apply(ItemChanged(inventory_id, None, inventory.attributes(record)))
        return inventory_id

    def call(self, handler: Any, event: Any) -> Any:
        if handler == "floor":
            return self.client.put_item(TableName=self.tables["DeliveryTable"], Item=event)
        return handler.lambda_handler(event, self.context)

    @staticmethod
    def check(operation: str, result: Any, expected: Any) -> None:
        if expected is None:
            return
        status, code = expected
        if result.get("statusCode") != code:
            raise RuntimeError(
                f"{operation}: expected HTTP {code}, got {result.get('statusCode')}: {result.get('body')}"
            )
        if status is not None and json.loads(result["body"]).get("status") != status:
            raise RuntimeError(f"{operation}: expected status {status!r}, got {result.get('body')}")


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size (names + values), close enough for S, N, B attributes."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        ((kind, raw),) = value.items()
        if kind == "S":
            size += len(raw.encode())
        elif kind == "B":
            size += len(raw)
        elif kind == "N":
            size += (len(raw.strip("-").replace(".", "")) + 1) // 2 + 1
    return size


def run(config: dict[str, Any]) -> dict[str, Any]:
    workload = Workload(config)
    operations = list(OPERATIONS)
    shuffle = random.Random(config.get("seed", 7))
    random.seed(config.get("seed", 7))

    def once(operation: str) -> float:
        handler, event, expected = workload.prepare(operation)
        started = time.perf_counter()
        result = workload.call(handler, event)
        elapsed = time.perf_counter() - started
        workload.check(operation, result, expected)
        return elapsed

    # DynamoDB Local (a JVM) keeps speeding up for its first ~2000 requests: warm up by requests made,
    # not rounds, so the timed rounds measure a steady endpoint (bench/report.py, "Method").
    warmup_requests = 0

    def count_request(**_: Any) -> None:
        nonlocal warmup_requests
        warmup_requests += 1

    workload.client.meta.events.register("before-call.dynamodb", count_request, unique_id="bench-warmup")
    warmup_rounds = 0
    while warmup_rounds < config["warmup"] or warmup_requests < config.get("warmupRequests", 0):
        for operation in operations:
            once(operation)
        warmup_rounds += 1
    workload.client.meta.events.unregister("before-call.dynamodb", unique_id="bench-warmup")

    timings: dict[str, list[float]] = {operation: [] for operation in operations}
    for _ in range(config["rounds"]):
        order = list(operations)
        shuffle.shuffle(order)
        for operation in order:
            timings[operation].append(once(operation))

    recorder = Recorder()
    recorder.install(workload.client)
    counts: dict[str, list[dict[str, Any]]] = {operation: [] for operation in operations}
    for _ in range(config["countRuns"]):
        for operation in operations:
            handler, event, expected = workload.prepare(operation)
            recorder.active = True
            started = time.perf_counter()
            result = workload.call(handler, event)
            elapsed = time.perf_counter() - started
            recorder.active = False
            workload.check(operation, result, expected)
            counts[operation].append({**summarize_calls(recorder.take()), "seconds": elapsed})
    recorder.uninstall(workload.client)

    return {
        "timings": timings,
        "counts": counts,
        "floorItemBytes": item_size(workload.floor_item),
        "upstreamCalls": len(workload.upstream.calls),
        "warmupRounds": warmup_rounds,
        "warmupRequests": warmup_requests,
    }


def main(argv: list[str]) -> int:
    config_path, out_path = argv
    config = json.loads(Path(config_path).read_text())
    result = run(config)
    Path(out_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
